// May this image boot? One pure decision over what the boot gate fetched: the image's status and its
// lifecycle (the catalog's rules, at the gate's time), then its signing certificate against the trusted
// ones. The gate only fetches, asks, and acts on the answer.
import type { X509Certificate } from 'node:crypto';
import { type ErrorCode, ImageTrustError, VerificationError } from '../../errors/index.ts';
import {
  formatNovaCertificateFailure,
  SIGNATURE_PROPERTY_NAMES,
  validateCertificate,
} from '../../trust/index.ts';
import { type LifecycleSubject, obsoleteError } from '../lifecycle.ts';
import { effectiveLifecycle, LIFECYCLE_STATES, type LifecycleState } from '../model.ts';

/** An image as the Glance v2 API shows it: governance fields are extra properties, absent when unset. */
export type BootImageView = Readonly<Record<string, unknown>> & {
  readonly id: string;
  readonly status: string;
};

export interface BootDecisionInput {
  view: BootImageView;
  /**
   * The signing certificate, loaded from the key manager. Without it only the image itself is judged,
   * so the gate can refuse an image that may not boot before it fetches any certificate.
   */
  certificate?: X509Certificate;
  /** The trusted certificates that could be loaded; null or absent when none are configured (no chain check). */
  trusted?: readonly X509Certificate[] | null;
  now: Date;
}

export type BootDecision =
  | { kind: 'boot' }
  | {
      kind: 'boot-with-warning';
      state: 'deprecated';
      /** When the image becomes obsolete, if that is scheduled. */
      obsolescenceAt: string | null;
      replacement: string | null;
      message: string;
    }
  | {
      kind: 'refuse';
      code: ErrorCode;
      message: string;
      /** The coded error to raise, with the underlying failure as its cause. */
      error: ImageTrustError;
      /** True when a cached copy must go too: an obsolete image never boots, not even from the cache. */
      dropCachedCopy: boolean;
    };

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** The lifecycle fields of a view; a view without them (plain Glance) reads as available. */
function toLifecycleSubject(view: BootImageView): LifecycleSubject {
  const state = view.lifecycle_state;
  return {
    id: view.id,
    lifecycle_state: LIFECYCLE_STATES.includes(state as LifecycleState)
      ? (state as LifecycleState)
      : 'available',
    deprecation_at: text(view.deprecation_at),
    obsolescence_at: text(view.obsolescence_at),
    replacement: text(view.replacement),
  };
}

function refuse(error: ImageTrustError, dropCachedCopy = false): BootDecision {
  return { kind: 'refuse', code: error.code, message: error.message, error, dropCachedCopy };
}

/**
 * Decides whether an image may boot at `now`: it must be active and not obsolete (a schedule already
 * due counts), and with trusted certificates its signing certificate must chain to one, as Nova checks
 * it. A deprecated image boots with a warning naming its obsolescence time and replacement.
 */
export function decideBoot(input: BootDecisionInput): BootDecision {
  const { view, now } = input;
  if (view.status !== 'active') {
    return refuse(
      new ImageTrustError('CONFLICT', `Image ${view.id} is ${view.status}, not active; it cannot be booted.`),
    );
  }
  const subject = toLifecycleSubject(view);
  const state = effectiveLifecycle(subject, now);
  if (state === 'obsolete') return refuse(obsoleteError(subject, 'booted'), true);

  if (input.certificate && input.trusted) {
    try {
      validateCertificate({ certificate: input.certificate, trusted: input.trusted, now });
    } catch (error) {
      if (!(error instanceof VerificationError)) throw error;
      const certificateUuid = String(view[SIGNATURE_PROPERTY_NAMES.certificateUuid] ?? '');
      return refuse(
        new VerificationError(error.code, formatNovaCertificateFailure(certificateUuid, error), {
          cause: error,
        }),
      );
    }
  }

  switch (state) {
    case 'available':
      return { kind: 'boot' };
    case 'deprecated': {
      const { obsolescence_at: obsolescenceAt, replacement } = subject;
      const message =
        `Image ${view.id} is deprecated${obsolescenceAt ? ` and becomes obsolete at ${obsolescenceAt}` : ''}` +
        `${replacement ? `; use ${replacement} instead` : ''}.`;
      return { kind: 'boot-with-warning', state, obsolescenceAt, replacement, message };
    }
    default: {
      const unreachable: never = state;
      throw new ImageTrustError('INTERNAL', `Unhandled lifecycle state ${unreachable}`);
    }
  }
}

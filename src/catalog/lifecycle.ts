// Lifecycle rules over plain data: available → deprecated → obsolete, set now or scheduled, with
// IBM Cloud's date rules (future times, deprecation before obsolescence) and no way back from
// obsolete without an administrator.
import { GovernanceError, ValidationError } from '../errors/index.ts';
import {
  effectiveLifecycle,
  type ImageRecord,
  LIFECYCLE_STATES,
  type LifecycleState,
  toGlanceTimestamp,
} from './model.ts';

/** What a caller asks for; absent keys stay as they are, `null` removes a schedule or replacement. */
export interface LifecycleRequest {
  state?: LifecycleState;
  deprecation_at?: string | null;
  obsolescence_at?: string | null;
  replacement?: string | null;
}

export type LifecycleFields = Pick<
  ImageRecord,
  'lifecycle_state' | 'deprecation_at' | 'obsolescence_at' | 'replacement'
>;

export interface LifecyclePlan {
  fields: LifecycleFields;
  from: LifecycleState;
  to: LifecycleState;
  /** True when the change leaves obsolete: only an administrator may do it. */
  restoresObsolete: boolean;
}

const KEYS = new Set(['state', 'deprecation_at', 'obsolescence_at', 'replacement']);

/** Reads a lifecycle request body strictly: unknown keys, wrong types and bad times are 400s. */
export function readLifecycleRequest(body: unknown): LifecycleRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('BAD_REQUEST', 'The lifecycle request must be a JSON object.');
  }
  const out: LifecycleRequest = {};
  for (const [key, value] of Object.entries(body)) {
    if (!KEYS.has(key)) {
      throw new ValidationError(
        'BAD_REQUEST',
        `Unknown lifecycle key '${key}'; expected state, deprecation_at, obsolescence_at or replacement.`,
      );
    }
    if (key === 'state') {
      if (!LIFECYCLE_STATES.includes(value as LifecycleState)) {
        throw new ValidationError(
          'BAD_REQUEST',
          `Invalid lifecycle state ${JSON.stringify(value)}; expected one of ${LIFECYCLE_STATES.join(', ')}.`,
        );
      }
      out.state = value as LifecycleState;
    } else if (value === null) {
      out[key as 'deprecation_at' | 'obsolescence_at' | 'replacement'] = null;
    } else if (typeof value !== 'string' || value === '') {
      throw new ValidationError('BAD_REQUEST', `${key} must be a string or null.`);
    } else if (key === 'replacement') {
      out.replacement = value;
    } else {
      out[key as 'deprecation_at' | 'obsolescence_at'] = normaliseTime(key, value);
    }
  }
  return out;
}

/** RFC 3339 with an explicit offset, stored as Glance writes times: UTC, whole seconds. */
function normaliseTime(key: string, value: string): string {
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
  const ms = Date.parse(value);
  if (!rfc3339.test(value) || Number.isNaN(ms)) {
    throw new ValidationError(
      'BAD_REQUEST',
      `${key} must be an RFC 3339 time with a zone, e.g. 2027-01-31T00:00:00Z; got ${JSON.stringify(value)}.`,
    );
  }
  return toGlanceTimestamp(new Date(ms));
}

/**
 * Plans a change at `now`. A state given explicitly happens now (and records when); a time given
 * must lie in the future and happens then. Removing a due deprecation time brings a deprecated
 * image back to available, as IBM Cloud does.
 */
export function planLifecycleChange(image: ImageRecord, request: LifecycleRequest, now: Date): LifecyclePlan {
  const from = effectiveLifecycle(image, now);
  const nowStamp = toGlanceTimestamp(now);
  const fields: LifecycleFields = {
    // The stored state catches up with any schedule already due before anything else changes.
    lifecycle_state: from,
    deprecation_at: image.deprecation_at,
    obsolescence_at: image.obsolescence_at,
    replacement: image.replacement,
  };
  for (const key of ['deprecation_at', 'obsolescence_at'] as const) {
    const value = request[key];
    if (value === undefined) continue;
    if (value !== null && Date.parse(value) <= now.getTime()) {
      throw new GovernanceError(
        'LIFECYCLE_INVALID',
        `${key} ${value} is not in the future; to change the state now, set state instead.`,
      );
    }
    fields[key] = value;
  }
  if (request.replacement !== undefined) {
    if (request.replacement === image.id) {
      throw new GovernanceError('LIFECYCLE_INVALID', 'An image cannot be its own replacement.');
    }
    fields.replacement = request.replacement;
  }

  let to: LifecycleState;
  if (request.state !== undefined) {
    to = request.state;
    if (to === 'available') {
      // Back to available: schedules already passed go; future ones stay.
      if (fields.deprecation_at && Date.parse(fields.deprecation_at) <= now.getTime())
        fields.deprecation_at = null;
      if (fields.obsolescence_at && Date.parse(fields.obsolescence_at) <= now.getTime()) {
        fields.obsolescence_at = null;
      }
    }
    if (to === 'deprecated') {
      if (!fields.deprecation_at || Date.parse(fields.deprecation_at) > now.getTime())
        fields.deprecation_at = nowStamp;
      if (fields.obsolescence_at && Date.parse(fields.obsolescence_at) <= now.getTime()) {
        fields.obsolescence_at = null;
      }
    }
    if (to === 'obsolete') {
      if (!fields.obsolescence_at || Date.parse(fields.obsolescence_at) > now.getTime()) {
        fields.obsolescence_at = nowStamp;
      }
    }
  } else {
    // Only schedules changed. Outside obsolete the state follows from the times alone (an explicit
    // deprecation records its time), so a removed due deprecation makes the image available again.
    to =
      from === 'obsolete'
        ? 'obsolete'
        : effectiveLifecycle({ ...image, ...fields, lifecycle_state: 'available' }, now);
  }
  fields.lifecycle_state = to;

  if (
    fields.deprecation_at &&
    fields.obsolescence_at &&
    Date.parse(fields.deprecation_at) >= Date.parse(fields.obsolescence_at)
  ) {
    throw new GovernanceError(
      'LIFECYCLE_INVALID',
      `deprecation_at (${fields.deprecation_at}) must come before obsolescence_at (${fields.obsolescence_at}).`,
    );
  }
  const restoresObsolete = from === 'obsolete' && to !== 'obsolete';
  return { fields, from, to, restoresObsolete };
}

/** The change a due schedule makes, or null when nothing is due. */
export function dueLifecycleChange(image: ImageRecord, now: Date): LifecycleState | null {
  const next = effectiveLifecycle(image, now);
  return next === image.lifecycle_state ? null : next;
}

/** What the lifecycle rules read of an image: a record, or an image view the boot gate fetched. */
export type LifecycleSubject = Pick<ImageRecord, 'id' | 'replacement'> & LifecycleFields;

/** The refusal for an obsolete image (IMAGE_OBSOLETE), naming its replacement. */
export function obsoleteError(image: LifecycleSubject, what: string): GovernanceError {
  return new GovernanceError(
    'IMAGE_OBSOLETE',
    `Image ${image.id} is obsolete and cannot be ${what}${image.replacement ? `; use ${image.replacement} instead` : ''}.`,
  );
}

/** Refuses to share or publish an obsolete image: nothing new may start using it. */
export function assertNotObsolete(image: LifecycleSubject, now: Date, what: string): void {
  if (effectiveLifecycle(image, now) === 'obsolete') throw obsoleteError(image, what);
}

/** The warning a deprecated image carries to its users (HTTP `Warning` header, gate message). */
export function deprecationWarning(image: ImageRecord, now: Date): string | null {
  const state = effectiveLifecycle(image, now);
  if (state !== 'deprecated') return null;
  const parts = [`Image ${image.id} is deprecated`];
  if (image.obsolescence_at) parts.push(`it becomes obsolete at ${image.obsolescence_at}`);
  if (image.replacement) parts.push(`use ${image.replacement} instead`);
  return `${parts.join('; ')}.`;
}

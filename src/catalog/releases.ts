// Release requests and the rules a release must meet: an image becomes a public stock image, or is
// listed as a catalog image, only when someone other than its creator, uploader, signer and requester
// approves.
import { GovernanceError, ValidationError } from '../errors/index.ts';
import { effectiveLifecycle, type ImageRecord } from './model.ts';

/** What a release makes of an image: a platform stock image or a reviewed third-party catalog image. */
export const RELEASE_TARGETS = ['stock', 'catalog'] as const;
export type ReleaseTarget = (typeof RELEASE_TARGETS)[number];
export type ReleaseStatus = 'pending' | 'approved' | 'rejected';

export interface ReleaseRequest {
  id: string;
  image_id: string;
  target: ReleaseTarget;
  status: ReleaseStatus;
  requested_by: string;
  requested_at: string;
  reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
  decision_reason: string | null;
}

/** The latest compliance report attached to an image. */
export interface ComplianceReport {
  image_id: string;
  document: string;
  /** `sha256:<hex>` of the document as attached. */
  digest: string;
  passed: boolean;
  attached_by: string;
  attached_at: string;
}

const MAX_REASON = 1024;

function readReason(value: unknown, required: boolean): string | null {
  if (value === undefined || value === null) {
    if (required) throw new ValidationError('BAD_REQUEST', 'A reason is required.');
    return null;
  }
  if (typeof value !== 'string' || value.length > MAX_REASON || (required && value.trim() === '')) {
    throw new ValidationError(
      'BAD_REQUEST',
      `reason must be a non-empty string of at most ${MAX_REASON} characters.`,
    );
  }
  return value;
}

function readObject(body: unknown, what: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('BAD_REQUEST', `The ${what} must be a JSON object.`);
  }
  for (const key of Object.keys(body)) {
    if (!keys.includes(key)) {
      throw new ValidationError(
        'BAD_REQUEST',
        `Unknown key '${key}' in the ${what}; expected ${keys.join(', ')}.`,
      );
    }
  }
  return body as Record<string, unknown>;
}

export function readReleaseRequest(body: unknown): { target: ReleaseTarget; reason: string | null } {
  const object = readObject(body, 'release request', ['target', 'reason']);
  if (!RELEASE_TARGETS.includes(object.target as ReleaseTarget)) {
    throw new ValidationError(
      'BAD_REQUEST',
      `target must be one of ${RELEASE_TARGETS.join(', ')}; got ${JSON.stringify(object.target)}.`,
    );
  }
  return { target: object.target as ReleaseTarget, reason: readReason(object.reason, false) };
}

export function readReleaseDecision(body: unknown, reasonRequired: boolean): { reason: string | null } {
  return { reason: readReason(readObject(body ?? {}, 'decision', ['reason']).reason, reasonRequired) };
}

/**
 * Reads a report made by `imagetrust scan --format json`: it passes when it ran at least one check
 * and none failed or errored.
 */
export function readComplianceReport(document: string): {
  passed: boolean;
  failed: string[];
  imageSha512: string | null;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    throw new ValidationError(
      'MALFORMED_JSON',
      'The compliance report is not JSON; attach `imagetrust scan --format json` output.',
    );
  }
  const results = (parsed as { results?: unknown } | null)?.results;
  if (
    !Array.isArray(results) ||
    results.length === 0 ||
    !results.every((r) => typeof r?.id === 'string' && typeof r?.status === 'string')
  ) {
    throw new ValidationError(
      'BAD_REQUEST',
      'The compliance report has no results; attach the output of `imagetrust scan IMAGE --format json`.',
    );
  }
  const failed = results.filter((r) => r.status === 'fail' || r.status === 'error').map((r) => String(r.id));
  const digest = (parsed as { image_sha512?: unknown }).image_sha512;
  if (digest !== undefined && (typeof digest !== 'string' || !/^[0-9a-f]{128}$/.test(digest))) {
    throw new ValidationError(
      'BAD_REQUEST',
      'image_sha512 in the compliance report must be 128 lower-case hex digits.',
    );
  }
  return { passed: failed.length === 0, failed, imageSha512: digest ?? null };
}

export interface ReleaseRequirements {
  /** Whether the owning project must sign its images; then the signer must chain to a trusted certificate. */
  signaturesRequired: boolean;
  /** Null when the signing certificate chains to a trusted one now; otherwise why not. */
  signerTrustProblem: string | null;
  requireComplianceReport: boolean;
  report: ComplianceReport | null;
}

/** Throws RELEASE_NOT_READY naming the first unmet requirement. */
export function assertReleasable(
  image: ImageRecord,
  target: ReleaseTarget,
  now: Date,
  needs: ReleaseRequirements,
): void {
  const refuse = (why: string) => {
    throw new GovernanceError('RELEASE_NOT_READY', `Image ${image.id} cannot be released: ${why}.`);
  };
  if (image.status !== 'active') refuse(`it is ${image.status}, and only active images can be released`);
  const state = effectiveLifecycle(image, now);
  if (state === 'obsolete') refuse('it is obsolete');
  if (image.visibility === 'public' && image.image_class === target)
    refuse(`it is already a released ${target} image`);
  if (needs.signaturesRequired) {
    if (!image.signed_by)
      refuse('its project requires signed images and it was not uploaded with a verified signature');
    if (needs.signerTrustProblem) refuse(needs.signerTrustProblem);
  }
  if (needs.requireComplianceReport) {
    if (!needs.report)
      refuse('a passing compliance report is required; attach one with `imagetrust image report attach`');
    else if (!needs.report.passed) refuse(`its compliance report (${needs.report.digest}) has failed checks`);
    else if (readComplianceReport(needs.report.document).imageSha512 !== image.os_hash_value) {
      refuse(
        `its compliance report (${needs.report.digest}) does not name this image's data; attach the report of the uploaded file made with \`imagetrust scan FILE --format json --digest\``,
      );
    }
  }
}

/** Separation of duties, applied whatever the policy file says: the approver is a different person. */
export function assertSeparateApprover(
  approverId: string,
  image: ImageRecord,
  request: ReleaseRequest,
): void {
  const roles: string[] = [];
  if (image.created_by === approverId) roles.push('created the image');
  if (image.uploaded_by === approverId) roles.push('uploaded the image');
  if (image.signed_by === approverId) roles.push('own the certificate that signed it');
  if (request.requested_by === approverId) roles.push('asked for the release');
  if (roles.length) {
    throw new GovernanceError(
      'SEPARATION_OF_DUTIES',
      `You cannot approve release ${request.id}: you ${listInEnglish(roles)}. Another approver must decide.`,
    );
  }
}

/** "a", "a and b", "a, b and c". */
function listInEnglish(items: string[]): string {
  return items.length <= 1
    ? items.join('')
    : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

// Release requests and the rules a release must meet: an image becomes a public stock image, or is
// listed as a catalog image, only when someone other than its creator, uploader, signer and requester
// approves.
import { timingSafeEqual } from 'node:crypto';
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

/**
 * The kinds of report an image carries, one current report of each: the offline scan (`compliance`),
 * the booted tests (`boot-test`) and the signed build provenance (`provenance`, a DSSE envelope).
 */
export const REPORT_KINDS = ['compliance', 'boot-test', 'provenance'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** The latest report of one kind attached to an image. */
export interface ImageReport {
  image_id: string;
  kind: ReportKind;
  /** The document exactly as attached (JSON text). */
  document: string;
  /** `sha256:<hex>` of the document as attached. */
  digest: string;
  passed: boolean;
  attached_by: string;
  attached_at: string;
}

/** The compliance report is the `compliance` kind of ImageReport (its name before reports had kinds). */
export type ComplianceReport = ImageReport;

/** A verified provenance attestation as the catalog needs it; pipeline/provenance makes it. */
export interface VerifiedProvenance {
  subjectSha512: string;
  builderId: string;
  keyid: string;
}

/** Compares two digests (hex) in time independent of where they differ; null never matches. */
export function sameDigest(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
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

const BOOT_TEST_STATUSES = ['pass', 'fail', 'error', 'skip'] as const;

/**
 * Reads a report made by `imagetrust test-boot --format json`. It must name the bytes it booted
 * (image_sha512). It passes when at least one test ran (passed) and none failed or errored; skipped
 * tests are allowed beside tests that ran, but a report whose every test was skipped proves nothing.
 */
export function readBootTestReport(document: string): {
  passed: boolean;
  failed: string[];
  ran: number;
  imageSha512: string;
  profile: string | null;
  firmware: string | null;
  accelerator: string | null;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    throw new ValidationError(
      'MALFORMED_JSON',
      'The boot-test report is not JSON; attach `imagetrust test-boot IMAGE --format json` output.',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError('BAD_REQUEST', 'The boot-test report must be a JSON object.');
  }
  const report = parsed as Record<string, unknown>;
  const bad = (why: string): never => {
    throw new ValidationError('BAD_REQUEST', `The boot-test report ${why}.`);
  };
  if (report.kind !== 'boot-test')
    bad(
      `has kind ${JSON.stringify(report.kind)}, not "boot-test"; attach \`imagetrust test-boot --format json\` output`,
    );
  if (typeof report.image_sha512 !== 'string' || !/^[0-9a-f]{128}$/.test(report.image_sha512))
    bad('must carry image_sha512, 128 lower-case hex digits of the image it booted');
  const optionalText = (key: string, allowed?: readonly string[]): string | null => {
    const value = report[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' || (allowed && !allowed.includes(value)))
      bad(`has an invalid ${key}${allowed ? ` (one of ${allowed.join(', ')})` : ''}`);
    return value as string;
  };
  const profile = optionalText('profile');
  const firmware = optionalText('firmware', ['bios', 'uefi']);
  const accelerator = optionalText('accelerator', ['tcg', 'kvm']);
  const results = report.results;
  if (!Array.isArray(results) || results.length === 0) bad('has no results');
  for (const result of results as unknown[]) {
    const r = result as { id?: unknown; status?: unknown } | null;
    if (
      typeof r !== 'object' ||
      r === null ||
      typeof r.id !== 'string' ||
      !BOOT_TEST_STATUSES.includes(r.status as (typeof BOOT_TEST_STATUSES)[number])
    ) {
      bad(`has a result without an id or with a status other than ${BOOT_TEST_STATUSES.join(', ')}`);
    }
  }
  const list = results as { id: string; status: string }[];
  const failed = list.filter((r) => r.status === 'fail' || r.status === 'error').map((r) => r.id);
  const ran = list.filter((r) => r.status === 'pass').length;
  return {
    passed: failed.length === 0 && ran > 0,
    failed,
    ran,
    imageSha512: report.image_sha512 as string,
    profile,
    firmware,
    accelerator,
  };
}

export interface ReleaseRequirements {
  /** Whether the owning project must sign its images; then the signer must chain to a trusted certificate. */
  signaturesRequired: boolean;
  /** Null when the signing certificate chains to a trusted one now; otherwise why not. */
  signerTrustProblem: string | null;
  requireComplianceReport: boolean;
  report: ImageReport | null;
  /** A passing boot-test report bound to the image's data is needed (release.requireBootTest). */
  requireBootTest?: boolean;
  bootTest?: ImageReport | null;
  /** A provenance attestation verified with a trusted key, whose subject is the image's data, is needed. */
  requireProvenance?: boolean;
  provenance?: ImageReport | null;
  /** The attached provenance verified again now with the trusted keys: what it says, or why it fails. */
  provenanceCheck?: VerifiedProvenance | { problem: string } | null;
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
  if (needs.requireBootTest) {
    const attached = needs.bootTest;
    if (!attached) {
      refuse(
        'a passing boot-test report is required; boot the uploaded file with `imagetrust test-boot FILE --format json` and attach it with `imagetrust image report attach IMAGE REPORT --kind boot-test`',
      );
    } else {
      const read = readBootTestReport(attached.document);
      if (!read.passed) {
        refuse(
          read.failed.length
            ? `its boot-test report (${attached.digest}) has failed tests: ${read.failed.join(', ')}`
            : `its boot-test report (${attached.digest}) ran no test (all skipped)`,
        );
      } else if (!sameDigest(read.imageSha512, image.os_hash_value)) {
        refuse(
          `its boot-test report (${attached.digest}) booted other data than this image holds; attach the boot test of the uploaded file`,
        );
      }
    }
  }
  if (needs.requireProvenance) {
    const attached = needs.provenance;
    const check = needs.provenanceCheck;
    if (!attached || !check) {
      refuse(
        "a verified provenance attestation is required; attach the build's signed DSSE envelope with `imagetrust image report attach IMAGE ENVELOPE --kind provenance`",
      );
    } else if ('problem' in check) {
      refuse(`its provenance attestation (${attached.digest}) does not verify now: ${check.problem}`);
    } else if (!sameDigest(check.subjectSha512, image.os_hash_value)) {
      refuse(
        `its provenance attestation (${attached.digest}) is about other data than this image holds; attach the provenance of the uploaded file`,
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

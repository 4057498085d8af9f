// `imagetrust image lifecycle|report|release`: govern images on a running service, authenticated as
// the OpenStack clients are (OS_* variables, clouds.yaml, --os-* flags).
import { readFile } from 'node:fs/promises';
import type { AuthFlags, ImageView, ReleaseView } from '../client/index.ts';
import { ImageApi } from '../client/index.ts';
import { ValidationError } from '../errors/index.ts';
import { connect } from './connect.ts';

interface FormatFlags extends AuthFlags {
  format?: string;
}

const GOVERNANCE_KEYS = [
  'image_class',
  'lifecycle_state',
  'deprecation_at',
  'obsolescence_at',
  'replacement',
];

async function api(flags: AuthFlags): Promise<ImageApi> {
  return new ImageApi(await connect(flags));
}

function printLifecycle(image: ImageView, format: string | undefined): void {
  const view: Record<string, unknown> = { id: image.id, name: image.name, status: image.status };
  for (const key of GOVERNANCE_KEYS) view[key] = image[key] ?? null;
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(view)}\n`);
    return;
  }
  for (const [key, value] of Object.entries(view))
    process.stdout.write(`${key.padEnd(16)} ${value ?? '-'}\n`);
}

export async function showLifecycle(imageId: string, flags: FormatFlags): Promise<void> {
  printLifecycle(await (await api(flags)).getImage(imageId), flags.format);
}

interface LifecycleFlags extends FormatFlags {
  state?: string;
  deprecateAt?: string;
  obsoleteAt?: string;
  replacement?: string;
  clearDeprecation?: boolean;
  clearObsolescence?: boolean;
  clearReplacement?: boolean;
}

export async function setLifecycle(imageId: string, flags: LifecycleFlags): Promise<void> {
  const body: Record<string, unknown> = {};
  if (flags.state) body.state = flags.state;
  if (flags.deprecateAt) body.deprecation_at = flags.deprecateAt;
  if (flags.obsoleteAt) body.obsolescence_at = flags.obsoleteAt;
  if (flags.replacement) body.replacement = flags.replacement;
  if (flags.clearDeprecation) body.deprecation_at = null;
  if (flags.clearObsolescence) body.obsolescence_at = null;
  if (flags.clearReplacement) body.replacement = null;
  if (Object.keys(body).length === 0) {
    throw new ValidationError(
      'BAD_REQUEST',
      'Nothing to change: give --state, --deprecate-at, --obsolete-at, --replacement or a --clear-* flag.',
    );
  }
  printLifecycle(await (await api(flags)).setLifecycle(imageId, body), flags.format);
}

export async function attachReport(imageId: string, file: string, flags: FormatFlags): Promise<void> {
  const summary = await (await api(flags)).attachReport(imageId, await readFile(file));
  if (flags.format === 'json') process.stdout.write(`${JSON.stringify(summary)}\n`);
  else
    process.stdout.write(
      `${summary.passed ? 'passed' : 'FAILED'} ${summary.digest} attached to ${imageId}\n`,
    );
}

function printReleases(releases: ReleaseView[], format: string | undefined): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(releases.length === 1 ? releases[0] : releases)}\n`);
    return;
  }
  for (const r of releases) {
    const decided = r.decided_by
      ? ` by ${r.decided_by} at ${r.decided_at}${r.decision_reason ? `: ${r.decision_reason}` : ''}`
      : '';
    process.stdout.write(
      `${r.id}  ${r.image_id}  ${r.target}  ${r.status}${decided}  (asked by ${r.requested_by})\n`,
    );
  }
}

export async function requestRelease(
  imageId: string,
  flags: FormatFlags & { target: string; reason?: string },
): Promise<void> {
  const created = await (await api(flags)).requestRelease(imageId, {
    target: flags.target,
    ...(flags.reason ? { reason: flags.reason } : {}),
  });
  printReleases([created], flags.format);
}

export async function listReleases(flags: FormatFlags & { status?: string; image?: string }): Promise<void> {
  const releases = await (await api(flags)).listReleases({ imageId: flags.image, status: flags.status });
  if (flags.format === 'json') process.stdout.write(`${JSON.stringify(releases)}\n`);
  else printReleases(releases, 'text');
}

export async function decideRelease(
  requestId: string,
  decision: 'approve' | 'reject',
  flags: FormatFlags & { reason?: string },
): Promise<void> {
  printReleases([await (await api(flags)).decideRelease(requestId, decision, flags.reason)], flags.format);
}

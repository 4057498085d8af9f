// `imagetrust image lifecycle|report|release`: govern images on a running service, authenticated as
// the OpenStack clients are (OS_* variables, clouds.yaml, --os-* flags).
import { readFile } from 'node:fs/promises';
import type { AuthFlags, ImageView, ReleaseView, ReportKindName } from '../client/index.ts';
import { ImageApi } from '../client/index.ts';
import { ValidationError } from '../errors/index.ts';
import { connect } from './connect.ts';
import { type OutputFlags, printList, printResult } from './output.ts';

interface FormatFlags extends AuthFlags, OutputFlags {}

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

function printLifecycle(image: ImageView, flags: OutputFlags): void {
  const view: Record<string, unknown> = { id: image.id, name: image.name, status: image.status };
  for (const key of GOVERNANCE_KEYS) view[key] = image[key] ?? null;
  printResult(view, flags);
}

export async function showLifecycle(imageId: string, flags: FormatFlags): Promise<void> {
  printLifecycle(await (await api(flags)).getImage(imageId), flags);
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
  printLifecycle(await (await api(flags)).setLifecycle(imageId, body), flags);
}

interface ReportFlags extends FormatFlags {
  kind?: ReportKindName;
}

export async function attachReport(imageId: string, file: string, flags: ReportFlags): Promise<void> {
  const kind = flags.kind ?? 'compliance';
  const summary = await (await api(flags)).attachReport(imageId, await readFile(file), kind);
  const details = (summary.details ?? {}) as Record<string, unknown>;
  printResult(summary, flags, {
    text: () => {
      // The compliance line is as it always was, for scripts that read it.
      const line =
        kind === 'compliance'
          ? `${summary.passed ? 'passed' : 'FAILED'} ${summary.digest} attached to ${imageId}`
          : kind === 'boot-test'
            ? `${summary.passed ? 'passed' : 'FAILED'} boot-test report ${summary.digest} attached to ${imageId}`
            : `verified provenance ${summary.digest} (builder ${details.builder_id}, key ${details.key_id}) attached to ${imageId}`;
      process.stdout.write(`${line}\n`);
    },
  });
}

const REPORT_FIELDS = ['image_id', 'kind', 'digest', 'passed', 'attached_by', 'attached_at'];

/** Prints the image's current report of a kind: a summary as text or table, all of it as JSON or YAML. */
export async function showReport(imageId: string, flags: ReportFlags): Promise<void> {
  const report = await (await api(flags)).getReport(imageId, flags.kind ?? 'compliance');
  const summary = Object.fromEntries(REPORT_FIELDS.map((field) => [field, report[field] ?? null]));
  printResult(report, flags, {
    tabular: () => ({ record: summary }),
    text: () =>
      process.stdout.write(
        `${REPORT_FIELDS.map((field) => `${field}: ${summary[field] === null ? '-' : String(summary[field])}`).join('\n')}\n`,
      ),
  });
}

const RELEASE_COLUMNS = [
  'id',
  'image_name',
  'image_id',
  'target',
  'status',
  'requested_by',
  'requested_at',
  'decided_by',
];

type NamedRelease = ReleaseView & { image_name: string | null };

/** Releases carry image ids; the list shows names too, looked up once per image (null when not visible). */
async function withImageNames(images: ImageApi, releases: ReleaseView[]): Promise<NamedRelease[]> {
  const ids = [...new Set(releases.map((r) => r.image_id))];
  const names = new Map(
    await Promise.all(
      ids.map(
        async (id) =>
          [
            id,
            await images.getImage(id).then(
              (image) => image.name ?? null,
              () => null,
            ),
          ] as const,
      ),
    ),
  );
  return releases.map((r) => ({ ...r, image_name: names.get(r.image_id) ?? null }));
}

async function printRelease(images: ImageApi, release: ReleaseView, flags: OutputFlags): Promise<void> {
  printResult((await withImageNames(images, [release]))[0], flags);
}

export async function requestRelease(
  imageId: string,
  flags: FormatFlags & { target: string; reason?: string },
): Promise<void> {
  const images = await api(flags);
  const created = await images.requestRelease(imageId, {
    target: flags.target,
    ...(flags.reason ? { reason: flags.reason } : {}),
  });
  await printRelease(images, created, flags);
}

export async function listReleases(flags: FormatFlags & { status?: string; image?: string }): Promise<void> {
  const images = await api(flags);
  const releases = await images.listReleases({ imageId: flags.image, status: flags.status });
  printList(await withImageNames(images, releases), RELEASE_COLUMNS, flags);
}

export async function decideRelease(
  requestId: string,
  decision: 'approve' | 'reject',
  flags: FormatFlags & { reason?: string },
): Promise<void> {
  const images = await api(flags);
  await printRelease(images, await images.decideRelease(requestId, decision, flags.reason), flags);
}

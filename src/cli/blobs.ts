// `imagetrust blobs reconcile`: the crash recovery the server runs at start, on demand and on a local
// store, with a dry run that only reports. `imagetrust blobs migrate --to s3`: the filesystem store's
// data into an object store, verified and resumable.
import type { ReconcileReport } from '../catalog/index.ts';
import { ImageTrustError } from '../errors/index.ts';
import type { MigrationReport } from '../storage/index.ts';
import { printResult } from './output.ts';
import { configFromFlags, type StoreFlags } from './store.ts';

interface ReconcileFlags extends StoreFlags {
  dryRun?: boolean;
  format?: string;
}

function describe(report: ReconcileReport): string {
  const would = report.dryRun ? 'would be ' : '';
  const lines = [
    `${report.requeued.length} abandoned upload(s) ${would}put back to queued${list(report.requeued)}`,
    `${report.orphanBlobs.length} blob(s) no image holds ${would}deleted${list(report.orphanBlobs)}`,
    `${report.orphanTemporaries.length} leftover temporary file(s) ${would}deleted`,
  ];
  if (report.missingBlobs.length > 0) {
    lines.push(
      `${report.missingBlobs.length} image(s) whose data is missing (restore it from a backup, or delete the image):${list(report.missingBlobs.map((m) => m.imageId))}`,
    );
  }
  return lines.join('\n');
}

const list = (ids: string[]) => (ids.length ? `: ${ids.join(', ')}` : '');

export async function runBlobsReconcile(flags: ReconcileFlags): Promise<void> {
  const { reconcileLocalStore } = await import('../app/index.ts');
  const report = await reconcileLocalStore(configFromFlags(flags), { dryRun: flags.dryRun ?? false });
  printResult(report, flags, { text: () => process.stderr.write(`${describe(report)}\n`) });
  const pending =
    report.dryRun && report.requeued.length + report.orphanBlobs.length + report.orphanTemporaries.length > 0;
  if (pending || report.missingBlobs.length > 0) process.exitCode = 1;
}

interface MigrateFlags extends StoreFlags {
  to: string;
  dryRun?: boolean;
  format?: string;
}

function describeMigration(report: MigrationReport): string {
  const would = report.dryRun ? 'would be ' : '';
  const lines = [
    `${report.copied.length} blob(s) ${would}copied and verified${report.dryRun ? '' : ` (${report.bytes} bytes)`}`,
    `${report.present.length} blob(s) already in the object store`,
  ];
  for (const failure of report.failed)
    lines.push(`failed: ${failure.key} (image ${failure.imageId}): ${failure.reason}`);
  return lines.join('\n');
}

export async function runBlobsMigrate(flags: MigrateFlags): Promise<void> {
  if (flags.to !== 's3')
    throw new ImageTrustError('USAGE', `blobs migrate --to: only s3 is supported, not '${flags.to}'.`);
  const { migrateLocalBlobsToS3 } = await import('../app/index.ts');
  const report = await migrateLocalBlobsToS3(configFromFlags(flags), { dryRun: flags.dryRun ?? false });
  printResult(report, flags, { text: () => process.stderr.write(`${describeMigration(report)}\n`) });
  if (report.failed.length > 0) process.exitCode = 1;
}

// Copies committed blobs from one store to another (a filesystem store into an S3 store), each checked
// against the sha512 its image recorded before it is committed: a copy that does not match is discarded,
// never published. Resumable: a key the destination already has was committed whole (commits are
// atomic), so a second run skips it and copies only what is left.
import { createHash } from 'node:crypto';
import type { BlobStore } from '../../catalog/index.ts';
import { ImageTrustError } from '../../errors/index.ts';

export interface BlobToMigrate {
  key: string;
  /** The image whose data it is (for the report). */
  imageId: string;
  /** The sha512 (hex) the image recorded at upload; null when it recorded none. */
  sha512: string | null;
}

export interface MigrationReport {
  dryRun: boolean;
  /** Keys copied and verified (with a dry run: keys that would be copied). */
  copied: string[];
  /** Keys the destination already had. */
  present: string[];
  /** Keys not copied, and why (missing at the source, a digest that does not match, no digest). */
  failed: { key: string; imageId: string; reason: string }[];
  bytes: number;
}

async function exists(store: BlobStore, key: string): Promise<boolean> {
  try {
    await (await store.read(key, { start: 0, end: 0 })).close();
    return true;
  } catch (error) {
    if ((error as ImageTrustError).code === 'NOT_FOUND') return false;
    throw error;
  }
}

export async function migrateBlobs(options: {
  from: BlobStore;
  to: BlobStore;
  blobs: readonly BlobToMigrate[];
  dryRun?: boolean;
  onBlob?: (key: string, outcome: 'copied' | 'present' | 'failed') => void;
}): Promise<MigrationReport> {
  const report: MigrationReport = {
    dryRun: options.dryRun ?? false,
    copied: [],
    present: [],
    failed: [],
    bytes: 0,
  };
  const fail = (blob: BlobToMigrate, reason: string) => {
    report.failed.push({ key: blob.key, imageId: blob.imageId, reason });
    options.onBlob?.(blob.key, 'failed');
  };
  for (const blob of options.blobs) {
    if (await exists(options.to, blob.key)) {
      report.present.push(blob.key);
      options.onBlob?.(blob.key, 'present');
      continue;
    }
    if (!blob.sha512) {
      fail(blob, 'the image recorded no sha512 to verify a copy against');
      continue;
    }
    if (report.dryRun) {
      if (await exists(options.from, blob.key)) report.copied.push(blob.key);
      else fail(blob, 'missing from the source store');
      continue;
    }
    let data: Awaited<ReturnType<BlobStore['read']>>;
    try {
      data = await options.from.read(blob.key);
    } catch (error) {
      if ((error as ImageTrustError).code !== 'NOT_FOUND') throw error;
      fail(blob, 'missing from the source store');
      continue;
    }
    const temp = await options.to.createTemporary();
    const hash = createHash('sha512');
    let size = 0;
    try {
      for await (const block of data) {
        hash.update(block);
        size += block.length;
        await temp.write(block);
      }
      const digest = hash.digest('hex');
      if (digest !== blob.sha512) {
        await temp.discard();
        fail(blob, `sha512 ${digest} of the source data differs from the recorded ${blob.sha512}`);
        continue;
      }
      try {
        await temp.commit(blob.key);
      } catch (error) {
        // Another run committed it meanwhile: complete and already checked there.
        if ((error as ImageTrustError).code !== 'CONFLICT') throw error;
        await temp.discard();
        report.present.push(blob.key);
        options.onBlob?.(blob.key, 'present');
        continue;
      }
    } catch (error) {
      await data.close();
      await temp.discard();
      throw error instanceof ImageTrustError
        ? error
        : new ImageTrustError('INTERNAL', `Copying ${blob.key} failed: ${(error as Error).message}`, {
            cause: error,
          });
    }
    report.copied.push(blob.key);
    report.bytes += size;
    options.onBlob?.(blob.key, 'copied');
  }
  return report;
}

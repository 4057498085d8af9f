// `imagetrust fetch`: the boot gate. Prints the path of a verified local copy of an image, or refuses.

import type { AuthFlags } from '../client/index.ts';
import { ImageApi, SecretApi } from '../client/index.ts';
import { fetchVerifiedImage } from '../gate/index.ts';
import { closeDigestWorkers, createDigester } from '../storage/index.ts';
import { connect } from './connect.ts';
import { printResult } from './output.ts';
import { createProgress } from './progress.ts';

interface FetchFlags extends AuthFlags {
  cacheDir: string;
  trustedCertId?: string[];
  format?: string;
  column?: string[];
}

export async function runFetch(imageId: string, flags: FetchFlags): Promise<void> {
  const session = await connect(flags);
  // Created on the first bytes, when the size is known.
  const bar: { progress: ReturnType<typeof createProgress> | null } = { progress: null };
  try {
    const result = await fetchVerifiedImage({
      images: new ImageApi(session),
      secrets: new SecretApi(session),
      digester: createDigester,
      imageId,
      cacheDir: flags.cacheDir,
      trustedCertificateIds: flags.trustedCertId ?? [],
      // The CLI is an edge: the real clock is read here and nowhere below.
      clock: { now: () => new Date() },
      onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
      onProgress: (bytes, total) => {
        bar.progress ??= createProgress(`fetch ${imageId}`, total);
        bar.progress.update(bytes);
      },
    });
    bar.progress?.stop();
    if (flags.format !== 'text') {
      printResult(
        { path: result.path, image: result.image.id, fromCache: result.fromCache, verified: true },
        flags,
      );
    } else {
      process.stdout.write(`${result.path}\n`);
    }
  } finally {
    bar.progress?.stop();
    await closeDigestWorkers();
  }
}

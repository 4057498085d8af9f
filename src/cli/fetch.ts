// `imagetrust fetch IMAGE`: the boot gate. IMAGE is an id or a name; prints the path of a verified local
// copy of the image, or refuses.

import type { AuthFlags } from '../client/index.ts';
import { ImageApi, SecretApi } from '../client/index.ts';
import { fetchVerifiedImage } from '../gate/index.ts';
import { closeDigestWorkers, createDigester } from '../storage/digest/index.ts';
import { connect } from './connect.ts';
import { printResult } from './output.ts';
import { createProgress } from './progress.ts';

interface FetchFlags extends AuthFlags {
  cacheDir: string;
  trustedCertId?: string[];
  format?: string;
  column?: string[];
}

export async function runFetch(image: string, flags: FetchFlags): Promise<void> {
  const session = await connect(flags);
  const images = new ImageApi(session);
  // A name is resolved as the openstack client resolves it; the gate then works on the id only.
  const imageId = String((await images.findImage(image)).id);
  // Created on the first bytes, when the size is known.
  const bar: { progress: ReturnType<typeof createProgress> | null } = { progress: null };
  try {
    const result = await fetchVerifiedImage({
      images,
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

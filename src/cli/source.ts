// `imagetrust source fetch|verify`: source media kept only when a signed checksum list vouches for it.
import { readFile } from 'node:fs/promises';
import { readOpenPgpPublicKeys } from '../containers/index.ts';
import {
  type ChecksumListTrust,
  fetchVerifiedSource,
  readSourceDocument,
  type VerifiedSource,
  verifyLocalSource,
} from '../pipeline/sources/index.ts';
import { closeDigestWorkers, createDigester } from '../storage/index.ts';
import { printResult } from './output.ts';
import { createProgress, type Progress } from './progress.ts';

interface TrustFlags {
  checksums: string;
  signature: string;
  keyring: string;
  format: string;
}

async function loadTrust(flags: TrustFlags): Promise<ChecksumListTrust> {
  const [checksumList, signature, keys] = await Promise.all([
    readSourceDocument(flags.checksums),
    readSourceDocument(flags.signature),
    readFile(flags.keyring),
  ]);
  return { checksumList, signature, keyring: await readOpenPgpPublicKeys([keys]), now: new Date() };
}

function report(result: VerifiedSource, format: string, extra: Record<string, unknown>): void {
  const view = {
    path: result.path,
    name: result.name,
    algorithm: result.algorithm,
    digest: result.hex,
    signers: result.signers,
    verified: true,
    ...extra,
  };
  printResult(
    view,
    { format },
    {
      text: () => {
        process.stderr.write(
          `verified ${result.name}: ${result.algorithm} ${result.hex}, list signed by ${result.signers.join(', ')}\n`,
        );
        process.stdout.write(`${result.path}\n`);
      },
    },
  );
}

export async function runSourceFetch(url: string, options: TrustFlags & { cacheDir: string }): Promise<void> {
  const bar: { progress: Progress | null } = { progress: null };
  try {
    const trust = await loadTrust(options);
    const result = await fetchVerifiedSource({
      url,
      trust,
      cacheDir: options.cacheDir,
      digester: createDigester,
      onProgress: (bytes, total) => {
        bar.progress ??= createProgress(`source ${url.split('/').pop()}`, total);
        bar.progress.update(bytes);
      },
    });
    bar.progress?.stop();
    bar.progress = null;
    report(result, options.format, {
      fromCache: result.fromCache,
      size: result.size,
      requests: result.requests,
      resumed: result.resumed,
    });
  } finally {
    bar.progress?.stop();
    await closeDigestWorkers();
  }
}

export async function runSourceVerify(file: string, options: TrustFlags): Promise<void> {
  try {
    const trust = await loadTrust(options);
    report(await verifyLocalSource({ file, trust, digester: createDigester }), options.format, {});
  } finally {
    await closeDigestWorkers();
  }
}

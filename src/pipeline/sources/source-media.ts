// Verified source media: the checksum list's signature is checked first, then the file's line is found and
// its digest compared in constant time. Downloads go through a `.part` file and reach the cache only whole
// and verified; on any mismatch the download is deleted and the caller gets a coded SourceError.
import { timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { DigesterFactory } from '../../catalog/index.ts';
import type { OpenPgpKeyring } from '../../containers/index.ts';
import { SourceError } from '../../errors/index.ts';
import { cachedPathOf, commitToCache, isFile, partPathOf, recordIndexEntry, removeQuietly } from './cache.ts';
import { type ChecksumEntry, findChecksumEntry, parseChecksumList } from './checksums.ts';
import { downloadWithResume } from './download.ts';
import { verifyChecksumListSignature } from './signature.ts';

/** The loaded trust material: a checksum list, its detached signature, the keys allowed to sign it. */
export interface ChecksumListTrust {
  checksumList: Uint8Array;
  signature: Uint8Array;
  keyring: OpenPgpKeyring;
  now: Date;
}

export interface VerifiedSource {
  path: string;
  name: string;
  algorithm: string;
  hex: string;
  signers: string[];
}

export interface FetchedSource extends VerifiedSource {
  size: number;
  fromCache: boolean;
  /** Data requests made in this fetch (0 on a cache hit). */
  requests: number;
  resumed: boolean;
}

/** Verifies the list's signature before reading a single line of it, then finds the file's line. */
export async function findTrustedChecksum(
  trust: ChecksumListTrust,
  fileName: string,
): Promise<{ entry: ChecksumEntry; signers: string[] }> {
  const { signers } = await verifyChecksumListSignature({
    list: trust.checksumList,
    signature: trust.signature,
    keyring: trust.keyring,
    now: trust.now,
  });
  const list = parseChecksumList(Buffer.from(trust.checksumList).toString('utf8'));
  return { entry: findChecksumEntry(list, fileName), signers };
}

/** True when the hex digests are equal; constant time in their content. */
export function digestsEqual(actualHex: string, expectedHex: string): boolean {
  const actual = Buffer.from(actualHex, 'hex');
  const expected = Buffer.from(expectedHex, 'hex');
  return actual.length === expected.length && actual.length > 0 && timingSafeEqual(actual, expected);
}

/** The file name a URL names: its last path segment, percent-decoded. */
export function fileNameOfUrl(url: string): string {
  const segment = new URL(url).pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

async function hashFile(path: string, algorithm: string, digester: DigesterFactory): Promise<string> {
  const hashing = digester([algorithm]);
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) await hashing.update(chunk);
    return (await hashing.finish()).digests[algorithm];
  } catch (error) {
    await hashing.abort();
    throw error;
  }
}

function mismatch(name: string, entry: ChecksumEntry, actualHex: string, what: string): SourceError {
  return new SourceError(
    'SOURCE_DIGEST_MISMATCH',
    `${name}: ${entry.algorithm} is ${actualHex}, but the signed checksum list (line ${entry.line}) says ${entry.hex}; ${what}.`,
  );
}

export interface FetchVerifiedSourceOptions {
  url: string;
  trust: ChecksumListTrust;
  cacheDir: string;
  digester: DigesterFactory;
  onProgress?: (bytes: number, total: number | null) => void;
  signal?: AbortSignal;
}

/**
 * Fetches `url` into the content-addressed cache after every check passed, or throws a SourceError.
 * A cached copy is re-hashed before it is trusted (the cache is a directory anyone with access could
 * change); a damaged one is removed and downloaded again.
 */
export async function fetchVerifiedSource(options: FetchVerifiedSourceOptions): Promise<FetchedSource> {
  const name = fileNameOfUrl(options.url);
  const { entry, signers } = await findTrustedChecksum(options.trust, name);
  const cachedPath = cachedPathOf(options.cacheDir, entry);
  const found = { path: cachedPath, name, algorithm: entry.algorithm, hex: entry.hex, signers };
  if (await isFile(cachedPath)) {
    const cachedHex = await hashFile(cachedPath, entry.algorithm, options.digester);
    if (digestsEqual(cachedHex, entry.hex)) {
      const { size } = await stat(cachedPath);
      await recordIndex(options, entry, name, size);
      return { ...found, size, fromCache: true, requests: 0, resumed: false };
    }
    await removeQuietly(cachedPath);
  }
  const partPath = partPathOf(options.cacheDir, options.url, entry);
  await mkdir(dirname(partPath), { recursive: true });
  const download = await downloadWithResume({
    url: options.url,
    partPath,
    algorithm: entry.algorithm,
    digester: options.digester,
    onProgress: options.onProgress,
    signal: options.signal,
  });
  if (!digestsEqual(download.hex, entry.hex)) {
    await removeQuietly(partPath);
    throw mismatch(name, entry, download.hex, 'the download was deleted');
  }
  await commitToCache(partPath, cachedPath);
  await recordIndex(options, entry, name, download.size);
  return {
    ...found,
    size: download.size,
    fromCache: false,
    requests: download.requests,
    resumed: download.resumed,
  };
}

async function recordIndex(
  options: FetchVerifiedSourceOptions,
  entry: ChecksumEntry,
  name: string,
  size: number,
): Promise<void> {
  await recordIndexEntry(options.cacheDir, {
    url: options.url,
    name,
    algorithm: entry.algorithm,
    hex: entry.hex,
    size,
    verifiedAt: options.trust.now.toISOString(),
  });
}

export interface VerifyLocalSourceOptions {
  file: string;
  trust: ChecksumListTrust;
  digester: DigesterFactory;
}

/** Checks a local file against the signed list; the file is never changed or removed, only refused. */
export async function verifyLocalSource(options: VerifyLocalSourceOptions): Promise<VerifiedSource> {
  const name = basename(options.file);
  const { entry, signers } = await findTrustedChecksum(options.trust, name);
  const actualHex = await hashFile(options.file, entry.algorithm, options.digester);
  if (!digestsEqual(actualHex, entry.hex)) throw mismatch(name, entry, actualHex, 'do not use this file');
  return { path: options.file, name, algorithm: entry.algorithm, hex: entry.hex, signers };
}

// The content-addressed cache of verified source media: `<cache>/<algorithm>/<hex>`, read-only files, and
// `index.json` naming which URL each one came from. Paths come only from the algorithm and validated hex,
// never from names in a checksum list, so a hostile list cannot place a file outside the cache.
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile } from '../../storage/index.ts';
import type { ChecksumEntry } from './checksums.ts';

/** What the index remembers about one cached file. */
export interface SourceIndexEntry {
  url: string;
  name: string;
  algorithm: string;
  hex: string;
  size: number;
  verifiedAt: string;
}

interface SourceIndex {
  sources: Record<string, SourceIndexEntry>;
}

const HEX = /^[0-9a-f]+$/;

export function cachedPathOf(cacheDir: string, entry: Pick<ChecksumEntry, 'algorithm' | 'hex'>): string {
  // The parser already guarantees this; the check keeps the guarantee where the path is made.
  if (!HEX.test(entry.hex)) throw new TypeError(`not a hex digest: ${entry.hex}`);
  return join(cacheDir, entry.algorithm, entry.hex);
}

/** The partial download for this URL and expected digest, so a changed list never resumes a stale part. */
export function partPathOf(
  cacheDir: string,
  url: string,
  entry: Pick<ChecksumEntry, 'algorithm' | 'hex'>,
): string {
  const key = createHash('sha256').update(`${url}\n${entry.algorithm}:${entry.hex}`).digest('hex');
  return join(cacheDir, 'partial', `${key}.part`);
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Moves a verified part into the cache, read-only; an identical file already there wins. */
export async function commitToCache(partPath: string, cachedPath: string): Promise<void> {
  await mkdir(join(cachedPath, '..'), { recursive: true });
  await chmod(partPath, 0o444);
  await rename(partPath, cachedPath);
}

async function readIndex(cacheDir: string): Promise<SourceIndex> {
  try {
    const parsed = JSON.parse(await readFile(join(cacheDir, 'index.json'), 'utf8')) as SourceIndex;
    return parsed && typeof parsed.sources === 'object' && parsed.sources ? parsed : { sources: {} };
  } catch {
    // A missing or damaged index only costs a re-hash: the cache is addressed by content.
    return { sources: {} };
  }
}

/** The index entry for a URL, if one is recorded. */
export async function findIndexEntry(cacheDir: string, url: string): Promise<SourceIndexEntry | undefined> {
  return (await readIndex(cacheDir)).sources[url];
}

/** Records (or replaces) the entry for a URL; written to a temporary file and renamed, never half-written. */
export async function recordIndexEntry(cacheDir: string, entry: SourceIndexEntry): Promise<void> {
  const index = await readIndex(cacheDir);
  index.sources[entry.url] = entry;
  await replaceFile(join(cacheDir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`, {
    mode: 0o644,
    sync: false,
  });
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true });
}

// The source fetcher's network edge: small documents (checksum lists, signatures) and resumable downloads
// of large media into a `.part` file, hashed in the same pass that writes them.
import { createReadStream } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { DigesterFactory } from '../../catalog/index.ts';
import { SourceError } from '../../errors/index.ts';
import { http } from '../../http/index.ts';

const MAX_REDIRECTS = 5;
const IDLE_TIMEOUT_MS = 60_000;
/** Checksum lists and signatures are small; a bigger answer is not one. */
const MAX_DOCUMENT_BYTES = 16 << 20;

function downloadFailed(message: string, cause?: unknown): SourceError {
  return new SourceError('SOURCE_DOWNLOAD_FAILED', message, { cause });
}

/** GET with redirects; resolves with the final response (any status) and the URL that answered. */
function get(
  url: string,
  headers: Record<string, string>,
  signal?: AbortSignal,
  redirects = 0,
): Promise<{ response: IncomingMessage; url: string }> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch (error) {
      reject(downloadFailed(`"${url}" is not a URL.`, error));
      return;
    }
    const send =
      target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? http.request : null;
    if (!send) {
      reject(downloadFailed(`Only http and https URLs can be fetched, not ${target.protocol}`));
      return;
    }
    const request = send(target, { method: 'GET', headers, signal }, (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location) {
        response.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(downloadFailed(`Too many redirects fetching ${url}`));
          return;
        }
        get(new URL(location, target).href, headers, signal, redirects + 1).then(resolve, reject);
        return;
      }
      resolve({ response, url: target.href });
    });
    request.setTimeout(IDLE_TIMEOUT_MS, () => request.destroy(new Error('no data for 60 s')));
    request.on('error', (error) => reject(downloadFailed(`Cannot fetch ${url}: ${error.message}`, error)));
    request.end();
  });
}

/** A checksum list or signature from an http(s) URL or a local file. */
export async function readSourceDocument(location: string, signal?: AbortSignal): Promise<Uint8Array> {
  if (!/^https?:\/\//i.test(location)) {
    return readFile(location);
  }
  const { response } = await get(location, {}, signal);
  if (response.statusCode !== 200) {
    response.resume();
    throw downloadFailed(`${location} answered HTTP ${response.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DOCUMENT_BYTES) {
      response.destroy();
      throw downloadFailed(`${location} is larger than ${MAX_DOCUMENT_BYTES} bytes; not a checksum list.`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export interface DownloadOptions {
  url: string;
  /** Where the partial download lives; its size is where the next attempt resumes. */
  partPath: string;
  algorithm: string;
  digester: DigesterFactory;
  /** Attempts in this run, the first included; an interrupted attempt resumes in the next. */
  attempts?: number;
  onProgress?: (bytes: number, total: number | null) => void;
  signal?: AbortSignal;
}

export interface DownloadResult {
  hex: string;
  size: number;
  /** HTTP requests made for the data (redirects not counted). */
  requests: number;
  /** Whether some attempt resumed from a partial download. */
  resumed: boolean;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

// `bytes 100-199/200`, or `bytes */200` on a 416; null when absent or unreadable.
function parseContentRange(
  header: string | undefined,
): { start: number | null; total: number | null } | null {
  const match = header && /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(header.trim());
  if (!match) return null;
  return {
    start: match[1] === undefined ? null : Number(match[1]),
    total: match[2] === '*' ? null : Number(match[2]),
  };
}

type Attempt = { done: true; hex: string; size: number } | { done: false; reason: string; cause?: unknown };

/**
 * Downloads `url` into `partPath`, resuming from the part's size with a Range request when the server
 * honours it and starting over when it does not. The bytes already on disk are re-read through the
 * digester and the network bytes are hashed as they are written, so the result is the digest of the whole
 * file. A failure keeps the part for the next run; the caller deletes it on a digest mismatch.
 */
export async function downloadWithResume(options: DownloadOptions): Promise<DownloadResult> {
  const attempts = options.attempts ?? 5;
  let requests = 0;
  let resumed = false;
  let last: Extract<Attempt, { done: false }> = { done: false, reason: 'no attempt made' };
  for (let attempt = 0; attempt < attempts; attempt++) {
    options.signal?.throwIfAborted();
    const offset = await sizeOf(options.partPath);
    requests++;
    if (offset > 0) resumed = true;
    const result = await downloadOnce(options, offset);
    if (result.done) return { hex: result.hex, size: result.size, requests, resumed };
    last = result;
  }
  throw downloadFailed(
    `Downloading ${options.url} failed after ${attempts} attempts (${last.reason}); run again to resume.`,
    last.cause,
  );
}

async function downloadOnce(options: DownloadOptions, offset: number): Promise<Attempt> {
  const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
  let response: IncomingMessage;
  try {
    ({ response } = await get(options.url, headers, options.signal));
  } catch (error) {
    options.signal?.throwIfAborted();
    return { done: false, reason: (error as Error).message, cause: error };
  }
  const status = response.statusCode ?? 0;
  const range = parseContentRange(response.headers['content-range']);
  if (status === 416 && offset > 0) {
    response.resume();
    // The part may already hold the whole file (a run cut off after the last byte): hash it as it is.
    if (range?.total === offset) return hashWhole(options, offset);
    await rm(options.partPath, { force: true });
    return { done: false, reason: 'the server refused to resume; starting over' };
  }
  let start: number;
  let total: number | null;
  if (status === 206 && offset > 0 && range?.start === offset) {
    start = offset;
    total = range.total;
  } else if (status === 200) {
    // No Range support (or a changed file): start over from the first byte.
    start = 0;
    const length = response.headers['content-length'];
    total = length === undefined ? null : Number(length);
  } else {
    response.resume();
    if (status === 206) {
      await rm(options.partPath, { force: true });
      return { done: false, reason: 'the server resumed at the wrong offset; starting over' };
    }
    throw downloadFailed(`${options.url} answered HTTP ${status}`);
  }
  return receive(options, response, start, total);
}

/** Hashes an already complete part file (the prefix of every resumed attempt goes the same way). */
async function hashWhole(options: DownloadOptions, size: number): Promise<Attempt> {
  const digester = options.digester([options.algorithm]);
  try {
    for await (const chunk of createReadStream(options.partPath) as AsyncIterable<Buffer>) {
      await digester.update(chunk);
    }
    const { digests } = await digester.finish();
    return { done: true, hex: digests[options.algorithm], size };
  } catch (error) {
    await digester.abort();
    throw error;
  }
}

async function receive(
  options: DownloadOptions,
  response: IncomingMessage,
  start: number,
  total: number | null,
): Promise<Attempt> {
  const file = await open(options.partPath, start > 0 ? 'r+' : 'w');
  // The sink sees every byte in order; those before `start` are already in the file and only hashed.
  let position = 0;
  const digester = options.digester([options.algorithm], {
    sink: async (block) => {
      const at = position;
      position += block.length;
      if (position <= start) return;
      const skip = Math.max(0, start - at);
      await file.write(block, skip, block.length - skip, at + skip);
    },
  });
  let received = start;
  let failure: { reason: string; cause?: unknown } | null = null;
  try {
    if (start > 0) {
      for await (const chunk of createReadStream(options.partPath, {
        start: 0,
        end: start - 1,
      }) as AsyncIterable<Buffer>) {
        await digester.update(chunk);
      }
    }
    try {
      for await (const chunk of response as AsyncIterable<Buffer>) {
        await digester.update(chunk);
        received += chunk.length;
        options.onProgress?.(received, total);
      }
    } catch (error) {
      options.signal?.throwIfAborted();
      failure = {
        reason: `the connection broke at byte ${received}: ${(error as Error).message}`,
        cause: error,
      };
    }
    if (!failure && total !== null && received !== total) {
      failure = { reason: `the response ended at byte ${received} of ${total}` };
    }
    // finish() also flushes what the sink has not written yet, so the part keeps every byte received.
    const { digests } = await digester.finish();
    if (failure) return { done: false, ...failure };
    return { done: true, hex: digests[options.algorithm], size: received };
  } catch (error) {
    await digester.abort();
    throw error;
  } finally {
    response.destroy();
    await file.close();
  }
}

// Reading signatures from a lookaside (spec 6.2): signature-1, -2, … under
// `<base>/<repository path>@<algo>=<hex>/`, over http(s) or file:, until the first missing one.
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { ImageTrustError, RegistryError } from '../../errors/index.ts';
import { http } from '../../http/index.ts';
import type { DestinationGuard } from '../destination-guard.ts';
import { goFileErrorText } from '../policy/index.ts';
import { toTransportError } from '../registry/transport-errors.ts';
import { parseStoredSignature, type StoredSignature } from './signature-blob.ts';

/** Where signature `index` (0-based) of a manifest digest lives. */
export type LookasideSignatureUrl = (manifestDigest: string, index: number) => string;

/** The plain layout under a base URL: `<base>/<repository path>@<algo>=<hex>/signature-<index+1>`. */
export function lookasideAt(base: string, repositoryPath: string): LookasideSignatureUrl {
  return (manifestDigest, index) => {
    const [algorithm, hex] = manifestDigest.split(':');
    return `${base.replace(/\/+$/, '')}/${repositoryPath}@${algorithm}=${hex}/signature-${index + 1}`;
  };
}

export interface LookasideReadOptions {
  tlsVerify?: boolean;
  ca?: string[];
  signal?: AbortSignal;
  /** Refuses internal destinations (requests made for a tenant). */
  guard?: DestinationGuard;
}

// c/image caps each signature at 4 MiB and we stop well before any reasonable count.
const MAX_SIGNATURE_BYTES = 4 << 20;
const MAX_SIGNATURES = 1000;

function httpGet(
  url: URL,
  options: LookasideReadOptions,
): Promise<{ status: number; statusText: string; body: Buffer }> {
  const guarded = options.guard?.requestOptions(url);
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const req = (secure ? httpsRequest : http.request)(url, {
      method: 'GET',
      headers: { 'user-agent': 'imagetrust' },
      signal: options.signal,
      ...guarded,
      ...(secure
        ? { rejectUnauthorized: options.tlsVerify ?? true, ...(options.ca ? { ca: options.ca } : {}) }
        : {}),
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_SIGNATURE_BYTES)
          res.destroy(new Error(`signature larger than ${MAX_SIGNATURE_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** One signature blob, or null when it does not exist (404 or ENOENT). */
async function readOne(url: string, options: LookasideReadOptions): Promise<Buffer | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Go parses a scheme-less URL and then finds no reader for the empty scheme.
    throw new ImageTrustError('BAD_REQUEST', `Unsupported scheme when reading signature from ${url}`);
  }
  switch (parsed.protocol) {
    case 'file:':
      try {
        return await readFile(fileURLToPath(parsed));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        // c/image returns os.ReadFile's error as it is: `read <path>: is a directory`.
        throw new RegistryError('SIGNATURE_FETCH_FAILED', goFileErrorText(fileURLToPath(parsed), error), {
          cause: error,
        });
      }
    case 'http:':
    case 'https:': {
      let response: Awaited<ReturnType<typeof httpGet>>;
      try {
        response = await httpGet(parsed, options);
      } catch (error) {
        if (error instanceof ImageTrustError) throw error;
        // The transport's kind (TLS, unreachable) is in the message and cause; the code says no verdict was reached.
        const transport = toTransportError(error, 'reading signature', parsed);
        throw new RegistryError('SIGNATURE_FETCH_FAILED', transport.message, { cause: error });
      }
      if (response.status === 404) return null;
      if (response.status !== 200) {
        throw new RegistryError(
          'SIGNATURE_FETCH_FAILED',
          `reading signature from ${url}: status ${response.status} (${response.statusText})`,
        );
      }
      return response.body;
    }
    default:
      throw new ImageTrustError('BAD_REQUEST', `Unsupported scheme when reading signature from ${url}`);
  }
}

/** Reads and parses every signature of a manifest from a lookaside; one unparsable blob fails the whole read. */
export async function readLookasideSignatures(
  signatureUrl: LookasideSignatureUrl,
  manifestDigest: string,
  options: LookasideReadOptions = {},
): Promise<StoredSignature[]> {
  const signatures: StoredSignature[] = [];
  for (let index = 0; index < MAX_SIGNATURES; index++) {
    const url = signatureUrl(manifestDigest, index);
    const blob = await readOne(url, options);
    if (blob === null) break;
    try {
      signatures.push(parseStoredSignature(blob));
    } catch (error) {
      // c/image names a file by its quoted path (%q of url.Path) and an HTTP lookaside by its URL.
      const where = new URL(url).protocol === 'file:' ? JSON.stringify(fileURLToPath(url)) : url;
      throw new ImageTrustError('BAD_REQUEST', `parsing signature ${where}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return signatures;
}

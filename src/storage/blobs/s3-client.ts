// A minimal S3 client over node:http(s): SigV4-signed requests on a keep-alive agent, path-style or
// virtual-host addressing, S3 error bodies read into S3Error. Only what the S3 blob store needs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Agent, ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import { inspect } from 'node:util';
import { ConfigError } from '../../errors/index.ts';
import { type DataResponse, getData, http } from '../../http/index.ts';
import {
  EMPTY_SHA256,
  type SigningCredentials,
  signRequest,
  uriEncode,
  uriEncodePath,
} from './s3-signing.ts';
import { childText, parseXml, XmlError } from './s3-xml.ts';

/** Access key, secret and session token; the secret never appears when the object is printed or logged. */
export class S3Credentials implements SigningCredentials {
  readonly accessKeyId: string;
  readonly #secret: string;
  readonly #token: string | undefined;

  constructor(accessKeyId: string, secretAccessKey: string, sessionToken?: string) {
    this.accessKeyId = accessKeyId;
    this.#secret = secretAccessKey;
    this.#token = sessionToken || undefined;
  }

  get secretAccessKey(): string {
    return this.#secret;
  }

  get sessionToken(): string | undefined {
    return this.#token;
  }

  toJSON(): Record<string, string> {
    return { accessKeyId: this.accessKeyId, secretAccessKey: '[redacted]' };
  }

  [inspect.custom](): string {
    return `S3Credentials { accessKeyId: '${this.accessKeyId}', secretAccessKey: [redacted] }`;
  }
}

/** The named profile of an AWS shared credentials file (`[name]` or `[profile name]` sections, `key = value`). */
export function readCredentialsFile(file: string, profile = 'default'): S3Credentials {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the S3 credentials file ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let section: string | null = null;
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[') && line.endsWith(']')) {
      section = line
        .slice(1, -1)
        .trim()
        .replace(/^profile\s+/, '');
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== profile || eq < 0) continue;
    values[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  const id = values.aws_access_key_id;
  const secret = values.aws_secret_access_key;
  if (!id || !secret) {
    throw new ConfigError(
      `The S3 credentials file ${file} has no profile '${profile}' with aws_access_key_id and aws_secret_access_key.`,
    );
  }
  return new S3Credentials(id, secret, values.aws_session_token);
}

/** Credentials from a shared credentials file when one is configured, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. */
export function loadS3Credentials(
  options: { credentialsFile?: string; profile?: string },
  env: Record<string, string | undefined> = process.env,
): S3Credentials {
  if (options.credentialsFile)
    return readCredentialsFile(options.credentialsFile, options.profile || 'default');
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (!id || !secret) {
    throw new ConfigError(
      'blobs.backend is s3 but no S3 credentials were given: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or blobs.s3.credentialsFile.',
    );
  }
  return new S3Credentials(id, secret, env.AWS_SESSION_TOKEN);
}

/** An S3 answer other than success: the HTTP status and, when the body said so, S3's error code. */
export class S3Error extends Error {
  override name = 'S3Error';
  readonly status: number;
  readonly s3Code: string;
  readonly requestId: string | undefined;

  constructor(status: number, s3Code: string, message: string, requestId?: string) {
    super(`${s3Code} (HTTP ${status}): ${message}`);
    this.status = status;
    this.s3Code = s3Code;
    this.requestId = requestId;
  }
}

export interface S3ClientOptions {
  /** `http(s)://host[:port][/base]` */
  endpoint: string;
  region: string;
  bucket: string;
  /** `endpoint/bucket/key` (true) or `bucket.endpoint/key` (false). */
  pathStyle: boolean;
  credentials: SigningCredentials;
  /** A socket silent for this long fails the request (default 60 s). */
  timeoutMs?: number;
  /** The signing time (injected in tests). */
  now?: () => Date;
}

/**
 * A request body read from an open file: its first `length` bytes, read through the caller's two blocks
 * in turn (one filling while the other is on its way to the socket), so sending it holds those two
 * blocks and nothing more. Read by position, so a retry reads it again from the start.
 */
export interface FileBody {
  handle: FileHandle;
  length: number;
  blocks: readonly [Buffer, Buffer];
}

export interface S3Request {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** The object key; undefined addresses the bucket. */
  key?: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** The body from a file instead (with `payloadHash`, usually UNSIGNED-PAYLOAD: it is not read twice). */
  file?: FileBody;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD; computed from `body` when absent. */
  payloadHash?: string;
  signal?: AbortSignal;
}

export interface S3Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Largest response body read into memory (XML listings of 1000 keys are well under 1 MiB). */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

const RETRYABLE_ON_REUSED_SOCKET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export class S3Client {
  readonly #endpoint: URL;
  readonly #options: S3ClientOptions;
  readonly #agent: Agent;
  readonly #request: typeof http.request;

  constructor(options: S3ClientOptions) {
    let endpoint: URL;
    try {
      endpoint = new URL(options.endpoint);
    } catch {
      throw new ConfigError(`blobs.s3.endpoint '${options.endpoint}' is not a URL.`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw new ConfigError(
        `blobs.s3.endpoint must be an http:// or https:// URL, not '${options.endpoint}'.`,
      );
    }
    this.#endpoint = endpoint;
    this.#options = options;
    const secure = endpoint.protocol === 'https:';
    this.#agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: 128 })
      : new http.Agent({ keepAlive: true, maxSockets: 128 });
    this.#request = secure ? https.request : http.request;
  }

  /** Closes the pooled connections. */
  close(): void {
    this.#agent.destroy();
  }

  #target(key: string | undefined): { host: string; hostname: string; path: string } {
    const base = this.#endpoint.pathname.replace(/\/+$/, '');
    const bucket = this.#options.bucket;
    const port = this.#endpoint.port;
    if (this.#options.pathStyle) {
      const path = `${base}/${uriEncodePath(bucket)}${key === undefined ? '' : `/${uriEncodePath(key)}`}`;
      return { host: this.#endpoint.host, hostname: this.#endpoint.hostname, path };
    }
    const hostname = `${bucket}.${this.#endpoint.hostname}`;
    return {
      host: port ? `${hostname}:${port}` : hostname,
      hostname,
      path: `${base}/${key === undefined ? '' : uriEncodePath(key)}`,
    };
  }

  /**
   * Sends the request and resolves with the response head, its body unread (for streaming). A connection
   * reset on a reused keep-alive socket (the server closed it while idle) is retried once on a new one.
   */
  async open(request: S3Request): Promise<IncomingMessage> {
    try {
      return await this.#openOnce(request);
    } catch (error) {
      if ((error as { reusedSocket?: boolean }).reusedSocket && !request.signal?.aborted) {
        return this.#openOnce(request);
      }
      throw error;
    }
  }

  /**
   * GETs bulk data (an object or a range of one) through the reused-buffer reader: a block is valid until
   * the one after next is asked for, and nothing is allocated per chunk. One connection per call, closed
   * after the body; a server silent for `timeoutMs` while data is awaited fails the read.
   */
  openData(request: Pick<S3Request, 'key' | 'headers' | 'signal'>): Promise<DataResponse> {
    const signed = this.#sign({ method: 'GET', ...request });
    const url = new URL(`${this.#endpoint.protocol}//${signed.host}${signed.path}`);
    // The reader sends Host itself (the same value, the one signed).
    const { host: _host, ...headers } = signed.headers;
    return getData(url, {
      headers,
      // Virtual-host style still connects to the endpoint; only Host (and TLS's SNI) name the bucket.
      connect: { hostname: this.#endpoint.hostname, port: Number(this.#endpoint.port) || undefined },
      ...(request.signal ? { signal: request.signal } : {}),
      idleTimeoutMs: this.#options.timeoutMs ?? 60_000,
    });
  }

  /** The request's target and its SigV4-signed headers. */
  #sign(request: S3Request): {
    host: string;
    hostname: string;
    path: string;
    query: string;
    headers: Record<string, string>;
  } {
    const target = this.#target(request.key);
    const body = request.body;
    const file = request.file;
    if (file && (body || request.payloadHash === undefined)) {
      throw new TypeError('A file body goes alone and with its payload hash.');
    }
    const payloadHash =
      request.payloadHash ??
      // Small bodies (XML, pointers) are hashed; data parts say UNSIGNED-PAYLOAD and carry Content-MD5.
      (body ? sha256Hex(body) : EMPTY_SHA256);
    const headers: Record<string, string> = { host: target.host, ...(request.headers ?? {}) };
    if (file) headers['content-length'] = String(file.length);
    else if (body || request.method === 'PUT' || request.method === 'POST') {
      headers['content-length'] = String(body?.length ?? 0);
    }
    const signed = signRequest(
      {
        method: request.method,
        path: target.path,
        query: request.query ?? [],
        headers,
        payloadHash,
        region: this.#options.region,
        service: 's3',
        now: this.#options.now?.() ?? new Date(),
      },
      this.#options.credentials,
    );
    const query = (request.query ?? [])
      .map(([k, v]) => `${uriEncode(k)}${v === '' ? '' : `=${uriEncode(v)}`}`)
      .join('&');
    return {
      ...target,
      path: query ? `${target.path}?${query}` : target.path,
      query,
      headers: signed.headers,
    };
  }

  #openOnce(request: S3Request): Promise<IncomingMessage> {
    const file = request.file;
    const body = request.body;
    const signed = this.#sign(request);
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = this.#request({
        protocol: this.#endpoint.protocol,
        hostname: this.#endpoint.hostname,
        port: this.#endpoint.port || undefined,
        method: request.method,
        path: signed.path,
        headers: signed.headers,
        agent: this.#agent,
        signal: request.signal,
        // Virtual-host style still connects to the endpoint; only the Host header names the bucket.
        setHost: false,
      });
      req.setTimeout(this.#options.timeoutMs ?? 60_000, () => {
        const error = new Error('The object store did not answer in time.') as NodeJS.ErrnoException;
        error.code = 'ETIMEDOUT';
        req.destroy(error);
      });
      // Settles once a file body stops being read, so a retry never reads into blocks still being filled.
      let sending: Promise<void> = Promise.resolve();
      req.on('response', (response) => {
        if (!file) return resolve(response);
        // An answer before the whole body (an early refusal): the socket cannot carry another request.
        if (!req.writableEnded) response.once('end', () => req.destroy());
        // Once the blocks are no longer being filled, so the caller may use them again.
        sending.then(() => resolve(response));
      });
      req.on('error', (error) => {
        if (req.reusedSocket && RETRYABLE_ON_REUSED_SOCKET.has((error as NodeJS.ErrnoException).code ?? '')) {
          (error as { reusedSocket?: boolean }).reusedSocket = true;
        }
        sending.then(() => reject(error));
      });
      if (file) sending = sendFile(req, file).catch((error) => void req.destroy(error));
      else req.end(body);
    });
  }

  /** Sends the request and reads the whole (small) answer; any status outside `ok` rejects with S3Error. */
  async send(request: S3Request, ok: readonly number[] = [200]): Promise<S3Response> {
    const response = await this.open(request);
    const body = await readBody(response, MAX_RESPONSE_BYTES);
    const status = response.statusCode ?? 0;
    if (!ok.includes(status)) throw toS3Error(status, body, response.headers);
    return { status, headers: response.headers, body };
  }
}

/**
 * Writes the file's bytes to the request through its two blocks: a block is filled again only once the
 * socket has taken what it held before. Stops quietly when the request closes or is answered early.
 */
async function sendFile(req: ClientRequest, file: FileBody): Promise<void> {
  let answered = false;
  // Either ends the sending: a socket that closed, or an answer that came before the whole body.
  const stopped = new Promise<'stopped'>((resolve) => {
    req.once('close', () => resolve('stopped'));
    req.once('response', () => {
      answered = true;
      resolve('stopped');
    });
  });
  const taken: [Promise<unknown>, Promise<unknown>] = [Promise.resolve(), Promise.resolve()];
  let position = 0;
  for (let turn = 0; position < file.length; turn = 1 - turn) {
    if ((await Promise.race([taken[turn], stopped])) === 'stopped') return;
    const block = file.blocks[turn];
    const size = Math.min(block.length, file.length - position);
    for (let filled = 0; filled < size; ) {
      const { bytesRead } = await file.handle.read(block, filled, size - filled, position + filled);
      if (bytesRead === 0)
        throw new Error(`The staged body ended at ${position + filled} of ${file.length} bytes.`);
      filled += bytesRead;
    }
    if (req.destroyed || answered) return;
    position += size;
    const written = new Promise<void>((resolve, reject) => {
      req.write(block.subarray(0, size), (error) => (error ? reject(error) : resolve()));
    });
    // Awaited on the block's next turn or at the end; the request's own error event reports a failure.
    written.catch(() => undefined);
    taken[turn] = written;
  }
  if ((await Promise.race([Promise.all(taken), stopped])) === 'stopped') return;
  req.end();
}

function sha256Hex(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Reads a response body up to `limit` bytes; more is an error (and the response is destroyed). */
export async function readBody(response: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.destroy();
      throw new S3Error(response.statusCode ?? 0, 'ResponseTooLarge', `Answer over ${limit} bytes.`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The S3Error an unsuccessful answer describes (its XML Code and Message when it has them). */
export function toS3Error(status: number, body: Buffer, headers: IncomingHttpHeaders): S3Error {
  const requestId = (headers['x-amz-request-id'] as string | undefined) ?? undefined;
  let code = statusCode(status);
  let message = body.length ? body.toString('utf8').slice(0, 200) : `HTTP ${status}`;
  if (body.length && (headers['content-type'] ?? '').includes('xml')) {
    try {
      const root = parseXml(body.toString('utf8'), { maxChars: 1024 * 1024 });
      if (root.name === 'Error') {
        code = childText(root, 'Code') || code;
        message = childText(root, 'Message') || code;
      }
    } catch (error) {
      if (!(error instanceof XmlError)) throw error;
    }
  }
  return new S3Error(status, code, message, requestId);
}

function statusCode(status: number): string {
  if (status === 404) return 'NotFound';
  if (status === 412) return 'PreconditionFailed';
  if (status === 403) return 'AccessDenied';
  if (status >= 500) return 'ServiceUnavailable';
  return `Http${status}`;
}

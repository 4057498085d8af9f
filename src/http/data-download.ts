// GET of image data over HTTP/1.1, read straight from the socket into reused buffers. Node's HTTP
// client allocates a fresh buffer for every ~64 KiB the socket delivers and passes each through its
// parser and a stream: about 2 s of one core per GiB here, where reading the same socket into a reused
// 1 MiB buffer (`onread`) takes 0.6 s. This reader parses only what a data download needs (status line,
// headers, Content-Length or chunked framing) and is strict about it, since the service on the other end
// is exactly what the boot gate does not trust. The bytes are judged by the signature, not by this code.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { connectionFailure, ImageTrustError } from '../errors/index.ts';

/**
 * What the socket reads into. The consumer holds at most two blocks (the one it works on and the one
 * before, still being written elsewhere), so three buffers are enough.
 */
const READ_BUFFER = 1 << 20;
const KEPT_BUFFERS = 3;
/** Status line and headers together; a data response has a handful. */
const MAX_HEAD = 64 * 1024;
/** A chunk-size line with its extensions. */
const MAX_CHUNK_LINE = 4096;
/** The most of an error body kept for the message. */
const MAX_ERROR_BODY = 64 * 1024;

export interface DataDownloadOptions {
  headers: Record<string, string>;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  signal?: AbortSignal;
  /**
   * Gives up (SERVICE_UNREACHABLE) when the server sends nothing for this long while the reader waits for
   * it: connecting, the headers, or the body (default 60 s). Time the consumer takes is never counted.
   */
  idleTimeoutMs?: number;
  /**
   * Where to connect when that is not the URL's host (an S3 endpoint addressed virtual-host style: the
   * URL, its Host header and TLS's server name carry the bucket's name, the connection goes to the endpoint).
   */
  connect?: { hostname: string; port?: number };
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface DataResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Content-Length, or null when the body is chunked or ends with the connection. */
  length: number | null;
  /**
   * The body, once. A block is valid until the one after next is asked for (the socket reads into buffers
   * it reuses), so a consumer may write one block out while it works on the next. A body shorter than its Content-Length, or a chunked body without its last chunk, fails
   * with UPLOAD_INCOMPLETE.
   */
  body: AsyncIterable<Uint8Array>;
  /** Reads what is left of the body as text (at most 64 KiB), for an error message. */
  text(): Promise<string>;
  /** Closes the connection (idempotent). */
  close(): void;
}

type Framing =
  | { kind: 'length'; remaining: number }
  | { kind: 'close' }
  | { kind: 'chunked'; state: 'size' | 'data' | 'data-end' | 'trailer'; remaining: number; line: string }
  | { kind: 'none' };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function malformed(origin: string, what: string): ImageTrustError {
  return new ImageTrustError('SERVICE_UNREACHABLE', `${origin} sent a malformed HTTP response: ${what}.`);
}

/** Sends `GET url` and resolves once the status line and headers are in. */
export function getData(url: URL, options: DataDownloadOptions): Promise<DataResponse> {
  const origin = url.origin;
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') {
    return Promise.reject(new ImageTrustError('BAD_REQUEST', `Cannot download from ${url.protocol} URLs.`));
  }
  for (const [name, value] of Object.entries(options.headers)) {
    if (!TOKEN.test(name) || /[\r\n]/.test(value)) {
      return Promise.reject(new ImageTrustError('INTERNAL', `Refusing to send header '${name}'.`));
    }
  }
  const free: Buffer[] = [];
  const users = new Map<Buffer, number>();
  const take = () => free.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER);
  const hold = (buffer: Buffer) => users.set(buffer, (users.get(buffer) ?? 0) + 1);
  const release = (buffer: Buffer | null) => {
    if (!buffer) return;
    const left = (users.get(buffer) ?? 1) - 1;
    if (left > 0) {
      users.set(buffer, left);
      return;
    }
    users.delete(buffer);
    if (free.length < KEPT_BUFFERS) free.push(buffer);
  };

  const urlHost = url.hostname.replace(/^\[|\]$/g, '');
  const host = options.connect?.hostname.replace(/^\[|\]$/g, '') ?? urlHost;
  const port = options.connect?.port ?? Number(url.port || (secure ? 443 : 80));
  // Every read goes to a buffer no block still handed out lives in (the callback runs before the next
  // read is asked for, and the socket pauses while blocks wait).
  const onread = {
    buffer: () => take(),
    callback: (length: number, buffer: Uint8Array) => received(length, buffer as Buffer),
  };
  const socket: Socket = secure
    ? tlsConnect({
        host,
        port,
        ...(isIP(urlHost) ? {} : { servername: urlHost }),
        ALPNProtocols: ['http/1.1'],
        ...options.tls,
        onread,
      } as unknown as ConnectionOptions)
    : netConnect({ host, port, onread });

  let head: Buffer | null = Buffer.alloc(0);
  let framing: Framing = { kind: 'none' };
  const queue: { view: Uint8Array; buffer: Buffer | null }[] = [];
  let ended = false;
  let paused = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  let settleHead: { resolve: (r: DataResponse) => void; reject: (e: Error) => void } | null = null;
  const result = new Promise<DataResponse>((resolve, reject) => {
    settleHead = { resolve, reject };
  });

  // Armed only while the reader waits for the server, never while the socket is paused for the consumer.
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let idle: ReturnType<typeof setTimeout> | null = null;
  const stopIdle = () => {
    if (idle) clearTimeout(idle);
    idle = null;
  };
  const watchIdle = () => {
    stopIdle();
    idle = setTimeout(
      () =>
        fail(
          new ImageTrustError(
            'SERVICE_UNREACHABLE',
            `${origin} sent nothing for ${idleMs / 1000} s; the download was given up.`,
          ),
        ),
      idleMs,
    );
  };

  const fail = (error: Error) => {
    stopIdle();
    failure ??= error;
    if (settleHead) {
      settleHead.reject(failure);
      settleHead = null;
    }
    wake?.();
    socket.destroy();
  };
  const onAbort = () => fail(new DOMException('The download was aborted.', 'AbortError'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  watchIdle();
  socket.once(secure ? 'secureConnect' : 'connect', () => {
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      'Accept: */*',
      'Connection: close',
      ...Object.entries(options.headers).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
  socket.on('error', (error) =>
    fail(connectionFailure(error, `Cannot download from ${origin}`, 'SERVICE_UNREACHABLE')),
  );
  socket.on('end', () => {
    ended = true;
    stopIdle();
    wake?.();
  });
  socket.on('close', () => {
    ended = true;
    stopIdle();
    options.signal?.removeEventListener('abort', onAbort);
    if (settleHead) fail(malformed(origin, 'the connection closed before the headers ended'));
    wake?.();
  });

  const push = (view: Uint8Array, buffer: Buffer | null) => {
    if (view.length === 0) return;
    if (buffer) hold(buffer);
    queue.push({ view, buffer });
  };

  /** Splits body bytes by the framing into blocks (views of `buffer`, or of a copy when null). */
  function body(bytes: Uint8Array, buffer: Buffer | null): void {
    let offset = 0;
    while (offset < bytes.length) {
      const f = framing;
      if (f.kind === 'none') throw malformed(origin, 'data after the end of the body');
      if (f.kind === 'close') {
        push(bytes.subarray(offset), buffer);
        return;
      }
      if (f.kind === 'length') {
        const take = Math.min(f.remaining, bytes.length - offset);
        push(bytes.subarray(offset, offset + take), buffer);
        f.remaining -= take;
        offset += take;
        if (f.remaining === 0) framing = { kind: 'none' };
        continue;
      }
      // chunked
      if (f.state === 'data') {
        const take = Math.min(f.remaining, bytes.length - offset);
        push(bytes.subarray(offset, offset + take), buffer);
        f.remaining -= take;
        offset += take;
        if (f.remaining === 0) f.state = 'data-end';
        continue;
      }
      // size, data-end and trailer lines end with CRLF
      const byte = bytes[offset++];
      if (byte !== 0x0a) {
        f.line += String.fromCharCode(byte);
        if (f.line.length > MAX_CHUNK_LINE) throw malformed(origin, 'a chunk line is too long');
        continue;
      }
      if (!f.line.endsWith('\r')) throw malformed(origin, 'a chunk line does not end with CRLF');
      const line = f.line.slice(0, -1);
      f.line = '';
      if (f.state === 'data-end') {
        if (line !== '') throw malformed(origin, 'a chunk is longer than its size');
        f.state = 'size';
      } else if (f.state === 'size') {
        const size = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(line);
        if (!size) throw malformed(origin, `bad chunk size '${line.slice(0, 40)}'`);
        f.remaining = Number.parseInt(size[1], 16);
        f.state = f.remaining === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        framing = { kind: 'none' };
      }
    }
  }

  function parseHead(headText: string): DataResponse {
    const [statusLine, ...lines] = headText.split('\r\n');
    const status = /^HTTP\/1\.[01] ([1-5][0-9]{2})(?: [^\r\n]*)?$/.exec(statusLine);
    if (!status) throw malformed(origin, `bad status line '${statusLine.slice(0, 60)}'`);
    const code = Number(status[1]);
    if (code < 200) throw malformed(origin, `unexpected interim status ${code}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const match = /^([^:\s]+):[ \t]*(.*?)[ \t]*$/.exec(line);
      if (!match || !TOKEN.test(match[1])) throw malformed(origin, `bad header line '${line.slice(0, 60)}'`);
      const name = match[1].toLowerCase();
      headers[name] = name in headers ? `${headers[name]}, ${match[2]}` : match[2];
    }
    const encoding = headers['transfer-encoding'];
    const declared = headers['content-length'];
    let length: number | null = null;
    if (encoding !== undefined) {
      if (encoding.toLowerCase() !== 'chunked')
        throw malformed(origin, `unsupported transfer-encoding '${encoding}'`);
      if (declared !== undefined) throw malformed(origin, 'both transfer-encoding and content-length');
      framing = { kind: 'chunked', state: 'size', remaining: 0, line: '' };
    } else if (declared !== undefined) {
      const values = new Set(declared.split(',').map((v) => v.trim()));
      const only = [...values][0];
      if (values.size !== 1 || !/^[0-9]{1,15}$/.test(only))
        throw malformed(origin, `bad content-length '${declared}'`);
      length = Number(only);
      framing = length === 0 ? { kind: 'none' } : { kind: 'length', remaining: length };
    } else {
      framing = code === 204 || code === 304 ? { kind: 'none' } : { kind: 'close' };
    }
    return { status: code, headers, length, body: blocks(), text, close: () => socket.destroy() };
  }

  function received(length: number, buffer: Buffer): boolean {
    watchIdle();
    // The read's own hold on its buffer; each block cut from it holds it too, until consumed.
    hold(buffer);
    try {
      const bytes = buffer.subarray(0, length);
      if (head !== null) {
        const joined = Buffer.concat([head, bytes]);
        const end = joined.indexOf('\r\n\r\n');
        if (end < 0) {
          if (joined.length > MAX_HEAD) throw malformed(origin, `headers longer than ${MAX_HEAD} bytes`);
          head = joined;
          return true;
        }
        if (end > MAX_HEAD) throw malformed(origin, `headers longer than ${MAX_HEAD} bytes`);
        head = null;
        const response = parseHead(joined.subarray(0, end).toString('latin1'));
        // The body's first bytes came with the headers: they live in `joined`, a copy of their own.
        body(joined.subarray(end + 4), null);
        settleHead?.resolve(response);
        settleHead = null;
      } else {
        body(bytes, buffer);
      }
    } catch (error) {
      fail(error as Error);
      return false;
    } finally {
      release(buffer);
    }
    wake?.();
    // Backpressure: no more reads while blocks wait for the consumer (returning false stops reading;
    // socket.resume() starts it again).
    paused = queue.length > 0;
    if (paused || ended) stopIdle();
    else watchIdle();
    return !paused;
  }

  /** The blocks handed out and still valid: the last one and the one before it. */
  const handedOut: { view: Uint8Array; buffer: Buffer | null }[] = [];
  let iterated = false;

  async function* blocks(): AsyncGenerator<Uint8Array> {
    if (iterated) throw new ImageTrustError('INTERNAL', 'A download body is read once.');
    iterated = true;
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          // Asking for this block ends the one two before it.
          if (handedOut.length === 2) release((handedOut.shift() as { buffer: Buffer | null }).buffer);
          handedOut.push(next);
          yield next.view;
          continue;
        }
        if (failure) throw failure;
        if (framing.kind === 'none') return;
        if (ended) {
          if (framing.kind === 'close') return;
          throw new ImageTrustError(
            'UPLOAD_INCOMPLETE',
            framing.kind === 'length'
              ? `${origin} closed the connection ${framing.remaining} bytes before the end of the data.`
              : `${origin} closed the connection before the last chunk of the data.`,
          );
        }
        if (paused) {
          paused = false;
          watchIdle();
          socket.resume();
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    } finally {
      for (const block of handedOut.splice(0)) release(block.buffer);
      socket.destroy();
    }
  }

  async function text(): Promise<string> {
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for await (const block of blocks()) {
        parts.push(Buffer.from(block.subarray(0, MAX_ERROR_BODY - size)));
        size += block.length;
        if (size >= MAX_ERROR_BODY) break;
      }
    } catch {
      // What arrived is enough for a message.
    }
    return Buffer.concat(parts).toString('utf8');
  }

  return result;
}

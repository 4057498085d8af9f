// The boot gate's data reader against scripted servers on loopback: every framing HTTP/1.1 allows for a
// download, split at awkward places, gives exactly the bytes sent; a hostile or broken answer (cut short,
// malformed, oversized, ambiguous) fails with a clear code instead of yielding bytes that look whole.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { getData } from '../../src/http/index.ts';
import { makeTlsMaterial } from '../support/tls.ts';

type Script = (socket: Socket, request: string) => unknown;

/** A server that answers each connection with `script`, once the request's headers are in. */
async function serve(
  script: Script,
  secure?: { cert: Buffer; key: Buffer },
): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const handler = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let request = '';
    const onData = (data: Buffer) => {
      request += data.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      Promise.resolve(script(socket, request)).catch(() => socket.destroy());
    };
    socket.on('data', onData);
  };
  const server: Server = secure ? createTlsServer(secure, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `${secure ? 'https' : 'http'}://127.0.0.1:${port}/v2/images/x/file?a=1`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `bytes` in pieces of the given sizes (cycled), each in its own TCP write. */
async function dribble(socket: Socket, bytes: Buffer, sizes: number[]): Promise<void> {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    const piece = bytes.subarray(offset, offset + size);
    offset += piece.length;
    if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Reads the whole body, copying each block (a block is valid until the one after next is asked for). */
async function readAll(url: string, options: Parameters<typeof getData>[1] = { headers: {} }) {
  const response = await getData(new URL(url), options);
  const parts: Buffer[] = [];
  for await (const block of response.body) {
    parts.push(Buffer.from(block));
    // A slow consumer: the reader must pause the socket and keep earlier blocks intact.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { response, body: Buffer.concat(parts) };
}

function chunked(data: Buffer, sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const piece = data.subarray(offset, offset + sizes[i % sizes.length]);
    offset += piece.length;
    parts.push(
      Buffer.from(`${piece.length.toString(16)}${i % 2 ? ';ext=1' : ''}\r\n`),
      piece,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from('0\r\nX-Trailer: yes\r\n\r\n'));
  return Buffer.concat(parts);
}

describe('data download reader', () => {
  const servers: { close(): Promise<void> }[] = [];
  const start = async (script: Script, secure?: { cert: Buffer; key: Buffer }) => {
    const server = await serve(script, secure);
    servers.push(server);
    return server.url;
  };
  after(async () => {
    for (const server of servers) await server.close();
  });

  it('sends a plain GET with the path, query, Host and the given headers', async () => {
    let seen = '';
    const url = await start((socket, request) => {
      seen = request;
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const { body } = await readAll(url, { headers: { 'X-Auth-Token': 'tok' } });
    assert.equal(body.toString(), 'ok');
    const [line, ...headers] = seen.split('\r\n');
    assert.equal(line, 'GET /v2/images/x/file?a=1 HTTP/1.1');
    assert.ok(headers.includes(`Host: ${new URL(url).host}`));
    assert.ok(headers.includes('X-Auth-Token: tok'));
  });

  it('gives exactly a Content-Length body larger than its buffers, whatever the TCP writes', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 3);
    const url = await start(async (socket) => {
      await dribble(
        socket,
        Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`), data]),
        [1, 7, 65_536, 1_048_577, 3],
      );
      socket.end();
    });
    const { response, body } = await readAll(url);
    assert.equal(response.status, 200);
    assert.equal(response.length, data.length);
    assert.ok(body.equals(data));
  });

  it('keeps a block intact until the one after next is asked for, so it can be written out meanwhile', async () => {
    const data = randomBytes(6 * 1024 * 1024 + 11);
    const url = await start(async (socket) => {
      await dribble(
        socket,
        Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`), data]),
        [300_000, 1_048_576, 5, 2_000_000],
      );
      socket.end();
    });
    const response = await getData(new URL(url), { headers: {} });
    let offset = 0;
    let previous: { view: Uint8Array; at: number } | null = null;
    let blocks = 0;
    for await (const block of response.body) {
      // Time for the socket to read on (into whichever buffers the reader thinks are free)...
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      // ...and the previous block, not copied, still holds its bytes now that this one was taken.
      if (previous) {
        const expected = data.subarray(previous.at, previous.at + previous.view.length);
        assert.ok(Buffer.from(previous.view).equals(expected), `block at ${previous.at} changed`);
      }
      assert.ok(Buffer.from(block).equals(data.subarray(offset, offset + block.length)));
      previous = { view: block, at: offset };
      offset += block.length;
      blocks++;
    }
    assert.equal(offset, data.length);
    assert.ok(blocks > 6, `${blocks} blocks: enough for the read buffers to be reused`);
  });

  it('gives exactly a chunked body with extensions and trailers, split at every byte', async () => {
    const data = randomBytes(3000);
    const url = await start(async (socket) => {
      await dribble(
        socket,
        Buffer.concat([
          Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
          chunked(data, [1, 500, 17]),
        ]),
        [1],
      );
      socket.end();
    });
    const { response, body } = await readAll(url);
    assert.equal(response.length, null);
    assert.ok(body.equals(data));
  });

  it('gives a body that ends with the connection when there is no framing', async () => {
    const url = await start((socket) => socket.end('HTTP/1.0 200 OK\r\n\r\nuntil close'));
    assert.equal((await readAll(url)).body.toString(), 'until close');
  });

  for (const [label, answer, code] of [
    [
      'a Content-Length body cut short',
      'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345',
      'UPLOAD_INCOMPLETE',
    ],
    [
      'a chunked body without its last chunk',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n',
      'UPLOAD_INCOMPLETE',
    ],
    ['a bad status line', 'HTTP/2 200 OK\r\n\r\n', 'SERVICE_UNREACHABLE'],
    ['an interim status', 'HTTP/1.1 100 Continue\r\n\r\n', 'SERVICE_UNREACHABLE'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbroken\r\n\r\n', 'SERVICE_UNREACHABLE'],
    [
      'both Transfer-Encoding and Content-Length',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
      'SERVICE_UNREACHABLE',
    ],
    [
      'two different Content-Lengths',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      'SERVICE_UNREACHABLE',
    ],
    ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'SERVICE_UNREACHABLE'],
    [
      'an unknown transfer coding',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n',
      'SERVICE_UNREACHABLE',
    ],
    [
      'a chunk size that is not hex',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'SERVICE_UNREACHABLE',
    ],
    [
      'a chunk longer than its size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n',
      'SERVICE_UNREACHABLE',
    ],
    ['bytes after the body', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA', 'SERVICE_UNREACHABLE'],
    ['a connection closed inside the headers', 'HTTP/1.1 200 OK\r\nContent-Le', 'SERVICE_UNREACHABLE'],
  ] as const) {
    it(`refuses ${label} with ${code}`, async () => {
      const url = await start((socket) => socket.end(answer));
      await assert.rejects(readAll(url), (error: { code?: string }) => {
        assert.equal(error.code, code);
        return true;
      });
    });
  }

  it('refuses headers past 64 KiB without reading on', async () => {
    const url = await start(async (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      await dribble(socket, Buffer.from(`X-Junk: ${'a'.repeat(100 * 1024)}\r\n`), [8192]);
    });
    await assert.rejects(readAll(url), {
      code: 'SERVICE_UNREACHABLE',
      message: /headers longer than 65536 bytes/,
    });
  });

  it('gives an error status and its body as text', async () => {
    const url = await start((socket) =>
      socket.end(
        'HTTP/1.1 404 Not Found\r\nContent-Length: 21\r\nX-ImageTrust-Error-Code: NOT_FOUND\r\n\r\n{"message":"no such"}',
      ),
    );
    const response = await getData(new URL(url), { headers: {} });
    assert.equal(response.status, 404);
    assert.equal(response.headers['x-imagetrust-error-code'], 'NOT_FOUND');
    assert.equal(await response.text(), '{"message":"no such"}');
  });

  it('stops with an AbortError when the signal aborts mid-body', async () => {
    const url = await start(async (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n');
      await dribble(socket, randomBytes(1 << 20), [65_536]);
    });
    const controller = new AbortController();
    const response = await getData(new URL(url), { headers: {}, signal: controller.signal });
    await assert.rejects(
      (async () => {
        for await (const _block of response.body) controller.abort();
      })(),
      { name: 'AbortError' },
    );
  });

  it('gives up with SERVICE_UNREACHABLE when the server stalls in the headers or mid-body', async () => {
    const stalls = {
      headers: (socket: Socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Le'),
      body: (socket: Socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'),
    };
    for (const [where, script] of Object.entries(stalls)) {
      const url = await start(script);
      const read = async () => {
        const response = await getData(new URL(url), { headers: {}, idleTimeoutMs: 300 });
        for await (const _block of response.body) {
          // the first 10 bytes, then nothing more ever comes
        }
      };
      await assert.rejects(read(), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SERVICE_UNREACHABLE', `${where}: ${error.message}`);
        assert.match(error.message, /sent nothing for 0\.3 s/);
        return true;
      });
    }
  });

  it('never counts the time a slow consumer takes against the idle timeout', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const url = await start((socket) => {
      socket.end(
        Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`), data]),
      );
    });
    const response = await getData(new URL(url), { headers: {}, idleTimeoutMs: 1000 });
    const parts: Buffer[] = [];
    for await (const block of response.body) {
      parts.push(Buffer.from(block));
      // Longer than the timeout, once: the socket is paused meanwhile, which is not the server's silence.
      if (parts.length === 1) await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    assert.ok(Buffer.concat(parts).equals(data));
  });

  it('says SERVICE_UNREACHABLE when nothing listens', async () => {
    const url = await start(() => undefined);
    await servers.pop()!.close();
    await assert.rejects(getData(new URL(url), { headers: {} }), { code: 'SERVICE_UNREACHABLE' });
  });

  it('reads over TLS, trusting only the given CA', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-data-tls-'));
    try {
      const tls = makeTlsMaterial(dir);
      const data = randomBytes(3 * 1024 * 1024 + 1);
      const url = await start(
        async (socket) => {
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`);
          await dribble(socket, data, [100_000, 1]);
          socket.end();
        },
        { cert: readFileSync(tls.serverCert), key: readFileSync(tls.serverKey) },
      );
      const { body } = await readAll(url, { headers: {}, tls: { ca: readFileSync(tls.caCert) } });
      assert.ok(body.equals(data));
      await assert.rejects(getData(new URL(url), { headers: {} }), { code: 'TLS_FAILED' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// S3Client sending a body from an open file through two blocks (how the S3 store sends staged parts),
// against a small local HTTP server: the bytes and length arrive exactly, an early refusal ends the
// request without hanging and leaves the client usable, and a file shorter than promised fails.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Client, S3Credentials, S3Error } from '../../src/storage/blobs/s3-client.ts';
import { UNSIGNED_PAYLOAD } from '../../src/storage/blobs/s3-signing.ts';

const MiB = 1024 * 1024;

describe('S3Client with a file body', () => {
  let dir: string;
  let server: Server;
  let client: S3Client;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-s3-file-body-'));
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    client = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      bucket: 'b',
      pathStyle: true,
      credentials: new S3Credentials('id', 'secret'),
      timeoutMs: 5000,
    });
  });
  after(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function fileOf(data: Buffer): Promise<FileHandle> {
    const file = path.join(dir, `${randomBytes(6).toString('hex')}.part`);
    writeFileSync(file, data);
    return open(file, 'r');
  }

  /** Answers 200 with the sha256 and length of what arrived. */
  function hashingServer(): void {
    handler = (req, res) => {
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      req.on('end', () => {
        res.setHeader('etag', `"${hash.digest('hex')}"`);
        res.setHeader('x-length', String(length));
        res.setHeader('x-content-length', String(req.headers['content-length']));
        res.end();
      });
    };
  }

  it('sends exactly the first `length` bytes of the file, with that Content-Length, through 1 MiB blocks', async () => {
    hashingServer();
    const data = randomBytes(5 * MiB + 12345);
    const handle = await fileOf(Buffer.concat([data, Buffer.from('not part of the body')]));
    try {
      const blocks: [Buffer, Buffer] = [Buffer.alloc(MiB), Buffer.alloc(MiB)];
      for (let round = 0; round < 2; round++) {
        const answer = await client.send({
          method: 'PUT',
          key: 'k',
          file: { handle, length: data.length, blocks },
          payloadHash: UNSIGNED_PAYLOAD,
        });
        assert.equal(answer.headers['x-content-length'], String(data.length));
        assert.equal(answer.headers['x-length'], String(data.length));
        assert.equal(answer.headers.etag, `"${createHash('sha256').update(data).digest('hex')}"`);
      }
    } finally {
      await handle.close();
    }
  });

  it('rejects with the store error when refused before the whole body, and the client goes on working', async () => {
    handler = (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>no</Message></Error>');
    };
    const handle = await fileOf(randomBytes(16 * MiB));
    try {
      await assert.rejects(
        client.send({
          method: 'PUT',
          key: 'k',
          file: { handle, length: 16 * MiB, blocks: [Buffer.alloc(MiB), Buffer.alloc(MiB)] },
          payloadHash: UNSIGNED_PAYLOAD,
        }),
        (error: unknown) => error instanceof S3Error && error.s3Code === 'AccessDenied',
      );
    } finally {
      await handle.close();
    }
    hashingServer();
    const answer = await client.send({ method: 'PUT', key: 'k', body: Buffer.from('after') });
    assert.equal(answer.headers['x-length'], '5');
  });

  it('fails, without hanging, when the file is shorter than the length it was sent with', async () => {
    hashingServer();
    const handle = await fileOf(randomBytes(3 * MiB));
    try {
      await assert.rejects(
        client.send({
          method: 'PUT',
          key: 'k',
          file: { handle, length: 4 * MiB, blocks: [Buffer.alloc(MiB), Buffer.alloc(MiB)] },
          payloadHash: UNSIGNED_PAYLOAD,
        }),
        (error: unknown) => error instanceof Error && !(error instanceof S3Error),
      );
    } finally {
      await handle.close();
    }
  });
});

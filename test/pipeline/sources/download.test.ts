// Resumable downloads against a real local server: resume with Range, start over when the server ignores
// it, and hash a part that is already whole; the digest always covers the whole file.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadWithResume } from '../../../src/pipeline/sources/index.ts';
import { closeDigestWorkers, createDigester } from '../../../src/storage/index.ts';

const DATA = randomBytes(3 << 20);
const SHA256 = createHash('sha256').update(DATA).digest('hex');

describe('downloadWithResume', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let handler: (request: IncomingMessage, response: ServerResponse) => void;
  const ranges: (string | undefined)[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-download-'));
    server = createServer((request, response) => {
      ranges.push(request.headers.range);
      handler(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closeDigestWorkers();
    rmSync(dir, { recursive: true, force: true });
  });

  const rangeAware = (request: IncomingMessage, response: ServerResponse) => {
    const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const start = match ? Number(match[1]) : 0;
    if (start >= DATA.length) {
      response.writeHead(416, { 'content-range': `bytes */${DATA.length}` }).end();
      return;
    }
    if (match) {
      response.writeHead(206, {
        'content-range': `bytes ${start}-${DATA.length - 1}/${DATA.length}`,
        'content-length': DATA.length - start,
      });
    } else {
      response.writeHead(200, { 'content-length': DATA.length });
    }
    response.end(DATA.subarray(start));
  };

  function download(partPath: string) {
    return downloadWithResume({
      url: `${base}/media.iso`,
      partPath,
      algorithm: 'sha256',
      digester: createDigester,
    });
  }

  it('resumes from a part with a Range request and hashes the whole file', async () => {
    handler = rangeAware;
    const part = path.join(dir, 'resume.part');
    writeFileSync(part, DATA.subarray(0, 1_000_001));
    ranges.length = 0;
    const result = await download(part);
    assert.deepEqual(ranges, ['bytes=1000001-']);
    assert.equal(result.hex, SHA256);
    assert.equal(result.resumed, true);
    assert.ok(readFileSync(part).equals(DATA));
  });

  it('starts over when the server ignores Range', async () => {
    handler = (_request, response) => {
      response.writeHead(200, { 'content-length': DATA.length });
      response.end(DATA);
    };
    const part = path.join(dir, 'restart.part');
    writeFileSync(part, Buffer.alloc(2_000_000, 7));
    const result = await download(part);
    assert.equal(result.hex, SHA256);
    assert.equal(result.size, DATA.length);
    assert.ok(readFileSync(part).equals(DATA));
  });

  it('hashes a part that already holds the whole file when the server answers 416', async () => {
    handler = rangeAware;
    const part = path.join(dir, 'whole.part');
    writeFileSync(part, DATA);
    const result = await download(part);
    assert.equal(result.hex, SHA256);
  });

  it('fails with SOURCE_DOWNLOAD_FAILED on an HTTP error and keeps no data', async () => {
    handler = (_request, response) => response.writeHead(404).end();
    const part = path.join(dir, 'missing.part');
    await assert.rejects(download(part), { code: 'SOURCE_DOWNLOAD_FAILED' });
    assert.equal(existsSync(part), false);
  });
});

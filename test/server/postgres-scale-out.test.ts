// Past one machine: two API processes share one PostgreSQL and one blob store. An image made through
// one is served by the other, and two uploads racing for the same image cannot both win.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminQuery, postgresUrlFor } from '../storage/database-backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('two API processes on one PostgreSQL', () => {
  const schema = `it_scale_${randomBytes(4).toString('hex')}`;
  let blobs: string;
  let a: TestServer;
  let b: TestServer;
  let tokenA: string;
  let tokenB: string;

  before(async () => {
    await adminQuery(`CREATE SCHEMA ${schema}`);
    blobs = mkdtempSync(path.join(tmpdir(), 'imagetrust-shared-blobs-'));
    const shared = { database: postgresUrlFor(schema), blobs: { dir: blobs } };
    // Both start at once: migrations and the first admin are created exactly once.
    const started = await Promise.allSettled([startTestServer(shared), startTestServer(shared)]);
    [a, b] = started.map((s) => (s.status === 'fulfilled' ? s.value : (undefined as unknown as TestServer)));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    tokenA = await a.token();
    tokenB = await b.token();
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    rmSync(blobs, { recursive: true, force: true });
  });

  const createImage = async () => {
    const r = await fetch(`${a.url}/image/v2/images`, {
      method: 'POST',
      headers: { 'x-auth-token': tokenA, 'content-type': 'application/json' },
      body: JSON.stringify({ disk_format: 'raw', container_format: 'bare', name: 'shared' }),
    });
    assert.equal(r.status, 201);
    return ((await r.json()) as { id: string }).id;
  };
  const upload = (server: TestServer, token: string, id: string, data: Buffer) =>
    fetch(`${server.url}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(data),
    });

  it('accepts a token issued by the other process', async () => {
    const r = await fetch(`${b.url}/image/v2/images`, { headers: { 'x-auth-token': tokenA } });
    assert.equal(r.status, 200);
  });

  it('serves through one process what was uploaded through the other', async () => {
    const id = await createImage();
    const data = randomBytes(500_000);
    assert.equal((await upload(b, tokenB, id, data)).status, 204);
    const download = await fetch(`${a.url}/image/v2/images/${id}/file`, {
      headers: { 'x-auth-token': tokenA },
    });
    assert.equal(download.status, 200);
    const body = Buffer.from(await download.arrayBuffer());
    assert.equal(
      createHash('sha512').update(body).digest('hex'),
      createHash('sha512').update(data).digest('hex'),
    );
  });

  it('lets exactly one of two racing uploads win', async () => {
    const id = await createImage();
    const [first, second] = await Promise.all([
      upload(a, tokenA, id, randomBytes(300_000)),
      upload(b, tokenB, id, randomBytes(300_000)),
    ]);
    assert.deepEqual([first.status, second.status].sort(), [204, 409]);
    const image = (await (
      await fetch(`${b.url}/image/v2/images/${id}`, { headers: { 'x-auth-token': tokenB } })
    ).json()) as {
      status: string;
      size: number;
    };
    assert.equal(image.status, 'active');
    assert.equal(image.size, 300_000);
  });
});

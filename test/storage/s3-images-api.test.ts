// The image API with `blobs.backend: s3` on a real Swift + s3api: an upload streams into the bucket and
// downloads byte-identical (whole and ranged), a deleted image leaves the bucket empty, and an object store
// that goes away mid-upload gives 503 BLOB_STORE_UNAVAILABLE with the image queued again, then works once
// the store is back, with no restart.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Client, S3Credentials } from '../../src/storage/blobs/s3-client.ts';
import { type ObjectStore, startObjectStore } from '../support/objectstore.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MiB = 1024 * 1024;

describe('the image API on an S3 blob store (Swift + s3api)', () => {
  let swift: ObjectStore;
  let t: TestServer;
  let token: string;
  let credentialsDir: string;
  const prefix = `api-${process.pid}`;

  before(async () => {
    swift = await startObjectStore();
    credentialsDir = await mkdtemp(path.join(tmpdir(), 'imagetrust-s3-creds-'));
    const credentialsFile = path.join(credentialsDir, 'credentials');
    await writeFile(
      credentialsFile,
      `[images]\naws_access_key_id = ${swift.accessKeyId}\naws_secret_access_key = ${swift.secretAccessKey}\n`,
      { mode: 0o600 },
    );
    t = await startTestServer({
      blobs: {
        backend: 's3',
        s3: {
          endpoint: swift.endpoint,
          region: swift.region,
          bucket: swift.bucket,
          pathStyle: true,
          prefix,
          partSizeMiB: 5,
          credentialsFile,
          profile: 'images',
        },
      },
    });
    token = await t.token();
  });
  after(async () => {
    await t?.stop().catch(() => undefined);
    await swift?.dispose();
    await rm(credentialsDir, { recursive: true, force: true });
  });

  async function bucketListing(): Promise<{ objects: number; uploads: number }> {
    const client = new S3Client({
      endpoint: swift.endpoint,
      region: swift.region,
      bucket: swift.bucket,
      pathStyle: true,
      credentials: new S3Credentials(swift.accessKeyId, swift.secretAccessKey),
    });
    try {
      const count = async (query: [string, string][]) =>
        ((await client.send({ method: 'GET', query })).body.toString().match(/<Key>/g) ?? []).length;
      return {
        objects: await count([
          ['list-type', '2'],
          ['prefix', `${prefix}/`],
        ]),
        uploads: await count([
          ['uploads', ''],
          ['prefix', `${prefix}/`],
        ]),
      };
    } finally {
      client.close();
    }
  }

  async function createImage(name: string): Promise<string> {
    const response = await fetch(`${t.url}/image/v2/images`, {
      method: 'POST',
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare' }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    return ((await response.json()) as { id: string }).id;
  }

  const imageStatus = async (id: string) =>
    (
      (await (
        await fetch(`${t.url}/image/v2/images/${id}`, { headers: { 'x-auth-token': token } })
      ).json()) as {
        status: string;
      }
    ).status;

  it('uploads, downloads whole and ranged, byte-identical, and deletes to an empty bucket', async () => {
    const id = await createImage('s3-roundtrip');
    const data = randomBytes(12 * MiB + 7);
    const put = await fetch(`${t.url}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(put.status, 204, await put.text());
    const image = (await (
      await fetch(`${t.url}/image/v2/images/${id}`, { headers: { 'x-auth-token': token } })
    ).json()) as {
      status: string;
      size: number;
      os_hash_value: string;
    };
    assert.equal(image.status, 'active');
    assert.equal(image.size, data.length);
    assert.equal(image.os_hash_value, createHash('sha512').update(data).digest('hex'));

    const whole = await fetch(`${t.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token } });
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data));
    const start = 5 * MiB - 3;
    const end = 10 * MiB + 3;
    const ranged = await fetch(`${t.url}/image/v2/images/${id}/file`, {
      headers: { 'x-auth-token': token, range: `bytes=${start}-${end}` },
    });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(start, end + 1)));

    assert.deepEqual(await bucketListing(), { objects: 2, uploads: 0 }, 'a pointer and its data');
    const deleted = await fetch(`${t.url}/image/v2/images/${id}`, {
      method: 'DELETE',
      headers: { 'x-auth-token': token },
    });
    assert.equal(deleted.status, 204);
    assert.deepEqual(await bucketListing(), { objects: 0, uploads: 0 });
  });

  it('answers 503 BLOB_STORE_UNAVAILABLE when the store stops mid-upload, queues the image, and recovers', async () => {
    const id = await createImage('s3-outage');
    let sent = 0;
    let stopped: Promise<void> | null = null;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 8 * MiB && !stopped) {
          // The first part is in the store; the store goes away before the rest arrives.
          stopped = swift.stop();
          await stopped;
        }
        if (sent >= 16 * MiB) {
          controller.close();
          return;
        }
        controller.enqueue(randomBytes(MiB));
        sent += MiB;
      },
    });
    const put = await fetch(`${t.url}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit);
    assert.equal(put.status, 503, await put.clone().text());
    assert.equal(put.headers.get('x-imagetrust-error-code'), 'BLOB_STORE_UNAVAILABLE');
    await put.arrayBuffer();
    assert.equal(await imageStatus(id), 'queued');
    // Readiness names the part that is down, and only it.
    const down = await fetch(`${t.url}/readyz`);
    assert.equal(down.status, 503);
    const report = (await down.json()) as { failed: string[]; checks: Record<string, { status: string }> };
    assert.deepEqual(report.failed, ['blobs']);
    assert.equal(report.checks.database.status, 'ok');

    await swift.start();
    // Back without a restart: ready again, and the next upload works.
    assert.equal((await fetch(`${t.url}/readyz`)).status, 200);
    const data = randomBytes(6 * MiB);
    const retry = await fetch(`${t.url}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(retry.status, 204, await retry.text());
    const got = await fetch(`${t.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token } });
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
    // The interrupted upload's multipart upload is left for recovery, which sweeps it.
    const swept = await t.server.services.recovery.reconcile();
    assert.ok(swept.orphanTemporaries.length <= 1);
    const listing = await bucketListing();
    assert.equal(listing.objects, 2);
  });
});

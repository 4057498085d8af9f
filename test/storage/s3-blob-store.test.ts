// S3BlobStore on a real OpenStack Swift with s3api (started for this file by test/support/objectstore.sh):
// the BlobStore contract, plus what only an object store has — multipart uploads that an abort leaves no
// trace of, parts crossing ranges, a store that goes away and comes back, memory that stays bounded.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import { openS3BlobStore, S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/blobs/s3.ts';
import { S3Client, S3Credentials } from '../../src/storage/blobs/s3-client.ts';
import { type ObjectStore, startObjectStore } from '../support/objectstore.ts';
import { blobStoreContract, readAll } from './blob-store.contract.ts';

const MiB = 1024 * 1024;
let swift: ObjectStore;
let sequence = 0;

before(async () => {
  swift = await startObjectStore();
});
after(async () => {
  await swift?.dispose();
});

function settings(): Omit<S3BlobStoreOptions, 'prefix'> {
  return {
    endpoint: swift.endpoint,
    region: swift.region,
    bucket: swift.bucket,
    pathStyle: true,
    credentials: new S3Credentials(swift.accessKeyId, swift.secretAccessKey),
  };
}

/** A raw client on the same bucket: the tests look at what is really there, not at what the store says. */
function rawClient(): S3Client {
  return new S3Client(settings());
}

async function rawListing(prefix: string): Promise<{ objects: string[]; uploads: string[] }> {
  const client = rawClient();
  try {
    const objects = await client.send({
      method: 'GET',
      query: [
        ['list-type', '2'],
        ['prefix', prefix],
      ],
    });
    const uploads = await client.send({
      method: 'GET',
      query: [
        ['uploads', ''],
        ['prefix', prefix],
      ],
    });
    const keys = (body: Buffer) =>
      [...body.toString('utf8').matchAll(/<Key>([^<]{1,1024})<\/Key>/g)].map((m) => m[1]);
    return { objects: keys(objects.body), uploads: keys(uploads.body) };
  } finally {
    client.close();
  }
}

async function openStore(
  options: Partial<S3BlobStoreOptions> = {},
): Promise<{ store: S3BlobStore; prefix: string }> {
  const prefix = `t${process.pid}-${++sequence}`;
  const store = await new S3BlobStore({ ...settings(), prefix, ...options }).open();
  return { store, prefix };
}

async function empty(store: S3BlobStore): Promise<void> {
  const keys: string[] = [];
  for await (const key of store.list()) keys.push(key);
  for (const key of keys) await store.delete(key);
  const temps: string[] = [];
  for await (const temp of store.listTemporaries()) temps.push(temp.id);
  for (const id of temps) await store.discardTemporary(id);
  store.close();
}

blobStoreContract('S3BlobStore on Swift + s3api: BlobStore contract', async () => {
  const { store } = await openStore({ partSize: 5 * MiB });
  return { store, dispose: () => empty(store) };
});

function assertCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ImageTrustError, `expected an ImageTrustError, got ${String(error)}`);
    assert.equal(error.code, code, (error as Error).message);
    return true;
  };
}

describe('S3BlobStore on Swift + s3api', () => {
  it('leaves no object and no multipart upload behind an aborted temporary, small or multi-part', async () => {
    const { store, prefix } = await openStore({ partSize: 5 * MiB });
    try {
      const small = await store.createTemporary();
      await small.write(randomBytes(1000));
      const large = await store.createTemporary();
      for (let i = 0; i < 12; i++) await large.write(randomBytes(MiB));
      const before = await rawListing(`${prefix}/`);
      assert.equal(before.uploads.length, 2, 'both temporaries are open multipart uploads');
      assert.deepEqual(before.objects, []);
      await small.discard();
      await large.discard();
      assert.deepEqual(await rawListing(`${prefix}/`), { objects: [], uploads: [] });
      assert.equal(await store.countTemporaries(), 0);
      // A refused commit (the key is taken) followed by the caller's discard: also nothing left.
      const taken = await store.createTemporary();
      await taken.write(Buffer.from('first'));
      await taken.commit('taken');
      const refused = await store.createTemporary();
      for (let i = 0; i < 6; i++) await refused.write(randomBytes(MiB));
      await assert.rejects(refused.commit('taken'), assertCode('CONFLICT'));
      await refused.discard();
      const after = await rawListing(`${prefix}/`);
      assert.deepEqual(after.uploads, []);
      assert.equal(
        after.objects.length,
        2,
        `only the committed key and its data: ${after.objects.join(', ')}`,
      );
    } finally {
      await empty(store);
    }
  });

  it('round-trips data over several parts byte for byte, with ranges across part boundaries', async () => {
    const partSize = 5 * MiB;
    const { store, prefix } = await openStore({ partSize });
    try {
      const data = randomBytes(3 * partSize + 12345);
      const temp = await store.createTemporary();
      // Odd chunk sizes, so parts fill from pieces of several writes.
      for (let at = 0; at < data.length; ) {
        const n = Math.min(data.length - at, 333_333 + (at % 7));
        await temp.write(data.subarray(at, at + n));
        at += n;
      }
      await temp.commit('multi');
      const whole = await readAll(await store.read('multi'));
      assert.equal(
        createHash('sha256').update(whole).digest('hex'),
        createHash('sha256').update(data).digest('hex'),
      );
      for (const [start, end] of [
        [partSize - 1, partSize],
        [partSize - 10, 2 * partSize + 10],
        [2 * partSize, 2 * partSize],
        [3 * partSize - 1, data.length - 1],
        [0, data.length - 1],
      ]) {
        const got = await readAll(await store.read('multi', { start, end }));
        assert.ok(got.equals(data.subarray(start, end + 1)), `range ${start}-${end}`);
      }
      // The object really is a multipart one: its ETag says how many parts it has.
      const client = rawClient();
      const listing = await rawListing(`${prefix}/data/`);
      const head = await client.send({ method: 'HEAD', key: listing.objects[0] });
      client.close();
      assert.match(String(head.headers.etag), /-4"$/);
    } finally {
      await empty(store);
    }
  });

  it('gives NOT_FOUND at commit when recovery discarded the temporary by id from another store', async () => {
    const { store, prefix } = await openStore({ partSize: 5 * MiB });
    const other = new S3BlobStore({ ...settings(), prefix });
    try {
      for (const size of [100, 6 * MiB]) {
        const temp = await store.createTemporary();
        await temp.write(randomBytes(size));
        const listed: string[] = [];
        for await (const t of other.listTemporaries()) listed.push(t.id);
        assert.deepEqual(listed, [temp.id]);
        await other.discardTemporary(temp.id);
        await other.discardTemporary(temp.id);
        await assert.rejects(temp.commit(`k-${size}`), assertCode('NOT_FOUND'));
        await temp.discard();
        assert.deepEqual(await rawListing(`${prefix}/`), { objects: [], uploads: [] });
      }
    } finally {
      other.close();
      await empty(store);
    }
  });

  it('stops at open with a configuration error for a wrong secret, region or bucket', async () => {
    const settings = {
      endpoint: swift.endpoint,
      region: swift.region,
      bucket: swift.bucket,
      pathStyle: true,
      prefix: '',
      partSizeMiB: 16,
      credentialsFile: '',
      profile: '',
    };
    const env = { AWS_ACCESS_KEY_ID: swift.accessKeyId, AWS_SECRET_ACCESS_KEY: swift.secretAccessKey };
    for (const [wrong, expected, secret] of [
      [{ region: 'RegionOne' }, /region 'RegionOne' is wrong/, swift.secretAccessKey],
      [{ bucket: 'no-such-bucket' }, /NoSuchBucket/, swift.secretAccessKey],
      [{}, /SignatureDoesNotMatch/, 'not-the-secret'],
    ] as const) {
      await assert.rejects(
        openS3BlobStore({ ...settings, ...wrong }, { env: { ...env, AWS_SECRET_ACCESS_KEY: secret } }),
        (error: unknown) => {
          assert.ok(error instanceof ImageTrustError);
          assert.equal(error.code, 'CONFIG_INVALID');
          assert.match(error.message, expected);
          assert.ok(!error.message.includes(swift.secretAccessKey), 'the secret is never in a message');
          return true;
        },
      );
    }
    (await openS3BlobStore(settings, { env })).close();
  });

  it('refuses a temporary id or key that is not ours before touching the store', async () => {
    const { store } = await openStore();
    try {
      for (const id of ['../x', 'a/b', '', 'x'.repeat(300)]) {
        await assert.rejects(store.discardTemporary(id), assertCode('INTERNAL'));
      }
    } finally {
      await empty(store);
    }
  });

  it('answers BLOB_STORE_UNAVAILABLE while the store is stopped, and works again once it is back', async () => {
    const { store } = await openStore({ partSize: 5 * MiB, timeoutMs: 10_000 });
    try {
      const temp = await store.createTemporary();
      await temp.write(Buffer.from('before'));
      await temp.commit('kept');
      const inFlight = await store.createTemporary();
      await inFlight.write(randomBytes(MiB));

      await swift.stop();
      await assert.rejects(store.read('kept'), assertCode('BLOB_STORE_UNAVAILABLE'));
      await assert.rejects(store.createTemporary(), assertCode('BLOB_STORE_UNAVAILABLE'));
      await assert.rejects(store.delete('kept'), assertCode('BLOB_STORE_UNAVAILABLE'));
      await assert.rejects(store.countTemporaries(), assertCode('BLOB_STORE_UNAVAILABLE'));
      await assert.rejects(
        (async () => {
          for await (const _key of store.list());
        })(),
        assertCode('BLOB_STORE_UNAVAILABLE'),
      );
      // An upload cut off by the outage fails its commit cleanly, and its discard does not throw.
      await assert.rejects(inFlight.commit('lost'), assertCode('BLOB_STORE_UNAVAILABLE'));
      await inFlight.discard();

      await swift.start();
      // The same store object, no restart: old data reads, new data commits, the leftover is swept.
      assert.equal((await readAll(await store.read('kept'))).toString(), 'before');
      const again = await store.createTemporary();
      await again.write(Buffer.from('after'));
      await again.commit('new');
      assert.equal((await readAll(await store.read('new'))).toString(), 'after');
      assert.equal(await store.countTemporaries(), 1, 'the cut-off upload stays for recovery');
      await store.discardTemporary(inFlight.id);
      assert.equal(await store.countTemporaries(), 0);
      await assert.rejects(store.read('lost'), assertCode('NOT_FOUND'));
    } finally {
      await empty(store);
    }
  });

  it('holds at most two part buffers while 200 MiB stream through one temporary', async () => {
    const partSize = 8 * MiB;
    const { store } = await openStore({ partSize });
    try {
      const block = Buffer.alloc(MiB);
      const written = createHash('sha256');
      const baseline = process.memoryUsage().arrayBuffers;
      let peak = 0;
      const temp = await store.createTemporary();
      for (let i = 0; i < 200; i++) {
        block.writeUInt32BE(i, 0);
        block.writeUInt32BE(i * 7, MiB - 4);
        written.update(block);
        await temp.write(block);
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
      }
      await temp.commit('big');
      // Two part buffers, plus slack for sockets and the hash; a store that kept parts would be at 200 MiB.
      assert.ok(peak <= 2 * partSize + 8 * MiB, `array buffers grew by ${(peak / MiB).toFixed(1)} MiB`);
      const read = createHash('sha256');
      let length = 0;
      for await (const chunk of await store.read('big')) {
        read.update(chunk);
        length += chunk.length;
      }
      assert.equal(length, 200 * MiB);
      assert.equal(read.digest('hex'), written.digest('hex'));
    } finally {
      await empty(store);
    }
  });
});

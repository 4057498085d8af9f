// What every S3-compatible store must show under S3BlobStore, whichever server answers: the helpers that
// look at the bucket directly, and the cases both the default run (Swift + s3api, s3-blob-store.test.ts)
// and the opt-in one (Ceph RGW, s3-blob-store.ceph.ts) register. Each file adds what only its server has.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import { openS3BlobStore, S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/blobs/s3.ts';
import { S3Client, S3Credentials } from '../../src/storage/blobs/s3-client.ts';
import type { ObjectStore } from '../support/objectstore.ts';
import { readAll } from './blob-store.contract.ts';

export const MiB = 1024 * 1024;

export function assertCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ImageTrustError, `expected an ImageTrustError, got ${String(error)}`);
    assert.equal(error.code, code, (error as Error).message);
    return true;
  };
}

/** Stores on one running server; `server` and `staging` are read when a test runs (after `before`). */
export function s3Harness(server: () => ObjectStore, staging: () => string) {
  let sequence = 0;

  function settings(): Omit<S3BlobStoreOptions, 'prefix'> {
    const s = server();
    return {
      endpoint: s.endpoint,
      region: s.region,
      bucket: s.bucket,
      pathStyle: true,
      credentials: new S3Credentials(s.accessKeyId, s.secretAccessKey),
      stagingDir: path.join(staging(), 'shared'),
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

  /** A store under a prefix of its own, with a staging directory of its own. */
  async function openStore(
    options: Partial<S3BlobStoreOptions> = {},
  ): Promise<{ store: S3BlobStore; prefix: string }> {
    const prefix = `t${process.pid}-${++sequence}`;
    const stagingDir = path.join(staging(), prefix);
    const store = await new S3BlobStore({ ...settings(), prefix, stagingDir, ...options }).open();
    return { store, prefix };
  }

  /** Deletes what the store holds, aborts its uploads, and closes it. */
  async function empty(store: S3BlobStore): Promise<void> {
    const keys: string[] = [];
    for await (const key of store.list()) keys.push(key);
    for (const key of keys) await store.delete(key);
    const temps: string[] = [];
    for await (const temp of store.listTemporaries()) temps.push(temp.id);
    for (const id of temps) await store.discardTemporary(id);
    store.close();
  }

  return { server, staging, settings, rawClient, rawListing, openStore, empty };
}

export type S3Harness = ReturnType<typeof s3Harness>;

export interface S3CaseOptions {
  /** What the server says to a request signed for another region; undefined: it signs with any. */
  wrongRegion?: RegExp;
}

/** Registers the cases every S3 server must pass (call inside a describe). */
export function s3StoreCases(h: S3Harness, options: S3CaseOptions = {}): void {
  it('leaves no object and no multipart upload behind an aborted temporary, small or multi-part', async () => {
    const { store, prefix } = await h.openStore({ partSize: 5 * MiB });
    try {
      const small = await store.createTemporary();
      await small.write(randomBytes(1000));
      const large = await store.createTemporary();
      for (let i = 0; i < 12; i++) await large.write(randomBytes(MiB));
      const before = await h.rawListing(`${prefix}/`);
      assert.equal(before.uploads.length, 2, 'both temporaries are open multipart uploads');
      assert.deepEqual(before.objects, []);
      await small.discard();
      await large.discard();
      assert.deepEqual(await h.rawListing(`${prefix}/`), { objects: [], uploads: [] });
      assert.equal(await store.countTemporaries(), 0);
      // A refused commit (the key is taken) followed by the caller's discard: also nothing left.
      const taken = await store.createTemporary();
      await taken.write(Buffer.from('first'));
      await taken.commit('taken');
      const refused = await store.createTemporary();
      for (let i = 0; i < 6; i++) await refused.write(randomBytes(MiB));
      await assert.rejects(refused.commit('taken'), assertCode('CONFLICT'));
      await refused.discard();
      const after = await h.rawListing(`${prefix}/`);
      assert.deepEqual(after.uploads, []);
      assert.equal(
        after.objects.length,
        2,
        `only the committed key and its data: ${after.objects.join(', ')}`,
      );
    } finally {
      await h.empty(store);
    }
  });

  it('round-trips data over several parts byte for byte, with ranges across part boundaries', async () => {
    const partSize = 5 * MiB;
    const { store, prefix } = await h.openStore({ partSize });
    try {
      const data = randomBytes(3 * partSize + 12345);
      const temp = await store.createTemporary();
      // Odd chunk sizes, so parts fill from pieces of several writes.
      for (let at = 0; at < data.length; ) {
        const n = Math.min(data.length - at, 333_333 + (at % 7));
        await temp.write(data.subarray(at, at + n));
        at += n;
      }
      // RGW answers CompleteMultipartUpload with an empty ETag; the commit must not depend on it.
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
      // The object really is a multipart one: its ETag (from HEAD) says how many parts it has.
      const client = h.rawClient();
      const listing = await h.rawListing(`${prefix}/data/`);
      const head = await client.send({ method: 'HEAD', key: listing.objects[0] });
      client.close();
      assert.match(String(head.headers.etag), /-4"$/);
    } finally {
      await h.empty(store);
    }
  });

  it('gives NOT_FOUND at commit when recovery discarded the temporary by id from another store', async () => {
    const { store, prefix } = await h.openStore({ partSize: 5 * MiB });
    const other = new S3BlobStore({ ...h.settings(), prefix });
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
        assert.deepEqual(await h.rawListing(`${prefix}/`), { objects: [], uploads: [] });
      }
    } finally {
      other.close();
      await h.empty(store);
    }
  });

  it(`stops at open with a configuration error for a wrong secret${options.wrongRegion ? ', region' : ''} or bucket`, async () => {
    const s = h.server();
    const settings = {
      endpoint: s.endpoint,
      region: s.region,
      bucket: s.bucket,
      pathStyle: true,
      prefix: '',
      partSizeMiB: 16,
      credentialsFile: '',
      profile: '',
    };
    const env = { AWS_ACCESS_KEY_ID: s.accessKeyId, AWS_SECRET_ACCESS_KEY: s.secretAccessKey };
    const cases: [Partial<typeof settings>, RegExp, string][] = [
      [{ bucket: 'no-such-bucket' }, /NoSuchBucket/, s.secretAccessKey],
      [{}, /SignatureDoesNotMatch/, 'not-the-secret'],
    ];
    if (options.wrongRegion) cases.unshift([{ region: 'RegionOne' }, options.wrongRegion, s.secretAccessKey]);
    for (const [wrong, expected, secret] of cases) {
      await assert.rejects(
        openS3BlobStore(
          { ...settings, ...wrong },
          { env: { ...env, AWS_SECRET_ACCESS_KEY: secret }, stagingDir: path.join(h.staging(), 'config') },
        ),
        (error: unknown) => {
          assert.ok(error instanceof ImageTrustError);
          assert.equal(error.code, 'CONFIG_INVALID');
          assert.match(error.message, expected);
          assert.ok(!error.message.includes(s.secretAccessKey), 'the secret is never in a message');
          return true;
        },
      );
    }
    (await openS3BlobStore(settings, { env, stagingDir: path.join(h.staging(), 'config') })).close();
  });

  it('answers BLOB_STORE_UNAVAILABLE while the store is stopped, mid-download too, and works again once it is back', async () => {
    const { store } = await h.openStore({ partSize: 5 * MiB, timeoutMs: 10_000 });
    try {
      const temp = await store.createTemporary();
      await temp.write(Buffer.from('before'));
      await temp.commit('kept');
      const inFlight = await store.createTemporary();
      await inFlight.write(randomBytes(MiB));
      // A download under way when the store goes: more than the sockets between can hold is still unsent.
      const big = await store.createTemporary();
      for (let i = 0; i < 32; i++) await big.write(randomBytes(MiB));
      await big.commit('big');
      const reading = (await store.read('big'))[Symbol.asyncIterator]();
      assert.equal((await reading.next()).done, false);

      await h.server().stop();
      await assert.rejects(async () => {
        while (!(await reading.next()).done);
      }, assertCode('BLOB_STORE_UNAVAILABLE'));
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

      await h.server().start();
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
      await h.empty(store);
    }
  });
}

// S3BlobStore on a real OpenStack Swift with s3api (started for this file by test/support/objectstore.sh):
// the BlobStore contract, plus what only an object store has — multipart uploads that an abort leaves no
// trace of, parts crossing ranges, a store that goes away and comes back, memory that stays flat however
// many uploads run (parts are staged in files), staging files a crash left, a full staging disk.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import { openS3BlobStore, S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/blobs/s3.ts';
import { S3Client, S3Credentials } from '../../src/storage/blobs/s3-client.ts';
import { STAGING_BLOCK_BYTES } from '../../src/storage/blobs/s3-staging.ts';
import { type ObjectStore, startObjectStore } from '../support/objectstore.ts';
import { blobStoreContract, readAll } from './blob-store.contract.ts';

const MiB = 1024 * 1024;
let swift: ObjectStore;
let sequence = 0;
/** Each store's staging directory is a folder of this one. */
let staging: string;

before(async () => {
  staging = mkdtempSync(path.join(tmpdir(), 'imagetrust-s3-staging-'));
  swift = await startObjectStore();
});
after(async () => {
  await swift?.dispose();
  rmSync(staging, { recursive: true, force: true });
});

function settings(): Omit<S3BlobStoreOptions, 'prefix'> {
  return {
    endpoint: swift.endpoint,
    region: swift.region,
    bucket: swift.bucket,
    pathStyle: true,
    credentials: new S3Credentials(swift.accessKeyId, swift.secretAccessKey),
    stagingDir: path.join(staging, 'shared'),
  };
}

/** Writes zeros until the filesystem refuses: the disk is then full. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
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
  const stagingDir = path.join(staging, prefix);
  const store = await new S3BlobStore({ ...settings(), prefix, stagingDir, ...options }).open();
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

  it('sends each part with the MD5 of the bytes it was given, so a part that changed on the staging disk is refused and nothing is published', async () => {
    const partSize = 5 * MiB;
    const { store, prefix } = await openStore({ partSize, partsInFlight: 1 });
    try {
      for (const size of [MiB, partSize + MiB]) {
        const temp = await store.createTemporary();
        // From shared memory (the upload path's digest ring) and from an ordinary buffer, in one part.
        const data = randomBytes(size);
        const shared = new Uint8Array(new SharedArrayBuffer(size));
        shared.set(data);
        await temp.write(shared.subarray(0, size - 1000));
        await temp.write(data.subarray(size - 1000));
        // The last part, still being written (not sent before commit), is changed behind the store's back.
        const last = `${temp.id}.${size > partSize ? 2 : 1}.part`;
        assert.ok(readdirSync(store.stagingDir).includes(last), `${last} is staged`);
        const fd = openSync(path.join(store.stagingDir, last), 'r+');
        writeSync(fd, Buffer.from([0x5a]), 0, 1, 10);
        closeSync(fd);
        await assert.rejects(temp.commit(`changed-${size}`), (error: Error) => {
          assert.ok(error instanceof ImageTrustError, String(error));
          assert.match(
            String((error.cause as Error)?.message ?? error.message),
            /BadDigest|Content-MD5|digest/i,
          );
          return true;
        });
        await temp.discard();
        await assert.rejects(store.read(`changed-${size}`), assertCode('NOT_FOUND'));
      }
      assert.deepEqual(await rawListing(`${prefix}/`), { objects: [], uploads: [] });
      assert.deepEqual(readdirSync(store.stagingDir), []);
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
        openS3BlobStore(
          { ...settings, ...wrong },
          { env: { ...env, AWS_SECRET_ACCESS_KEY: secret }, stagingDir: path.join(staging, 'config') },
        ),
        (error: unknown) => {
          assert.ok(error instanceof ImageTrustError);
          assert.equal(error.code, 'CONFIG_INVALID');
          assert.match(error.message, expected);
          assert.ok(!error.message.includes(swift.secretAccessKey), 'the secret is never in a message');
          return true;
        },
      );
    }
    (await openS3BlobStore(settings, { env, stagingDir: path.join(staging, 'config') })).close();
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

  it('keeps memory flat while 12 temporaries stream 40 MiB each at once: parts in flight + 1 staging files and two send blocks per part in flight, whatever the part size', async () => {
    const partSize = 8 * MiB;
    const partsInFlight = 2;
    const uploads = 12;
    const mib = 40;
    const { store } = await openStore({ partSize, partsInFlight });
    try {
      const blocks = Array.from({ length: uploads }, () => Buffer.alloc(MiB));
      const written = blocks.map(() => createHash('sha256'));
      const temps = await Promise.all(blocks.map(() => store.createTemporary()));
      store.resetStagingPeaks();
      const baseline = process.memoryUsage().arrayBuffers;
      let peakBytes = 0;
      let peakFiles = 0;
      await Promise.all(
        temps.map(async (temp, n) => {
          const block = blocks[n];
          for (let i = 0; i < mib; i++) {
            block.writeUInt32BE(n, 0);
            block.writeUInt32BE(i, MiB - 4);
            written[n].update(block);
            await temp.write(block);
            peakBytes = Math.max(peakBytes, process.memoryUsage().arrayBuffers - baseline);
            peakFiles = Math.max(peakFiles, readdirSync(store.stagingDir).length);
          }
          await temp.commit(`flat-${n}`);
        }),
      );
      const usage = store.stagingUsage();
      // The uploads really overlapped: each had a part staged at the same time as all the others.
      assert.ok(usage.peakFiles >= uploads, `at most ${usage.peakFiles} staging files at once`);
      const files = (partsInFlight + 1) * uploads;
      assert.ok(usage.peakFiles <= files, `${usage.peakFiles} staging files at once`);
      assert.ok(peakFiles <= files, `${peakFiles} files seen in the staging directory at once`);
      const blockBytes = uploads * partsInFlight * 2 * STAGING_BLOCK_BYTES;
      assert.ok(usage.peakBlockBytes >= uploads * 2 * STAGING_BLOCK_BYTES, 'every upload sent parts');
      assert.ok(usage.peakBlockBytes <= blockBytes, `${usage.peakBlockBytes} bytes of send blocks at once`);
      assert.deepEqual({ files: usage.files, blockBytes: usage.blockBytes }, { files: 0, blockBytes: 0 });
      assert.deepEqual(readdirSync(store.stagingDir), [], 'every staging file is gone after commit');
      // Part buffers would be 3 x 8 MiB per upload, 288 MiB in all; the send blocks are at most 12 MiB.
      assert.ok(
        peakBytes <= blockBytes + 16 * MiB,
        `array buffers grew by ${(peakBytes / MiB).toFixed(1)} MiB`,
      );
      for (let n = 0; n < uploads; n++) {
        const read = createHash('sha256');
        let length = 0;
        for await (const chunk of await store.read(`flat-${n}`)) {
          read.update(chunk);
          length += chunk.length;
        }
        assert.equal(length, mib * MiB);
        assert.equal(read.digest('hex'), written[n].digest('hex'), `flat-${n} reads back as written`);
      }
    } finally {
      await empty(store);
    }
  });

  it('removes at open the staged parts a crashed run left behind, and nothing else in the directory', async () => {
    const { store: crashed, prefix } = await openStore({ partSize: 5 * MiB });
    const stagingDir = crashed.stagingDir;
    assert.equal(statSync(stagingDir).mode & 0o777, 0o700);
    const temp = await crashed.createTemporary();
    await temp.write(randomBytes(MiB));
    const [staged] = readdirSync(stagingDir);
    assert.equal(staged, `${temp.id}.1.part`);
    assert.equal(statSync(path.join(stagingDir, staged)).mode & 0o777, 0o600);
    writeFileSync(path.join(stagingDir, 'operator-notes.txt'), 'not a staged part');
    // The "crash": the process is gone without a discard; the next one opens the same directory.
    crashed.close();
    const store = await new S3BlobStore({ ...settings(), prefix, stagingDir }).open();
    try {
      assert.deepEqual(readdirSync(stagingDir), ['operator-notes.txt']);
      // The crashed upload itself is recovery's to take, as before.
      assert.equal(await store.countTemporaries(), 1);
      await store.discardTemporary(temp.id);
      assert.deepEqual(await rawListing(`${prefix}/`), { objects: [], uploads: [] });
    } finally {
      await temp.discard();
      await empty(store);
    }
  });

  it('fails writes with STORAGE_FULL while the staging disk is full, leaves nothing behind, and works once space is back', async () => {
    const mountPoint = mkdtempSync(path.join(tmpdir(), 'imagetrust-s3-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
    try {
      const stagingDir = path.join(mountPoint, 'staging');
      const { store, prefix } = await openStore({ partSize: 5 * MiB, stagingDir });
      try {
        const filler = path.join(mountPoint, 'filler');
        fillDisk(filler);
        const temp = await store.createTemporary();
        await assert.rejects(temp.write(randomBytes(MiB)), assertCode('STORAGE_FULL'));
        // The staged part went at once, and the temporary stays failed: no commit of data with a hole.
        assert.deepEqual(readdirSync(stagingDir), []);
        unlinkSync(filler);
        await assert.rejects(temp.write(randomBytes(10)), assertCode('STORAGE_FULL'));
        await assert.rejects(temp.commit('full'), assertCode('STORAGE_FULL'));
        await temp.discard();
        assert.deepEqual(await rawListing(`${prefix}/`), { objects: [], uploads: [] });
        assert.equal(store.stagingUsage().files, 0);

        // Space is back: the same store takes a two-part upload without a restart.
        const data = randomBytes(7 * MiB);
        const again = await store.createTemporary();
        await again.write(data);
        await again.commit('after');
        assert.ok((await readAll(await store.read('after'))).equals(data));
        assert.deepEqual(readdirSync(stagingDir), []);
      } finally {
        await empty(store);
      }
    } finally {
      execFileSync('umount', ['-l', mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });
});

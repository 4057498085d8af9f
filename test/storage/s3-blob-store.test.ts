// S3BlobStore on a real OpenStack Swift with s3api (started for this file by test/support/objectstore.sh):
// the BlobStore contract and the cases every S3 server must pass (s3-blob-store.cases.ts: aborts that leave
// no trace, parts crossing ranges, an outage and the way back), plus what the staging of parts adds — the
// Content-MD5 of the bytes received, memory that stays flat however many uploads run, staging files a crash
// left, a full staging disk.
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
import { S3BlobStore } from '../../src/storage/blobs/s3.ts';
import { STAGING_BLOCK_BYTES } from '../../src/storage/blobs/s3-staging.ts';
import { type ObjectStore, startObjectStore } from '../support/objectstore.ts';
import { blobStoreContract, readAll } from './blob-store.contract.ts';
import { assertCode, MiB, s3Harness, s3StoreCases } from './s3-blob-store.cases.ts';

let swift: ObjectStore;
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

const harness = s3Harness(
  () => swift,
  () => staging,
);
const { openStore, empty, rawListing, settings } = harness;

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

blobStoreContract('S3BlobStore on Swift + s3api: BlobStore contract', async () => {
  const { store } = await openStore({ partSize: 5 * MiB });
  return { store, dispose: () => empty(store) };
});

describe('S3BlobStore on Swift + s3api', () => {
  s3StoreCases(harness, { wrongRegion: /region 'RegionOne' is wrong/ });

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

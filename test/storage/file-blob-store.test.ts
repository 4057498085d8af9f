// FileBlobStore on a temporary directory: data is invisible until committed, discarded data leaves
// nothing behind, leftovers of a crash are cleaned at open, ranges read exactly, keys cannot escape.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import { FileBlobStore } from '../../src/storage/index.ts';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function isCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ImageTrustError, `expected an ImageTrustError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe('FileBlobStore', () => {
  let root: string;
  let store: FileBlobStore;
  const tmpFiles = () => readdir(path.join(root, 'tmp'));

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'imagetrust-blobs-'));
    store = await new FileBlobStore(root).open();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('makes written data readable under its key only once it is committed', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const temp = await store.createTemporary();
    await temp.write(data.subarray(0, 1000));
    await temp.write(new Uint8Array(0));
    await temp.write(data.subarray(1000));
    await assert.rejects(store.read('image-1'), isCode('NOT_FOUND'));
    assert.equal((await tmpFiles()).length, 1);

    await temp.commit('image-1');
    assert.deepEqual(await readAll(await store.read('image-1')), data);
    assert.deepEqual(await tmpFiles(), []);
    assert.deepEqual(await readFile(path.join(root, 'images', 'image-1')), data);
  });

  it('commits with fsync on as well', async () => {
    const synced = await new FileBlobStore(root, { fsync: true }).open();
    const temp = await synced.createTemporary();
    await temp.write(Buffer.from('durable'));
    await temp.commit('image-sync');
    assert.equal((await readAll(await synced.read('image-sync'))).toString(), 'durable');
  });

  it('keeps two temporary blobs apart', async () => {
    const [one, two] = await Promise.all([store.createTemporary(), store.createTemporary()]);
    await one.write(Buffer.from('one'));
    await two.write(Buffer.from('two'));
    await two.commit('b');
    await one.commit('a');
    assert.equal((await readAll(await store.read('a'))).toString(), 'one');
    assert.equal((await readAll(await store.read('b'))).toString(), 'two');
  });

  it('removes the temporary file on discard, and discarding twice is harmless', async () => {
    const temp = await store.createTemporary();
    await temp.write(randomBytes(4096));
    assert.equal((await tmpFiles()).length, 1);
    await temp.discard();
    assert.deepEqual(await tmpFiles(), []);
    await temp.discard();
    assert.deepEqual(await readdir(path.join(root, 'images')), []);
  });

  it('refuses writes after commit or discard', async () => {
    const committed = await store.createTemporary();
    await committed.commit('done');
    await assert.rejects(committed.write(Buffer.from('late')), isCode('INTERNAL'));
    const discarded = await store.createTemporary();
    await discarded.discard();
    await assert.rejects(discarded.write(Buffer.from('late')), isCode('INTERNAL'));
    assert.equal((await readAll(await store.read('done'))).length, 0);
  });

  it('leaves committed data alone when discard is called after commit', async () => {
    const temp = await store.createTemporary();
    await temp.write(Buffer.from('kept'));
    await temp.commit('kept');
    await temp.discard();
    assert.equal((await readAll(await store.read('kept'))).toString(), 'kept');
  });

  it('removes stale .part files a crashed process left in tmp/ when opened, and nothing else', async () => {
    const crashed = await store.createTemporary();
    await crashed.write(Buffer.from('half an image'));
    await writeFile(path.join(root, 'tmp', 'orphan.part'), 'x');
    await writeFile(path.join(root, 'tmp', 'notes.txt'), 'not ours to delete');
    const committed = await store.createTemporary();
    await committed.write(Buffer.from('whole'));
    await committed.commit('whole');

    // A fresh temp file may belong to another process sharing the directory: it stays.
    await new FileBlobStore(root).open();
    assert.equal((await tmpFiles()).length, 3);
    // An hour later nobody is writing it any more.
    await new FileBlobStore(root).open(new Date(Date.now() + 2 * 60 * 60 * 1000));
    assert.deepEqual(await tmpFiles(), ['notes.txt']);
    assert.equal((await readAll(await store.read('whole'))).toString(), 'whole');
    await crashed.discard(); // only to close its file handle
  });

  it('never replaces data already committed under the same key', async () => {
    const first = await store.createTemporary();
    await first.write(Buffer.from('first'));
    await first.commit('same-key');
    const second = await store.createTemporary();
    await second.write(Buffer.from('second'));
    await assert.rejects(second.commit('same-key'), ImageTrustError);
    await second.discard();
    assert.equal((await readAll(await store.read('same-key'))).toString(), 'first');
  });

  it('creates its directories on open', async () => {
    const fresh = path.join(root, 'nested', 'store');
    const nested = await new FileBlobStore(fresh).open();
    const temp = await nested.createTemporary();
    await temp.commit('empty');
    assert.deepEqual(await readdir(path.join(fresh, 'images')), ['empty']);
  });

  describe('read with a byte range', () => {
    const data = randomBytes(2 * 1024 * 1024 + 5);
    beforeEach(async () => {
      const temp = await store.createTemporary();
      await temp.write(data);
      await temp.commit('ranged');
    });

    for (const [start, end] of [
      [0, 0],
      [0, 99],
      [100, 100],
      [1024 * 1024 - 1, 1024 * 1024 + 1],
      [5, data.length - 1],
      [data.length - 1, data.length - 1],
    ]) {
      it(`returns exactly bytes ${start}-${end}, end inclusive`, async () => {
        const got = await readAll(await store.read('ranged', { start, end }));
        assert.deepEqual(got, data.subarray(start, end + 1));
      });
    }

    it('returns everything without a range', async () => {
      assert.deepEqual(await readAll(await store.read('ranged')), data);
    });

    it('stops a read when the signal aborts', async () => {
      const controller = new AbortController();
      const stream = await store.read('ranged', undefined, controller.signal);
      controller.abort();
      await assert.rejects(readAll(stream), { name: 'AbortError' });
    });
  });

  it('reports a missing key as NOT_FOUND and deletes a missing key quietly', async () => {
    await assert.rejects(store.read('nothing-here'), isCode('NOT_FOUND'));
    await store.delete('nothing-here');
  });

  it('deletes committed data', async () => {
    const temp = await store.createTemporary();
    await temp.write(Buffer.from('bye'));
    await temp.commit('gone');
    await store.delete('gone');
    await assert.rejects(store.read('gone'), isCode('NOT_FOUND'));
  });

  describe('unsafe keys', () => {
    const unsafe = ['../x', 'a/b', '..', '.', '', 'a\\b', '/etc/passwd', 'x'.repeat(201), 'a\0b'];

    for (const key of unsafe) {
      it(`refuses to commit, read or delete ${JSON.stringify(key.length > 20 ? `${key.slice(0, 8)}…` : key)}`, async () => {
        const temp = await store.createTemporary();
        await temp.write(Buffer.from('payload'));
        await assert.rejects(temp.commit(key), isCode('INTERNAL'));
        await assert.rejects(store.read(key), isCode('INTERNAL'));
        await assert.rejects(store.delete(key), isCode('INTERNAL'));
        // A failed commit can still be discarded, and nothing landed outside images/.
        await temp.discard();
        assert.deepEqual(await tmpFiles(), []);
        assert.deepEqual((await readdir(root)).sort(), ['images', 'tmp']);
        assert.deepEqual(await readdir(path.join(root, 'images')), []);
      });
    }
  });

  // Running out of space (ENOSPC → STORAGE_FULL) needs a full filesystem; it is not faked here.
  it('maps a full disk to STORAGE_FULL and leaves no partial file (a real 256 KiB tmpfs)', async () => {
    // Mounting needs root, which CI has; anywhere else this fails loudly rather than skipping.
    const mountPoint = await mkdtemp(path.join(tmpdir(), 'imagetrust-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]);
    try {
      const small = await new FileBlobStore(mountPoint).open();
      const temp = await small.createTemporary();
      await assert.rejects(
        (async () => {
          for (let i = 0; i < 16; i++) await temp.write(randomBytes(64 * 1024));
        })(),
        (error) => error instanceof ImageTrustError && error.code === 'STORAGE_FULL',
      );
      await temp.discard();
      assert.deepEqual(await readdir(path.join(mountPoint, 'tmp')), []);
    } finally {
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });
});

// FileBlobStore on a temporary directory: the BlobStore contract, plus what only a directory has —
// fsync, leftovers of a crash swept at open, the directory layout an attacker would aim at, a full disk.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import { FileBlobStore } from '../../src/storage/index.ts';
import { blobStoreContract, readAll } from './blob-store.contract.ts';

async function listAll(store: FileBlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list()) keys.push(key);
  return keys.sort();
}

blobStoreContract('FileBlobStore: BlobStore contract', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'imagetrust-blobs-'));
  return {
    store: await new FileBlobStore(root).open(),
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});

describe('FileBlobStore on a directory', () => {
  let root: string;
  let store: FileBlobStore;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'imagetrust-blobs-'));
    store = await new FileBlobStore(root).open();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('commits with fsync on as well', async () => {
    const synced = await new FileBlobStore(root, { fsync: true }).open();
    const temp = await synced.createTemporary();
    await temp.write(Buffer.from('durable'));
    await temp.commit('image-sync');
    assert.equal((await readAll(await synced.read('image-sync'))).toString(), 'durable');
  });

  it('reuses a finished download’s buffers, never the last block its consumer may still be sending', async () => {
    const MiB = 1024 * 1024;
    const first = randomBytes(5 * MiB + 77);
    const second = randomBytes(4 * MiB);
    for (const [key, data] of [
      ['first', first],
      ['second', second],
    ] as const) {
      const temp = await store.createTemporary();
      await temp.write(data);
      await temp.commit(key);
    }
    // Read the first to its end, keeping the last block as a sender still draining it would.
    let last: Uint8Array | null = null;
    const backings = new Set<ArrayBufferLike>();
    for await (const block of await store.read('first')) {
      last = block;
      backings.add(block.buffer);
    }
    const lastCopy = Buffer.from(last!);
    // Several downloads after it, some stopped early: the spares go round, the kept block stays intact.
    let reused = 0;
    for (let round = 0; round < 4; round++) {
      const blocks: Buffer[] = [];
      for await (const block of await store.read('second')) {
        if (backings.has(block.buffer)) reused++;
        blocks.push(Buffer.from(block));
        if (round === 1 && blocks.length === 2) break;
      }
      if (round !== 1) assert.ok(Buffer.concat(blocks).equals(second), `round ${round} read other bytes`);
    }
    assert.ok(
      Buffer.from(last!).equals(lastCopy),
      'a later download overwrote the last block of an earlier one',
    );
    assert.ok(reused > 0, 'no later download reused a finished one’s buffers');
  });

  it('holds no file open after a read ends, stops early, is aborted or is closed unread', async () => {
    const openFiles = async () => (await readdir('/proc/self/fd')).length;
    const temp = await store.createTemporary();
    await temp.write(randomBytes(3 * 1024 * 1024));
    await temp.commit('fds');
    const before = await openFiles();
    await readAll(await store.read('fds'));
    for await (const _block of await store.read('fds')) break;
    const controller = new AbortController();
    await assert.rejects(async () => {
      for await (const _block of await store.read('fds', undefined, controller.signal)) controller.abort();
    });
    const unread = await store.read('fds', { start: 5, end: 10 });
    assert.equal(unread.length, 6);
    assert.equal(await openFiles(), before + 1, 'an unread reader holds its file');
    await unread.close();
    assert.equal(await openFiles(), before);
  });

  it('creates its directories on open', async () => {
    const nested = await new FileBlobStore(path.join(root, 'nested', 'store')).open();
    const temp = await nested.createTemporary();
    await temp.commit('empty');
    assert.deepEqual(await listAll(nested), ['empty']);
  });

  // A crash leaves files behind only a directory layout can show: the test plays the crashed process.
  it('removes stale .part files a crashed process left in tmp/ when opened, and nothing else', async () => {
    const tmpFiles = () => readdir(path.join(root, 'tmp'));
    const crashed = await store.createTemporary();
    await crashed.write(Buffer.from('half an image'));
    await writeFile(path.join(root, 'tmp', 'orphan.part'), 'x');
    await writeFile(path.join(root, 'tmp', 'notes.txt'), 'not ours to delete');
    const committed = await store.createTemporary();
    await committed.write(Buffer.from('whole'));
    await committed.commit('whole');
    assert.equal(await store.countTemporaries(), 2);

    // A fresh temp file may belong to another process sharing the directory: it stays.
    await new FileBlobStore(root).open();
    assert.equal((await tmpFiles()).length, 3);
    // An hour later nobody is writing it any more.
    await new FileBlobStore(root).open(new Date(Date.now() + 2 * 60 * 60 * 1000));
    assert.deepEqual(await tmpFiles(), ['notes.txt']);
    assert.equal(await store.countTemporaries(), 0);
    assert.equal((await readAll(await store.read('whole'))).toString(), 'whole');
    await crashed.discard(); // only to close its file handle
  });

  it('lists only key-shaped files someone left in images/', async () => {
    await writeFile(path.join(root, 'images', 'has space'), 'x');
    await mkdir(path.join(root, 'images', 'a-directory'));
    const temp = await store.createTemporary();
    await temp.commit('real');
    assert.deepEqual(await listAll(store), ['real']);
  });

  // The attacker's view: the files a traversing key would reach sit beside the store, and stay as they were.
  describe('unsafe keys never reach files outside the store', () => {
    for (const key of ['../victim', '../../victim', `${path.sep}victim`, '..']) {
      it(`leaves the neighbours of the store alone for ${JSON.stringify(key)}`, async () => {
        const inner = path.join(root, 'store');
        const confined = await new FileBlobStore(inner).open();
        await writeFile(path.join(root, 'victim'), 'precious');
        await writeFile(path.join(inner, 'victim'), 'precious');
        const temp = await confined.createTemporary();
        await temp.write(Buffer.from('payload'));
        await assert.rejects(temp.commit(key), ImageTrustError);
        await assert.rejects(confined.delete(key), ImageTrustError);
        await temp.discard();
        assert.equal(await readFile(path.join(root, 'victim'), 'utf8'), 'precious');
        assert.equal(await readFile(path.join(inner, 'victim'), 'utf8'), 'precious');
        assert.deepEqual((await readdir(root)).sort(), ['images', 'store', 'tmp', 'victim']);
        assert.deepEqual((await readdir(inner)).sort(), ['images', 'tmp', 'victim']);
        assert.deepEqual(await readdir(path.join(inner, 'images')), []);
      });
    }
  });

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
      assert.equal(await small.countTemporaries(), 0);
    } finally {
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });
});

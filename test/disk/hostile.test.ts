// Hostile and broken images: every failure must be an ImageTrustError, never a crash or an escape.
import assert from 'node:assert/strict';
import { copyFile, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openImage } from '../../src/disk/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { type DiskFixtures, makeDiskFixtures } from '../fixtures/disk-fixtures.ts';

let fx: DiskFixtures;

before(async () => {
  fx = await makeDiskFixtures();
});

after(async () => {
  await rm(fx.dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof ImageTrustError && error.code === code);
}

/** Opens and reads a little; returns normally or throws an ImageTrustError, anything else fails the test. */
async function openAndRead(path: string): Promise<'ok' | string> {
  try {
    const fs = await openImage(path);
    try {
      for (const name of await fs.list('/')) await fs.lstat(`/${name}`);
      await fs.readFile('/etc/os-release');
      await fs.readFile('/etc/localtime');
    } finally {
      await fs.close();
    }
    return 'ok';
  } catch (error) {
    if (error instanceof ImageTrustError) return error.code;
    throw error;
  }
}

/** A small seeded generator so a failing run can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

async function patch(path: string, position: number, bytes: Buffer): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, position);
  } finally {
    await handle.close();
  }
}

describe('tar archives with hostile members', () => {
  it('never exposes a `..` member, re-roots an absolute one and lets a later duplicate win', async () => {
    const fs = await openImage(fx.treeTarGz);
    try {
      assert.ok(!(await fs.list('/')).includes('escape.txt'));
      await rejectsWith(fs.readFile('/../escape.txt'), 'DISK_PATH_REFUSED');
      assert.equal((await fs.readFile('/etc/absolute.txt')).toString(), 'absolute\n');
      assert.equal((await fs.readFile('/etc/dup.txt')).toString(), 'second\n');
    } finally {
      await fs.close();
    }
  });

  it('refuses a member that declares more data than the archive holds', async () => {
    await rejectsWith(openImage(fx.hugeTar), 'DISK_CORRUPT');
  });

  it('refuses a truncated gzip archive', async () => {
    const data = await readFile(fx.treeTarGz);
    const cut = join(fx.dir, 'cut.tar.gz');
    await writeFile(cut, data.subarray(0, data.length - 40));
    await rejectsWith(openImage(cut), 'DISK_CORRUPT');
  });

  it('refuses a truncated plain archive and a bad header checksum', async () => {
    const data = await readFile(fx.treeTar);
    const cut = join(fx.dir, 'cut.tar');
    await writeFile(cut, data.subarray(0, 512 * 5 + 100));
    await rejectsWith(openImage(cut), 'DISK_CORRUPT');
    const bad = Buffer.from(data);
    bad[512 * 2 + 10] ^= 0xff;
    const badPath = join(fx.dir, 'bad-checksum.tar');
    await writeFile(badPath, bad);
    await rejectsWith(openImage(badPath), 'DISK_CORRUPT');
  });

  it('answers random byte flips in the headers with success or an ImageTrustError', async () => {
    const original = await readFile(fx.treeTar);
    const path = join(fx.dir, 'fuzz.tar');
    const next = random(7);
    for (let round = 0; round < 60; round++) {
      const data = Buffer.from(original);
      for (let i = 0; i < 4; i++)
        data[Math.floor(next() * Math.min(data.length, 65536))] = Math.floor(next() * 256);
      await writeFile(path, data);
      await openAndRead(path);
    }
  });
});

describe('raw disks with corrupt metadata', () => {
  it('refuses a corrupt MBR partition table', async () => {
    const path = join(fx.dir, 'bad-mbr.raw');
    await copyFile(fx.mbrRaw, path);
    // Both entries now claim a start far beyond the end of the disk; the boot signature stays.
    const entries = Buffer.alloc(64, 0xff);
    await patch(path, 446, entries);
    const result = await openAndRead(path);
    assert.notEqual(result, 'ok');
  });

  it('refuses a corrupt GPT header', async () => {
    const path = join(fx.dir, 'bad-gpt.raw');
    await copyFile(fx.gptRaw, path);
    await patch(path, 512 + 72, Buffer.alloc(16, 0x7f));
    const result = await openAndRead(path);
    assert.ok(result === 'ok' || result.startsWith('DISK_'), result);
  });

  it('refuses a partition whose superblock is overwritten', async () => {
    const path = join(fx.dir, 'bad-super.raw');
    await copyFile(fx.gptRaw, path);
    await patch(path, fx.gptRootOffset + 1024, Buffer.alloc(1024, 0xa5));
    assert.match(await openAndRead(path), /^DISK_/);
  });

  it('answers random byte flips in the partition table and superblock with success or an ImageTrustError', async () => {
    const path = join(fx.dir, 'fuzz.raw');
    await copyFile(fx.mbrRaw, path);
    const regions = [0, fx.mbrRootOffset];
    const next = random(11);
    for (let round = 0; round < 40; round++) {
      const base = regions[round % regions.length];
      const saved: [number, Buffer][] = [];
      const handle = await open(path, 'r+');
      try {
        for (let i = 0; i < 6; i++) {
          const position = base + Math.floor(next() * 65536);
          const old = Buffer.alloc(1);
          await handle.read(old, 0, 1, position);
          saved.push([position, old]);
          await handle.write(Buffer.from([Math.floor(next() * 256)]), 0, 1, position);
        }
      } finally {
        await handle.close();
      }
      await openAndRead(path);
      for (const [position, old] of saved.reverse()) await patch(path, position, old);
    }
  });
});

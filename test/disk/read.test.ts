import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { detectImageKind, type FileStat, type ImageFileSystem, openImage } from '../../src/disk/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { type DiskFixtures, makeDiskFixtures } from '../fixtures/disk-fixtures.ts';

let fx: DiskFixtures;
const opened: Record<string, ImageFileSystem> = {};
const KINDS = ['root', 'treeTarGz', 'treeTar', 'mbrRaw', 'gptRaw', 'bareExt4', 'mbrQcow2'] as const;

/** Directory sizes are a property of the filesystem (4096 on ext4, 0 in tar), not of the tree. */
function comparable(stat: FileStat): FileStat {
  return stat.type === 'directory' ? { ...stat, size: 0 } : stat;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof ImageTrustError && error.code === code);
}

before(async () => {
  fx = await makeDiskFixtures();
  for (const kind of KINDS) opened[kind] = await openImage(fx[kind]);
});

after(async () => {
  for (const fs of Object.values(opened)) await fs.close();
  await rm(fx.dir, { recursive: true, force: true });
});

describe('openImage', () => {
  it('detects directory, tar, gzip, qcow2 and raw by content', async () => {
    assert.equal(await detectImageKind(fx.root), 'directory');
    assert.equal(await detectImageKind(fx.treeTar), 'tar');
    assert.equal(await detectImageKind(fx.treeTarGz), 'tar.gz');
    assert.equal(await detectImageKind(fx.mbrQcow2), 'qcow2');
    assert.equal(await detectImageKind(fx.mbrRaw), 'raw');
    assert.deepEqual(
      KINDS.map((k) => opened[k].kind),
      ['directory', 'tar', 'tar', 'raw', 'raw', 'raw', 'qcow2'],
    );
  });

  it('gives the same list, stat, lstat, readlink and readFile answers for every image kind', async () => {
    const oracle = opened.root;
    const etc = await oracle.list('/etc');
    const paths = [
      '/etc/os-release',
      '/etc/passwd',
      '/etc/hostname',
      '/usr/bin/sh',
      '/bin/sh',
      '/etc/localtime',
      '/bin',
      '/usr',
    ];
    for (const kind of KINDS) {
      const fs = opened[kind];
      const listed = await fs.list('/etc');
      for (const name of etc) assert.ok(listed.includes(name), `${kind} lists /etc/${name}`);
      assert.deepEqual(await fs.list('/usr/bin'), ['sh'], kind);
      for (const path of paths) {
        assert.deepEqual(
          comparable(await fs.stat(path)),
          comparable(await oracle.stat(path)),
          `${kind} stat ${path}`,
        );
        assert.deepEqual(
          comparable(await fs.lstat(path)),
          comparable(await oracle.lstat(path)),
          `${kind} lstat ${path}`,
        );
        if ((await fs.stat(path)).type === 'file') {
          assert.deepEqual(await fs.readFile(path), await oracle.readFile(path), `${kind} readFile ${path}`);
        }
      }
      assert.equal(await fs.readlink('/bin'), 'usr/bin', kind);
      assert.equal((await fs.lstat('/etc/localtime')).type, 'symlink', kind);
      assert.equal((await fs.stat('/etc/hostname')).mode & 0o7777, 0o600, kind);
    }
  });

  it('resolves an absolute symlink inside the image, never on the host', async () => {
    for (const kind of KINDS) {
      assert.equal(await opened[kind].readlink('/etc/localtime'), '/usr/share/zoneinfo/UTC');
      assert.equal((await opened[kind].readFile('/etc/localtime')).toString(), 'TZif2 fake\n', kind);
    }
  });

  it('clamps a symlink that climbs past the root at the image root, as a chroot does', async () => {
    // etc/escape -> ../../../../../etc/shadow: inside the image that is /etc/shadow, which does not exist.
    for (const kind of KINDS) await rejectsWith(opened[kind].readFile('/etc/escape'), 'NOT_FOUND');
  });

  it('refuses a symlink loop', async () => {
    for (const kind of KINDS) {
      await rejectsWith(opened[kind].readFile('/etc/loop-a'), 'DISK_PATH_REFUSED');
      await rejectsWith(opened[kind].stat('/etc/loop-b/x'), 'DISK_PATH_REFUSED');
    }
  });

  it('refuses a path that climbs above the root', async () => {
    for (const kind of KINDS) {
      await rejectsWith(opened[kind].readFile('/../etc/passwd'), 'DISK_PATH_REFUSED');
      await rejectsWith(opened[kind].list('etc/../../..'), 'DISK_PATH_REFUSED');
    }
  });

  it('refuses files over the read limit and answers NOT_FOUND for missing or non-file paths', async () => {
    for (const kind of KINDS) {
      await rejectsWith(opened[kind].readFile('/etc/passwd', { maxBytes: 8 }), 'DISK_FILE_TOO_LARGE');
      await rejectsWith(opened[kind].readFile('/etc/nope'), 'NOT_FOUND');
      await rejectsWith(opened[kind].readFile('/etc'), 'NOT_FOUND');
      await rejectsWith(opened[kind].list('/etc/passwd'), 'NOT_FOUND');
      await rejectsWith(opened[kind].readlink('/etc/passwd'), 'NOT_FOUND');
    }
  });

  it('picks the partition holding /etc/os-release over a larger one without it', async () => {
    assert.ok((await opened.mbrRaw.list('/')).includes('etc'));
  });

  it('refuses a missing image with NOT_FOUND', async () => {
    await rejectsWith(openImage(`${fx.dir}/absent.raw`), 'NOT_FOUND');
  });
});

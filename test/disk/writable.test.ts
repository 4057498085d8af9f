// Writable raw and qcow2 images (for sysprep): changes land, the filesystem stays consistent, temp files go.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openImage } from '../../src/disk/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { type DiskFixtures, makeDiskFixtures } from '../fixtures/disk-fixtures.ts';

const run = promisify(execFile);
let fx: DiskFixtures;
let temp: string;

before(async () => {
  fx = await makeDiskFixtures();
  temp = await mkdtemp(join(fx.dir, 'tmp-'));
});

after(async () => {
  await rm(fx.dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof ImageTrustError && error.code === code);
}

/** e2fsck exits 0 only when the filesystem needs no repair; `-n` never changes it. */
async function fsckClean(image: string, offset: number): Promise<void> {
  await run('e2fsck', ['-fn', `${image}?offset=${offset}`]);
}

describe('openImage writable', () => {
  it('changes files on a raw disk and leaves a filesystem e2fsck finds clean', async () => {
    const path = join(fx.dir, 'write.raw');
    await copyFile(fx.mbrRaw, path);
    const fs = await openImage(path, { writable: true });
    await fs.writeFile('/etc/hostname', 'sysprepped\n');
    await fs.writeFile('/etc/machine-id', '');
    await fs.truncate('/etc/passwd', 32);
    await fs.unlink('/etc/fstab');
    // Writes act on the link itself path-wise: the parent resolves, the last component is not followed.
    await rejectsWith(fs.writeFile('/etc/localtime', 'x'), 'DISK_PATH_REFUSED');
    await rejectsWith(fs.writeFile('/../etc/x', 'x'), 'DISK_PATH_REFUSED');
    await fs.close();

    await fsckClean(path, fx.mbrRootOffset);
    const again = await openImage(path);
    try {
      assert.equal((await again.readFile('/etc/hostname')).toString(), 'sysprepped\n');
      assert.equal((await again.stat('/etc/machine-id')).size, 0);
      assert.equal((await again.stat('/etc/passwd')).size, 32);
      assert.ok(!(await again.list('/etc')).includes('fstab'));
    } finally {
      await again.close();
    }
  });

  it('opens raw and qcow2 read-only without write methods and without touching the file', async () => {
    const before = await readFile(fx.gptRaw);
    const fs = await openImage(fx.gptRaw);
    assert.equal('writeFile' in fs, false);
    await fs.readFile('/etc/passwd');
    await fs.close();
    assert.deepEqual(await readFile(fx.gptRaw), before);
  });

  it('refuses to open a directory or tar archive for writing', async () => {
    await rejectsWith(openImage(fx.root, { writable: true }), 'DISK_UNSUPPORTED');
    await rejectsWith(openImage(fx.treeTarGz, { writable: true }), 'DISK_UNSUPPORTED');
  });

  it('converts a changed qcow2 back over the original and removes its temporary raw copy', async () => {
    const path = join(fx.dir, 'write.qcow2');
    await copyFile(fx.mbrQcow2, path);
    const fs = await openImage(path, { writable: true, tempDir: temp });
    assert.equal((await readdir(temp)).length, 1);
    await fs.writeFile('/etc/hostname', 'from-qcow2\n');
    await fs.close();
    assert.deepEqual(await readdir(temp), []);
    assert.deepEqual(
      (await readdir(fx.dir)).filter((n) => n.includes('imagetrust-')),
      [],
      'no staged qcow2 left',
    );

    const raw = join(fx.dir, 'check.raw');
    await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path, raw]);
    await fsckClean(raw, fx.mbrRootOffset);
    const again = await openImage(path, { tempDir: temp });
    assert.equal((await again.readFile('/etc/hostname')).toString(), 'from-qcow2\n');
    await again.close();
    assert.deepEqual(await readdir(temp), []);
  });

  it('leaves the original qcow2 untouched when changes are discarded', async () => {
    const path = join(fx.dir, 'discard.qcow2');
    await copyFile(fx.mbrQcow2, path);
    const before = await readFile(path);
    const fs = await openImage(path, { writable: true, tempDir: temp });
    await fs.writeFile('/etc/hostname', 'never\n');
    await fs.discard();
    assert.deepEqual(await readFile(path), before);
    assert.deepEqual(await readdir(temp), []);
  });

  it('removes the temporary raw copy when a qcow2 cannot be read', async () => {
    const path = join(fx.dir, 'truncated.qcow2');
    const data = await readFile(fx.mbrQcow2);
    await writeFile(path, data.subarray(0, 4096));
    const result = await openImage(path, { tempDir: temp }).then(
      async (fs) => {
        await fs.close();
        return 'ok';
      },
      (error: unknown) => (error instanceof ImageTrustError ? error.code : 'crash'),
    );
    assert.match(result, /^DISK_/);
    assert.deepEqual(await readdir(temp), []);
  });

  it('refuses a qcow2 whose backing file would make qemu-img read the host', async () => {
    const path = join(fx.dir, 'backed.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/hostname', path]);
    await rejectsWith(openImage(path, { tempDir: temp }), 'DISK_UNSUPPORTED');
    assert.deepEqual(await readdir(temp), []);
    assert.ok((await stat(path)).size > 0);
  });
});

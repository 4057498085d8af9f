// GRUB for a PC BIOS on a GPT disk without grub-install: the real boot.img patched into the disk's
// protective MBR and a real core.img (grub-mkimage) patched to load itself from the BIOS boot partition.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ImageTrustError } from '../../../src/errors/index.ts';
import { patchBiosBoot } from '../../../src/pipeline/build/index.ts';

const run = promisify(execFile);
const BOOT_IMG = '/usr/lib/grub/i386-pc/boot.img';
const CORE_LBA = 2048;
const PARTITION_SECTORS = 2048;

/** A disk's first sector of random bytes, so any byte taken from the wrong side shows. */
function diskMbr(): Buffer {
  const mbr = randomBytes(512);
  mbr.writeUInt16LE(0xaa55, 510);
  return mbr;
}

describe('patchBiosBoot', () => {
  let dir: string;
  let bootImg: Buffer;
  let coreImg: Buffer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagetrust-grub-'));
    const core = join(dir, 'core.img');
    await run('grub-mkimage', [
      '-O',
      'i386-pc',
      '-o',
      core,
      '-p',
      '/boot/grub',
      'biosdisk',
      'part_gpt',
      'ext2',
      'normal',
    ]);
    bootImg = await readFile(BOOT_IMG);
    coreImg = await readFile(core);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the disk's partition table, signature and BPB and takes the boot code from boot.img", () => {
    const mbr = diskMbr();
    const { mbr: out } = patchBiosBoot(bootImg, coreImg, mbr, CORE_LBA, PARTITION_SECTORS);
    assert.equal(out.length, 512);
    assert.deepEqual(out.subarray(0x1b8, 0x1fe), mbr.subarray(0x1b8, 0x1fe));
    assert.deepEqual(out.subarray(0x03, 0x5a), mbr.subarray(0x03, 0x5a));
    assert.deepEqual([out[0x1fe], out[0x1ff]], [0x55, 0xaa]);
    assert.deepEqual(out.subarray(0, 3), bootImg.subarray(0, 3));
    assert.deepEqual(out.subarray(0x68, 0x1b8), bootImg.subarray(0x68, 0x1b8));
  });

  it("points the boot sector at the core's LBA, the boot drive and no drive check", () => {
    const { mbr } = patchBiosBoot(bootImg, coreImg, diskMbr(), CORE_LBA, PARTITION_SECTORS);
    assert.equal(mbr.readBigUInt64LE(0x5c), BigInt(CORE_LBA));
    assert.equal(mbr[0x64], 0xff);
    assert.deepEqual([mbr[0x66], mbr[0x67]], [0x90, 0x90]);
  });

  it("sets the core's first blocklist to the sectors after its first, keeping the load segment", () => {
    const sectors = Math.ceil(coreImg.length / 512);
    assert.ok(sectors > 1, 'the core image is larger than one sector');
    const { core } = patchBiosBoot(bootImg, coreImg, diskMbr(), CORE_LBA, PARTITION_SECTORS);
    assert.equal(core.length, sectors * 512);
    assert.deepEqual(core.subarray(0, 500), coreImg.subarray(0, 500));
    assert.deepEqual(core.subarray(512, coreImg.length), coreImg.subarray(512));
    assert.equal(core.readBigUInt64LE(500), BigInt(CORE_LBA + 1));
    assert.equal(core.readUInt16LE(508), sectors - 1);
    assert.equal(core.readUInt16LE(510), coreImg.readUInt16LE(510));
    assert.equal(core.readUInt16LE(510), 0x820, 'diskboot loads the core at 0x820:0');
    assert.ok(
      core.subarray(coreImg.length).every((byte) => byte === 0),
      'padded with zeros',
    );
  });

  it('refuses a core image larger than the BIOS boot partition', () => {
    const sectors = Math.ceil(coreImg.length / 512);
    assert.throws(
      () => patchBiosBoot(bootImg, coreImg, diskMbr(), CORE_LBA, sectors - 1),
      (error: unknown) => error instanceof ImageTrustError && error.code === 'BUILD_FAILED',
    );
    assert.doesNotThrow(() => patchBiosBoot(bootImg, coreImg, diskMbr(), CORE_LBA, sectors));
  });

  it('refuses a boot.img or a first sector that is not 512 bytes', () => {
    for (const [boot, mbr] of [
      [bootImg.subarray(0, 440), diskMbr()],
      [bootImg, Buffer.alloc(256)],
    ]) {
      assert.throws(
        () => patchBiosBoot(boot, coreImg, mbr, CORE_LBA, PARTITION_SECTORS),
        (error: unknown) => error instanceof ImageTrustError && error.code === 'BUILD_FAILED',
      );
    }
  });
});

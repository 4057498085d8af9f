// Makes a GPT disk bootable by a PC BIOS with GRUB, without a block device or grub-install: GRUB's
// boot sector goes into the protective MBR and its core image into the BIOS boot partition, each
// patched to find the other (what grub-bios-setup does for an embedded core image).
import { BuildError } from './errors.ts';

const SECTOR = 512;
/** The MBR's boot code ends where the disk signature starts; the partition table after it is kept. */
const BOOT_CODE_END = 0x1b8;
/** The BIOS parameter block that a boot sector may carry: kept from the disk, never taken from GRUB. */
const BPB_START = 0x3;
const BPB_END = 0x5a;
/** Where boot.img reads the LBA of core.img's first sector (8 bytes, little-endian). */
const KERNEL_SECTOR = 0x5c;
/** The drive byte: 0xff means "use the drive the BIOS booted from", as grub-bios-setup writes it. */
const BOOT_DRIVE = 0x64;
/** A jump that trusts the BIOS's drive number; replaced by two NOPs for hard disks (buggy BIOSes pass 0). */
const DRIVE_CHECK = 0x66;
/** diskboot.img's first blocklist entry sits in the last 12 bytes of core.img's first sector. */
const BLOCKLIST = SECTOR - 12;

export interface BiosBootSectors {
  /** The new first sector of the disk. */
  mbr: Buffer;
  /** core.img, patched, padded to whole sectors, to write at `coreLba`. */
  core: Buffer;
}

/**
 * Patches GRUB's `boot.img` and a `core.img` made by `grub-mkimage -O i386-pc` for a core stored from
 * `coreLba` in a partition of `partitionSectors`. `mbr` is the disk's current first sector (its
 * partition table and signature are kept).
 */
export function patchBiosBoot(
  bootImg: Buffer,
  coreImg: Buffer,
  mbr: Buffer,
  coreLba: number,
  partitionSectors: number,
): BiosBootSectors {
  if (bootImg.length !== SECTOR)
    throw new BuildError('BUILD_FAILED', `GRUB's boot.img is ${bootImg.length} bytes, not 512.`);
  if (mbr.length !== SECTOR) throw new BuildError('BUILD_FAILED', 'The disk has no whole first sector.');
  const sectors = Math.ceil(coreImg.length / SECTOR);
  if (sectors > partitionSectors) {
    throw new BuildError(
      'BUILD_FAILED',
      `GRUB's core image needs ${sectors} sectors; the BIOS boot partition has ${partitionSectors}.`,
    );
  }
  if (sectors > 0xffff)
    throw new BuildError('BUILD_FAILED', "GRUB's core image is too large for one blocklist entry.");
  const out = Buffer.from(mbr);
  bootImg.copy(out, 0, 0, BPB_START);
  bootImg.copy(out, BPB_END, BPB_END, BOOT_CODE_END);
  out.writeBigUInt64LE(BigInt(coreLba), KERNEL_SECTOR);
  out[BOOT_DRIVE] = 0xff;
  out[DRIVE_CHECK] = 0x90;
  out[DRIVE_CHECK + 1] = 0x90;
  out.writeUInt16LE(0xaa55, SECTOR - 2);

  const core = Buffer.alloc(sectors * SECTOR);
  coreImg.copy(core);
  // The rest of core.img follows its first sector; the segment diskboot loads it to is left as built.
  core.writeBigUInt64LE(BigInt(coreLba + 1), BLOCKLIST);
  core.writeUInt16LE(sectors - 1, BLOCKLIST + 8);
  return { mbr: out, core };
}

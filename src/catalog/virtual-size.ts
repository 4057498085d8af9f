// Reads an image's virtual size while its upload streams past, as Glance 25.1 does (glance/location.py
// `set_data` with glance/common/format_inspector.py): only for container_format `bare` and a disk_format
// Glance has an inspector for. Each format names the regions of the file it needs; they are copied at
// their offsets as the bytes pass (at most 1 MiB, a VMDK descriptor), never the whole image. The size is
// kept only when the data matches the format and the size is not 0; otherwise the image has none.

import { ValidationError } from '../errors/index.ts';

export interface VirtualSizeInspector {
  update(chunk: Uint8Array): void;
  /**
   * The virtual size in bytes, or null when Glance would record none. Throws BAD_REQUEST for a VMDK
   * whose descriptor has no createType, which Glance refuses with 400.
   */
  result(totalSize: number): number | null;
}

/** The two formats of an image that decide whether and how its data is inspected. */
export interface ImageFormats {
  disk_format: string | null;
  container_format: string | null;
}

/** A stretch of the file a format asked for, filled in order as the stream passes its offset. */
interface Region {
  offset: number;
  length: number;
  data: Buffer;
  filled: number;
}

/** The regions one inspection captures, by name. */
class Regions {
  readonly #byName = new Map<string, Region>();

  get count(): number {
    return this.#byName.size;
  }

  want(name: string, offset: number | bigint, length: number): void {
    if (this.#byName.has(name)) return;
    this.#byName.set(name, { offset: Number(offset), length, data: Buffer.alloc(length), filled: 0 });
  }

  /** Where the region starts in the file. */
  offset(name: string): number {
    return this.#byName.get(name)?.offset ?? 0;
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The bytes captured so far (empty for a region never asked for). */
  partial(name: string): Buffer {
    const region = this.#byName.get(name);
    return region ? region.data.subarray(0, region.filled) : Buffer.alloc(0);
  }

  /** The region's bytes once all of them have passed, else undefined. */
  complete(name: string): Buffer | undefined {
    const region = this.#byName.get(name);
    return region && region.filled === region.length ? region.data : undefined;
  }

  /** Stops a region at what it holds: it is complete from now on. */
  close(name: string): void {
    const region = this.#byName.get(name);
    if (region) region.length = region.filled;
  }

  /**
   * Copies from `chunk`, which starts at byte `start` of the file, into every region whose next byte it
   * holds. A region asked for after its first byte went by never completes: nothing is kept to replay.
   */
  capture(chunk: Uint8Array, start: number): void {
    for (const region of this.#byName.values()) {
      const from = Math.max(region.offset, start);
      const to = Math.min(region.offset + region.length, start + chunk.length);
      if (from >= to || from - region.offset !== region.filled) continue;
      region.data.set(chunk.subarray(from - start, to - start), region.filled);
      region.filled += to - from;
    }
  }
}

interface Format {
  /** The regions wanted before any data arrives. */
  start(regions: Regions): void;
  /** After each chunk: asks for further regions as earlier ones complete; throws when inspection must stop. */
  advance(regions: Regions): void;
  /** Glance's `format_match and virtual_size`: the size, or 0n when there is none. */
  size(regions: Regions, totalSize: number): bigint;
}

const HEADER = 512;
const noAdvance = () => undefined;

/** A format whose size sits in its first 512 bytes behind a magic number. */
function headerFormat(matches: (header: Buffer) => boolean, read: (header: Buffer) => bigint): Format {
  return {
    start: (regions) => regions.want('header', 0, HEADER),
    advance: noAdvance,
    size(regions) {
      const header = regions.complete('header');
      return header && matches(header) ? read(header) : 0n;
    },
  };
}

// VMDK: the 512-byte header names the descriptor, which must follow it at sector 1; only the two
// single-file sparse create-types carry a size Glance trusts, and a footer (grain directory at the end)
// cannot be read while streaming.
const VMDK_DESCRIPTOR_MAX = (1 << 20) - 1;
const VMDK_GD_AT_END = 0xffffffffffffffffn;
const VMDK_TYPES = new Set(['monolithicSparse', 'streamOptimized']);
const vmdk: Format = {
  start: (regions) => regions.want('header', 0, HEADER),
  advance(regions) {
    const header = regions.complete('header');
    if (!header) return;
    if (header.toString('latin1', 0, 4) !== 'KDMV') throw new Error('VMDK signature not found');
    const version = header.readUInt32LE(4);
    if (version < 1 || version > 3) throw new Error('Unsupported VMDK version');
    if (header.readBigUInt64LE(56) === VMDK_GD_AT_END) throw new Error('Unsupported VMDK footer');
    if (header.readBigUInt64LE(28) * 512n !== 512n) throw new Error('Wrong VMDK descriptor location');
    const length = header.readBigUInt64LE(36) * 512n;
    regions.want('descriptor', 512, Number(length < VMDK_DESCRIPTOR_MAX ? length : VMDK_DESCRIPTOR_MAX));
  },
  size(regions) {
    const descriptor = regions.complete('descriptor');
    if (!descriptor) return 0n;
    const marker = descriptor.indexOf('createType="', 0, 'latin1');
    // Glance's bytes.index raises here, and its upload answers 400 with Python's message.
    if (marker < 0) throw new ValidationError('BAD_REQUEST', 'subsection not found');
    const from = marker + 'createType="'.length;
    const quote = descriptor.indexOf('"', from, 'latin1');
    // Python slices to the last byte when no quote closes the value.
    const to = quote < 0 ? descriptor.length - 1 : quote;
    const type = to - from < 64 ? descriptor.toString('latin1', from, Math.max(from, to)) : '';
    return VMDK_TYPES.has(type) ? regions.complete('header')!.readBigUInt64LE(12) * 512n : 0n;
  },
};

// VHDX: the region table at 192 KiB points to the metadata region, whose table points to the
// "virtual disk size" item; each is asked for once the one before it is in.
const VHDX_REGION_TABLE = 192 * 1024;
const VHDX_TABLE_MAX = 2048 * 32;
const VHDX_METADATA_REGION = guid('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const VHDX_VIRTUAL_DISK_SIZE = guid('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
const vhdx: Format = {
  start(regions) {
    regions.want('ident', 0, 32);
    regions.want('header', VHDX_REGION_TABLE, VHDX_TABLE_MAX);
  },
  advance(regions) {
    const table = regions.complete('header');
    if (table && !regions.has('metadata')) {
      if (table.readUInt32LE(0) !== 0x69676572) throw new Error('VHDX region signature not found');
      const count = table.readUInt32LE(8);
      if (count >= 2048) throw new Error('Too many VHDX regions');
      for (let entry = 16; entry < 16 + count * 32; entry += 32) {
        if (VHDX_METADATA_REGION.equals(table.subarray(entry, entry + 16))) {
          regions.want('metadata', table.readBigUInt64LE(entry + 16), VHDX_TABLE_MAX);
          return;
        }
      }
    } else if (regions.has('metadata') && !regions.has('vds')) {
      // The metadata table is read as it arrives: the item is asked for as soon as its entry is in.
      const metadata = regions.partial('metadata');
      if (metadata.length < 32) return;
      if (metadata.toString('latin1', 0, 8) !== 'metadata')
        throw new Error('VHDX metadata signature not found');
      const count = metadata.readUInt16LE(10);
      if (metadata.length < 32 + count * 32) return;
      if (count >= 2048) throw new Error('Too many VHDX metadata items');
      for (let entry = 32; entry < 32 + count * 32; entry += 32) {
        if (VHDX_VIRTUAL_DISK_SIZE.equals(metadata.subarray(entry, entry + 16))) {
          const offset = metadata.readUInt32LE(entry + 16);
          const length = Math.min(metadata.readUInt32LE(entry + 20), VHDX_TABLE_MAX);
          // The item's offset counts from the start of the metadata region.
          regions.close('metadata');
          regions.want('vds', regions.offset('metadata') + offset, length);
          return;
        }
      }
    }
  },
  size(regions) {
    if (regions.partial('ident').toString('latin1', 0, 8) !== 'vhdxfile') return 0n;
    const item = regions.complete('vds');
    // Glance fails the upload with a 500 when the item is not 8 bytes long; we record no size.
    return item?.length === 8 ? item.readBigUInt64LE(0) : 0n;
  },
};

/** A Microsoft GUID as it is stored: the first three groups little-endian, the rest as written. */
function guid(text: string): Buffer {
  const [a, b, c, d, e] = text.split('-');
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32LE(Number.parseInt(a, 16), 0);
  bytes.writeUInt16LE(Number.parseInt(b, 16), 4);
  bytes.writeUInt16LE(Number.parseInt(c, 16), 6);
  Buffer.from(d + e, 'hex').copy(bytes, 8);
  return bytes;
}

/** The disk formats Glance 25.1 has an inspector for (its qed is not an accepted disk_format). */
const FORMATS: Record<string, Format> = {
  // Raw is its own size: every byte counted.
  raw: { start: noAdvance, advance: noAdvance, size: (_regions, totalSize) => BigInt(totalSize) },
  qcow2: headerFormat(
    (header) => header.readUInt32BE(0) === 0x514649fb,
    (header) => header.readBigUInt64BE(24),
  ),
  // The copy of the footer at the start of a dynamic VHD, and its original (not current) size; a fixed
  // VHD has its footer only at the end, which Glance does not read.
  vhd: headerFormat(
    (header) => header.toString('latin1', 0, 8) === 'conectix',
    (header) => header.readBigUInt64BE(40),
  ),
  vdi: headerFormat(
    (header) => header.readUInt32LE(0x40) === 0xbeda107f,
    (header) => header.readBigUInt64LE(0x170),
  ),
  vmdk,
  vhdx,
};

const NOTHING: VirtualSizeInspector = { update: () => undefined, result: () => null };

export function createVirtualSizeInspector(image: ImageFormats): VirtualSizeInspector {
  const format = image.container_format === 'bare' ? FORMATS[image.disk_format ?? ''] : undefined;
  if (!format) return NOTHING;
  const regions = new Regions();
  format.start(regions);
  let position = 0;
  // Like Glance's InfoWrapper, a format that throws is not asked again; the upload goes on.
  let failed = false;
  return {
    update(chunk) {
      if (!failed) {
        try {
          // A region asked for may start inside this very chunk.
          for (let count = -1; count !== regions.count; ) {
            count = regions.count;
            regions.capture(chunk, position);
            format.advance(regions);
          }
        } catch {
          failed = true;
        }
      }
      position += chunk.length;
    },
    result(totalSize) {
      if (failed) return null;
      const size = format.size(regions, totalSize);
      return size > 0n && size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : null;
    },
  };
}

/** Pure: the virtual size Glance would record for an image whose whole data is `data`. */
export function readVirtualSize(image: ImageFormats, data: Uint8Array): number | null {
  const inspector = createVirtualSizeInspector(image);
  inspector.update(data);
  return inspector.result(data.length);
}

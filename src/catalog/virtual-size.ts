// Reads an image's virtual size from its format header while the upload streams past, as Glance's
// format inspector does: raw is its own size; qcow2, vmdk (sparse), vhd and vdi carry it in a header
// or footer; anything unrecognised yields null rather than a guess.

const HEAD_BYTES = 1024;
const TAIL_BYTES = 512;

export interface VirtualSizeInspector {
  update(chunk: Uint8Array): void;
  /** The virtual size in bytes, or null when the data does not carry one. */
  result(totalSize: number): number | null;
}

export function createVirtualSizeInspector(diskFormat: string | null): VirtualSizeInspector {
  const head = Buffer.alloc(HEAD_BYTES);
  let headLength = 0;
  const tail = Buffer.alloc(TAIL_BYTES);
  let tailLength = 0;
  const needsTail = diskFormat === 'vhd';
  return {
    update(chunk) {
      if (headLength < HEAD_BYTES) {
        const take = Math.min(HEAD_BYTES - headLength, chunk.length);
        head.set(chunk.subarray(0, take), headLength);
        headLength += take;
      }
      if (needsTail) {
        if (chunk.length >= TAIL_BYTES) {
          tail.set(chunk.subarray(chunk.length - TAIL_BYTES));
          tailLength = TAIL_BYTES;
        } else {
          const keep = Math.min(tailLength, TAIL_BYTES - chunk.length);
          tail.copyWithin(0, tailLength - keep, tailLength);
          tail.set(chunk, keep);
          tailLength = keep + chunk.length;
        }
      }
    },
    result(totalSize) {
      return readVirtualSize(
        diskFormat,
        head.subarray(0, headLength),
        tail.subarray(0, tailLength),
        totalSize,
      );
    },
  };
}

/** Pure: the virtual size from the first KiB and the last 512 bytes of an image. */
export function readVirtualSize(
  diskFormat: string | null,
  head: Buffer,
  tail: Buffer,
  totalSize: number,
): number | null {
  const safe = (value: bigint) =>
    value > 0n && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
  switch (diskFormat) {
    case 'raw':
      return totalSize;
    case 'qcow2':
      if (head.length >= 32 && head.readUInt32BE(0) === 0x514649fb) return safe(head.readBigUInt64BE(24));
      return null;
    case 'vmdk': {
      if (head.length >= 20 && head.toString('latin1', 0, 4) === 'KDMV')
        return safe(head.readBigUInt64LE(12) * 512n);
      const text = head.toString('latin1');
      if (!text.startsWith('# Disk DescriptorFile')) return null;
      let sectors = 0n;
      for (const match of text.matchAll(/^(?:RW|RDONLY|NOACCESS)\s+(\d+)\s+\w+/gm))
        sectors += BigInt(match[1]);
      return safe(sectors * 512n);
    }
    case 'vhd': {
      for (const footer of [tail, head]) {
        if (footer.length >= 56 && footer.toString('latin1', 0, 8) === 'conectix')
          return safe(footer.readBigUInt64BE(48));
      }
      return null;
    }
    case 'vdi':
      if (head.length >= 376 && head.readUInt32LE(64) === 0xbeda107f) return safe(head.readBigUInt64LE(368));
      return null;
    default:
      return null;
  }
}

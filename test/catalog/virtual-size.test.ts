// Virtual sizes read as the upload stream passes, from disk images made by qemu-img: every expected
// value is what Glance 25.1 recorded for the same image, disk_format and container_format.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createVirtualSizeInspector } from '../../src/catalog/virtual-size.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { requireTool } from '../support/tools.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Feeds the inspector in chunks of `step` bytes, or small uneven ones, as a socket would. */
function inspect(diskFormat: string, data: Buffer, containerFormat = 'bare', step?: number): number | null {
  const inspector = createVirtualSizeInspector({
    disk_format: diskFormat,
    container_format: containerFormat,
  });
  if (step) {
    for (let offset = 0; offset < data.length; offset += step)
      inspector.update(data.subarray(offset, offset + step));
  } else {
    for (let offset = 0, size = 7; offset < data.length; offset += size, size = (size * 31) % 4099 || 13) {
      inspector.update(data.subarray(offset, offset + size));
    }
  }
  return inspector.result(data.length);
}

/** A copy of `data` with `bytes` written at `offset`. */
function patched(data: Buffer, offset: number, bytes: Buffer): Buffer {
  const copy = Buffer.from(data);
  bytes.copy(copy, offset);
  return copy;
}

const u64be = (value: bigint) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(value);
  return bytes;
};
const u64le = (value: bigint) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  return bytes;
};

describe('createVirtualSizeInspector', () => {
  let dir: string;
  const made = new Map<string, Buffer>();
  /** An image made by `qemu-img create`, once per set of arguments. */
  const image = (format: string, size: string, ...options: string[]): Buffer => {
    const key = [format, size, ...options].join(' ');
    let data = made.get(key);
    if (!data) {
      const file = path.join(dir, `${made.size}.img`);
      execFileSync('qemu-img', ['create', '-q', '-f', format, ...options, file, size]);
      data = readFileSync(file);
      made.set(key, data);
    }
    return data;
  };

  before(() => {
    requireTool('qemu-img', 'qemu-utils');
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-vsize-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('with container_format bare', () => {
    type Expected = number | null | 'its length';
    const cases: [what: string, diskFormat: string, data: () => Buffer, expected: Expected][] = [
      ['a qcow2', 'qcow2', () => image('qcow2', '1G'), GiB],
      [
        'a qcow2 cut short of its 512-byte header',
        'qcow2',
        () => image('qcow2', '1G').subarray(0, 400),
        null,
      ],
      ['a qcow2 uploaded as raw', 'raw', () => image('qcow2', '1G'), 'its length'],
      ['raw data', 'raw', () => Buffer.alloc(MiB, 1), MiB],
      ['a 0-byte raw upload', 'raw', () => Buffer.alloc(0), null],
      ['a monolithicSparse vmdk', 'vmdk', () => image('vmdk', '1G', '-o', 'subformat=monolithicSparse'), GiB],
      ['a streamOptimized vmdk', 'vmdk', () => image('vmdk', '1G', '-o', 'subformat=streamOptimized'), GiB],
      [
        'a monolithicFlat vmdk descriptor',
        'vmdk',
        () => image('vmdk', '16M', '-o', 'subformat=monolithicFlat').subarray(0, 512),
        null,
      ],
      [
        'a vmdk whose grain directory is in a footer',
        'vmdk',
        () => patched(image('vmdk', '1G'), 56, u64le(0xffffffffffffffffn)),
        null,
      ],
      ['a vmdk of version 4', 'vmdk', () => patched(image('vmdk', '1G'), 4, Buffer.from([4, 0, 0, 0])), null],
      [
        'a vmdk whose descriptor names another create-type',
        'vmdk',
        () => {
          const data = image('vmdk', '1G');
          return patched(data, data.indexOf('monolithicSparse"'), Buffer.from('monolithicFlat"  '));
        },
        null,
      ],
      ['a dynamic vhd (its original size, CHS-rounded)', 'vhd', () => image('vpc', '1G'), 1073995776],
      ['a dynamic vhd of forced size', 'vhd', () => image('vpc', '1G', '-o', 'force_size=on'), GiB],
      [
        'a vhd whose header copy says 1 GiB original and 2 GiB current',
        'vhd',
        () => patched(image('vpc', '1G'), 40, Buffer.concat([u64be(BigInt(GiB)), u64be(BigInt(2 * GiB))])),
        GiB,
      ],
      [
        'a fixed vhd (footer only at the end)',
        'vhd',
        () => image('vpc', '16M', '-o', 'subformat=fixed'),
        null,
      ],
      ['a vhd cut short of 512 bytes', 'vhd', () => image('vpc', '1G').subarray(0, 400), null],
      ['a dynamic vhdx', 'vhdx', () => image('vhdx', '1G'), GiB],
      ['a fixed vhdx', 'vhdx', () => image('vhdx', '16M', '-o', 'subformat=fixed'), 16 * MiB],
      ['a vdi', 'vdi', () => image('vdi', '1G'), GiB],
      ['data without a header as qcow2', 'qcow2', () => Buffer.alloc(MiB, 7), null],
      ['data without a header as vmdk', 'vmdk', () => Buffer.alloc(MiB, 7), null],
      ['data without a header as vhd', 'vhd', () => Buffer.alloc(MiB, 7), null],
      ['data without a header as vhdx', 'vhdx', () => Buffer.alloc(MiB, 7), null],
      ['data without a header as vdi', 'vdi', () => Buffer.alloc(MiB, 7), null],
      ['a qcow2 as iso (no inspector)', 'iso', () => image('qcow2', '1G'), null],
      ['raw data as ami', 'ami', () => Buffer.alloc(MiB, 1), null],
      ['raw data as ari', 'ari', () => Buffer.alloc(MiB, 1), null],
      ['raw data as aki', 'aki', () => Buffer.alloc(MiB, 1), null],
      ['raw data as ploop', 'ploop', () => Buffer.alloc(MiB, 1), null],
    ];
    for (const [what, diskFormat, data, wanted] of cases) {
      it(`records ${wanted} for ${what}`, () => {
        const expected = wanted === 'its length' ? data().length : wanted;
        assert.equal(inspect(diskFormat, data()), expected);
        // Where the chunks break does not matter.
        assert.equal(inspect(diskFormat, data(), 'bare', 65536), expected);
        assert.equal(inspect(diskFormat, data(), 'bare', 16 * MiB), expected);
      });
    }
  });

  it('records nothing for any container_format but bare', () => {
    for (const container of ['ovf', 'ova', 'docker', 'compressed', 'ami', 'ari', 'aki']) {
      assert.equal(inspect('raw', Buffer.alloc(MiB, 1), container), null, container);
      assert.equal(inspect('qcow2', image('qcow2', '1G'), container), null, container);
      assert.equal(inspect('vhdx', image('vhdx', '1G'), container), null, container);
    }
  });

  it('refuses, as Glance does with 400, a vmdk whose descriptor has no createType', () => {
    const data = image('vmdk', '1G');
    const untyped = patched(data, data.indexOf('createType="'), Buffer.from('xreateType'));
    assert.throws(
      () => inspect('vmdk', untyped),
      (error) => error instanceof ImageTrustError && error.code === 'BAD_REQUEST',
    );
    // An empty descriptor has no createType either.
    assert.throws(() => inspect('vmdk', patched(data, 36, u64le(0n))), { code: 'BAD_REQUEST' });
  });

  it('records nothing for header values too large to be exact', () => {
    const header = Buffer.alloc(512);
    header.writeUInt32BE(0x514649fb, 0);
    header.writeBigUInt64BE(0xffffffffffffffffn, 24);
    assert.equal(inspect('qcow2', header), null);
  });
});

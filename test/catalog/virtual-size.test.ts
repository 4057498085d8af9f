// Virtual sizes read from real disk images made by qemu-img, as the upload stream passes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createVirtualSizeInspector } from '../../src/catalog/virtual-size.ts';
import { requireTool } from '../support/tools.ts';

/** Feeds the inspector in small, uneven chunks, as a socket would. */
function inspect(format: string, data: Buffer): number | null {
  const inspector = createVirtualSizeInspector(format);
  for (let offset = 0, step = 7; offset < data.length; offset += step, step = (step * 31) % 4099 || 13) {
    inspector.update(data.subarray(offset, offset + step));
  }
  return inspector.result(data.length);
}

describe('createVirtualSizeInspector', () => {
  let dir: string;
  before(() => {
    requireTool('qemu-img', 'qemu-utils');
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-vsize-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [format: string, qemuFormat: string, options: string[], bytes: number][] = [
    ['qcow2', 'qcow2', [], 3 * 1024 ** 3],
    ['vmdk', 'vmdk', ['-o', 'subformat=monolithicSparse'], 512 * 1024 ** 2],
    ['vhd', 'vpc', ['-o', 'subformat=fixed,force_size=on'], 64 * 1024 ** 2],
    ['vhd', 'vpc', ['-o', 'subformat=dynamic,force_size=on'], 2 * 1024 ** 3],
    ['vdi', 'vdi', [], 1024 ** 3],
  ];
  for (const [format, qemuFormat, options, bytes] of cases) {
    it(`reads the virtual size of a ${qemuFormat} image made by qemu-img ${options.join(' ')}`, () => {
      const file = path.join(dir, `${qemuFormat}-${bytes}.img`);
      execFileSync('qemu-img', ['create', '-q', '-f', qemuFormat, ...options, file, String(bytes)]);
      const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', file]).toString());
      // qemu-img counts a fixed VHD's 512-byte footer in its virtual size; the footer's own
      // "current size" field, which is what the guest sees, is what we report.
      const expected = options.join().includes('fixed') ? bytes : info['virtual-size'];
      assert.equal(inspect(format, readFileSync(file)), expected);
    });
  }

  it('reports the size itself for raw and null for data without a header', () => {
    const data = Buffer.alloc(4096, 1);
    assert.equal(inspect('raw', data), 4096);
    assert.equal(inspect('qcow2', data), null);
    assert.equal(inspect('vmdk', data), null);
    assert.equal(inspect('vhd', data), null);
    assert.equal(inspect('iso', data), null);
  });

  it('refuses absurd header values rather than reporting them', () => {
    const header = Buffer.alloc(512);
    header.writeUInt32BE(0x514649fb, 0);
    header.writeBigUInt64BE(0xffffffffffffffffn, 24);
    assert.equal(inspect('qcow2', header), null);
  });
});

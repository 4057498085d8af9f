// virtual_size through the images API, as Glance 25.1 records it: images made by qemu-img uploaded with
// each disk_format and container_format, the expected values being what Glance answered for the same.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { requireTool } from '../support/tools.ts';

const GiB = 1024 ** 3;

describe('images API: virtual_size', () => {
  let t: TestServer;
  let token: string;
  let dir: string;

  const call = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    apiCall(`${t.url}/image`, token, method, url, body, headers);
  /** Creates an image with the two formats, uploads `data` and answers the upload's status and the image. */
  const upload = async (diskFormat: string, containerFormat: string, data: Uint8Array) => {
    const created = await call('POST', '/v2/images', {
      disk_format: diskFormat,
      container_format: containerFormat,
    });
    assert.equal(created.status, 201, created.text);
    const id = created.json.id as string;
    const put = await call('PUT', `/v2/images/${id}/file`, data, {
      'content-type': 'application/octet-stream',
    });
    const image = (await call('GET', `/v2/images/${id}`)).json;
    return { status: put.status, code: put.headers.get('x-imagetrust-error-code'), image };
  };
  const qemuImage = (format: string, size: string, ...options: string[]) => {
    const file = path.join(dir, `${format}-${size}-${options.join('_')}.img`);
    execFileSync('qemu-img', ['create', '-q', '-f', format, ...options, file, size]);
    return readFileSync(file);
  };

  before(async () => {
    requireTool('qemu-img', 'qemu-utils');
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-vsize-api-'));
    t = await startTestServer();
    token = await t.token();
  });
  after(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a vhdx', async () => {
    const { status, image } = await upload('vhdx', 'bare', qemuImage('vhdx', '1G'));
    assert.equal(status, 204);
    assert.equal(image.virtual_size, GiB);
  });

  it('reads a dynamic vhd from the original size in its header copy, not the current size', async () => {
    const data = qemuImage('vpc', '1G', '-o', 'force_size=on');
    // Both copies of the footer now say the disk grew to 2 GiB; Glance reads the original size.
    for (const footer of [0, data.length - 512]) data.writeBigUInt64BE(2n * BigInt(GiB), footer + 48);
    const { image } = await upload('vhd', 'bare', data);
    assert.equal(image.virtual_size, GiB);
  });

  it('records none for a fixed vhd, whose footer is only at the end', async () => {
    const { status, image } = await upload('vhd', 'bare', qemuImage('vpc', '16M', '-o', 'subformat=fixed'));
    assert.equal(status, 204);
    assert.equal(image.virtual_size, null);
  });

  it('records none unless container_format is bare', async () => {
    for (const container of ['ovf', 'ova', 'docker']) {
      const { image } = await upload('raw', container, Buffer.alloc(4096, 1));
      assert.equal(image.status, 'active');
      assert.equal(image.virtual_size, null, container);
    }
    const qcow2 = await upload('qcow2', 'ovf', qemuImage('qcow2', '1G'));
    assert.equal(qcow2.image.virtual_size, null);
  });

  it('records none for a 0-byte raw upload', async () => {
    const { status, image } = await upload('raw', 'bare', new Uint8Array(0));
    assert.equal(status, 204);
    assert.equal(image.size, 0);
    assert.equal(image.virtual_size, null);
  });

  it('refuses a vmdk whose descriptor has no createType, and the image is queued again', async () => {
    const data = qemuImage('vmdk', '1G');
    Buffer.from('xreateType').copy(data, data.indexOf('createType="'));
    const { status, code, image } = await upload('vmdk', 'bare', data);
    assert.equal(status, 400);
    assert.equal(code, 'BAD_REQUEST');
    assert.equal(image.status, 'queued');
    assert.equal(image.virtual_size, null);
    assert.equal(await t.blobs.countTemporaries(), 0);
  });
});

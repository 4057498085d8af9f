// Drives the real `glance` client (python3-glanceclient) against imagetrust: create with a file,
// upload into a queued image (chunked), download, list.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, runOk } from '../support/tools.ts';

describe('the glance client against imagetrust', () => {
  let t: TestServer;
  let work: string;
  let env: Record<string, string>;
  const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
  const sha512 = (data: Buffer) => createHash('sha512').update(data).digest('hex');
  const glance = (args: string[]) => runOk('glance', args, env);
  /** glance prints a two-column table; read it into a map. */
  const table = (text: string) => {
    const fields: Record<string, string> = {};
    let last = '';
    for (const line of text.split(/\r?\n/)) {
      const match = /^\|\s*(\S*)\s*\|\s*(.*?)\s*\|$/.exec(line);
      if (!match || match[1] === 'Property') continue;
      if (match[1]) {
        last = match[1];
        fields[last] = match[2];
      } else if (last) fields[last] += match[2];
    }
    return fields;
  };

  before(async () => {
    requireTool('glance', 'python3-glanceclient');
    t = await startTestServer();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-glance-'));
    env = clientEnvironment(t.url, work);
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('image-create with --file stores the data with md5 and sha512 equal to the file', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 5);
    const file = path.join(work, 'a.raw');
    writeFileSync(file, data);
    const image = table(
      await glance([
        'image-create',
        '--name',
        'g-file',
        '--disk-format',
        'raw',
        '--container-format',
        'bare',
        '--file',
        file,
        '--property',
        'a=b',
      ]),
    );
    assert.equal(image.status, 'active');
    assert.equal(image.checksum, md5(data));
    assert.equal(image.os_hash_value, sha512(data));
    assert.equal(image.a, 'b');
    assert.equal(image.virtual_size, String(data.length));
  });

  it('image-upload fills a queued image, image-download returns the same bytes', async () => {
    const data = randomBytes(1024 * 1024 + 3);
    const file = path.join(work, 'b.qcow2');
    writeFileSync(file, data);
    // glance uploads a non-TTY stdin, so give image-create a terminal (via script(1)) to leave the image queued.
    const created = table(
      await runOk(
        'script',
        [
          '-qec',
          'glance image-create --name g-upload --disk-format qcow2 --container-format bare',
          '/dev/null',
        ],
        env,
      ),
    );
    assert.equal(created.status, 'queued');
    await glance(['image-upload', '--file', file, created.id]);
    const shown = table(await glance(['image-show', created.id]));
    assert.equal(shown.status, 'active');
    assert.equal(shown.checksum, md5(data));
    const out = path.join(work, 'b.out');
    await glance(['image-download', '--file', out, created.id]);
    assert.equal(md5(readFileSync(out)), md5(data));
  });

  it('image-list shows the images sorted by name', async () => {
    const listed = await glance(['image-list']);
    const names = [...listed.matchAll(/\|\s*[0-9a-f-]{36}\s*\|\s*(\S+)\s*\|/g)].map((m) => m[1]);
    assert.deepEqual(names, ['g-file', 'g-upload']);
  });
});

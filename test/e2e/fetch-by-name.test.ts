// The boot gate takes an image name as the openstack client does: a unique name finds the image, a
// name two images share is refused (AMBIGUOUS_NAME), as `openstack image show NAME` refuses it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;

describe('imagetrust fetch IMAGE by name', () => {
  let t: TestServer;
  let work: string;
  let env: Record<string, string>;
  const cli = (args: string[]) => run(BIN, args, env);
  const file = (name: string) => path.join(work, name);

  async function upload(name: string): Promise<string> {
    const uploaded = await cli([
      'sign',
      file('disk.raw'),
      '--key',
      file('signer.key'),
      '--cert',
      file('signer.pem'),
      '--upload',
      '--name',
      name,
      '--format',
      'json',
    ]);
    assert.equal(uploaded.code, 0, uploaded.stderr);
    return JSON.parse(uploaded.stdout).id;
  }

  before(async () => {
    requireTool('openssl', 'openssl');
    t = await startTestServer();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-fetch-name-'));
    env = clientEnvironment(t.url, work);
    writeFileSync(file('disk.raw'), randomBytes(64 * 1024));
    const generated = await cli([
      'keys',
      'generate',
      '--type',
      'ECC_SECP384R1',
      '--out-key',
      file('signer.key'),
      '--out-cert',
      file('signer.pem'),
    ]);
    assert.equal(generated.code, 0, generated.stderr);
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('fetches by a unique name as by id, and refuses a name two images share', async () => {
    const id = await upload('debian-unique');
    const byName = await cli(['fetch', 'debian-unique', '--cache-dir', file('cache'), '--format', 'json']);
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(JSON.parse(byName.stdout).image, id);

    await upload('debian-twice');
    await upload('debian-twice');
    const ambiguous = await cli(['fetch', 'debian-twice', '--cache-dir', file('cache')]);
    assert.equal(ambiguous.code, 2, ambiguous.stderr);
    assert.match(ambiguous.stderr, /\[AMBIGUOUS_NAME\]/);
    assert.equal(ambiguous.stdout, '');

    const missing = await cli(['fetch', 'no-such-image', '--cache-dir', file('cache')]);
    assert.equal(missing.code, 4, missing.stderr);
  });
});

// Drives the real `openstack` client (python3-openstackclient) against imagetrust with password
// authentication through the service catalog, as an operator would.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

describe('the openstack client against imagetrust', () => {
  let t: TestServer;
  let work: string;
  let imageFile: string;
  let env: Record<string, string>;
  const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
  const sha512 = (data: Buffer) => createHash('sha512').update(data).digest('hex');
  const openstack = (args: string[], as: Record<string, string> = {}) =>
    runOk('openstack', args, { ...env, ...as });
  const json = async (args: string[], as: Record<string, string> = {}) =>
    JSON.parse(await openstack([...args, '-f', 'json'], as));

  before(async () => {
    requireTool('openstack', 'python3-openstackclient');
    t = await startTestServer();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-osc-'));
    imageFile = path.join(work, 'disk.qcow2');
    writeFileSync(imageFile, randomBytes(3 * 1024 * 1024 + 17));
    env = clientEnvironment(t.url, work);
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('creates an image from a file with properties, and its checksums equal md5sum and sha512sum', async () => {
    const created = await json([
      'image',
      'create',
      '--file',
      imageFile,
      '--disk-format',
      'qcow2',
      '--container-format',
      'bare',
      '--property',
      'k=v',
      'osc-image',
    ]);
    const shown = await json(['image', 'show', created.id]);
    const data = readFileSync(imageFile);
    assert.equal(shown.status, 'active');
    assert.equal(shown.checksum, md5(data));
    assert.equal(shown.properties.os_hash_algo, 'sha512');
    assert.equal(shown.properties.os_hash_value, sha512(data));
    assert.equal(shown.size, data.length);
    assert.equal(shown.properties.k, 'v');
  });

  it('lists, shows by name, sets properties and saves the data back unchanged', async () => {
    const listed = await json(['image', 'list']);
    assert.ok(listed.some((image: { Name: string }) => image.Name === 'osc-image'));
    await openstack([
      'image',
      'set',
      '--property',
      'distro=debian',
      '--min-disk',
      '2',
      '--tag',
      'golden',
      'osc-image',
    ]);
    const shown = await json(['image', 'show', 'osc-image']);
    assert.equal(shown.properties.distro, 'debian');
    assert.equal(shown.min_disk, 2);
    assert.deepEqual(shown.tags, ['golden']);
    const out = path.join(work, 'saved.img');
    await openstack(['image', 'save', '--file', out, 'osc-image']);
    assert.equal(md5(readFileSync(out)), md5(readFileSync(imageFile)));
  });

  it('creates a project and a user with a role, then shares an image that the member accepts', async () => {
    await openstack(['project', 'create', 'consumers']);
    await openstack(['user', 'create', '--project', 'consumers', '--password', 'consumer-pw', 'consumer']);
    await openstack(['role', 'add', '--project', 'consumers', '--user', 'consumer', 'member']);
    const consumer = { OS_USERNAME: 'consumer', OS_PASSWORD: 'consumer-pw', OS_PROJECT_NAME: 'consumers' };
    const image = await json(['image', 'show', 'osc-image']);

    const before = await json(['image', 'list'], consumer);
    assert.ok(
      !before.some((i: { ID: string }) => i.ID === image.id),
      'a shared image is not listed before acceptance',
    );
    await openstack(['image', 'add', 'project', 'osc-image', 'consumers']);
    const pending = await json(['image', 'member', 'list', 'osc-image']);
    assert.equal(pending[0].Status, 'pending');
    await openstack(['image', 'set', '--accept', image.id], consumer);
    const accepted = await json(['image', 'member', 'list', 'osc-image']);
    assert.equal(accepted[0].Status, 'accepted');
    const listed = await json(['image', 'list'], consumer);
    assert.ok(
      listed.some((i: { ID: string }) => i.ID === image.id),
      'the accepted image is listed for the consumer',
    );

    // The consumer may read but not change or delete the owner's image.
    const denied = await run('openstack', ['image', 'set', '--property', 'x=y', image.id], {
      ...env,
      ...consumer,
    });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /403/);

    await openstack(['image', 'remove', 'project', 'osc-image', 'consumers']);
    const after = await json(['image', 'list'], consumer);
    assert.ok(!after.some((i: { ID: string }) => i.ID === image.id));
  });

  it('uploads from stdin with a chunked body', async () => {
    // Without --file and with a non-TTY stdin, the client streams stdin with Transfer-Encoding: chunked.
    const data = randomBytes(700_001);
    const input = path.join(work, 'stdin.bin');
    writeFileSync(input, data);
    await runOk(
      'sh',
      ['-c', `openstack image create --disk-format raw --container-format bare osc-stdin < "${input}"`],
      env,
    );
    const shown = await json(['image', 'show', 'osc-stdin']);
    assert.equal(shown.status, 'active');
    assert.equal(shown.checksum, md5(data));
    assert.equal(shown.virtual_size, data.length);
  });

  it('deletes images, and a deleted image is gone', async () => {
    await openstack(['image', 'delete', 'osc-image']);
    const shown = await run('openstack', ['image', 'show', 'osc-image'], env);
    assert.notEqual(shown.code, 0);
    assert.match(shown.stderr, /No Image found/);
  });

  it('refuses a wrong password', async () => {
    const result = await run('openstack', ['image', 'list'], { ...env, OS_PASSWORD: 'wrong' });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /401|authentication/i);
  });
});

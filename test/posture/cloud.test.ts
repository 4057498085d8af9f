// `posture scan --cloud`: images read through the image API of a real imagetrust server with the usual
// OS_* settings (the catalog has no compute endpoint, so flavors are skipped with a note), plus the
// command's own failures: no input, an unreadable export, a bad check catalogue.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PostureFinding } from '../../src/posture/index.ts';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const SIGNATURE = {
  img_signature: 'c2lnbmF0dXJl',
  img_signature_hash_method: 'SHA-256',
  img_signature_key_type: 'RSA-PSS',
  img_signature_certificate_uuid: '0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8',
};

describe('posture scan --cloud', () => {
  let service: TestServer;
  let dir: string;
  const ids: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'posture-cloud-'));
    // Images are made public directly here, so the scan sees what a plain Glance would hold.
    service = await startTestServer({ release: { allowDirectPublish: true } });
    const token = await service.token();
    const create = async (name: string, body: Record<string, unknown>) => {
      const response = await fetch(`${service.url}/image/v2/images`, {
        method: 'POST',
        headers: { 'x-auth-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare', ...body }),
      });
      assert.equal(response.status, 201, await response.clone().text());
      ids[name] = ((await response.json()) as { id: string }).id;
    };
    await create('public-signed', { visibility: 'public', hw_rng_model: 'virtio', ...SIGNATURE });
    await create('public-unsigned', { visibility: 'public', hw_rng_model: 'virtio' });
    await create('public-hidden', {
      visibility: 'public',
      os_hidden: true,
      hw_rng_model: 'virtio',
      ...SIGNATURE,
    });
    await create('private-no-rng', { visibility: 'private' });
  });
  after(async () => {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('judges the images the API returns, hidden ones included', async () => {
    const result = await run(
      BIN,
      ['posture', 'scan', '--cloud', '--format', 'json', '--fail-on', 'warning'],
      clientEnvironment(service.url, dir),
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /no compute endpoint/);
    const { findings } = JSON.parse(result.stdout) as { findings: PostureFinding[] };
    assert.deepEqual(
      findings.map((f) => `${f.check} ${f.subject}`).sort(),
      [
        `OSP-IMG-HIDDEN-PUBLIC image:${ids['public-hidden']}`,
        `OSP-IMG-PUBLIC-UNSIGNED image:${ids['public-unsigned']}`,
        `OSP-RNG-IMAGE image:${ids['private-no-rng']}`,
      ].sort(),
    );
    // Only a warning and infos: the default threshold (error) passes.
    const lenient = await run(BIN, ['posture', 'scan', '--cloud'], clientEnvironment(service.url, dir));
    assert.equal(lenient.code, 0, lenient.stderr);
  });

  it("reads the openstack client's image show and image list --long exports", async () => {
    requireTool('openstack', 'python3-openstackclient');
    const env = clientEnvironment(service.url, dir);
    const shows = await Promise.all(
      Object.values(ids).map(async (id) =>
        JSON.parse(await runOk('openstack', ['image', 'show', '-f', 'json', id], env)),
      ),
    );
    const showFile = path.join(dir, 'images-show.json');
    writeFileSync(showFile, JSON.stringify(shows));
    const fromShow = await run(BIN, ['posture', 'scan', '--images', showFile, '--format', 'json'], env);
    const { findings } = JSON.parse(fromShow.stdout) as { findings: PostureFinding[] };
    assert.deepEqual(
      findings.map((f) => `${f.check} ${f.subject}`).sort(),
      [
        `OSP-IMG-HIDDEN-PUBLIC image:${ids['public-hidden']}`,
        `OSP-IMG-PUBLIC-UNSIGNED image:${ids['public-unsigned']}`,
        `OSP-RNG-IMAGE image:${ids['private-no-rng']}`,
      ].sort(),
    );
    assert.ok(findings.every((f) => f.location.file === showFile));
    // One `image show` document alone works too.
    const one = path.join(dir, 'image-show.json');
    writeFileSync(one, JSON.stringify(shows.find((image) => image.id === ids['public-unsigned'])));
    const single = JSON.parse(
      (await run(BIN, ['posture', 'scan', '--images', one, '-f', 'json'], env)).stdout,
    );
    assert.deepEqual(
      single.findings.map((f: PostureFinding) => f.check),
      ['OSP-IMG-PUBLIC-UNSIGNED'],
    );
    // `image list --long` has no properties column: nothing is judged on it, and the scan says so.
    const listFile = path.join(dir, 'images-list.json');
    writeFileSync(listFile, await runOk('openstack', ['image', 'list', '--long', '-f', 'json'], env));
    const fromList = await run(
      BIN,
      ['posture', 'scan', '--images', listFile, '--format', 'json', '--fail-on', 'info'],
      env,
    );
    assert.equal(fromList.code, 0, fromList.stderr);
    assert.deepEqual(JSON.parse(fromList.stdout).findings, []);
    // The client does not list the hidden image at all (--cloud asks for hidden ones too).
    assert.match(fromList.stderr, /3 image\(s\) come from 'openstack image list --long'/);
  });

  it('fails with the usual codes: wrong password 3, no input 2, unreadable export 66, bad JSON 65, bad catalogue 78', async () => {
    const env = clientEnvironment(service.url, dir);
    assert.equal((await run(BIN, ['posture', 'scan', '--cloud'], { ...env, OS_PASSWORD: 'wrong' })).code, 3);
    assert.equal((await run(BIN, ['posture', 'scan'], env)).code, 2);
    assert.equal(
      (await run(BIN, ['posture', 'scan', '--images', path.join(dir, 'missing.json')], env)).code,
      66,
    );
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"images": [');
    assert.equal((await run(BIN, ['posture', 'scan', '--images', bad], env)).code, 65);
    const checks = path.join(dir, 'checks.yaml');
    writeFileSync(checks, 'checks:\n  - id: SITE-1\n    kind: option\n    severity: fatal\n');
    const catalogue = await run(BIN, ['posture', 'scan', '--images', bad, '--checks', checks], env);
    assert.equal(catalogue.code, 78, catalogue.stderr);
    assert.match(catalogue.stderr, /SITE-1/);
  });

  it('adds a check from an operator catalogue without code', async () => {
    const checks = path.join(dir, 'site.yaml');
    writeFileSync(
      checks,
      `checks:
  - id: SITE-IMG-OWNER-TAG
    kind: image
    property: owner_specified.openstack.object
    expect: { set: true }
    severity: error
    reference: "Site policy 4.2: images say what they are"
    message: "the image does not name the object it was built from"
    remediation: "Set owner_specified.openstack.object on upload."
  - id: OSP-RNG-IMAGE
    enabled: false
`,
    );
    const result = await run(
      BIN,
      ['posture', 'scan', '--cloud', '--checks', checks, '--format', 'json'],
      clientEnvironment(service.url, dir),
    );
    assert.equal(result.code, 1, result.stderr);
    const { findings } = JSON.parse(result.stdout) as { findings: PostureFinding[] };
    assert.deepEqual([...new Set(findings.map((f) => f.check))].sort(), [
      'OSP-IMG-HIDDEN-PUBLIC',
      'OSP-IMG-PUBLIC-UNSIGNED',
      'SITE-IMG-OWNER-TAG',
    ]);
    assert.equal(findings.filter((f) => f.check === 'SITE-IMG-OWNER-TAG').length, 4);
    assert.equal(
      findings.find((f) => f.check === 'SITE-IMG-OWNER-TAG')?.reference,
      'Site policy 4.2: images say what they are',
    );
  });
});

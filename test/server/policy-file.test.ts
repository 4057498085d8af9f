// A policy file written in Glance's own rule names and target keys governs the image API as it would
// govern Glance: rules see the image's owner and visibility; a get_image denial is a 404, as in Glance.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const PATCH = 'application/openstack-images-v2.1-json-patch';

describe('a Glance policy file', () => {
  let t: TestServer;
  let dir: string;
  let admin: string;
  let alice: string;
  const call = (
    token: string,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => apiCall(`${t.url}/image`, token, method, url, body, headers);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-policy-'));
    const policyFile = path.join(dir, 'policy.yaml');
    writeFileSync(
      policyFile,
      [
        '# Rules as a Glance operator writes them: bare names, %(visibility)s and %(project_id)s targets.',
        `"get_image": "role:admin or (role:reader and 'community':%(visibility)s)"`,
        '"modify_image": "role:admin"',
        '"download_image": "role:admin or project_id:%(project_id)s"',
        '',
      ].join('\n'),
    );
    t = await startTestServer({ policy: { file: policyFile } });
    admin = await t.token();
    const a = await t.addUser('alice', 'member');
    alice = await t.token('alice', a.password);
  });
  after(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('decides on the image target: visibility and owner', async () => {
    const shared = await call(alice, 'POST', '/v2/images', { name: 'mine' });
    assert.equal(shared.status, 201);
    // Her own shared image is not hers to see under this policy: 404, not 403.
    assert.equal((await call(alice, 'GET', `/v2/images/${shared.json.id}`)).status, 404);
    assert.equal((await call(admin, 'GET', `/v2/images/${shared.json.id}`)).status, 200);
    const community = await call(alice, 'POST', '/v2/images', { name: 'open', visibility: 'community' });
    assert.equal(community.status, 201);
    assert.equal((await call(alice, 'GET', `/v2/images/${community.json.id}`)).status, 200);
    // modify_image is admin-only here, tags included (Glance guards tags with modify_image).
    const patched = await call(
      alice,
      'PATCH',
      `/v2/images/${community.json.id}`,
      [{ op: 'add', path: '/os_distro', value: 'debian' }],
      { 'content-type': PATCH },
    );
    assert.equal(patched.status, 403);
    assert.equal((await call(alice, 'PUT', `/v2/images/${community.json.id}/tags/x`)).status, 403);
    assert.equal(
      (
        await call(
          admin,
          'PATCH',
          `/v2/images/${community.json.id}`,
          [{ op: 'add', path: '/os_distro', value: 'debian' }],
          {
            'content-type': PATCH,
          },
        )
      ).status,
      200,
    );
  });
});

// Attack: users a secret's read ACL touches try to turn it into more. A user another project listed for
// read tries to manage the ACL, add themselves more rights, upload or delete; a member of the secret's
// project whom a private ACL shut out tries to reopen it or list themselves. (That a user id is matched
// whole, never as a part of another, is in test/storage/secret-repository.test.ts and test/keys/acl.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('attack: widening a secret ACL from the outside', () => {
  let t: TestServer;
  let alice: string; // creator, member of alice-project
  let amos: string; // another member of alice-project, shut out by project-access false
  let amosId: string;
  let bob: string; // member of bob-project, listed for read
  let bobId: string;
  let secretId: string;

  const call = (token: string, method: string, url: string, body?: unknown) =>
    apiCall(`${t.url}/key-manager`, token, method, url, body);
  const acl = () => `/v1/secrets/${secretId}/acl`;

  before(async () => {
    t = await startTestServer();
    await t.addUser('alice', 'member');
    const amosUser = await t.addUser('amos', 'member', 'alice-project');
    amosId = amosUser.userId;
    bobId = (await t.addUser('bob', 'member')).userId;
    alice = await t.token('alice', 'alice-password');
    amos = await t.token('amos', 'amos-password', 'alice-project');
    bob = await t.token('bob', 'bob-password');
    const stored = await call(alice, 'POST', '/v1/secrets/', { name: 'signing key' });
    assert.equal(stored.status, 201, stored.text);
    secretId = String(stored.json.secret_ref).split('/').pop()!;
    const put = await call(alice, 'PUT', acl(), { read: { users: [bobId], 'project-access': false } });
    assert.equal(put.status, 200, put.text);
  });
  after(async () => t?.stop());

  const unchanged = async () => {
    const shown = await call(alice, 'GET', acl());
    assert.deepEqual((shown.json.read as Record<string, unknown>).users, [bobId]);
    assert.equal((shown.json.read as Record<string, unknown>)['project-access'], false);
  };

  it('a listed user of another project reads, and can do nothing more', async () => {
    assert.equal((await call(bob, 'GET', `/v1/secrets/${secretId}`)).status, 200);
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { read: { users: [bobId], 'project-access': true } }],
      ['PATCH', { read: { 'project-access': true } }],
      ['DELETE', undefined],
    ] as const) {
      assert.equal((await call(bob, method, acl(), body)).status, 403, `${method} acl`);
    }
    const upload = await apiCall(`${t.url}/key-manager`, bob, 'PUT', `/v1/secrets/${secretId}`, 'payload', {
      'content-type': 'text/plain',
    });
    assert.equal(upload.status, 403);
    assert.equal((await call(bob, 'DELETE', `/v1/secrets/${secretId}`)).status, 403);
    await unchanged();
  });

  it('a member the private ACL shut out can neither reopen it nor list themselves', async () => {
    assert.equal((await call(amos, 'GET', `/v1/secrets/${secretId}`)).status, 403);
    assert.equal((await call(amos, 'PATCH', acl(), { read: { 'project-access': true } })).status, 403);
    assert.equal((await call(amos, 'PATCH', acl(), { read: { users: [bobId, amosId] } })).status, 403);
    assert.equal((await call(amos, 'DELETE', acl())).status, 403);
    assert.equal((await call(amos, 'GET', `/v1/secrets/${secretId}`)).status, 403);
    await unchanged();
  });
});

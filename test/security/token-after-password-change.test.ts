// Attack: keep using a stolen token after its user changed the password. Keystone revokes every token
// of a user whose password changes, by an administrator (PATCH /v3/users/{id}) or by the user
// (POST /v3/users/{id}/password).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('attack: a token that outlives a password change', () => {
  let t: TestServer;
  let admin: string;

  before(async () => {
    t = await startTestServer();
    admin = await t.token();
  });
  after(() => t.stop());

  const works = async (token: string) => (await apiCall(t.url, token, 'GET', '/image/v2/images')).status;

  it("revokes the user's tokens when an administrator sets a new password", async () => {
    const { userId, password } = await t.addUser('mallory-victim', 'member');
    const stolen = await t.token('mallory-victim', password);
    assert.equal(await works(stolen), 200);
    const changed = await apiCall(t.url, admin, 'PATCH', `/identity/v3/users/${userId}`, {
      user: { password: 'a-new-password' },
    });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(await works(stolen), 401);
    assert.equal(await works(await t.token('mallory-victim', 'a-new-password')), 200);
  });

  it('revokes them when the user changes its own password', async () => {
    const { userId, password } = await t.addUser('victor', 'member');
    const stolen = await t.token('victor', password);
    const own = await t.token('victor', password);
    const changed = await apiCall(t.url, own, 'POST', `/identity/v3/users/${userId}/password`, {
      user: { original_password: password, password: 'victor-new-password' },
    });
    assert.equal(changed.status, 204, changed.text);
    assert.equal(await works(stolen), 401);
    assert.equal(await works(own), 401);
    assert.equal(await works(await t.token('victor', 'victor-new-password')), 200);
  });

  it('refuses a self-service change without the right original password', async () => {
    const { userId, password } = await t.addUser('wanda', 'member');
    const token = await t.token('wanda', password);
    const refused = await apiCall(t.url, token, 'POST', `/identity/v3/users/${userId}/password`, {
      user: { original_password: 'guess', password: 'wanda-new-password' },
    });
    assert.equal(refused.status, 401);
    assert.equal(await works(token), 200);
  });

  it("leaves the user's tokens alone when an update does not touch the password", async () => {
    const { userId, password } = await t.addUser('yusuf', 'member');
    const token = await t.token('yusuf', password);
    const changed = await apiCall(t.url, admin, 'PATCH', `/identity/v3/users/${userId}`, {
      user: { email: 'yusuf@example.org' },
    });
    assert.equal(changed.status, 200);
    assert.equal(await works(token), 200);
  });
});

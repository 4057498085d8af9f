// NUL characters, which PostgreSQL text cannot hold: in a path, a query, a JSON string or a stored
// document. Every backend refuses them with 400 at the edge instead of PostgreSQL failing with a 500.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { adminQuery, postgresUrlFor } from '../storage/database-backends.ts';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('NUL characters on PostgreSQL', () => {
  const schema = `hostile_nul_${randomBytes(4).toString('hex')}`;
  let t: TestServer;
  let admin: string;
  before(async () => {
    await adminQuery(`CREATE SCHEMA ${schema}`);
    t = await startTestServer({ database: postgresUrlFor(schema) });
    admin = await t.token();
  });
  after(async () => {
    await t?.stop();
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it('refuses a NUL in a path parameter with 400', async () => {
    for (const url of [
      '/image/v2/images/%00',
      '/image/v2/images/%00/actions/reactivate',
      '/identity/v3/projects/%00/users/x/roles',
      '/audit/v1/images/%00',
      '/key-manager/v1/secrets/%00',
    ]) {
      const method = url.endsWith('reactivate') ? 'POST' : 'GET';
      assert.equal((await apiCall(t.url, admin, method, url)).status, 400, url);
    }
  });

  it('refuses a NUL in a query parameter with 400', async () => {
    for (const url of ['/image/v2/images?name=%00', '/identity/v3/users?name=a%00b']) {
      assert.equal((await apiCall(t.url, admin, 'GET', url)).status, 400, url);
    }
  });

  it('refuses a NUL in a JSON string with 400', async () => {
    const user = await apiCall(t.url, admin, 'POST', '/identity/v3/users', { user: { name: 'a\u0000b' } });
    assert.equal(user.status, 400);
    const image = await apiCall(t.url, admin, 'POST', '/image/v2/images', { name: 'x', p: 'a\u0000b' });
    assert.equal(image.status, 400);
  });

  it('refuses a stored document with a NUL in it with 400', async () => {
    const r = await apiCall(
      t.url,
      admin,
      'PUT',
      '/containers/v1/registries.d',
      'docker:\n  example.com:\n    lookaside: "https://example.com/\\0"\n# \u0000\n',
      { 'content-type': 'application/yaml' },
    );
    assert.equal(r.status, 400);
  });

  it('still serves the same names without the NUL', async () => {
    assert.equal((await apiCall(t.url, admin, 'GET', '/identity/v3/users?name=admin')).status, 200);
  });
});

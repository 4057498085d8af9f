// Keystone token requests whose fields have the wrong JSON type: Keystone validates the body against
// its schema and answers 400; nothing may reach the password check or the database with an object.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';

const WRONG_TYPES: unknown[] = [1, {}, [], true];

const passwordAuth = (user: Record<string, unknown>, scope?: unknown) => ({
  auth: {
    identity: { methods: ['password'], password: { user } },
    ...(scope === undefined ? {} : { scope }),
  },
});
const admin = (extra: Record<string, unknown> = {}) => ({
  name: 'admin',
  domain: { name: 'Default' },
  password: ADMIN_PASSWORD,
  ...extra,
});

describe('hostile Keystone auth bodies', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => t?.stop());

  const issue = (body: unknown) => apiCall(t.url, null, 'POST', '/identity/v3/auth/tokens', body);

  for (const value of WRONG_TYPES) {
    const shown = JSON.stringify(value);
    it(`refuses a password that is ${shown} with 400`, async () => {
      assert.equal((await issue(passwordAuth(admin({ password: value })))).status, 400);
    });
    it(`refuses a user.name that is ${shown} with 400`, async () => {
      assert.equal((await issue(passwordAuth(admin({ name: value })))).status, 400);
    });
    it(`refuses a user.id that is ${shown} with 400`, async () => {
      const { name: _name, domain: _domain, ...byId } = admin({ id: value });
      assert.equal((await issue(passwordAuth(byId))).status, 400);
    });
    it(`refuses a scope.project.id that is ${shown} with 400`, async () => {
      assert.equal((await issue(passwordAuth(admin(), { project: { id: value } }))).status, 400);
    });
    it(`refuses a token.id that is ${shown} with 400`, async () => {
      const body = { auth: { identity: { methods: ['token'], token: { id: value } } } };
      assert.equal((await issue(body)).status, 400);
    });
  }

  it('refuses a scope whose project is a string instead of a default-project token', async () => {
    const r = await issue(passwordAuth(admin(), { project: 'pa' }));
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('x-subject-token'), null);
  });

  it('refuses methods that are not all strings with 400', async () => {
    const r = await issue({ auth: { identity: { methods: [{}], password: { user: admin() } } } });
    assert.equal(r.status, 400);
  });

  it('still issues a token for a well-formed request', async () => {
    const r = await issue(passwordAuth(admin(), { project: { name: 'admin', domain: { name: 'Default' } } }));
    assert.equal(r.status, 201);
  });
});

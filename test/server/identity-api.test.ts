// The Keystone v3 subset: password and token authentication, the catalog, validation, expiry,
// revocation, and the admin-only management API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClock } from '../support/clock.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';

describe('identity API', () => {
  let t: TestServer;
  let admin: string;
  // Tokens are issued and expire on this clock: the expiry test moves it instead of sleeping.
  const clock = new TestClock(new Date());

  const call = async (
    token: string | null,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const h: Record<string, string> = { ...headers };
    if (token) h['x-auth-token'] = token;
    if (body !== undefined) h['content-type'] = 'application/json';
    const response = await fetch(`${t.url}/identity${url}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : {} };
  };
  const passwordAuth = (name: string, password: string, project?: string) => ({
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name, domain: { name: 'Default' }, password } },
      },
      ...(project ? { scope: { project: { name: project, domain: { id: 'default' } } } } : {}),
    },
  });

  before(async () => {
    t = await startTestServer({ tokens: { ttlSeconds: 2 } }, { clock });
    admin = await t.token();
  });
  after(async () => t?.stop());

  it('answers version discovery at /identity and /identity/v3', async () => {
    assert.equal((await call(null, 'GET', '')).status, 300);
    const v3 = await call(null, 'GET', '/v3');
    assert.equal(v3.status, 200);
    assert.equal(v3.json.version.id, 'v3.14');
  });

  it('issues a project-scoped token with roles and a catalog listing the image endpoint', async () => {
    const r = await call(null, 'POST', '/v3/auth/tokens', passwordAuth('admin', ADMIN_PASSWORD, 'admin'));
    assert.equal(r.status, 201);
    assert.ok(r.headers.get('x-subject-token'));
    const token = r.json.token;
    assert.equal(token.project.name, 'admin');
    assert.deepEqual(token.roles.map((role: { name: string }) => role.name).sort(), [
      'admin',
      'member',
      'reader',
    ]);
    const image = token.catalog.find((s: { type: string }) => s.type === 'image');
    assert.equal(
      image.endpoints.find((e: { interface: string }) => e.interface === 'public').url,
      `${t.url}/image`,
    );
    assert.match(token.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('refuses a wrong password and an unknown user alike with 401', async () => {
    const wrong = await call(null, 'POST', '/v3/auth/tokens', passwordAuth('admin', 'nope', 'admin'));
    const unknown = await call(null, 'POST', '/v3/auth/tokens', passwordAuth('ghost', 'nope', 'admin'));
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(wrong.json, unknown.json);
    assert.equal(wrong.json.error.code, 401);
  });

  it('refuses a scope on a project where the user has no role', async () => {
    await t.addUser('carol', 'member');
    const r = await call(null, 'POST', '/v3/auth/tokens', passwordAuth('carol', 'carol-password', 'admin'));
    assert.equal(r.status, 401);
  });

  it('validates a token and revokes it on logout', async () => {
    const token = await t.token();
    const check = await call(admin, 'GET', '/v3/auth/tokens', undefined, { 'x-subject-token': token });
    assert.equal(check.status, 200);
    assert.equal(check.json.token.user.name, 'admin');
    assert.equal(
      (await call(token, 'DELETE', '/v3/auth/tokens', undefined, { 'x-subject-token': token })).status,
      204,
    );
    assert.equal(
      (await call(admin, 'GET', '/v3/auth/tokens', undefined, { 'x-subject-token': token })).status,
      404,
    );
    const images = await fetch(`${t.url}/image/v2/images`, { headers: { 'x-auth-token': token } });
    assert.equal(images.status, 401);
  });

  it('rescopes with the token method', async () => {
    const r = await call(null, 'POST', '/v3/auth/tokens', {
      auth: {
        identity: { methods: ['token'], token: { id: admin } },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json.token.methods, ['password', 'token']);
  });

  it('expires tokens after their lifetime', async () => {
    const token = await t.token();
    assert.equal(
      (await fetch(`${t.url}/image/v2/images`, { headers: { 'x-auth-token': token } })).status,
      200,
    );
    clock.advance(2100);
    assert.equal(
      (await fetch(`${t.url}/image/v2/images`, { headers: { 'x-auth-token': token } })).status,
      401,
    );
    admin = await t.token();
  });

  it('lets an admin create projects, users and role assignments; a member may not', async () => {
    const project = await call(admin, 'POST', '/v3/projects', { project: { name: 'p1', enabled: true } });
    assert.equal(project.status, 201);
    const user = await call(admin, 'POST', '/v3/users', {
      user: { name: 'u1', password: 'u1-pw', default_project_id: project.json.project.id, enabled: true },
    });
    assert.equal(user.status, 201);
    assert.ok(!('password' in user.json.user));
    const roles = await call(admin, 'GET', '/v3/roles?name=member');
    const roleId = roles.json.roles[0].id;
    const grant = await call(
      admin,
      'PUT',
      `/v3/projects/${project.json.project.id}/users/${user.json.user.id}/roles/${roleId}`,
    );
    assert.equal(grant.status, 204);
    const member = await t.token('u1', 'u1-pw', 'p1');
    assert.equal((await call(member, 'POST', '/v3/projects', { project: { name: 'p2' } })).status, 403);
    assert.equal((await call(member, 'GET', '/v3/users')).status, 403);
    const dup = await call(admin, 'POST', '/v3/projects', { project: { name: 'p1' } });
    assert.equal(dup.status, 409);
    const missing = await call(admin, 'GET', '/v3/users/nobody');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.title, 'Not Found');
  });

  it('stores passwords as scrypt hashes, never in clear', async () => {
    const user = await t.server.services.identity.repository.findUserByName('default', 'admin');
    assert.match(user!.password_hash!, /^scrypt\$/);
    assert.ok(!user!.password_hash!.includes(ADMIN_PASSWORD));
  });
});

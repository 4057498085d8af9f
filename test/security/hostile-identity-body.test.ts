// Keystone user, project, group and role bodies (and token scopes) whose fields have the wrong JSON type: Keystone checks them
// against its schemas and answers 400; nothing of the wrong type is hashed as a password or stored.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const WRONG_TYPES: unknown[] = [1, {}, [], true];

describe('hostile Keystone resource bodies', () => {
  let t: TestServer;
  let admin: string;
  let victim: { userId: string; projectId: string };
  before(async () => {
    t = await startTestServer();
    admin = await t.token();
    victim = await t.addUser('victim', 'member');
  });
  after(async () => t?.stop());

  const call = (method: string, url: string, body: unknown) => apiCall(t.url, admin, method, url, body);
  let n = 0;

  for (const value of WRONG_TYPES) {
    const shown = JSON.stringify(value);
    for (const key of ['password', 'email', 'description', 'default_project_id', 'enabled', 'name']) {
      if (!(key === 'enabled' && typeof value === 'boolean')) {
        it(`refuses a user ${key} that is ${shown} with 400, on create and update`, async () => {
          const created = await call('POST', '/identity/v3/users', {
            user: { name: `u${n++}`, [key]: value },
          });
          assert.equal(created.status, 400);
          const updated = await call('PATCH', `/identity/v3/users/${victim.userId}`, {
            user: { [key]: value },
          });
          assert.equal(updated.status, 400);
        });
      }
    }
    for (const key of ['description', 'enabled', 'name']) {
      if (!(key === 'enabled' && typeof value === 'boolean')) {
        it(`refuses a project ${key} that is ${shown} with 400, on create and update`, async () => {
          const created = await call('POST', '/identity/v3/projects', {
            project: { name: `p${n++}`, [key]: value },
          });
          assert.equal(created.status, 400);
          const updated = await call('PATCH', `/identity/v3/projects/${victim.projectId}`, {
            project: { [key]: value },
          });
          assert.equal(updated.status, 400);
        });
      }
    }
  }

  for (const value of WRONG_TYPES) {
    const shown = JSON.stringify(value);
    for (const key of ['name', 'description', 'domain_id']) {
      it(`refuses a group ${key} that is ${shown} with 400, on create and update`, async () => {
        const created = await call('POST', '/identity/v3/groups', {
          group: { name: `g${n++}`, [key]: value },
        });
        assert.equal(created.status, 400);
        const group = await call('POST', '/identity/v3/groups', { group: { name: `g${n++}` } });
        const id = (group.json.group as { id: string }).id;
        const updated = await call('PATCH', `/identity/v3/groups/${id}`, { group: { [key]: value } });
        assert.equal(updated.status, 400);
      });
    }
    it(`refuses a domain scope that is ${shown} with 400`, async () => {
      const r = await apiCall(t.url, null, 'POST', '/identity/v3/auth/tokens', {
        auth: {
          identity: { methods: ['password'], password: { user: { id: victim.userId, password: 'x' } } },
          scope: { domain: value },
        },
      });
      assert.equal(r.status, 400);
    });
  }

  it('refuses a project renamed to 300 characters with 400', async () => {
    const r = await call('PATCH', `/identity/v3/projects/${victim.projectId}`, {
      project: { name: 'x'.repeat(300) },
    });
    assert.equal(r.status, 400);
  });

  it('keeps the victim as it was', async () => {
    const project = await call('GET', `/identity/v3/projects/${victim.projectId}`, undefined);
    assert.equal((project.json.project as { name: string }).name, 'victim-project');
    assert.equal((project.json.project as { enabled: boolean }).enabled, true);
    assert.equal((await t.token('victim', 'victim-password')).length > 0, true);
  });

  it('still creates and updates with well-typed bodies', async () => {
    const user = await call('POST', '/identity/v3/users', {
      user: { name: 'typed', password: 'p', email: 'a@b', description: null, enabled: true },
    });
    assert.equal(user.status, 201);
    const project = await call('PATCH', `/identity/v3/projects/${victim.projectId}`, {
      project: { description: 'd', enabled: true },
    });
    assert.equal(project.status, 200);
  });
});

// What Tempest's identity tests check of Keystone beyond the basics: audit ids kept with tokens,
// rescoping, list_projects for administrators only, the self-service password change, list filters,
// name limits, project tags, domains, system role assignments and system-scoped tokens.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClock } from '../support/clock.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';

describe('Keystone exactness', () => {
  let t: TestServer;
  let admin: string;
  const clock = new TestClock(new Date('2026-06-01T12:00:00Z'));

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
    return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : {} };
  };
  const passwordAuth = (
    user: Record<string, unknown>,
    password: string,
    scope?: Record<string, unknown>,
  ) => ({
    auth: {
      identity: { methods: ['password'], password: { user: { ...user, password } } },
      ...(scope ? { scope } : {}),
    },
  });
  const login = async (user: Record<string, unknown>, password: string, scope?: Record<string, unknown>) =>
    call(null, 'POST', '/v3/auth/tokens', passwordAuth(user, password, scope));
  const inDefault = (name: string) => ({ name, domain: { id: 'default' } });
  const roleId = async (name: string) =>
    (await call(admin, 'GET', `/v3/roles?name=${name}`)).json.roles[0].id;
  const validate = (subject: string) =>
    call(admin, 'GET', '/v3/auth/tokens', undefined, { 'x-subject-token': subject });

  before(async () => {
    t = await startTestServer({ tokens: { ttlSeconds: 3600 } }, { clock });
    admin = await t.token();
  });
  after(async () => t?.stop());

  describe('tokens', () => {
    it('answers validation with the audit ids given at issue', async () => {
      const issued = await login(inDefault('admin'), ADMIN_PASSWORD, { project: inDefault('admin') });
      assert.equal(issued.status, 201);
      const auditIds = issued.json.token.audit_ids;
      assert.equal(auditIds.length, 1);
      assert.match(auditIds[0], /^[A-Za-z0-9_-]{22}$/);
      const validated = await validate(issued.headers.get('x-subject-token')!);
      assert.equal(validated.status, 200);
      assert.deepEqual(validated.json.token.audit_ids, auditIds);
      // Another token has another audit id.
      const other = await login(inDefault('admin'), ADMIN_PASSWORD, { project: inDefault('admin') });
      assert.notDeepEqual(other.json.token.audit_ids, auditIds);
    });

    it("rescopes keeping the first token's expiry and audit id, along a chain", async () => {
      const unscoped = await login(inDefault('admin'), ADMIN_PASSWORD, { unscoped: {} });
      assert.equal(unscoped.status, 201);
      assert.equal(unscoped.json.token.project, undefined);
      const first = unscoped.json.token;
      clock.advance(60_000);
      const rescope = (token: string) =>
        call(null, 'POST', '/v3/auth/tokens', {
          auth: {
            identity: { methods: ['token'], token: { id: token } },
            scope: { project: inDefault('admin') },
          },
        });
      const scoped = await rescope(unscoped.headers.get('x-subject-token')!);
      assert.equal(scoped.status, 201);
      assert.equal(scoped.json.token.expires_at, first.expires_at);
      assert.notEqual(scoped.json.token.issued_at, first.issued_at);
      assert.equal(scoped.json.token.audit_ids.length, 2);
      assert.deepEqual(scoped.json.token.methods, ['password', 'token']);
      assert.deepEqual(scoped.json.token.user, first.user);
      assert.equal(scoped.json.token.audit_ids[1], first.audit_ids[0]);
      assert.notEqual(scoped.json.token.audit_ids[0], first.audit_ids[0]);
      const again = await rescope(scoped.headers.get('x-subject-token')!);
      assert.equal(again.json.token.expires_at, first.expires_at);
      assert.equal(again.json.token.audit_ids[1], first.audit_ids[0]);
      const validated = await validate(again.headers.get('x-subject-token')!);
      assert.deepEqual(validated.json.token.audit_ids, again.json.token.audit_ids);
      assert.equal(validated.json.token.expires_at, first.expires_at);
    });
  });

  describe('projects and users', () => {
    it('refuses GET /v3/projects to a non-admin, who lists its own at /v3/users/{id}/projects', async () => {
      const alice = await t.addUser('alice', 'member');
      const token = await t.token('alice', alice.password);
      const all = await call(token, 'GET', '/v3/projects');
      assert.equal(all.status, 403);
      assert.equal(all.json.error.code, 403);
      assert.equal(all.json.error.title, 'Forbidden');
      const own = await call(token, 'GET', `/v3/users/${alice.userId}/projects`);
      assert.equal(own.status, 200);
      assert.deepEqual(
        own.json.projects.map((p: { name: string }) => p.name),
        ['alice-project'],
      );
      assert.equal((await call(admin, 'GET', '/v3/projects')).status, 200);
    });

    it('changes a password with the original (401 when wrong), revoking the old tokens', async () => {
      const bob = await t.addUser('bob', 'member');
      const old = await t.token('bob', bob.password);
      const change = (original: string) =>
        call(null, 'POST', `/v3/users/${bob.userId}/password`, {
          user: { password: 'bob-new-password', original_password: original },
        });
      const wrong = await change('not-it');
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json.error.code, 401);
      assert.equal((await validate(old)).status, 200);
      const done = await change(bob.password);
      assert.equal(done.status, 204);
      assert.equal(done.text, '');
      assert.equal((await validate(old)).status, 404);
      // Trading the revoked token for another is Keystone's TokenNotFound (Tempest expects 404).
      const traded = await call(null, 'POST', '/v3/auth/tokens', {
        auth: { identity: { methods: ['token'], token: { id: old } } },
      });
      assert.equal(traded.status, 404);
      assert.equal((await login(inDefault('bob'), bob.password)).status, 401);
      assert.equal((await login(inDefault('bob'), 'bob-new-password')).status, 201);
      const missing = await call(null, 'POST', `/v3/users/${bob.userId}/password`, {
        user: { password: 'x' },
      });
      assert.equal(missing.status, 400);
    });

    it('filters users and projects by enabled (Keystone booleans), name and domain_id', async () => {
      const off = await call(admin, 'POST', '/v3/projects', {
        project: { name: 'filter-off', enabled: false },
      });
      assert.equal(off.status, 201);
      await call(admin, 'POST', '/v3/projects', { project: { name: 'filter-on' } });
      const names = async (query: string) =>
        (await call(admin, 'GET', `/v3/projects?${query}`)).json.projects.map(
          (p: { name: string }) => p.name,
        );
      for (const no of ['false', 'False', '0', 'no', 'off', 'n']) {
        assert.deepEqual(await names(`enabled=${no}`), ['filter-off'], no);
      }
      for (const yes of ['true', '1', 'yes', 'on', '']) {
        const listed = await names(`enabled=${yes}`);
        assert.ok(listed.includes('filter-on') && !listed.includes('filter-off'), yes);
      }
      assert.deepEqual(await names('name=filter-on'), ['filter-on']);
      assert.deepEqual(await names('domain_id=nowhere'), []);
      assert.ok((await names('domain_id=default')).includes('filter-on'));
      assert.equal((await call(admin, 'GET', '/v3/projects?enabled=maybe')).status, 400);

      const user = await call(admin, 'POST', '/v3/users', { user: { name: 'sleeper', enabled: false } });
      assert.equal(user.status, 201);
      const users = async (query: string) =>
        (await call(admin, 'GET', `/v3/users?${query}`)).json.users.map((u: { name: string }) => u.name);
      assert.deepEqual(await users('enabled=0'), ['sleeper']);
      assert.ok(!(await users('enabled=true')).includes('sleeper'));
      assert.deepEqual(await users('name=sleeper&domain_id=default'), ['sleeper']);
    });

    it("limits names as Keystone's schemas do: projects and domains 64 characters, users 255", async () => {
      const cases: [string, string, number][] = [
        ['/v3/projects', 'project', 64],
        ['/v3/domains', 'domain', 64],
        ['/v3/users', 'user', 255],
      ];
      for (const [url, key, limit] of cases) {
        const long = await call(admin, 'POST', url, { [key]: { name: 'x'.repeat(limit + 1) } });
        assert.equal(long.status, 400, key);
        assert.equal(long.json.error.code, 400);
        assert.equal(long.json.error.title, 'Bad Request');
        assert.match(long.json.error.message, /^Invalid input for field 'name': 'x+' is too long$/);
        const fits = await call(admin, 'POST', url, { [key]: { name: `${key[0]}`.repeat(limit) } });
        assert.equal(fits.status, 201, key);
        assert.equal((await call(admin, 'POST', url, { [key]: { name: '   ' } })).status, 400);
      }
      const project = (await call(admin, 'GET', '/v3/projects?name=filter-on')).json.projects[0];
      const rename = await call(admin, 'PATCH', `/v3/projects/${project.id}`, {
        project: { name: 'y'.repeat(65) },
      });
      assert.equal(rename.status, 400);
    });

    it('builds a hierarchy with parent_id as Keystone: the domain is the parent of a top-level project', async () => {
      const root = (await call(admin, 'POST', '/v3/projects', { project: { name: 'root' } })).json.project;
      assert.equal(root.parent_id, 'default');
      const child = await call(admin, 'POST', '/v3/projects', {
        project: { name: 'child', parent_id: root.id },
      });
      assert.equal(child.status, 201);
      assert.equal(child.json.project.parent_id, root.id);
      assert.equal(child.json.project.domain_id, 'default');
      assert.equal(
        (await call(admin, 'GET', `/v3/projects/${child.json.project.id}`)).json.project.parent_id,
        root.id,
      );
      const children = await call(admin, 'GET', `/v3/projects?parent_id=${root.id}`);
      assert.deepEqual(
        children.json.projects.map((p: { name: string }) => p.name),
        ['child'],
      );
      const explicit = await call(admin, 'POST', '/v3/projects', {
        project: { name: 'top', parent_id: 'default', domain_id: 'default' },
      });
      assert.equal(explicit.json.project.parent_id, 'default');
      assert.equal(
        (await call(admin, 'POST', '/v3/projects', { project: { name: 'orphan', parent_id: 'nosuch' } }))
          .status,
        404,
      );
      // Where a project sits cannot change; saying the same is fine.
      for (const moved of [{ domain_id: 'other' }, { parent_id: 'default' }, { is_domain: true }]) {
        const r = await call(admin, 'PATCH', `/v3/projects/${child.json.project.id}`, { project: moved });
        assert.equal(r.status, 400, JSON.stringify(moved));
        assert.match(r.json.error.message, /^Update of `(domain_id|parent_id|is_domain)` is not allowed\.$/);
      }
      const same = await call(admin, 'PATCH', `/v3/projects/${child.json.project.id}`, {
        project: { domain_id: 'default', parent_id: root.id, is_domain: false, description: 'same place' },
      });
      assert.equal(same.status, 200);
      // Only a leaf is deleted.
      const notLeaf = await call(admin, 'DELETE', `/v3/projects/${root.id}`);
      assert.equal(notLeaf.status, 403);
      assert.equal((await call(admin, 'DELETE', `/v3/projects/${child.json.project.id}`)).status, 204);
      assert.equal((await call(admin, 'DELETE', `/v3/projects/${root.id}`)).status, 204);
      // No child under a disabled parent.
      const off = (
        await call(admin, 'POST', '/v3/projects', { project: { name: 'off-root', enabled: false } })
      ).json.project;
      assert.equal(
        (await call(admin, 'POST', '/v3/projects', { project: { name: 'under-off', parent_id: off.id } }))
          .status,
        400,
      );
    });

    it('creates, lists, updates and deletes a domain through the project API (is_domain)', async () => {
      const created = await call(admin, 'POST', '/v3/projects', {
        project: { name: 'project-domain', is_domain: true, domain_id: null },
      });
      assert.equal(created.status, 201);
      const project = created.json.project;
      assert.equal(project.is_domain, true);
      assert.equal(project.domain_id, null);
      assert.equal(project.parent_id, null);
      const asDomains = await call(admin, 'GET', '/v3/projects?is_domain=true');
      assert.ok(asDomains.json.projects.some((p: { id: string }) => p.id === project.id));
      assert.ok(asDomains.json.projects.every((p: { is_domain: boolean }) => p.is_domain));
      assert.ok(
        !(await call(admin, 'GET', '/v3/projects')).json.projects.some(
          (p: { id: string }) => p.id === project.id,
        ),
      );
      assert.equal(
        (await call(admin, 'GET', `/v3/domains/${project.id}`)).json.domain.name,
        'project-domain',
      );
      assert.equal((await call(admin, 'GET', `/v3/projects/${project.id}`)).json.project.is_domain, true);
      assert.equal((await call(admin, 'DELETE', `/v3/projects/${project.id}`)).status, 403);
      const disabled = await call(admin, 'PATCH', `/v3/projects/${project.id}`, {
        project: { enabled: false },
      });
      assert.equal(disabled.json.project.enabled, false);
      assert.equal((await call(admin, 'GET', `/v3/domains/${project.id}`)).json.domain.enabled, false);
      assert.equal((await call(admin, 'DELETE', `/v3/projects/${project.id}`)).status, 204);
      assert.equal((await call(admin, 'GET', `/v3/domains/${project.id}`)).status, 404);
    });

    it("keeps and echoes a user's other attributes (Keystone's extra), merged on update", async () => {
      const created = await call(admin, 'POST', '/v3/users', {
        user: { name: 'extra-user', email: 'e@example.test', team: 'blue' },
      });
      assert.equal(created.status, 201);
      assert.equal(created.json.user.team, 'blue');
      const updated = await call(admin, 'PATCH', `/v3/users/${created.json.user.id}`, {
        user: { project_id: 'p-1', name: 'extra-user-2', description: 'd' },
      });
      assert.equal(updated.json.user.project_id, 'p-1');
      assert.equal(updated.json.user.team, 'blue');
      assert.equal(updated.json.user.email, 'e@example.test');
      const shown = (await call(admin, 'GET', `/v3/users/${created.json.user.id}`)).json.user;
      assert.deepEqual(
        [shown.project_id, shown.team, shown.name, shown.description],
        ['p-1', 'blue', 'extra-user-2', 'd'],
      );
      // An attribute cannot pose as one of Keystone's own.
      const posing = await call(admin, 'POST', '/v3/users', {
        user: { name: 'posing', links: 'x', id: 'mine' },
      });
      assert.notEqual(posing.json.user.id, 'mine');
      assert.equal(typeof posing.json.user.links, 'object');
      const huge = await call(admin, 'POST', '/v3/users', {
        user: { name: 'huge', blob: 'x'.repeat(20_000) },
      });
      assert.equal(huge.status, 400);
    });

    it('scopes a token asked without a scope to the default project, or leaves it unscoped as Keystone', async () => {
      const home = (await call(admin, 'POST', '/v3/projects', { project: { name: 'ds-home' } })).json.project;
      const other = (await call(admin, 'POST', '/v3/projects', { project: { name: 'ds-other' } })).json
        .project;
      const user = (
        await call(admin, 'POST', '/v3/users', {
          user: { name: 'ds-user', password: 'ds-pw', default_project_id: home.id },
        })
      ).json.user;
      // No role on the default project yet: an unscoped token, not a 401.
      const roleless = await login(inDefault('ds-user'), 'ds-pw');
      assert.equal(roleless.status, 201);
      assert.equal(roleless.json.token.project, undefined);
      const member = await roleId('member');
      for (const p of [home, other]) {
        assert.equal(
          (await call(admin, 'PUT', `/v3/projects/${p.id}/users/${user.id}/roles/${member}`)).status,
          204,
        );
      }
      assert.equal((await login(inDefault('ds-user'), 'ds-pw')).json.token.project.id, home.id);
      // The token method without a scope also goes to the default project, not the first token's.
      const onOther = await login(inDefault('ds-user'), 'ds-pw', { project: { id: other.id } });
      const traded = await call(null, 'POST', '/v3/auth/tokens', {
        auth: { identity: { methods: ['token'], token: { id: onOther.headers.get('x-subject-token') } } },
      });
      assert.equal(traded.status, 201);
      assert.equal(traded.json.token.project.id, home.id);
      // A disabled default project: unscoped again.
      await call(admin, 'PATCH', `/v3/projects/${home.id}`, { project: { enabled: false } });
      const disabled = await login(inDefault('ds-user'), 'ds-pw');
      assert.equal(disabled.status, 201);
      assert.equal(disabled.json.token.project, undefined);
    });

    it('keeps and echoes default_project_id', async () => {
      const project = (await call(admin, 'POST', '/v3/projects', { project: { name: 'home' } })).json.project;
      const created = await call(admin, 'POST', '/v3/users', {
        user: { name: 'homebody', password: 'homebody-pw', default_project_id: project.id },
      });
      assert.equal(created.json.user.default_project_id, project.id);
      const shown = await call(admin, 'GET', `/v3/users/${created.json.user.id}`);
      assert.equal(shown.json.user.default_project_id, project.id);
      const listed = await call(admin, 'GET', '/v3/users?name=homebody');
      assert.equal(listed.json.users[0].default_project_id, project.id);
      // As Keystone: a project that does not exist is accepted (the token is then unscoped), a domain not.
      const ghost = await call(admin, 'POST', '/v3/users', {
        user: { name: 'ghost-home', password: 'gh-pw', default_project_id: 'nosuchproject' },
      });
      assert.equal(ghost.status, 201);
      assert.equal(ghost.json.user.default_project_id, 'nosuchproject');
      const unscoped = await login(inDefault('ghost-home'), 'gh-pw');
      assert.equal(unscoped.status, 201);
      assert.equal(unscoped.json.token.project, undefined);
      const domainHome = await call(admin, 'POST', '/v3/users', {
        user: { name: 'domain-home', default_project_id: 'default' },
      });
      assert.equal(domainHome.status, 400);
      assert.equal(domainHome.json.error.message, "User's default project ID cannot be a domain ID.");
      const patched = await call(admin, 'PATCH', `/v3/users/${created.json.user.id}`, {
        user: { default_project_id: 'default' },
      });
      assert.equal(patched.status, 400);
    });

    it('answers 404 for an unknown domain_id on creating a user or project', async () => {
      for (const [url, key] of [
        ['/v3/projects', 'project'],
        ['/v3/users', 'user'],
      ]) {
        const r = await call(admin, 'POST', url, { [key]: { name: 'lost', domain_id: 'nosuchdomain' } });
        assert.equal(r.status, 404, key);
        assert.equal(r.json.error.message, 'Could not find domain: nosuchdomain.');
      }
    });
  });

  describe('project tags', () => {
    let projectId: string;
    before(async () => {
      const r = await call(admin, 'POST', '/v3/projects', {
        project: { name: 'tagged', tags: ['one', 'two'] },
      });
      assert.equal(r.status, 201);
      assert.deepEqual(r.json.project.tags, ['one', 'two']);
      projectId = r.json.project.id;
    });

    it('lists, replaces, checks, adds and deletes tags', async () => {
      const base = `/v3/projects/${projectId}/tags`;
      assert.deepEqual((await call(admin, 'GET', base)).json.tags, ['one', 'two']);
      const replaced = await call(admin, 'PUT', base, { tags: ['alpha', 'beta', 'gamma'] });
      assert.equal(replaced.status, 200);
      assert.deepEqual(replaced.json.tags, ['alpha', 'beta', 'gamma']);
      assert.deepEqual((await call(admin, 'GET', `/v3/projects/${projectId}`)).json.project.tags, [
        'alpha',
        'beta',
        'gamma',
      ]);
      assert.equal((await call(admin, 'GET', `${base}/beta`)).status, 204);
      assert.equal((await call(admin, 'HEAD', `${base}/beta`)).status, 204);
      assert.equal((await call(admin, 'GET', `${base}/delta`)).status, 404);
      const added = await call(admin, 'PUT', `${base}/delta`);
      assert.equal(added.status, 201);
      assert.equal((await call(admin, 'GET', `${base}/delta`)).status, 204);
      assert.equal((await call(admin, 'DELETE', `${base}/alpha`)).status, 204);
      assert.equal((await call(admin, 'DELETE', `${base}/alpha`)).status, 404);
      assert.deepEqual((await call(admin, 'GET', base)).json.tags, ['beta', 'gamma', 'delta']);
      const patched = await call(admin, 'PATCH', `/v3/projects/${projectId}`, {
        project: { tags: ['patched'] },
      });
      assert.deepEqual(patched.json.project.tags, ['patched']);
      assert.equal((await call(admin, 'DELETE', base)).status, 204);
      assert.deepEqual((await call(admin, 'GET', base)).json.tags, []);
      assert.equal((await call(admin, 'GET', '/v3/projects/nosuch/tags')).status, 404);
    });

    it("validates tags as Keystone: at most 80, 1 to 255 characters, no '/' nor ','", async () => {
      const base = `/v3/projects/${projectId}/tags`;
      const tooMany = Array.from({ length: 81 }, (_, i) => `t${i}`);
      assert.equal((await call(admin, 'PUT', base, { tags: tooMany })).status, 400);
      assert.equal((await call(admin, 'PUT', base, { tags: tooMany.slice(0, 80) })).status, 200);
      assert.equal((await call(admin, 'PUT', `${base}/one-more`)).status, 400);
      for (const bad of ['a/b', 'a,b', 'x'.repeat(256), '']) {
        assert.equal((await call(admin, 'PUT', base, { tags: [bad] })).status, 400, bad);
      }
      assert.equal((await call(admin, 'PUT', base, { tags: ['same', 'same'] })).status, 400);
      assert.equal((await call(admin, 'PUT', base, { tags: 'one' })).status, 400);
      assert.equal((await call(admin, 'PUT', `${base}/a%2Cb`)).status, 400);
      assert.equal(
        (await call(admin, 'POST', '/v3/projects', { project: { name: 'bad-tags', tags: ['a/b'] } })).status,
        400,
      );
      assert.equal((await call(admin, 'PUT', base, { tags: [] })).status, 200);
    });

    it('filters projects by tags, tags-any, not-tags and not-tags-any', async () => {
      const make = async (name: string, tags: string[]) =>
        assert.equal((await call(admin, 'POST', '/v3/projects', { project: { name, tags } })).status, 201);
      await make('tf-ab', ['fa', 'fb']);
      await make('tf-a', ['fa']);
      await make('tf-c', ['fc']);
      const names = async (query: string) =>
        (await call(admin, 'GET', `/v3/projects?${query}`)).json.projects
          .map((p: { name: string }) => p.name)
          .filter((n: string) => n.startsWith('tf-'))
          .sort();
      assert.deepEqual(await names('tags=fa,fb'), ['tf-ab']);
      assert.deepEqual(await names('tags-any=fb,fc'), ['tf-ab', 'tf-c']);
      assert.deepEqual(await names('not-tags=fa,fb'), ['tf-a', 'tf-c']);
      assert.deepEqual(await names('not-tags-any=fa'), ['tf-c']);
    });

    it('lets a project member read its tags but not change them', async () => {
      const carol = await t.addUser('carol', 'member', 'carol-project');
      const token = await t.token('carol', carol.password);
      const base = `/v3/projects/${carol.projectId}/tags`;
      assert.equal((await call(token, 'GET', base)).status, 200);
      assert.equal((await call(token, 'PUT', base, { tags: ['mine'] })).status, 403);
      assert.equal((await call(token, 'GET', `/v3/projects/${projectId}/tags`)).status, 403);
    });
  });

  describe('roles', () => {
    it('renames a role (409 on a taken name), never a built-in one', async () => {
      const created = await call(admin, 'POST', '/v3/roles', { role: { name: 'renamable' } });
      assert.equal(created.status, 201);
      const id = created.json.role.id;
      const renamed = await call(admin, 'PATCH', `/v3/roles/${id}`, { role: { name: 'renamed' } });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.json.role.name, 'renamed');
      assert.equal((await call(admin, 'GET', `/v3/roles/${id}`)).json.role.name, 'renamed');
      assert.equal((await call(admin, 'PATCH', `/v3/roles/${id}`, { role: { name: 'member' } })).status, 409);
      assert.equal((await call(admin, 'PATCH', `/v3/roles/${id}`, { role: {} })).status, 400);
      assert.equal((await call(admin, 'PATCH', '/v3/roles/nosuch', { role: { name: 'x' } })).status, 404);
      const builtin = await call(admin, 'PATCH', `/v3/roles/${await roleId('reader')}`, {
        role: { name: 'viewer' },
      });
      assert.equal(builtin.status, 403);
      const frank = await t.addUser('frank', 'member');
      const member = await t.token('frank', frank.password);
      assert.equal((await call(member, 'PATCH', `/v3/roles/${id}`, { role: { name: 'mine' } })).status, 403);
    });
  });

  describe('version discovery', () => {
    it('answers HEAD on the version documents as GET does, without a body', async () => {
      for (const [url, status] of [
        ['', 300],
        ['/', 300],
        ['/v3', 200],
        ['/v3/', 200],
      ] as const) {
        const head = await call(null, 'HEAD', url);
        assert.equal(head.status, status, url);
        assert.equal(head.text, '');
        assert.equal((await call(null, 'GET', url)).status, status);
      }
    });
  });

  describe('domains', () => {
    it('shows the default domain, also to a project member; other domains only to administrators', async () => {
      const list = await call(admin, 'GET', '/v3/domains');
      assert.equal(list.status, 200);
      const def = list.json.domains.find((d: { id: string }) => d.id === 'default');
      assert.deepEqual(
        { id: def.id, name: def.name, enabled: def.enabled },
        { id: 'default', name: 'Default', enabled: true },
      );
      const dave = await t.addUser('dave', 'member');
      const token = await t.token('dave', dave.password);
      const shown = await call(token, 'GET', '/v3/domains/default');
      assert.equal(shown.status, 200);
      assert.equal(shown.json.domain.enabled, true);
      assert.equal((await call(token, 'GET', '/v3/domains')).status, 403);
      assert.equal((await call(token, 'POST', '/v3/domains', { domain: { name: 'nope' } })).status, 403);
      assert.equal((await call(admin, 'GET', '/v3/domains/nosuch')).status, 404);
    });

    it('creates a domain with its own projects and users, who log in by domain name', async () => {
      const created = await call(admin, 'POST', '/v3/domains', {
        domain: { name: 'lab', description: 'the lab' },
      });
      assert.equal(created.status, 201);
      const domain = created.json.domain;
      assert.equal(domain.enabled, true);
      assert.equal(domain.description, 'the lab');
      assert.equal((await call(admin, 'POST', '/v3/domains', { domain: { name: 'lab' } })).status, 409);
      assert.equal((await call(admin, 'GET', `/v3/domains/${domain.id}`)).json.domain.name, 'lab');
      assert.deepEqual(
        (await call(admin, 'GET', '/v3/domains?name=lab')).json.domains.map((d: { id: string }) => d.id),
        [domain.id],
      );

      const project = (
        await call(admin, 'POST', '/v3/projects', { project: { name: 'bench', domain_id: domain.id } })
      ).json.project;
      assert.equal(project.domain_id, domain.id);
      // The same name may be taken in another domain.
      assert.equal((await call(admin, 'POST', '/v3/projects', { project: { name: 'bench' } })).status, 201);
      const user = (
        await call(admin, 'POST', '/v3/users', {
          user: { name: 'tech', password: 'tech-pw', domain_id: domain.id, default_project_id: project.id },
        })
      ).json.user;
      assert.equal(user.domain_id, domain.id);
      const member = await roleId('member');
      assert.equal(
        (await call(admin, 'PUT', `/v3/projects/${project.id}/users/${user.id}/roles/${member}`)).status,
        204,
      );
      assert.deepEqual(
        (await call(admin, 'GET', `/v3/projects?domain_id=${domain.id}`)).json.projects.map(
          (p: { id: string }) => p.id,
        ),
        [project.id],
      );

      const byName = await login({ name: 'tech', domain: { name: 'lab' } }, 'tech-pw', {
        project: { name: 'bench', domain: { name: 'lab' } },
      });
      assert.equal(byName.status, 201);
      assert.deepEqual(byName.json.token.user.domain, { id: domain.id, name: 'lab' });
      assert.deepEqual(byName.json.token.project.domain, { id: domain.id, name: 'lab' });
      // Not the same user in the default domain.
      assert.equal((await login(inDefault('tech'), 'tech-pw')).status, 401);
      const token = byName.headers.get('x-subject-token')!;
      assert.equal((await call(token, 'GET', `/v3/domains/${domain.id}`)).status, 200);

      // Disabling the domain ends its users' tokens; an enabled domain cannot be deleted.
      const enabledDelete = await call(admin, 'DELETE', `/v3/domains/${domain.id}`);
      assert.equal(enabledDelete.status, 403);
      assert.equal(
        enabledDelete.json.error.message,
        'Cannot delete a domain that is enabled, please disable it first.',
      );
      const disabled = await call(admin, 'PATCH', `/v3/domains/${domain.id}`, { domain: { enabled: false } });
      assert.equal(disabled.json.domain.enabled, false);
      assert.deepEqual(
        (await call(admin, 'GET', '/v3/domains?enabled=false')).json.domains.map((d: { id: string }) => d.id),
        [domain.id],
      );
      assert.equal((await validate(token)).status, 404);
      assert.equal((await login({ name: 'tech', domain: { name: 'lab' } }, 'tech-pw')).status, 401);
      assert.equal((await call(admin, 'DELETE', `/v3/domains/${domain.id}`)).status, 204);
      assert.equal((await call(admin, 'GET', `/v3/domains/${domain.id}`)).status, 404);
      assert.equal((await call(admin, 'GET', `/v3/projects/${project.id}`)).status, 404);
      assert.equal((await call(admin, 'GET', `/v3/users/${user.id}`)).status, 404);
    });

    it('never deletes the default domain', async () => {
      assert.equal((await call(admin, 'DELETE', '/v3/domains/default')).status, 403);
    });
  });

  describe('system scope', () => {
    it('grants, checks, lists and revokes system roles, and issues system-scoped tokens', async () => {
      const sys = (
        await call(admin, 'POST', '/v3/users', { user: { name: 'sysreader', password: 'sys-pw' } })
      ).json.user;
      const reader = await roleId('reader');
      const path = `/v3/system/users/${sys.id}/roles/${reader}`;
      assert.equal((await call(admin, 'HEAD', path)).status, 404);
      const noScope = await login(inDefault('sysreader'), 'sys-pw', { system: { all: true } });
      assert.equal(noScope.status, 401);
      assert.equal((await call(admin, 'PUT', path)).status, 204);
      assert.equal((await call(admin, 'PUT', path)).status, 204);
      assert.equal((await call(admin, 'HEAD', path)).status, 204);
      assert.equal((await call(admin, 'GET', path)).status, 204);
      const roles = await call(admin, 'GET', `/v3/system/users/${sys.id}/roles`);
      assert.deepEqual(
        roles.json.roles.map((r: { name: string }) => r.name),
        ['reader'],
      );
      assert.equal((await call(admin, 'PUT', `/v3/system/users/nosuch/roles/${reader}`)).status, 404);
      assert.equal((await call(admin, 'PUT', `/v3/system/users/${sys.id}/roles/nosuch`)).status, 404);

      const userToken = (await login(inDefault('sysreader'), 'sys-pw')).headers.get('x-subject-token')!;
      const scopes = await call(userToken, 'GET', '/v3/auth/system');
      assert.deepEqual(scopes.json.system, [{ all: true }]);
      assert.deepEqual((await call(admin, 'GET', '/v3/auth/system')).json.system, []);
      assert.deepEqual((await call(admin, 'GET', '/v3/auth/domains')).json.domains, []);
      const issued = await login(inDefault('sysreader'), 'sys-pw', { system: { all: true } });
      assert.equal(issued.status, 201);
      assert.deepEqual(issued.json.token.system, { all: true });
      assert.equal(issued.json.token.project, undefined);
      assert.deepEqual(
        issued.json.token.roles.map((r: { name: string }) => r.name),
        ['reader'],
      );
      assert.ok(issued.json.token.catalog.length > 0);
      const token = issued.headers.get('x-subject-token')!;
      const validated = await validate(token);
      assert.deepEqual(validated.json.token.system, { all: true });
      // system_scope:all in the rules: a system reader lists projects and users, but changes nothing.
      assert.equal((await call(token, 'GET', '/v3/projects')).status, 200);
      assert.equal((await call(token, 'GET', '/v3/users')).status, 200);
      assert.equal((await call(token, 'GET', '/v3/domains')).status, 200);
      assert.equal(
        (await call(token, 'POST', '/v3/projects', { project: { name: 'sys-made' } })).status,
        403,
      );
      // The image API is project-scoped, as Glance's (scope_types: project): a system token reads its
      // schemas, is refused lists and creates (403), and finds no image (404), even a public one.
      const image = async (method: string, url: string, auth = token) =>
        (
          await fetch(`${t.url}/image${url}`, {
            method,
            headers: { 'x-auth-token': auth, 'content-type': 'application/json' },
            body: method === 'POST' ? '{}' : undefined,
          })
        ).status;
      const made = await fetch(`${t.url}/image/v2/images`, {
        method: 'POST',
        headers: { 'x-auth-token': admin, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'seen-by-projects', disk_format: 'raw', container_format: 'bare' }),
      });
      const imageId = ((await made.json()) as { id: string }).id;
      assert.equal(await image('GET', '/v2/schemas/image'), 200);
      assert.equal(await image('GET', '/v2/images'), 403);
      assert.equal(await image('POST', '/v2/images'), 403);
      assert.equal(await image('GET', `/v2/images/${imageId}`), 404);
      assert.equal(await image('GET', `/v2/images/${imageId}/file`), 404);
      assert.equal(await image('DELETE', `/v2/images/${imageId}`), 404);
      assert.equal(await image('GET', `/v2/images/${imageId}`, admin), 200);

      const assignments = await call(admin, 'GET', `/v3/role_assignments?scope.system=all&user.id=${sys.id}`);
      assert.equal(assignments.status, 200);
      assert.deepEqual(assignments.json.role_assignments, [
        {
          role: { id: reader },
          user: { id: sys.id },
          scope: { system: { all: true } },
          links: { assignment: `${t.url}/identity/v3/system/users/${sys.id}/roles/${reader}` },
        },
      ]);
      const both = await call(admin, 'GET', `/v3/role_assignments?user.id=${sys.id}`);
      assert.equal(both.json.role_assignments.length, 1);
      const onProjects = await call(admin, 'GET', '/v3/role_assignments?scope.system=all');
      assert.ok(onProjects.json.role_assignments.every((a: { scope: object }) => 'system' in a.scope));

      // effective: the roles the reader role implies (none) — and for the admin's admin role, member and reader.
      const adminUser = (await call(admin, 'GET', '/v3/users?name=admin')).json.users[0];
      const adminRole = await roleId('admin');
      const effective = await call(admin, 'GET', `/v3/role_assignments?user.id=${adminUser.id}&effective`);
      const byRole = new Map(
        effective.json.role_assignments.map((a: { role: { id: string }; links: Record<string, string> }) => [
          a.role.id,
          a.links,
        ]),
      );
      assert.deepEqual([...byRole.keys()].sort(), [adminRole, await roleId('member'), reader].sort());
      assert.equal(
        (byRole.get(reader) as Record<string, string>).prior_role,
        `${t.url}/identity/v3/roles/${adminRole}`,
      );
      assert.equal((byRole.get(adminRole) as Record<string, string>).prior_role, undefined);
      const onlyReader = await call(
        admin,
        'GET',
        `/v3/role_assignments?user.id=${adminUser.id}&effective&role.id=${reader}`,
      );
      assert.equal(onlyReader.json.role_assignments.length, 1);
      const direct = await call(admin, 'GET', `/v3/role_assignments?user.id=${adminUser.id}`);
      assert.deepEqual(
        direct.json.role_assignments.map((a: { role: { id: string } }) => a.role.id),
        [adminRole],
      );

      assert.equal((await call(admin, 'DELETE', path)).status, 204);
      assert.equal((await call(admin, 'DELETE', path)).status, 404);
      // Without its system role the token grants nothing.
      assert.equal((await validate(token)).status, 404);
    });

    it('makes a system admin a cloud administrator', async () => {
      const sys = (await call(admin, 'POST', '/v3/users', { user: { name: 'sysadmin', password: 'sa-pw' } }))
        .json.user;
      assert.equal(
        (await call(admin, 'PUT', `/v3/system/users/${sys.id}/roles/${await roleId('admin')}`)).status,
        204,
      );
      const issued = await login(inDefault('sysadmin'), 'sa-pw', { system: { all: true } });
      assert.deepEqual(issued.json.token.roles.map((r: { name: string }) => r.name).sort(), [
        'admin',
        'member',
        'reader',
      ]);
      const token = issued.headers.get('x-subject-token')!;
      assert.equal(
        (await call(token, 'POST', '/v3/projects', { project: { name: 'sys-admin-made' } })).status,
        201,
      );
      // A member may not grant system roles.
      const erin = await t.addUser('erin', 'member');
      const member = await t.token('erin', erin.password);
      assert.equal(
        (await call(member, 'PUT', `/v3/system/users/${erin.userId}/roles/${await roleId('admin')}`)).status,
        403,
      );
    });

    it('refuses a malformed system scope with 400', async () => {
      const r = await login(inDefault('admin'), ADMIN_PASSWORD, { system: { all: 'yes' } });
      assert.equal(r.status, 400);
    });
  });
});

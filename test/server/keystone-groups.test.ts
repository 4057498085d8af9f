// Keystone groups, role assignments of groups and on domains, role inference rules, domain-specific
// roles and domain-scoped tokens, through the HTTP API: what each answers, who may call it, and that
// roles through a group count in tokens (and stop counting when the membership goes). On SQLite and
// on PostgreSQL, whose foreign keys carry the cascades.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { adminQuery, postgresUrlFor } from '../storage/database-backends.ts';
import { TestClock } from '../support/clock.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`Keystone groups, domain assignments and implied roles on ${backend}`, () => {
    const schema = `it_keystone_${randomBytes(4).toString('hex')}`;
    let t: TestServer;
    let admin: string;
    const clock = new TestClock(new Date('2026-06-01T12:00:00Z'));
    let seq = 0;
    const unique = (prefix: string) => `${prefix}-${++seq}`;

    const call = async (token: string | null, method: string, url: string, body?: unknown) => {
      const headers: Record<string, string> = {};
      if (token) headers['x-auth-token'] = token;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${t.url}/identity${url}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : {} };
    };
    const created = async (url: string, body: unknown) => {
      const response = await call(admin, 'POST', url, body);
      assert.equal(response.status, 201, JSON.stringify(response.json));
      return response.json;
    };
    const put = async (url: string) => assert.equal((await call(admin, 'PUT', url)).status, 204, url);
    const login = (userId: string, scope?: unknown) =>
      call(null, 'POST', '/v3/auth/tokens', {
        auth: {
          identity: { methods: ['password'], password: { user: { id: userId, password: 'secret-pw' } } },
          ...(scope ? { scope } : {}),
        },
      });
    const newDomain = async (enabled = true) =>
      (await created('/v3/domains', { domain: { name: unique('domain'), enabled } })).domain;
    const newUser = async (domainId = 'default') =>
      (
        await created('/v3/users', {
          user: { name: unique('user'), password: 'secret-pw', domain_id: domainId },
        })
      ).user;
    const newGroup = async (domainId = 'default') =>
      (await created('/v3/groups', { group: { name: unique('group'), domain_id: domainId } })).group;
    const newProject = async (domainId = 'default') =>
      (await created('/v3/projects', { project: { name: unique('project'), domain_id: domainId } })).project;
    const newRole = async (domainId?: string) =>
      (
        await created('/v3/roles', {
          role: { name: unique('role'), ...(domainId ? { domain_id: domainId } : {}) },
        })
      ).role;
    const roleNamed = async (name: string) =>
      (await call(admin, 'GET', `/v3/roles?name=${name}`)).json.roles[0];

    before(async () => {
      if (backend === 'postgres') await adminQuery(`CREATE SCHEMA ${schema}`);
      const database = backend === 'postgres' ? { database: postgresUrlFor(schema) } : {};
      t = await startTestServer({ tokens: { ttlSeconds: 3600 }, ...database }, { clock });
      admin = await t.token();
    });
    after(async () => {
      await t?.stop();
      if (backend === 'postgres') await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    });

    describe('groups', () => {
      it('creates, shows, lists, updates and deletes a group, with Keystone’s view', async () => {
        const domain = await newDomain();
        const body = await created('/v3/groups', {
          group: { name: 'builders', description: 'who builds', domain_id: domain.id },
        });
        const group = body.group;
        assert.deepEqual(Object.keys(group).sort(), ['description', 'domain_id', 'id', 'links', 'name']);
        assert.equal(group.domain_id, domain.id);
        assert.deepEqual((await call(admin, 'GET', `/v3/groups/${group.id}`)).json.group, group);
        const listed = await call(admin, 'GET', `/v3/groups?domain_id=${domain.id}`);
        assert.deepEqual(listed.json.groups, [group]);
        assert.deepEqual((await call(admin, 'GET', '/v3/groups?name=builders')).json.groups, [group]);
        const patched = await call(admin, 'PATCH', `/v3/groups/${group.id}`, { group: { name: 'makers' } });
        assert.equal(patched.status, 200);
        assert.equal(patched.json.group.name, 'makers');
        assert.equal(patched.json.group.description, 'who builds');
        assert.equal((await call(admin, 'DELETE', `/v3/groups/${group.id}`)).status, 204);
        assert.equal((await call(admin, 'GET', `/v3/groups/${group.id}`)).status, 404);
        assert.equal((await call(admin, 'DELETE', `/v3/groups/${group.id}`)).status, 404);
      });

      it('answers 400 for wrong types and overlong names, 404 for an unknown domain, 409 for a taken name', async () => {
        const bad = async (body: unknown, status: number) =>
          assert.equal((await call(admin, 'POST', '/v3/groups', body)).status, status, JSON.stringify(body));
        await bad({ group: { name: 7 } }, 400);
        await bad({ group: { name: 'x'.repeat(256) } }, 400);
        await bad({ group: { name: '   ' } }, 400);
        await bad({ group: { description: 'no name' } }, 400);
        await bad({ group: { name: 'ok', domain_id: 5 } }, 400);
        await bad({ group: 'builders' }, 400);
        await bad({ group: { name: 'ok', domain_id: 'nosuchdomain' } }, 404);
        const group = await newGroup();
        await bad({ group: { name: group.name } }, 409);
        const patch = await call(admin, 'PATCH', `/v3/groups/${group.id}`, { group: { domain_id: 'other' } });
        assert.equal(patch.status, 400);
        assert.equal((await call(admin, 'PATCH', `/v3/groups/${group.id}`, { group: {} })).status, 400);
        assert.equal(
          (await call(admin, 'PATCH', '/v3/groups/nosuchgroup', { group: { name: 'n' } })).status,
          404,
        );
      });

      it('adds, checks, lists and removes members; 404 for unknown users, groups and non-members', async () => {
        const group = await newGroup();
        const user = await newUser();
        const member = `/v3/groups/${group.id}/users/${user.id}`;
        assert.equal((await call(admin, 'HEAD', member)).status, 404);
        await put(member);
        await put(member);
        assert.equal((await call(admin, 'HEAD', member)).status, 204);
        const users = (await call(admin, 'GET', `/v3/groups/${group.id}/users`)).json.users;
        assert.deepEqual(
          users.map((u: { id: string }) => u.id),
          [user.id],
        );
        const groups = (await call(admin, 'GET', `/v3/users/${user.id}/groups`)).json.groups;
        assert.deepEqual(
          groups.map((g: { id: string }) => g.id),
          [group.id],
        );
        assert.equal((await call(admin, 'PUT', `/v3/groups/${group.id}/users/nosuchuser`)).status, 404);
        assert.equal((await call(admin, 'PUT', `/v3/groups/nosuchgroup/users/${user.id}`)).status, 404);
        assert.equal((await call(admin, 'DELETE', member)).status, 204);
        assert.equal((await call(admin, 'DELETE', member)).status, 404);
        assert.equal((await call(admin, 'GET', '/v3/users/nosuchuser/groups')).status, 404);
      });

      it('keeps group administration to administrators; a user may list its own groups', async () => {
        const project = await newProject();
        const user = await newUser();
        await put(`/v3/projects/${project.id}/users/${user.id}/roles/${(await roleNamed('member')).id}`);
        const token = (await login(user.id, { project: { id: project.id } })).headers.get('x-subject-token');
        const group = await newGroup();
        assert.equal((await call(token, 'POST', '/v3/groups', { group: { name: unique('g') } })).status, 403);
        assert.equal((await call(token, 'GET', '/v3/groups')).status, 403);
        assert.equal((await call(token, 'PUT', `/v3/groups/${group.id}/users/${user.id}`)).status, 403);
        assert.equal((await call(token, 'DELETE', `/v3/groups/${group.id}`)).status, 403);
        assert.equal(
          (
            await call(
              token,
              'PUT',
              `/v3/projects/${project.id}/groups/${group.id}/roles/${(await newRole()).id}`,
            )
          ).status,
          403,
        );
        assert.equal((await call(token, 'GET', `/v3/users/${user.id}/groups`)).status, 200);
        assert.equal((await call(token, 'GET', `/v3/users/${(await newUser()).id}/groups`)).status, 403);
      });
    });

    describe('roles through groups', () => {
      it('counts a group’s roles in a member’s token, until the membership goes', async () => {
        const project = await newProject();
        const user = await newUser();
        const group = await newGroup();
        const member = await roleNamed('member');
        // No role of its own: the user cannot scope to the project yet.
        assert.equal((await login(user.id, { project: { id: project.id } })).status, 401);
        await put(`/v3/projects/${project.id}/groups/${group.id}/roles/${member.id}`);
        assert.equal((await login(user.id, { project: { id: project.id } })).status, 401);
        await put(`/v3/groups/${group.id}/users/${user.id}`);
        const issued = await login(user.id, { project: { id: project.id } });
        assert.equal(issued.status, 201);
        assert.deepEqual(issued.json.token.roles.map((r: { name: string }) => r.name).sort(), [
          'member',
          'reader',
        ]);
        const token = issued.headers.get('x-subject-token');
        // The project is now among the user's own.
        const own = (await call(token, 'GET', '/v3/auth/projects')).json.projects;
        assert.deepEqual(
          own.map((p: { id: string }) => p.id),
          [project.id],
        );
        assert.equal((await call(token, 'GET', `/v3/projects/${project.id}`)).status, 200);
        // Out of the group, the token grants nothing on the project.
        assert.equal((await call(admin, 'DELETE', `/v3/groups/${group.id}/users/${user.id}`)).status, 204);
        assert.equal((await call(token, 'GET', `/v3/projects/${project.id}`)).status, 401);
      });

      it('lists, checks and revokes group grants on projects, domains and the system', async () => {
        const project = await newProject();
        const domain = await newDomain();
        const group = await newGroup();
        const role = await newRole();
        for (const base of [
          `/v3/projects/${project.id}/groups/${group.id}/roles`,
          `/v3/domains/${domain.id}/groups/${group.id}/roles`,
          `/v3/system/groups/${group.id}/roles`,
        ]) {
          assert.equal((await call(admin, 'HEAD', `${base}/${role.id}`)).status, 404, base);
          await put(`${base}/${role.id}`);
          assert.equal((await call(admin, 'HEAD', `${base}/${role.id}`)).status, 204, base);
          const roles = (await call(admin, 'GET', base)).json.roles;
          assert.deepEqual(
            roles.map((r: { id: string }) => r.id),
            [role.id],
          );
          assert.equal((await call(admin, 'PUT', `${base}/nosuchrole`)).status, 404, base);
          assert.equal((await call(admin, 'DELETE', `${base}/${role.id}`)).status, 204, base);
          assert.equal((await call(admin, 'DELETE', `${base}/${role.id}`)).status, 404, base);
        }
        assert.equal(
          (await call(admin, 'PUT', `/v3/domains/nosuchdomain/groups/${group.id}/roles/${role.id}`)).status,
          404,
        );
        assert.equal(
          (await call(admin, 'PUT', `/v3/projects/${project.id}/groups/nosuchgroup/roles/${role.id}`)).status,
          404,
        );
      });
    });

    describe('domain-scoped tokens', () => {
      it('scopes a token to a domain the user holds a role on, itself or through a group', async () => {
        const direct = await newDomain();
        const viaGroup = await newDomain();
        const user = await newUser();
        const group = await newGroup(viaGroup.id);
        const reader = await roleNamed('reader');
        const member = await roleNamed('member');
        assert.equal((await login(user.id, { domain: { id: direct.id } })).status, 401);
        await put(`/v3/domains/${direct.id}/users/${user.id}/roles/${reader.id}`);
        await put(`/v3/groups/${group.id}/users/${user.id}`);
        await put(`/v3/domains/${viaGroup.id}/groups/${group.id}/roles/${member.id}`);

        const issued = await login(user.id, { domain: { name: direct.name } });
        assert.equal(issued.status, 201);
        assert.deepEqual(issued.json.token.domain, { id: direct.id, name: direct.name });
        assert.equal(issued.json.token.project, undefined);
        assert.deepEqual(
          issued.json.token.roles.map((r: { name: string }) => r.name),
          ['reader'],
        );
        assert.ok(Array.isArray(issued.json.token.catalog));
        const token = issued.headers.get('x-subject-token');
        const validated = await call(admin, 'GET', '/v3/auth/tokens');
        assert.equal(validated.status, 404); // no subject token given
        const domains = (await call(token, 'GET', '/v3/auth/domains')).json.domains;
        assert.deepEqual(domains.map((d: { id: string }) => d.id).sort(), [direct.id, viaGroup.id].sort());

        const throughGroup = await login(user.id, { domain: { id: viaGroup.id } });
        assert.equal(throughGroup.status, 201);
        assert.deepEqual(throughGroup.json.token.roles.map((r: { name: string }) => r.name).sort(), [
          'member',
          'reader',
        ]);

        // A domain-scoped admin token is no cloud administrator.
        const adminRole = await roleNamed('admin');
        await put(`/v3/domains/${direct.id}/users/${user.id}/roles/${adminRole.id}`);
        const domainAdmin = (await login(user.id, { domain: { id: direct.id } })).headers.get(
          'x-subject-token',
        );
        assert.equal(
          (await call(domainAdmin, 'POST', '/v3/groups', { group: { name: unique('g') } })).status,
          403,
        );

        // Revoking the role ends the token; a disabled domain refuses new ones.
        await call(admin, 'DELETE', `/v3/domains/${direct.id}/users/${user.id}/roles/${reader.id}`);
        await call(admin, 'DELETE', `/v3/domains/${direct.id}/users/${user.id}/roles/${adminRole.id}`);
        assert.equal((await call(token, 'GET', '/v3/auth/domains')).status, 401);
        await call(admin, 'PATCH', `/v3/domains/${viaGroup.id}`, { domain: { enabled: false } });
        assert.equal((await login(user.id, { domain: { id: viaGroup.id } })).status, 401);
        assert.equal((await login(user.id, { domain: { id: 'nosuchdomain' } })).status, 401);
      });

      it('reads the domain scope against Keystone’s schema', async () => {
        const user = await newUser();
        for (const domain of [{}, 'default', { id: 5 }]) {
          assert.equal((await login(user.id, { domain })).status, 400, JSON.stringify(domain));
        }
      });
    });

    describe('implied and domain-specific roles', () => {
      it('puts the roles a rule implies in tokens, and takes them out with the rule', async () => {
        const project = await newProject();
        const user = await newUser();
        const prior = await newRole();
        const implied = await newRole();
        await put(`/v3/projects/${project.id}/users/${user.id}/roles/${prior.id}`);
        const created = await call(admin, 'PUT', `/v3/roles/${prior.id}/implies/${implied.id}`);
        assert.equal(created.status, 201);
        assert.equal(created.json.role_inference.prior_role.id, prior.id);
        assert.equal(created.json.role_inference.implies.id, implied.id);
        const names = async () =>
          (await login(user.id, { project: { id: project.id } })).json.token.roles.map(
            (r: { name: string }) => r.name,
          );
        assert.deepEqual((await names()).sort(), [implied.name, prior.name].sort());
        assert.equal((await call(admin, 'HEAD', `/v3/roles/${prior.id}/implies/${implied.id}`)).status, 204);
        assert.equal(
          (await call(admin, 'DELETE', `/v3/roles/${prior.id}/implies/${implied.id}`)).status,
          204,
        );
        assert.equal((await call(admin, 'GET', `/v3/roles/${prior.id}/implies/${implied.id}`)).status, 404);
        assert.deepEqual(await names(), [prior.name]);
      });

      it('lists the built-in rules, keeps them, and refuses rules Keystone refuses', async () => {
        const adminRole = await roleNamed('admin');
        const member = await roleNamed('member');
        const rules = (await call(admin, 'GET', '/v3/role_inferences')).json.role_inferences;
        const fromAdmin = rules.find((r: { prior_role: { id: string } }) => r.prior_role.id === adminRole.id);
        assert.deepEqual(
          fromAdmin.implies.map((r: { name: string }) => r.name),
          ['member'],
        );
        assert.equal(
          (await call(admin, 'DELETE', `/v3/roles/${adminRole.id}/implies/${member.id}`)).status,
          403,
        );
        const role = await newRole();
        assert.equal((await call(admin, 'PUT', `/v3/roles/${role.id}/implies/${adminRole.id}`)).status, 403);
        const domain = await newDomain();
        const domainRole = await newRole(domain.id);
        assert.equal((await call(admin, 'PUT', `/v3/roles/${role.id}/implies/${domainRole.id}`)).status, 403);
        assert.equal((await call(admin, 'PUT', `/v3/roles/${domainRole.id}/implies/${role.id}`)).status, 201);
        assert.equal((await call(admin, 'PUT', `/v3/roles/${role.id}/implies/nosuchrole`)).status, 404);
      });

      it('keeps domain-specific roles apart: listed by domain, never in a token themselves', async () => {
        const domain = await newDomain();
        const project = await newProject(domain.id);
        const user = await newUser();
        const domainRole = await newRole(domain.id);
        assert.equal(domainRole.domain_id, domain.id);
        assert.deepEqual((await call(admin, 'GET', `/v3/roles?domain_id=${domain.id}`)).json.roles, [
          domainRole,
        ]);
        const global = (await call(admin, 'GET', '/v3/roles')).json.roles;
        assert.ok(!global.some((r: { id: string }) => r.id === domainRole.id));
        await put(`/v3/projects/${project.id}/users/${user.id}/roles/${domainRole.id}`);
        // Only what it implies counts: nothing yet, so no token on the project.
        assert.equal((await login(user.id, { project: { id: project.id } })).status, 401);
        const rule = `/v3/roles/${domainRole.id}/implies/${(await roleNamed('reader')).id}`;
        assert.equal((await call(admin, 'PUT', rule)).status, 201);
        const issued = await login(user.id, { project: { id: project.id } });
        assert.deepEqual(
          issued.json.token.roles.map((r: { name: string }) => r.name),
          ['reader'],
        );
        // On a project of another domain, Keystone refuses the assignment.
        const elsewhere = await newProject();
        const refused = await call(
          admin,
          'PUT',
          `/v3/projects/${elsewhere.id}/users/${user.id}/roles/${domainRole.id}`,
        );
        assert.equal(refused.status, 403);
        assert.equal(
          (await call(admin, 'POST', '/v3/roles', { role: { name: unique('r'), domain_id: 'nosuchdomain' } }))
            .status,
          404,
        );
      });
    });

    describe('role assignments', () => {
      it('lists group and domain assignments, and with effective expands groups and implied roles', async () => {
        const domain = await newDomain();
        const project = await newProject(domain.id);
        const user = await newUser(domain.id);
        const group = await newGroup(domain.id);
        const member = await roleNamed('member');
        const reader = await roleNamed('reader');
        await put(`/v3/groups/${group.id}/users/${user.id}`);
        await put(`/v3/projects/${project.id}/groups/${group.id}/roles/${member.id}`);
        await put(`/v3/domains/${domain.id}/users/${user.id}/roles/${reader.id}`);
        const list = async (query: string) => call(admin, 'GET', `/v3/role_assignments?${query}`);

        const byGroup = (await list(`group.id=${group.id}`)).json.role_assignments;
        assert.equal(byGroup.length, 1);
        assert.deepEqual(byGroup[0].group, { id: group.id });
        assert.deepEqual(byGroup[0].scope, { project: { id: project.id } });
        assert.match(
          byGroup[0].links.assignment,
          new RegExp(`/v3/projects/${project.id}/groups/${group.id}/roles/${member.id}$`),
        );

        const onDomain = (await list(`scope.domain.id=${domain.id}&include_names`)).json.role_assignments;
        assert.equal(onDomain.length, 1);
        assert.deepEqual(onDomain[0].scope, { domain: { id: domain.id, name: domain.name } });
        assert.equal(onDomain[0].user.name, user.name);
        assert.equal(onDomain[0].role.name, 'reader');

        const effective = (await list(`effective&user.id=${user.id}&scope.project.id=${project.id}`)).json
          .role_assignments;
        assert.deepEqual(
          effective.map((a: { role: { id: string } }) => a.role.id),
          [member.id, reader.id],
        );
        for (const a of effective) {
          assert.deepEqual(a.user, { id: user.id });
          assert.match(a.links.membership, new RegExp(`/v3/groups/${group.id}/users/${user.id}$`));
        }
        assert.match(effective[1].links.prior_role, new RegExp(`/v3/roles/${member.id}$`));

        for (const query of [
          `effective&group.id=${group.id}`,
          `scope.project.id=${project.id}&scope.domain.id=${domain.id}`,
          `user.id=${user.id}&group.id=${group.id}`,
          `scope.system=all&scope.domain.id=${domain.id}`,
        ]) {
          assert.equal((await list(query)).status, 400, query);
        }
      });
    });

    describe('deleting', () => {
      it('removes a user’s memberships and assignments with the user', async () => {
        const domain = await newDomain();
        const user = await newUser();
        const group = await newGroup();
        await put(`/v3/groups/${group.id}/users/${user.id}`);
        await put(`/v3/domains/${domain.id}/users/${user.id}/roles/${(await roleNamed('reader')).id}`);
        assert.equal((await call(admin, 'DELETE', `/v3/users/${user.id}`)).status, 204);
        assert.deepEqual((await call(admin, 'GET', `/v3/groups/${group.id}/users`)).json.users, []);
        assert.deepEqual(
          (await call(admin, 'GET', `/v3/role_assignments?user.id=${user.id}`)).json.role_assignments,
          [],
        );
      });

      it('removes a group’s assignments with the group', async () => {
        const project = await newProject();
        const group = await newGroup();
        await put(`/v3/projects/${project.id}/groups/${group.id}/roles/${(await roleNamed('reader')).id}`);
        assert.equal((await call(admin, 'DELETE', `/v3/groups/${group.id}`)).status, 204);
        assert.deepEqual(
          (await call(admin, 'GET', `/v3/role_assignments?scope.project.id=${project.id}`)).json
            .role_assignments,
          [],
        );
      });

      it('deletes a disabled domain with its projects, users, groups and domain roles', async () => {
        const domain = await newDomain();
        const project = await newProject(domain.id);
        const user = await newUser(domain.id);
        const group = await newGroup(domain.id);
        const domainRole = await newRole(domain.id);
        const outsider = await newUser();
        await put(`/v3/groups/${group.id}/users/${outsider.id}`);
        await put(`/v3/domains/${domain.id}/users/${outsider.id}/roles/${(await roleNamed('reader')).id}`);
        assert.equal((await call(admin, 'DELETE', `/v3/domains/${domain.id}`)).status, 403);
        await call(admin, 'PATCH', `/v3/domains/${domain.id}`, { domain: { enabled: false } });
        assert.equal((await call(admin, 'DELETE', `/v3/domains/${domain.id}`)).status, 204);
        for (const url of [
          `/v3/domains/${domain.id}`,
          `/v3/projects/${project.id}`,
          `/v3/users/${user.id}`,
          `/v3/groups/${group.id}`,
          `/v3/roles/${domainRole.id}`,
        ]) {
          assert.equal((await call(admin, 'GET', url)).status, 404, url);
        }
        assert.equal((await call(admin, 'GET', `/v3/users/${outsider.id}`)).status, 200);
        assert.deepEqual((await call(admin, 'GET', `/v3/users/${outsider.id}/groups`)).json.groups, []);
        assert.deepEqual(
          (await call(admin, 'GET', `/v3/role_assignments?user.id=${outsider.id}`)).json.role_assignments,
          [],
        );
      });
    });
  });
}

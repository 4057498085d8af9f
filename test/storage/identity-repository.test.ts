// SqlIdentityRepository on both metadata backends: projects, users, roles, assignments and tokens,
// unique names as CONFLICT, assignments that follow their user, project or role when deleted.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import type { Domain, Group, Project, Role, TokenRecord, User } from '../../src/identity/index.ts';
import { type SqlDatabase, SqlIdentityRepository } from '../../src/storage/index.ts';
import { databaseBackends } from './database-backends.ts';

const id = () => randomUUID().replaceAll('-', '');

function makeProject(overrides: Partial<Project> = {}): Project {
  return {
    id: id(),
    name: `project-${id()}`,
    domain_id: 'default',
    description: '',
    enabled: true,
    tags: [],
    parent_id: null,
    ...overrides,
  };
}

function makeUser(overrides: Partial<User> = {}): User {
  return {
    id: id(),
    name: `user-${id()}`,
    domain_id: 'default',
    password_hash: null,
    default_project_id: null,
    email: null,
    description: null,
    enabled: true,
    extra: {},
    ...overrides,
  };
}

function makeRole(overrides: Partial<Role> = {}): Role {
  return { id: id(), name: `role-${id()}`, domain_id: null, ...overrides };
}

function makeToken(overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    token_hash: id(),
    user_id: id(),
    project_id: null,
    methods: ['password'],
    issued_at: '2024-05-01T10:00:00.000Z',
    expires_at: '2024-05-01T11:00:00.000Z',
    revoked: false,
    audit_ids: [id().slice(0, 22)],
    system: false,
    domain_id: null,
    ...overrides,
  };
}

async function assertCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageTrustError, `expected an ImageTrustError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

for (const backend of databaseBackends()) {
  describe(`SqlIdentityRepository on ${backend.name}`, () => {
    let db: SqlDatabase;
    let repo: SqlIdentityRepository;

    before(() => backend.ready());
    after(() => backend.dispose());
    beforeEach(async () => {
      db = await backend.open();
      repo = new SqlIdentityRepository(db, () => new Date('2024-05-01T10:00:00Z'));
    });
    afterEach(() => db.close());

    describe('projects', () => {
      it('creates, finds by id and by name, updates and deletes a project', async () => {
        const project = makeProject({ description: 'the builders', enabled: false });
        await repo.createProject(project);
        assert.deepEqual(await repo.findProject(project.id), project);
        assert.deepEqual(await repo.findProjectByName('default', project.name), project);
        assert.equal(await repo.findProjectByName('other', project.name), null);

        const renamed = { ...project, name: 'renamed', description: 'changed', enabled: true };
        await repo.updateProject(renamed);
        assert.deepEqual(await repo.findProject(project.id), renamed);

        assert.equal(await repo.deleteProject(project.id), true);
        assert.equal(await repo.deleteProject(project.id), false);
        assert.equal(await repo.findProject(project.id), null);
      });

      it('lists projects by name, narrowed by name and domain', async () => {
        const b = makeProject({ name: 'bravo' });
        const a = makeProject({ name: 'alpha' });
        const elsewhere = makeProject({ name: 'alpha', domain_id: 'other' });
        for (const p of [b, a, elsewhere]) await repo.createProject(p);
        assert.deepEqual(
          (await repo.listProjects()).map((p) => p.id),
          [a, elsewhere]
            .sort((x, y) => (x.id < y.id ? -1 : 1))
            .map((p) => p.id)
            .concat(b.id),
        );
        assert.deepEqual(
          (await repo.listProjects({ name: 'alpha' })).map((p) => p.id).sort(),
          [a.id, elsewhere.id].sort(),
        );
        assert.deepEqual(await repo.listProjects({ name: 'alpha', domainId: 'other' }), [elsewhere]);
        assert.deepEqual(await repo.listProjects({ domainId: 'default' }), [a, b]);
      });

      it('refuses a second project with the same name in a domain with CONFLICT', async () => {
        const first = makeProject({ name: 'builders' });
        await repo.createProject(first);
        await assertCode(repo.createProject(makeProject({ name: 'builders' })), 'CONFLICT');
        await repo.createProject(makeProject({ name: 'builders', domain_id: 'other' }));
        await assertCode(repo.createProject({ ...makeProject(), id: first.id }), 'CONFLICT');
      });

      it('refuses to rename a project onto a taken name with CONFLICT', async () => {
        const taken = makeProject({ name: 'taken' });
        const other = makeProject({ name: 'free' });
        await repo.createProject(taken);
        await repo.createProject(other);
        await assertCode(repo.updateProject({ ...other, name: 'taken' }), 'CONFLICT');
        assert.equal((await repo.findProject(other.id))?.name, 'free');
      });
    });

    describe('users', () => {
      it('round-trips every field of a user, nulls included', async () => {
        const full = makeUser({
          password_hash: '$scrypt$abc',
          default_project_id: id(),
          email: 'ops@example.org',
          description: 'operator',
          enabled: false,
        });
        const bare = makeUser();
        await repo.createUser(full);
        await repo.createUser(bare);
        assert.deepEqual(await repo.findUser(full.id), full);
        assert.deepEqual(await repo.findUser(bare.id), bare);
        assert.deepEqual(await repo.findUserByName('default', full.name), full);
        assert.equal(await repo.findUser(id()), null);
      });

      it('updates and clears fields', async () => {
        const user = makeUser({ email: 'a@example.org', password_hash: 'h1' });
        await repo.createUser(user);
        const changed = { ...user, name: 'new-name', email: null, password_hash: 'h2', enabled: false };
        await repo.updateUser(changed);
        assert.deepEqual(await repo.findUser(user.id), changed);
      });

      it('lists users by name, narrowed by name and domain', async () => {
        const z = makeUser({ name: 'zed' });
        const y = makeUser({ name: 'yan' });
        const other = makeUser({ name: 'yan', domain_id: 'other' });
        for (const u of [z, y, other]) await repo.createUser(u);
        assert.deepEqual(await repo.listUsers({ domainId: 'default' }), [y, z]);
        assert.deepEqual(await repo.listUsers({ name: 'yan', domainId: 'other' }), [other]);
        assert.equal((await repo.listUsers()).length, 3);
      });

      it('refuses a second user with the same name in a domain with CONFLICT', async () => {
        await repo.createUser(makeUser({ name: 'alice' }));
        await assertCode(repo.createUser(makeUser({ name: 'alice' })), 'CONFLICT');
        await repo.createUser(makeUser({ name: 'alice', domain_id: 'other' }));
      });

      it('refuses to rename a user onto a taken name with CONFLICT', async () => {
        const alice = makeUser({ name: 'alice' });
        const bob = makeUser({ name: 'bob' });
        await repo.createUser(alice);
        await repo.createUser(bob);
        await assertCode(repo.updateUser({ ...bob, name: 'alice' }), 'CONFLICT');
        assert.equal((await repo.findUser(bob.id))?.name, 'bob');
      });

      it('deletes a user once', async () => {
        const user = makeUser();
        await repo.createUser(user);
        assert.equal(await repo.deleteUser(user.id), true);
        assert.equal(await repo.deleteUser(user.id), false);
        assert.equal(await repo.findUser(user.id), null);
      });
    });

    describe('roles', () => {
      it('creates, finds, lists by name and deletes roles', async () => {
        const reader = makeRole({ name: 'reader' });
        const admin = makeRole({ name: 'admin' });
        await repo.createRole(reader);
        await repo.createRole(admin);
        assert.deepEqual(await repo.findRole(reader.id), reader);
        assert.deepEqual(await repo.findRoleByName('admin'), admin);
        assert.deepEqual(await repo.listRoles(), [admin, reader]);
        assert.deepEqual(await repo.listRoles({ name: 'reader' }), [reader]);
        assert.equal(await repo.deleteRole(reader.id), true);
        assert.equal(await repo.deleteRole(reader.id), false);
        assert.equal(await repo.findRoleByName('reader'), null);
      });

      it('renames a role, refusing a taken name with CONFLICT and reporting an unknown role', async () => {
        const role = makeRole({ name: 'before' });
        const other = makeRole({ name: 'taken' });
        await repo.createRole(role);
        await repo.createRole(other);
        assert.equal(await repo.updateRole({ ...role, name: 'after' }), true);
        assert.deepEqual(await repo.findRole(role.id), { ...role, name: 'after' });
        await assertCode(repo.updateRole({ ...role, name: 'taken' }), 'CONFLICT');
        assert.equal(await repo.updateRole(makeRole()), false);
      });

      it('refuses a second role with the same name with CONFLICT', async () => {
        await repo.createRole(makeRole({ name: 'member' }));
        await assertCode(repo.createRole(makeRole({ name: 'member' })), 'CONFLICT');
      });
    });

    describe('role assignments', () => {
      let user: User;
      let other: User;
      let project: Project;
      let second: Project;
      let member: Role;
      let reader: Role;

      beforeEach(async () => {
        user = makeUser({ name: 'alice' });
        other = makeUser({ name: 'bob' });
        project = makeProject({ name: 'one' });
        second = makeProject({ name: 'two' });
        member = makeRole({ name: 'member' });
        reader = makeRole({ name: 'reader' });
        for (const u of [user, other]) await repo.createUser(u);
        for (const p of [project, second]) await repo.createProject(p);
        for (const r of [member, reader]) await repo.createRole(r);
        await repo.grantRole(user.id, project.id, member.id);
        await repo.grantRole(user.id, project.id, reader.id);
        await repo.grantRole(user.id, second.id, reader.id);
        await repo.grantRole(other.id, project.id, reader.id);
      });

      const pairs = (list: { userId: string; projectId: string; role: Role }[]) =>
        list.map((a) => `${a.userId}/${a.projectId}/${a.role.name}`).sort();

      it('lists assignments narrowed by user, project and role, with the role', async () => {
        assert.deepEqual(await repo.listAssignments({ userId: user.id, projectId: project.id }), [
          { userId: user.id, projectId: project.id, role: member },
          { userId: user.id, projectId: project.id, role: reader },
        ]);
        assert.equal((await repo.listAssignments({})).length, 4);
        assert.deepEqual(
          pairs(await repo.listAssignments({ roleId: reader.id })),
          [
            `${user.id}/${project.id}/reader`,
            `${user.id}/${second.id}/reader`,
            `${other.id}/${project.id}/reader`,
          ].sort(),
        );
        assert.deepEqual(pairs(await repo.listAssignments({ projectId: second.id })), [
          `${user.id}/${second.id}/reader`,
        ]);
      });

      it('treats granting a role twice as done', async () => {
        await repo.grantRole(user.id, project.id, member.id);
        assert.equal((await repo.listAssignments({ userId: user.id, projectId: project.id })).length, 2);
      });

      it('revokes a role once', async () => {
        assert.equal(await repo.revokeRole(user.id, project.id, member.id), true);
        assert.equal(await repo.revokeRole(user.id, project.id, member.id), false);
        assert.deepEqual(pairs(await repo.listAssignments({ userId: user.id, projectId: project.id })), [
          `${user.id}/${project.id}/reader`,
        ]);
      });

      it('refuses an assignment to an unknown user, project or role with an ImageTrustError', async () => {
        for (const [u, p, r] of [
          [id(), project.id, member.id],
          [user.id, id(), member.id],
          [user.id, project.id, id()],
        ]) {
          await assert.rejects(repo.grantRole(u, p, r), ImageTrustError);
        }
      });

      it('drops a user’s assignments when the user is deleted', async () => {
        await repo.deleteUser(user.id);
        assert.deepEqual(await repo.listAssignments({ userId: user.id }), []);
        assert.equal((await repo.listAssignments({})).length, 1);
      });

      it('drops a project’s assignments when the project is deleted', async () => {
        await repo.deleteProject(project.id);
        assert.deepEqual(await repo.listAssignments({ projectId: project.id }), []);
        assert.deepEqual(pairs(await repo.listAssignments({})), [`${user.id}/${second.id}/reader`]);
      });

      it('drops a role’s assignments when the role is deleted', async () => {
        await repo.deleteRole(reader.id);
        assert.deepEqual(await repo.listAssignments({ roleId: reader.id }), []);
        assert.deepEqual(pairs(await repo.listAssignments({})), [`${user.id}/${project.id}/member`]);
      });
    });

    describe('domains', () => {
      const makeDomain = (overrides: Partial<Domain> = {}): Domain => ({
        id: id(),
        name: `domain-${id()}`,
        description: '',
        enabled: true,
        ...overrides,
      });

      it('has the default domain from the migration', async () => {
        assert.deepEqual(await repo.findDomain('default'), {
          id: 'default',
          name: 'Default',
          description: 'The default domain',
          enabled: true,
        });
        assert.equal((await repo.findDomainByName('Default'))?.id, 'default');
      });

      it('creates, finds, updates, lists and refuses a second domain of one name', async () => {
        const domain = makeDomain({ description: 'the lab' });
        await repo.createDomain(domain);
        assert.deepEqual(await repo.findDomain(domain.id), domain);
        assert.deepEqual(await repo.findDomainByName(domain.name), domain);
        await assertCode(repo.createDomain(makeDomain({ name: domain.name })), 'CONFLICT');
        const disabled = { ...domain, enabled: false, description: 'closed' };
        await repo.updateDomain(disabled);
        assert.deepEqual(await repo.findDomain(domain.id), disabled);
        assert.deepEqual((await repo.listDomains()).map((d) => d.id).sort(), ['default', domain.id].sort());
      });

      it('deletes a domain with its projects, users and their assignments, and nothing else', async () => {
        const domain = makeDomain();
        await repo.createDomain(domain);
        const project = makeProject({ domain_id: domain.id, tags: ['t'] });
        const user = makeUser({ domain_id: domain.id });
        const outside = makeProject();
        const role = makeRole();
        for (const p of [project, outside]) await repo.createProject(p);
        await repo.createUser(user);
        await repo.createRole(role);
        await repo.grantRole(user.id, outside.id, role.id);
        await repo.grantSystemRole(user.id, role.id);
        assert.equal(await repo.deleteDomain(domain.id), true);
        assert.equal(await repo.findDomain(domain.id), null);
        assert.equal(await repo.findProject(project.id), null);
        assert.equal(await repo.findUser(user.id), null);
        assert.deepEqual(await repo.listAssignments({ userId: user.id }), []);
        assert.deepEqual(await repo.listSystemAssignments({ userId: user.id }), []);
        assert.deepEqual(await repo.findProject(outside.id), outside);
        assert.equal(await repo.deleteDomain(domain.id), false);
      });
    });

    describe('project tags', () => {
      it("keeps a user's extra attributes", async () => {
        const user = makeUser({ extra: { project_id: 'p1', nested: { a: [1, 2] } } });
        await repo.createUser(user);
        assert.deepEqual(await repo.findUser(user.id), user);
        await repo.updateUser({ ...user, extra: {} });
        assert.deepEqual((await repo.findUser(user.id))?.extra, {});
      });

      it('keeps a parent project', async () => {
        const parent = makeProject();
        const child = makeProject({ parent_id: parent.id });
        await repo.createProject(parent);
        await repo.createProject(child);
        assert.deepEqual(await repo.findProject(child.id), child);
        assert.equal((await repo.findProject(parent.id))?.parent_id, null);
      });

      it('keeps tags in the order given, replaces them on update, and keeps them when not given', async () => {
        const project = makeProject({ tags: ['zeta', 'alpha'] });
        await repo.createProject(project);
        assert.deepEqual((await repo.findProject(project.id))?.tags, ['zeta', 'alpha']);
        await repo.updateProject({ ...project, tags: ['beta'] });
        assert.deepEqual((await repo.findProject(project.id))?.tags, ['beta']);
        const { tags: _, ...untagged } = project;
        await repo.updateProject({ ...untagged, description: 'kept' });
        const found = await repo.findProject(project.id);
        assert.deepEqual([found?.tags, found?.description], [['beta'], 'kept']);
        const other = makeProject();
        await repo.createProject(other);
        const listed = await repo.listProjects();
        assert.deepEqual(listed.find((p) => p.id === project.id)?.tags, ['beta']);
        assert.deepEqual(listed.find((p) => p.id === other.id)?.tags, []);
        assert.equal(await repo.deleteProject(project.id), true);
        assert.deepEqual(
          await db.query('SELECT tag FROM project_tags WHERE project_id = ?', [project.id]),
          [],
        );
      });
    });

    describe('system role assignments', () => {
      it('grants (twice is once), lists by user and role, and revokes; they follow their user', async () => {
        const user = makeUser();
        const other = makeUser();
        const admin = makeRole({ name: 'admin' });
        const reader = makeRole({ name: 'reader' });
        for (const u of [user, other]) await repo.createUser(u);
        for (const r of [admin, reader]) await repo.createRole(r);
        await repo.grantSystemRole(user.id, admin.id);
        await repo.grantSystemRole(user.id, admin.id);
        await repo.grantSystemRole(user.id, reader.id);
        await repo.grantSystemRole(other.id, reader.id);
        assert.deepEqual(
          (await repo.listSystemAssignments({ userId: user.id })).map((a) => a.role.name),
          ['admin', 'reader'],
        );
        assert.deepEqual(
          (await repo.listSystemAssignments({ roleId: reader.id })).map((a) => a.userId).sort(),
          [user.id, other.id].sort(),
        );
        assert.equal(await repo.revokeSystemRole(user.id, admin.id), true);
        assert.equal(await repo.revokeSystemRole(user.id, admin.id), false);
        await repo.deleteUser(other.id);
        assert.deepEqual(await repo.listSystemAssignments({ roleId: reader.id }), [
          { userId: user.id, role: reader },
        ]);
        // Project assignments are another list.
        assert.deepEqual(await repo.listAssignments({ userId: user.id }), []);
      });
    });

    describe('groups, their assignments and role implications', () => {
      let domain: Domain;
      let group: Group;
      let user: User;
      let project: Project;
      let role: Role;
      const userActor = () => ({ type: 'user' as const, id: user.id });
      const groupActor = () => ({ type: 'group' as const, id: group.id });

      beforeEach(async () => {
        domain = { id: id(), name: `domain-${id()}`, description: '', enabled: true };
        await repo.createDomain(domain);
        group = { id: id(), name: 'builders', domain_id: domain.id, description: 'who builds' };
        user = makeUser();
        project = makeProject({ domain_id: domain.id });
        role = makeRole();
        await repo.createGroup(group);
        await repo.createUser(user);
        await repo.createProject(project);
        await repo.createRole(role);
      });

      it('creates, finds, lists, renames and deletes a group; one name per domain', async () => {
        assert.deepEqual(await repo.findGroup(group.id), group);
        assert.deepEqual(await repo.listGroups({ domainId: domain.id }), [group]);
        assert.deepEqual(await repo.listGroups({ name: 'nobody' }), []);
        await assertCode(repo.createGroup({ ...group, id: id() }), 'CONFLICT');
        await repo.createGroup({ ...group, id: id(), domain_id: 'default' });
        const renamed = { ...group, name: 'renamed', description: '' };
        await repo.updateGroup(renamed);
        assert.deepEqual(await repo.findGroup(group.id), renamed);
        assert.equal(await repo.deleteGroup(group.id), true);
        assert.equal(await repo.deleteGroup(group.id), false);
      });

      it('keeps members once each, lists both ways, and forgets a deleted user', async () => {
        await repo.addGroupMember(group.id, user.id);
        await repo.addGroupMember(group.id, user.id);
        assert.deepEqual(
          (await repo.listGroupMembers(group.id)).map((u) => u.id),
          [user.id],
        );
        assert.deepEqual(await repo.listUserGroups(user.id), [group]);
        await assert.rejects(repo.addGroupMember(group.id, id()), ImageTrustError);
        await repo.deleteUser(user.id);
        assert.deepEqual(await repo.listGroupMembers(group.id), []);
      });

      it('stores every kind of grant, lists by actor, scope and role, and revokes', async () => {
        await repo.grant(groupActor(), { type: 'project', id: project.id }, role.id);
        await repo.grant(userActor(), { type: 'domain', id: domain.id }, role.id);
        await repo.grant(groupActor(), { type: 'domain', id: domain.id }, role.id);
        await repo.grant(groupActor(), { type: 'system', id: 'all' }, role.id);
        await repo.grant(groupActor(), { type: 'system', id: 'all' }, role.id);
        const all = await repo.listGrants({ actors: [userActor(), groupActor()] });
        assert.deepEqual(all.map((a) => `${a.actor.type}/${a.scope.type}/${a.scope.id}`).sort(), [
          `group/domain/${domain.id}`,
          `group/project/${project.id}`,
          'group/system/all',
          `user/domain/${domain.id}`,
        ]);
        assert.deepEqual(all[0].role, role);
        assert.equal((await repo.listGrants({ scopeType: 'domain' })).length, 2);
        assert.equal((await repo.listGrants({ actors: [] })).length, 0);
        assert.equal(
          (await repo.listGrants({ scope: { type: 'domain', id: domain.id }, actorType: 'group' })).length,
          1,
        );
        assert.equal(await repo.revoke(groupActor(), { type: 'system', id: 'all' }, role.id), true);
        assert.equal(await repo.revoke(groupActor(), { type: 'system', id: 'all' }, role.id), false);
        await assert.rejects(repo.grant(userActor(), { type: 'domain', id: id() }, role.id), ImageTrustError);
      });

      it('drops a group’s memberships and assignments with the group, in one statement', async () => {
        await repo.addGroupMember(group.id, user.id);
        await repo.grant(groupActor(), { type: 'project', id: project.id }, role.id);
        await repo.grant(groupActor(), { type: 'domain', id: domain.id }, role.id);
        await repo.deleteGroup(group.id);
        assert.deepEqual(await repo.listGrants({ actors: [groupActor()] }), []);
        assert.deepEqual(await repo.listUserGroups(user.id), []);
      });

      it('drops assignments and implications with their role', async () => {
        const implied = makeRole();
        await repo.createRole(implied);
        assert.equal(await repo.createImplication(role.id, implied.id), true);
        assert.equal(await repo.createImplication(role.id, implied.id), false);
        assert.deepEqual(await repo.listImplications(role.id), [{ prior: role, implied }]);
        await repo.grant(userActor(), { type: 'domain', id: domain.id }, implied.id);
        await repo.deleteRole(implied.id);
        assert.deepEqual(await repo.listImplications(), []);
        assert.deepEqual(await repo.listGrants({ actors: [userActor()] }), []);
      });

      it('keeps domain-specific roles out of the global list', async () => {
        const scoped = makeRole({ domain_id: domain.id });
        await repo.createRole(scoped);
        assert.ok(!(await repo.listRoles()).some((r) => r.id === scoped.id));
        assert.deepEqual(await repo.listRoles({ domainId: domain.id }), [scoped]);
        assert.ok((await repo.listRoles({ all: true })).some((r) => r.id === scoped.id));
        assert.equal(await repo.deleteImplication(role.id, scoped.id), false);
      });

      it('deletes a domain with its groups, domain roles and every assignment on it', async () => {
        const scoped = makeRole({ domain_id: domain.id });
        await repo.createRole(scoped);
        await repo.addGroupMember(group.id, user.id);
        await repo.grant(userActor(), { type: 'domain', id: domain.id }, role.id);
        await repo.grant(groupActor(), { type: 'project', id: project.id }, role.id);
        assert.equal(await repo.deleteDomain(domain.id), true);
        assert.equal(await repo.findGroup(group.id), null);
        assert.equal(await repo.findRole(scoped.id), null);
        assert.deepEqual(await repo.listGrants({ actors: [userActor(), groupActor()] }), []);
        assert.deepEqual(await repo.findUser(user.id), user);
      });

      it('keeps a domain-scoped token’s domain', async () => {
        const token = makeToken({ domain_id: domain.id });
        await repo.saveToken(token);
        assert.deepEqual(await repo.findToken(token.token_hash), token);
      });
    });

    describe('tokens', () => {
      it('saves and finds a token with its methods, scope and audit ids', async () => {
        const scoped = makeToken({
          project_id: id(),
          methods: ['password', 'token'],
          audit_ids: ['a1', 'a0'],
        });
        const unscoped = makeToken();
        const system = makeToken({ system: true });
        await repo.saveToken(scoped);
        await repo.saveToken(unscoped);
        await repo.saveToken(system);
        assert.deepEqual(await repo.findToken(scoped.token_hash), scoped);
        assert.deepEqual(await repo.findToken(unscoped.token_hash), unscoped);
        assert.deepEqual(await repo.findToken(system.token_hash), system);
        assert.equal(await repo.findToken(id()), null);
      });

      it('revokes a known token and reports an unknown one', async () => {
        const token = makeToken();
        await repo.saveToken(token);
        assert.equal(await repo.revokeToken(token.token_hash), true);
        assert.equal((await repo.findToken(token.token_hash))?.revoked, true);
        assert.equal(await repo.revokeToken(id()), false);
      });

      it("revokes every token of one user, counting those not yet revoked, and no one else's", async () => {
        const user = id();
        const mine = [makeToken({ user_id: user }), makeToken({ user_id: user, project_id: id() })];
        const already = makeToken({ user_id: user, revoked: true });
        const other = makeToken();
        for (const t of [...mine, already, other]) await repo.saveToken(t);
        assert.equal(await repo.revokeUserTokens(user), 2);
        for (const t of [...mine, already]) assert.equal((await repo.findToken(t.token_hash))?.revoked, true);
        assert.equal((await repo.findToken(other.token_hash))?.revoked, false);
      });

      it('purges only tokens that expired strictly before the given time, and counts them', async () => {
        const expired = [
          makeToken({ expires_at: '2024-05-01T08:00:00.000Z' }),
          makeToken({ expires_at: '2024-05-01T09:59:59.999Z', revoked: true }),
        ];
        const atCutoff = makeToken({ expires_at: '2024-05-01T10:00:00.000Z' });
        const live = makeToken({ expires_at: '2024-05-02T10:00:00.000Z' });
        for (const t of [...expired, atCutoff, live]) await repo.saveToken(t);
        assert.equal(await repo.purgeTokens('2024-05-01T10:00:00.000Z'), 2);
        for (const t of expired) assert.equal(await repo.findToken(t.token_hash), null);
        assert.deepEqual(await repo.findToken(atCutoff.token_hash), atCutoff);
        assert.deepEqual(await repo.findToken(live.token_hash), live);
        assert.equal(await repo.purgeTokens('2024-05-01T10:00:00.000Z'), 0);
      });
    });
  });
}

// Identity's rules without a server: token expiry on a clock the test moves, and each Keystone API
// call put to its named rule inside the service, a denied caller getting the coded error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthError } from '../../src/errors/index.ts';
import {
  type Action,
  type Authorizer,
  type Credentials,
  defaultAuthorizer,
  IdentityService,
  type RuleTarget,
} from '../../src/identity/index.ts';
import { type SqlDatabase, SqlIdentityRepository } from '../../src/storage/index.ts';
import { sqliteBackend } from '../storage/database-backends.ts';
import { TestClock } from '../support/clock.ts';

const TTL_SECONDS = 60;

/** Denies everything and remembers what it was asked, to pin rule names and targets. */
class RecordingAuthorizer implements Authorizer {
  readonly asked: { action: Action; target: RuleTarget }[] = [];
  isAllowed(action: Action, _credentials: Credentials, target: RuleTarget = {}): boolean {
    this.asked.push({ action, target });
    return false;
  }
  enforce(action: Action, credentials: Credentials, target?: RuleTarget): void {
    if (!this.isAllowed(action, credentials, target)) throw new AuthError('FORBIDDEN', `Denied ${action}.`);
  }
}

const unread = (): never => {
  throw new Error('the request was read before the caller was authorized');
};

describe('IdentityService and its directory', () => {
  const backend = sqliteBackend();
  let db: SqlDatabase;
  let identity: IdentityService;
  const clock = new TestClock();
  let admin: Credentials;
  let alice: Credentials;
  let bob: Credentials;
  let aliceToken: string;
  let bobToken: string;
  let bobProject: string;

  const login = (name: string, project: string | 'unscoped') =>
    identity.authenticate({
      password: { user: { name, domain: { id: 'default' }, password: `${name}-pw` } },
      scope: project === 'unscoped' ? 'unscoped' : { project: { name: project, domain: { id: 'default' } } },
    });

  before(async () => {
    db = await backend.open();
    identity = new IdentityService({
      repository: new SqlIdentityRepository(db),
      tokenTtlSeconds: TTL_SECONDS,
      clock,
      authorizer: defaultAuthorizer,
    });
    await identity.bootstrap('admin-pw');
    for (const name of ['alice', 'bob']) {
      const project = await identity.createProject({ name: `${name}-project` });
      const user = await identity.createUser({
        name,
        password: `${name}-pw`,
        defaultProjectId: project.id,
      });
      await identity.grantRole(user.id, project.id, 'member');
      if (name === 'bob') bobProject = project.id;
    }
    admin = (await login('admin', 'admin')).credentials;
    const a = await login('alice', 'alice-project');
    const b = await login('bob', 'bob-project');
    [alice, aliceToken, bob, bobToken] = [a.credentials, a.token, b.credentials, b.token];
  });
  after(async () => backend.dispose());

  describe('tokens', () => {
    it('keeps a token valid for its lifetime on the clock and rejects it from then on', async () => {
      const { token } = await login('alice', 'alice-project');
      clock.advance(TTL_SECONDS * 1000 - 1);
      assert.equal((await identity.validateToken(token)).userName, 'alice');
      clock.advance(1);
      await assert.rejects(identity.validateToken(token), { code: 'UNAUTHENTICATED' });
      // The tokens made in before() expired with it; later tests need fresh ones.
      [aliceToken, bobToken] = [
        (await login('alice', 'alice-project')).token,
        (await login('bob', 'bob-project')).token,
      ];
    });

    it("lets a user validate its own token and refuses another user's with FORBIDDEN", async () => {
      assert.equal((await identity.validateSubjectToken(alice, aliceToken)).userName, 'alice');
      await assert.rejects(identity.validateSubjectToken(alice, bobToken), { code: 'FORBIDDEN' });
      await assert.rejects(identity.checkSubjectToken(alice, bobToken), { code: 'FORBIDDEN' });
      assert.equal((await identity.validateSubjectToken(admin, bobToken)).userName, 'bob');
    });

    it('answers NOT_FOUND for a missing, unknown or expired subject token before any rule', async () => {
      await assert.rejects(identity.checkSubjectToken(alice, ''), { code: 'NOT_FOUND' });
      await assert.rejects(identity.checkSubjectToken(alice, 'no-such-token'), { code: 'NOT_FOUND' });
      const { token } = await login('bob', 'bob-project');
      clock.advance(TTL_SECONDS * 1000);
      await assert.rejects(identity.checkSubjectToken(admin, token), { code: 'NOT_FOUND' });
      [aliceToken, bobToken] = [
        (await login('alice', 'alice-project')).token,
        (await login('bob', 'bob-project')).token,
      ];
    });

    it("refuses to revoke another user's token, which stays valid", async () => {
      await assert.rejects(identity.revokeSubjectToken(bob, aliceToken), { code: 'FORBIDDEN' });
      assert.equal((await identity.validateToken(aliceToken)).userName, 'alice');
      const { token } = await login('bob', 'bob-project');
      await identity.revokeSubjectToken(bob, token);
      await assert.rejects(identity.validateToken(token), { code: 'UNAUTHENTICATED' });
    });
  });

  describe('directory', () => {
    it('refuses a member the admin calls with FORBIDDEN before reading its request', async () => {
      const { directory } = identity;
      await assert.rejects(directory.createProject(alice, unread), { code: 'FORBIDDEN' });
      await assert.rejects(directory.createUser(alice, unread), { code: 'FORBIDDEN' });
      await assert.rejects(directory.createRole(alice, unread), { code: 'FORBIDDEN' });
      await assert.rejects(directory.updateProject(alice, alice.projectId!, unread), { code: 'FORBIDDEN' });
      await assert.rejects(directory.listUsers(alice, {}), { code: 'FORBIDDEN' });
      const member = (await directory.listRoles(admin, { name: 'member' }))[0];
      await assert.rejects(
        directory.createGrant(alice, { projectId: bobProject, userId: alice.userId, roleId: member.id }),
        { code: 'FORBIDDEN' },
      );
    });

    it('answers NOT_FOUND for an unknown project whoever asks, FORBIDDEN for another project', async () => {
      await assert.rejects(identity.directory.getProject(alice, 'no-such-project'), { code: 'NOT_FOUND' });
      await assert.rejects(identity.directory.getProject(alice, bobProject), { code: 'FORBIDDEN' });
      assert.equal((await identity.directory.getProject(bob, bobProject)).name, 'bob-project');
    });

    it("lets a user read its own grants and user record but not another user's", async () => {
      const grants = await identity.directory.listGrants(alice, {
        projectId: alice.projectId!,
        userId: alice.userId,
      });
      assert.deepEqual(
        grants.map((r) => r.name),
        ['member'],
      );
      await assert.rejects(
        identity.directory.listGrants(alice, { projectId: bobProject, userId: bob.userId }),
        { code: 'FORBIDDEN' },
      );
      await assert.rejects(identity.directory.getUser(alice, bob.userId), { code: 'FORBIDDEN' });
      // The rule comes before the lookup, so a member cannot probe which users exist.
      await assert.rejects(identity.directory.getUser(alice, 'no-such-user'), { code: 'FORBIDDEN' });
    });

    it("refuses the list of all projects to a non-admin (Keystone's default), who has its own", async () => {
      await assert.rejects(identity.directory.listProjects(alice, {}), { code: 'FORBIDDEN' });
      const own = (await identity.directory.listUserProjects(alice, alice.userId)).map((p) => p.name);
      assert.deepEqual(own, ['alice-project']);
      assert.ok((await identity.directory.listProjects(admin, {})).length >= 3);
    });

    it('refuses role reads to an unscoped token, which holds no reader role', async () => {
      const unscoped = (await login('alice', 'unscoped')).credentials;
      const member = (await identity.directory.listRoles(admin, { name: 'member' }))[0];
      await assert.rejects(identity.directory.getRole(unscoped, member.id), { code: 'FORBIDDEN' });
      assert.equal((await identity.directory.getRole(alice, member.id)).name, 'member');
    });

    it("puts every call to its Keystone rule with Keystone's target", async () => {
      const recorder = new RecordingAuthorizer();
      const denied = new IdentityService({
        repository: new SqlIdentityRepository(db),
        tokenTtlSeconds: TTL_SECONDS,
        clock,
        authorizer: recorder,
      });
      const { directory, grants } = denied;
      const grant = { projectId: 'p1', userId: 'u1', roleId: 'r1' };
      const user = { type: 'user' as const, id: 'u1' };
      const group = { type: 'group' as const, id: 'g1' };
      const system = { type: 'system' as const, id: 'all' };
      const calls: [() => Promise<unknown>, Action, RuleTarget][] = [
        [
          () => denied.validateSubjectToken(alice, bobToken),
          'identity:validate_token',
          { userId: bob.userId },
        ],
        [() => denied.checkSubjectToken(alice, bobToken), 'identity:check_token', { userId: bob.userId }],
        [() => denied.revokeSubjectToken(alice, bobToken), 'identity:revoke_token', { userId: bob.userId }],
        [() => directory.listProjects(alice, {}), 'identity:list_projects', {}],
        [() => directory.createProject(alice, unread), 'identity:create_project', {}],
        [() => directory.getProject(alice, bobProject), 'identity:get_project', { projectId: bobProject }],
        [() => directory.updateProject(alice, 'p1', unread), 'identity:update_project', { projectId: 'p1' }],
        [() => directory.deleteProject(alice, 'p1'), 'identity:delete_project', { projectId: 'p1' }],
        [() => directory.listUsers(alice, {}), 'identity:list_users', {}],
        [() => directory.createUser(alice, unread), 'identity:create_user', {}],
        [() => directory.getUser(alice, 'u1'), 'identity:get_user', { userId: 'u1' }],
        [() => directory.updateUser(alice, 'u1', unread), 'identity:update_user', { userId: 'u1' }],
        [() => directory.deleteUser(alice, 'u1'), 'identity:delete_user', { userId: 'u1' }],
        [() => directory.listUserProjects(alice, 'u1'), 'identity:list_user_projects', { userId: 'u1' }],
        [() => directory.listRoles(alice, {}), 'identity:list_roles', {}],
        [() => directory.createRole(alice, unread), 'identity:create_role', {}],
        [() => directory.getRole(alice, 'r1'), 'identity:get_role', {}],
        [() => directory.updateRole(alice, 'r1', unread), 'identity:update_role', {}],
        [() => directory.deleteRole(alice, 'r1'), 'identity:delete_role', {}],
        [() => directory.createGrant(alice, grant), 'identity:create_grant', { projectId: 'p1' }],
        [() => directory.checkGrant(alice, grant), 'identity:check_grant', { projectId: 'p1' }],
        [() => directory.revokeGrant(alice, grant), 'identity:revoke_grant', { projectId: 'p1' }],
        [
          () => directory.listGrants(alice, { projectId: 'p1', userId: 'u1' }),
          'identity:list_grants',
          { userId: 'u1' },
        ],
        [
          () => denied.grants.listRoleAssignments(alice, { userId: 'u1' }, { includeNames: true }),
          'identity:list_role_assignments',
          { userId: 'u1' },
        ],
        [
          () => denied.grants.listRoleAssignments(alice, {}, { includeNames: false }),
          'identity:list_role_assignments',
          { userId: null },
        ],
        [() => directory.listProjectTags(alice, 'p1'), 'identity:list_project_tags', { projectId: 'p1' }],
        [() => directory.checkProjectTag(alice, 'p1', 't'), 'identity:get_project_tag', { projectId: 'p1' }],
        [
          () => directory.replaceProjectTags(alice, 'p1', unread),
          'identity:update_project_tags',
          { projectId: 'p1' },
        ],
        [
          () => directory.addProjectTag(alice, 'p1', unread),
          'identity:create_project_tag',
          { projectId: 'p1' },
        ],
        [
          () => directory.deleteProjectTag(alice, 'p1', 't'),
          'identity:delete_project_tag',
          { projectId: 'p1' },
        ],
        [() => directory.deleteProjectTags(alice, 'p1'), 'identity:delete_project_tags', { projectId: 'p1' }],
        [() => directory.listDomains(alice, {}), 'identity:list_domains', {}],
        [() => directory.getDomain(alice, 'd1'), 'identity:get_domain', { domainId: 'd1' }],
        [() => directory.createDomain(alice, unread), 'identity:create_domain', {}],
        [() => directory.updateDomain(alice, 'd1', unread), 'identity:update_domain', { domainId: 'd1' }],
        [() => directory.deleteDomain(alice, 'd1'), 'identity:delete_domain', { domainId: 'd1' }],
        [
          () => directory.listSystemGrants(alice, 'u1'),
          'identity:list_system_grants_for_user',
          { userId: 'u1' },
        ],
        [
          () => directory.checkSystemGrant(alice, 'u1', 'r1'),
          'identity:check_system_grant_for_user',
          { userId: 'u1' },
        ],
        [
          () => directory.createSystemGrant(alice, 'u1', 'r1'),
          'identity:create_system_grant_for_user',
          { userId: 'u1' },
        ],
        [
          () => directory.revokeSystemGrant(alice, 'u1', 'r1'),
          'identity:revoke_system_grant_for_user',
          { userId: 'u1' },
        ],
        [() => grants.listGroups(alice, {}), 'identity:list_groups', {}],
        [() => grants.createGroup(alice, unread), 'identity:create_group', {}],
        [() => grants.getGroup(alice, 'g1'), 'identity:get_group', {}],
        [() => grants.updateGroup(alice, 'g1', unread), 'identity:update_group', {}],
        [() => grants.deleteGroup(alice, 'g1'), 'identity:delete_group', {}],
        [() => grants.listGroupUsers(alice, 'g1'), 'identity:list_users_in_group', {}],
        [() => grants.addGroupUser(alice, 'g1', 'u1'), 'identity:add_user_to_group', { userId: 'u1' }],
        [() => grants.checkGroupUser(alice, 'g1', 'u1'), 'identity:check_user_in_group', { userId: 'u1' }],
        [
          () => grants.removeGroupUser(alice, 'g1', 'u1'),
          'identity:remove_user_from_group',
          { userId: 'u1' },
        ],
        [() => grants.listUserGroups(alice, 'u1'), 'identity:list_groups_for_user', { userId: 'u1' }],
        [
          () => grants.createGrant(alice, group, { type: 'project', id: 'p1' }, 'r1'),
          'identity:create_grant',
          { projectId: 'p1' },
        ],
        [
          () => grants.createGrant(alice, user, { type: 'domain', id: 'd1' }, 'r1'),
          'identity:create_grant',
          { userId: 'u1', domainId: 'd1' },
        ],
        [
          () => grants.checkGrant(alice, group, { type: 'domain', id: 'd1' }, 'r1'),
          'identity:check_grant',
          { domainId: 'd1' },
        ],
        [
          () => grants.revokeGrant(alice, user, { type: 'domain', id: 'd1' }, 'r1'),
          'identity:revoke_grant',
          { userId: 'u1', domainId: 'd1' },
        ],
        [
          () => grants.listGrants(alice, user, { type: 'domain', id: 'd1' }),
          'identity:list_grants',
          { userId: 'u1', domainId: 'd1' },
        ],
        [() => grants.createGrant(alice, group, system, 'r1'), 'identity:create_system_grant_for_group', {}],
        [() => grants.checkGrant(alice, group, system, 'r1'), 'identity:check_system_grant_for_group', {}],
        [() => grants.revokeGrant(alice, group, system, 'r1'), 'identity:revoke_system_grant_for_group', {}],
        [() => grants.listGrants(alice, group, system), 'identity:list_system_grants_for_group', {}],
        [() => grants.createImplication(alice, 'r1', 'r2'), 'identity:create_implied_role', {}],
        [() => grants.getImplication(alice, 'r1', 'r2'), 'identity:get_implied_role', {}],
        [
          () => grants.getImplication(alice, 'r1', 'r2', 'identity:check_implied_role'),
          'identity:check_implied_role',
          {},
        ],
        [() => grants.deleteImplication(alice, 'r1', 'r2'), 'identity:delete_implied_role', {}],
        [() => grants.listImplied(alice, 'r1'), 'identity:list_implied_roles', {}],
        [() => grants.listInferenceRules(alice), 'identity:list_role_inference_rules', {}],
        [() => directory.listRoles(alice, { domainId: 'd1' }), 'identity:list_domain_roles', {}],
        [() => directory.createRole(alice, unread, true), 'identity:create_domain_role', {}],
      ];
      for (const [call, action, target] of calls) {
        recorder.asked.length = 0;
        await assert.rejects(call(), { code: 'FORBIDDEN' }, action);
        assert.deepEqual(recorder.asked, [{ action, target }]);
      }
    });
  });
});

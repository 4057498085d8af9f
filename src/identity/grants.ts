// Groups, their members, every kind of role assignment (users and groups, on projects, domains and the
// system), role inference rules and the role assignment report. Each method enforces its Keystone rule
// (identity:create_group, identity:create_grant, identity:create_implied_role, …) before it looks
// anything up, so a forbidden caller learns nothing; then each named thing must exist (404).
import { randomUUID } from 'node:crypto';
import { AuthError, NotFoundError, ValidationError } from '../errors/index.ts';
import type { Authorizer, RuleTarget } from './authorize.ts';
import type { DeferredInput } from './directory.ts';
import {
  BUILTIN_IMPLICATIONS,
  type Credentials,
  DEFAULT_DOMAIN,
  type Domain,
  expandRoles,
  type GrantActor,
  type GrantScope,
  type Group,
  type Project,
  type Role,
  type RoleImplication,
  type User,
} from './model.ts';
import type { IdentityRepository } from './ports.ts';
import type { GroupInput } from './requests.ts';
import type { IdentityService } from './service.ts';

/** One assignment as GET /v3/role_assignments reports it. */
export interface AssignmentView {
  actor: GrantActor;
  scope: GrantScope;
  role: Role;
  /** With `effective`: the assigned role this one is implied by (Keystone's `prior_role` link). */
  priorRole?: Role;
  /** With `effective`: the group whose assignment this user's is (Keystone's `membership` link). */
  viaGroup?: string;
  /** Filled only when names were asked for (and the thing still exists). */
  names?: {
    user?: User | null;
    group?: Group | null;
    project?: Project | null;
    domain?: Domain | null;
  };
}

/** The filters of GET /v3/role_assignments. */
export interface AssignmentFilter {
  userId?: string;
  groupId?: string;
  projectId?: string;
  domainId?: string;
  system?: boolean;
  roleId?: string;
}

/** The rule names of one grant action on a project or domain, and on the system, per actor. */
const GRANT_RULES = {
  create: {
    target: 'identity:create_grant',
    user: 'identity:create_system_grant_for_user',
    group: 'identity:create_system_grant_for_group',
  },
  check: {
    target: 'identity:check_grant',
    user: 'identity:check_system_grant_for_user',
    group: 'identity:check_system_grant_for_group',
  },
  revoke: {
    target: 'identity:revoke_grant',
    user: 'identity:revoke_system_grant_for_user',
    group: 'identity:revoke_system_grant_for_group',
  },
  list: {
    target: 'identity:list_grants',
    user: 'identity:list_system_grants_for_user',
    group: 'identity:list_system_grants_for_group',
  },
} as const;
type GrantAction = keyof typeof GRANT_RULES;

/** Keystone's one implication no rule may have: nothing implies admin. */
const PROHIBITED_IMPLIED = new Set(['admin']);

export interface GrantDirectoryOptions {
  repository: IdentityRepository;
  authorizer: Authorizer;
  /** How the service resolves a user's groups and the inference rules in force. */
  roles: Pick<IdentityService, 'actorsOf' | 'implicationRules'>;
}

export class GrantDirectory {
  readonly #repo: IdentityRepository;
  readonly #authorizer: Authorizer;
  readonly #roles: GrantDirectoryOptions['roles'];

  constructor(options: GrantDirectoryOptions) {
    this.#repo = options.repository;
    this.#authorizer = options.authorizer;
    this.#roles = options.roles;
  }

  // Groups

  async listGroups(caller: Credentials, filter: { name?: string; domainId?: string }): Promise<Group[]> {
    this.#authorizer.enforce('identity:list_groups', caller);
    return this.#repo.listGroups(filter);
  }

  async createGroup(caller: Credentials, input: DeferredInput<GroupInput>): Promise<Group> {
    this.#authorizer.enforce('identity:create_group', caller);
    const { name, description, domainId } = input();
    const domain = domainId ?? DEFAULT_DOMAIN.id;
    if (!(await this.#repo.findDomain(domain))) throw new NotFoundError(`Could not find domain: ${domain}.`);
    const group: Group = {
      id: randomUUID().replaceAll('-', ''),
      name: name as string,
      domain_id: domain,
      description: description ?? '',
    };
    await this.#repo.createGroup(group);
    return group;
  }

  async getGroup(caller: Credentials, id: string): Promise<Group> {
    this.#authorizer.enforce('identity:get_group', caller);
    return this.#findGroup(id);
  }

  async updateGroup(caller: Credentials, id: string, changes: DeferredInput<GroupInput>): Promise<Group> {
    this.#authorizer.enforce('identity:update_group', caller);
    const group = await this.#findGroup(id);
    const input = changes();
    if (input.domainId !== undefined && input.domainId !== group.domain_id) {
      throw new ValidationError('BAD_REQUEST', 'Update of `domain_id` is not allowed.');
    }
    const updated: Group = {
      ...group,
      name: input.name ?? group.name,
      description: input.description ?? group.description,
    };
    await this.#repo.updateGroup(updated);
    return updated;
  }

  /** Deletes a group with its memberships and role assignments (one statement, by cascade). */
  async deleteGroup(caller: Credentials, id: string): Promise<void> {
    this.#authorizer.enforce('identity:delete_group', caller);
    if (!(await this.#repo.deleteGroup(id))) throw new NotFoundError(`Could not find group: ${id}.`);
  }

  async listGroupUsers(caller: Credentials, groupId: string): Promise<User[]> {
    this.#authorizer.enforce('identity:list_users_in_group', caller);
    await this.#findGroup(groupId);
    return this.#repo.listGroupMembers(groupId);
  }

  async addGroupUser(caller: Credentials, groupId: string, userId: string): Promise<void> {
    this.#authorizer.enforce('identity:add_user_to_group', caller, { userId });
    await this.#findGroup(groupId);
    await this.#findUser(userId);
    await this.#repo.addGroupMember(groupId, userId);
  }

  /** Resolves when the user is in the group; NOT_FOUND otherwise. */
  async checkGroupUser(caller: Credentials, groupId: string, userId: string): Promise<void> {
    this.#authorizer.enforce('identity:check_user_in_group', caller, { userId });
    await this.#findGroup(groupId);
    await this.#findUser(userId);
    if (!(await this.#repo.listGroupMembers(groupId)).some((u) => u.id === userId)) {
      throw notAMember(groupId, userId);
    }
  }

  async removeGroupUser(caller: Credentials, groupId: string, userId: string): Promise<void> {
    this.#authorizer.enforce('identity:remove_user_from_group', caller, { userId });
    await this.#findGroup(groupId);
    await this.#findUser(userId);
    if (!(await this.#repo.removeGroupMember(groupId, userId))) throw notAMember(groupId, userId);
  }

  /** The groups a user is in (GET /users/{id}/groups): the user itself may ask. */
  async listUserGroups(caller: Credentials, userId: string): Promise<Group[]> {
    this.#authorizer.enforce('identity:list_groups_for_user', caller, { userId });
    await this.#findUser(userId);
    return this.#repo.listUserGroups(userId);
  }

  // Role assignments of users and groups on projects, domains and the system

  async createGrant(
    caller: Credentials,
    actor: GrantActor,
    scope: GrantScope,
    roleId: string,
  ): Promise<void> {
    await this.#grantTarget(caller, 'create', actor, scope, roleId);
    await this.#repo.grant(actor, scope, roleId);
  }

  /** Resolves when the actor holds the role there (as assigned, not implied); NOT_FOUND otherwise. */
  async checkGrant(caller: Credentials, actor: GrantActor, scope: GrantScope, roleId: string): Promise<void> {
    await this.#grantTarget(caller, 'check', actor, scope, roleId);
    if ((await this.#repo.listGrants({ actors: [actor], scope, roleId })).length === 0) {
      throw missingAssignment(actor, scope, roleId);
    }
  }

  async revokeGrant(
    caller: Credentials,
    actor: GrantActor,
    scope: GrantScope,
    roleId: string,
  ): Promise<void> {
    await this.#grantTarget(caller, 'revoke', actor, scope, roleId);
    if (!(await this.#repo.revoke(actor, scope, roleId))) throw missingAssignment(actor, scope, roleId);
  }

  /** The roles assigned to the actor there (GET …/users/{id}/roles, …/groups/{id}/roles). */
  async listGrants(caller: Credentials, actor: GrantActor, scope: GrantScope): Promise<Role[]> {
    await this.#grantTarget(caller, 'list', actor, scope, null);
    return (await this.#repo.listGrants({ actors: [actor], scope })).map((a) => a.role);
  }

  /** The enabled domains the caller holds a role on, itself or through a group (GET /auth/domains). */
  async listOwnDomains(caller: Credentials): Promise<Domain[]> {
    const actors = await this.#roles.actorsOf(caller.userId);
    const ids = new Set(
      (await this.#repo.listGrants({ actors, scopeType: 'domain' })).map((a) => a.scope.id),
    );
    return (await this.#repo.listDomains()).filter((d) => d.enabled && ids.has(d.id));
  }

  // Role inference rules

  async createImplication(caller: Credentials, priorId: string, impliedId: string): Promise<RoleImplication> {
    this.#authorizer.enforce('identity:create_implied_role', caller);
    const prior = await this.#findRole(priorId);
    const implied = await this.#findRole(impliedId);
    if (PROHIBITED_IMPLIED.has(implied.name)) {
      throw new AuthError('FORBIDDEN', `${impliedId} cannot be an implied roles.`);
    }
    if (!prior.domain_id && implied.domain_id) {
      throw new AuthError('FORBIDDEN', 'Global role cannot imply a domain-specific role');
    }
    await this.#repo.createImplication(prior.id, implied.id);
    return { prior, implied };
  }

  /** One rule (GET and HEAD /roles/{prior}/implies/{implied}); the built-in ones are found too. */
  async getImplication(
    caller: Credentials,
    priorId: string,
    impliedId: string,
    action: 'identity:get_implied_role' | 'identity:check_implied_role' = 'identity:get_implied_role',
  ): Promise<RoleImplication> {
    this.#authorizer.enforce(action, caller);
    await this.#findRole(priorId);
    await this.#findRole(impliedId);
    const rule = (await this.#roles.implicationRules()).find(
      (r) => r.prior.id === priorId && r.implied.id === impliedId,
    );
    if (!rule) throw missingImplication(priorId, impliedId);
    return rule;
  }

  /** Deletes a stored rule; the built-in ones (admin ⇒ member ⇒ reader) are immutable (403). */
  async deleteImplication(caller: Credentials, priorId: string, impliedId: string): Promise<void> {
    this.#authorizer.enforce('identity:delete_implied_role', caller);
    const prior = await this.#findRole(priorId);
    const implied = await this.#findRole(impliedId);
    if (BUILTIN_IMPLICATIONS.some((b) => b.prior === prior.name && b.implied === implied.name)) {
      throw new AuthError('FORBIDDEN', `The inference rule from ${priorId} to ${impliedId} is immutable.`);
    }
    if (!(await this.#repo.deleteImplication(priorId, impliedId)))
      throw missingImplication(priorId, impliedId);
  }

  /** The roles one role implies directly (GET /roles/{prior}/implies). */
  async listImplied(caller: Credentials, priorId: string): Promise<{ prior: Role; implies: Role[] }> {
    this.#authorizer.enforce('identity:list_implied_roles', caller);
    const prior = await this.#findRole(priorId);
    const rules = (await this.#roles.implicationRules()).filter((r) => r.prior.id === prior.id);
    return { prior, implies: rules.map((r) => r.implied) };
  }

  /** Every rule, grouped by prior role (GET /role_inferences). */
  async listInferenceRules(caller: Credentials): Promise<{ prior: Role; implies: Role[] }[]> {
    this.#authorizer.enforce('identity:list_role_inference_rules', caller);
    const grouped = new Map<string, { prior: Role; implies: Role[] }>();
    for (const rule of await this.#roles.implicationRules()) {
      const entry = grouped.get(rule.prior.id) ?? { prior: rule.prior, implies: [] };
      entry.implies.push(rule.implied);
      grouped.set(rule.prior.id, entry);
    }
    return [...grouped.values()];
  }

  // The role assignment report

  /**
   * Role assignments narrowed by user or group, project, domain or the system, and role. With
   * `effective`, as Keystone: group assignments become one per member, each role also stands for the
   * roles it implies, and domain-specific roles stand only for those.
   */
  async listRoleAssignments(
    caller: Credentials,
    filter: AssignmentFilter,
    options: { includeNames: boolean; effective?: boolean },
  ): Promise<AssignmentView[]> {
    this.#authorizer.enforce('identity:list_role_assignments', caller, { userId: filter.userId ?? null });
    const both = (a: unknown, b: unknown, message: string) => {
      if (a && b) throw new ValidationError('BAD_REQUEST', message);
    };
    both(filter.projectId, filter.domainId, 'Specify a domain or project, not both');
    both(filter.system, filter.domainId, 'Specify system or domain, not both');
    both(filter.system, filter.projectId, 'Specify system or project, not both');
    both(filter.userId, filter.groupId, 'Specify a user or group, not both');
    both(
      options.effective,
      filter.groupId,
      'Combining effective and group filter will always result in an empty list.',
    );
    const scope: GrantScope | undefined = filter.projectId
      ? { type: 'project', id: filter.projectId }
      : filter.domainId
        ? { type: 'domain', id: filter.domainId }
        : undefined;
    const scopeType = filter.system ? 'system' : undefined;

    let found: AssignmentView[];
    if (!options.effective) {
      const actors: GrantActor[] | undefined = filter.userId
        ? [{ type: 'user', id: filter.userId }]
        : filter.groupId
          ? [{ type: 'group', id: filter.groupId }]
          : undefined;
      found = await this.#repo.listGrants({ actors, scope, scopeType, roleId: filter.roleId });
    } else {
      const actors = filter.userId ? await this.#roles.actorsOf(filter.userId) : undefined;
      const stored = await this.#repo.listGrants({ actors, scope, scopeType });
      const rules = await this.#roles.implicationRules();
      // Users' own assignments first, then those through groups, so a role held both ways shows once, as held.
      const perUser: AssignmentView[] = [];
      for (const a of stored) if (a.actor.type === 'user') perUser.push(a);
      for (const a of stored) {
        if (a.actor.type !== 'group') continue;
        for (const member of await this.#repo.listGroupMembers(a.actor.id)) {
          perUser.push({ ...a, actor: { type: 'user', id: member.id }, viaGroup: a.actor.id });
        }
      }
      const seen = new Set<string>();
      found = [];
      for (const a of perUser) {
        if (filter.userId && a.actor.id !== filter.userId) continue;
        for (const { role, prior } of expandRoles([a.role], rules)) {
          const key = `${a.actor.id}/${a.scope.type}/${a.scope.id}/${role.id}`;
          if (seen.has(key)) continue;
          seen.add(key);
          found.push({ ...a, role, ...(prior ? { priorRole: prior } : {}) });
        }
      }
      if (filter.roleId) found = found.filter((a) => a.role.id === filter.roleId);
    }
    if (!options.includeNames) return found;
    return Promise.all(
      found.map(async (a) => ({
        ...a,
        names: {
          user: a.actor.type === 'user' ? await this.#repo.findUser(a.actor.id) : undefined,
          group: a.actor.type === 'group' ? await this.#repo.findGroup(a.actor.id) : undefined,
          project: a.scope.type === 'project' ? await this.#repo.findProject(a.scope.id) : undefined,
          domain: a.scope.type === 'domain' ? await this.#repo.findDomain(a.scope.id) : undefined,
        },
      })),
    );
  }

  /**
   * The rule first (on the project or domain, and the user), then the target, the actor and the role
   * must exist in that order; a domain-specific role only on a project of its domain (403).
   */
  async #grantTarget(
    caller: Credentials,
    action: GrantAction,
    actor: GrantActor,
    scope: GrantScope,
    roleId: string | null,
  ): Promise<void> {
    const target: RuleTarget = actor.type === 'user' ? { userId: actor.id } : {};
    if (scope.type === 'system') {
      this.#authorizer.enforce(GRANT_RULES[action][actor.type], caller, target);
    } else {
      if (scope.type === 'project') target.projectId = scope.id;
      else target.domainId = scope.id;
      this.#authorizer.enforce(GRANT_RULES[action].target, caller, target);
    }
    let projectDomain: string | null = null;
    if (scope.type === 'project') {
      const project = await this.#repo.findProject(scope.id);
      if (!project) throw new NotFoundError(`Could not find project: ${scope.id}.`);
      projectDomain = project.domain_id;
    } else if (scope.type === 'domain' && !(await this.#repo.findDomain(scope.id))) {
      throw new NotFoundError(`Could not find domain: ${scope.id}.`);
    }
    if (actor.type === 'user') await this.#findUser(actor.id);
    else await this.#findGroup(actor.id);
    if (roleId === null) return;
    const role = await this.#findRole(roleId);
    if (action === 'create' && role.domain_id && projectDomain !== null && role.domain_id !== projectDomain) {
      throw new AuthError(
        'FORBIDDEN',
        `Project ${scope.id} must be in the same domain as the role ${roleId} being assigned.`,
      );
    }
  }

  async #findGroup(id: string): Promise<Group> {
    const group = await this.#repo.findGroup(id);
    if (!group) throw new NotFoundError(`Could not find group: ${id}.`);
    return group;
  }

  async #findUser(id: string): Promise<User> {
    const user = await this.#repo.findUser(id);
    if (!user) throw new NotFoundError(`Could not find user: ${id}.`);
    return user;
  }

  async #findRole(id: string): Promise<Role> {
    const role = await this.#repo.findRole(id);
    if (!role) throw new NotFoundError(`Could not find role: ${id}.`);
    return role;
  }
}

function notAMember(groupId: string, userId: string): NotFoundError {
  return new NotFoundError(`Could not find user: ${userId} in group: ${groupId}.`);
}

function missingImplication(priorId: string, impliedId: string): NotFoundError {
  return new NotFoundError(`Could not find implied role: ${priorId} implies ${impliedId}.`);
}

function missingAssignment(actor: GrantActor, scope: GrantScope, roleId: string): NotFoundError {
  const where = scope.type === 'system' ? 'system' : scope.id;
  return new NotFoundError(
    `Could not find role assignment with role: ${roleId}, user or group: ${actor.id}, project, domain, or system: ${where}.`,
  );
}

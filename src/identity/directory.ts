// What callers of the Keystone API may read and change: projects, users, roles and role assignments.
// Every method takes the caller's credentials and enforces its Keystone rule (identity:get_project,
// identity:create_grant, …) with the target Keystone gives it, so a route only parses and renders.
import { randomUUID } from 'node:crypto';
import { AuthError, NotFoundError, ValidationError } from '../errors/index.ts';
import type { Authorizer } from './authorize.ts';
import {
  BUILTIN_ROLES,
  type Credentials,
  DEFAULT_DOMAIN,
  type Domain,
  type Project,
  type Role,
  type User,
} from './model.ts';
import type { IdentityRepository } from './ports.ts';
import { checkName, type DomainInput } from './requests.ts';
import type { IdentityService } from './service.ts';

/**
 * A request's input, read only after the caller is authorized and the target found, so a bad body
 * answers after 403 and 404 as in Keystone, and a forbidden caller learns nothing from validation.
 */
export type DeferredInput<T> = () => T;

export interface ProjectInput {
  name?: string;
  description?: string;
  enabled?: boolean;
  domainId?: string;
  tags?: string[];
  parentId?: string;
  /** Create a domain through the project API. */
  isDomain?: boolean;
}

/** A domain as the project API shows it (Keystone's project acting as a domain). */
const domainAsProject = (domain: Domain): Project => ({
  id: domain.id,
  name: domain.name,
  domain_id: domain.id,
  description: domain.description,
  enabled: domain.enabled,
  tags: [],
  parent_id: null,
  is_domain: true,
});

/** The list filters of GET /v3/projects, as Keystone reads them (tags: comma-separated lists). */
export interface ProjectFilter {
  name?: string;
  domainId?: string;
  enabled?: boolean;
  parentId?: string;
  isDomain?: boolean;
  tags?: string[];
  tagsAny?: string[];
  notTags?: string[];
  notTagsAny?: string[];
}

/** The list filters of GET /v3/users. */
export interface UserFilter {
  name?: string;
  domainId?: string;
  enabled?: boolean;
}

export interface UserInput {
  /** Attributes besides Keystone's own, kept and echoed (Keystone's `extra`); merged on update. */
  extra?: Record<string, unknown>;
  name?: string;
  password?: string;
  defaultProjectId?: string | null;
  email?: string | null;
  description?: string | null;
  enabled?: boolean;
  domainId?: string;
}

/** One role of one user on one project, as the grant API names it. */
export interface GrantRef {
  projectId: string;
  userId: string;
  roleId: string;
}

export interface IdentityDirectoryOptions {
  repository: IdentityRepository;
  authorizer: Authorizer;
  /** Creates and changes records with their validation and password hashing. */
  accounts: Pick<IdentityService, 'createProject' | 'createUser' | 'updateUser' | 'createRole' | 'actorsOf'>;
}

export class IdentityDirectory {
  readonly #repo: IdentityRepository;
  readonly #authorizer: Authorizer;
  readonly #accounts: IdentityDirectoryOptions['accounts'];

  constructor(options: IdentityDirectoryOptions) {
    this.#repo = options.repository;
    this.#authorizer = options.authorizer;
    this.#accounts = options.accounts;
  }

  /** The projects the caller holds a role on (GET /auth/projects): no rule, a caller may know its own. */
  async listOwnProjects(caller: Credentials): Promise<Project[]> {
    return this.#projectsOfUser(caller.userId);
  }

  /** Whether the caller holds a role on the system (GET /auth/system); no rule, as for its projects. */
  async hasOwnSystemRoles(caller: Credentials): Promise<boolean> {
    return (await this.#repo.listSystemAssignments({ userId: caller.userId })).length > 0;
  }

  /**
   * All projects, for those the rule lets list them (administrators and system readers by default).
   * As in Keystone the rule alone decides: a policy that opens it to others shows them every project.
   */
  async listProjects(caller: Credentials, filter: ProjectFilter): Promise<Project[]> {
    this.#authorizer.enforce('identity:list_projects', caller);
    const has = (p: Project, tag: string) => (p.tags ?? []).includes(tag);
    // Projects, or (is_domain=true) the domains; as in Keystone, never both in one list.
    const candidates =
      filter.isDomain === true
        ? (await this.#repo.listDomains())
            .map(domainAsProject)
            .filter((d) => filter.name === undefined || d.name === filter.name)
            .filter(() => filter.domainId === undefined && filter.parentId === undefined)
        : await this.#repo.listProjects({ name: filter.name, domainId: filter.domainId });
    const projects = candidates.filter(
      (p) =>
        (filter.enabled === undefined || p.enabled === filter.enabled) &&
        (filter.parentId === undefined || (p.parent_id ?? p.domain_id) === filter.parentId) &&
        (filter.tags === undefined || filter.tags.every((t) => has(p, t))) &&
        (filter.tagsAny === undefined || filter.tagsAny.some((t) => has(p, t))) &&
        (filter.notTags === undefined || !filter.notTags.every((t) => has(p, t))) &&
        (filter.notTagsAny === undefined || !filter.notTagsAny.some((t) => has(p, t))),
    );
    return projects;
  }

  async createProject(caller: Credentials, input: DeferredInput<ProjectInput>): Promise<Project> {
    this.#authorizer.enforce('identity:create_project', caller);
    const { name, description, enabled, domainId, tags, parentId, isDomain } = input();
    if (isDomain) {
      if (parentId !== undefined) {
        throw new ValidationError('BAD_REQUEST', 'only root projects are allowed to act as domains.');
      }
      checkName(name, 'domain');
      const domain: Domain = {
        id: randomUUID().replaceAll('-', ''),
        name: name as string,
        description: description ?? '',
        enabled: enabled ?? true,
      };
      await this.#repo.createDomain(domain);
      return domainAsProject(domain);
    }
    return this.#accounts.createProject({
      name: name as string,
      description,
      enabled,
      domainId,
      tags,
      parentId,
    });
  }

  /** The project first, then the rule on its id: an unknown project is 404 whoever asks. */
  async getProject(caller: Credentials, id: string): Promise<Project> {
    const project = await this.#findProject(id);
    this.#authorizer.enforce('identity:get_project', caller, { projectId: project.id });
    return project;
  }

  async updateProject(
    caller: Credentials,
    id: string,
    changes: DeferredInput<ProjectInput>,
  ): Promise<Project> {
    this.#authorizer.enforce('identity:update_project', caller, { projectId: id });
    const project = await this.#findProject(id);
    const input = changes();
    // What places a project cannot change, as Keystone refuses it.
    const moved: [string, boolean][] = [
      [
        'domain_id',
        input.domainId !== undefined && input.domainId !== (project.is_domain ? null : project.domain_id),
      ],
      [
        'parent_id',
        input.parentId !== undefined && input.parentId !== (project.parent_id ?? project.domain_id),
      ],
      ['is_domain', input.isDomain !== undefined && input.isDomain !== (project.is_domain === true)],
    ];
    for (const [field, changed] of moved) {
      if (changed) throw new ValidationError('BAD_REQUEST', `Update of \`${field}\` is not allowed.`);
    }
    if (project.is_domain) {
      const domain = await this.#findDomain(id);
      const changed: Domain = {
        ...domain,
        name: input.name ?? domain.name,
        description: input.description ?? domain.description,
        enabled: input.enabled ?? domain.enabled,
      };
      await this.#repo.updateDomain(changed);
      return domainAsProject(changed);
    }
    const updated: Project = {
      ...project,
      name: input.name ?? project.name,
      description: input.description ?? project.description,
      enabled: input.enabled ?? project.enabled,
      tags: input.tags ?? project.tags,
    };
    await this.#repo.updateProject(updated);
    return updated;
  }

  /** A project's tags (GET /projects/{id}/tags); the rule sees the project. */
  async listProjectTags(caller: Credentials, id: string): Promise<string[]> {
    this.#authorizer.enforce('identity:list_project_tags', caller, { projectId: id });
    return (await this.#findProject(id)).tags ?? [];
  }

  /** Resolves when the project has the tag (GET /projects/{id}/tags/{tag}); 404 otherwise. */
  async checkProjectTag(caller: Credentials, id: string, tag: string): Promise<void> {
    this.#authorizer.enforce('identity:get_project_tag', caller, { projectId: id });
    const project = await this.#findProject(id);
    if (!(project.tags ?? []).includes(tag)) throw new NotFoundError(`Tag ${tag} was not found.`);
  }

  /** Replaces every tag of a project (PUT /projects/{id}/tags); returns the new list. */
  async replaceProjectTags(
    caller: Credentials,
    id: string,
    tags: DeferredInput<string[]>,
  ): Promise<string[]> {
    this.#authorizer.enforce('identity:update_project_tags', caller, { projectId: id });
    const project = await this.#findProject(id);
    const updated = { ...project, tags: tags() };
    await this.#repo.updateProject(updated);
    return updated.tags;
  }

  /** Adds one tag (PUT /projects/{id}/tags/{tag}); at most 80, as Keystone. */
  async addProjectTag(caller: Credentials, id: string, tag: DeferredInput<string>): Promise<string[]> {
    this.#authorizer.enforce('identity:create_project_tag', caller, { projectId: id });
    const project = await this.#findProject(id);
    const name = tag();
    const tags = project.tags ?? [];
    if (tags.includes(name)) return tags;
    if (tags.length >= 80) {
      throw new ValidationError('BAD_REQUEST', 'The number of tags is over the limit of 80.');
    }
    await this.#repo.updateProject({ ...project, tags: [...tags, name] });
    return [...tags, name];
  }

  /** Deletes one tag (DELETE /projects/{id}/tags/{tag}); 404 when the project does not have it. */
  async deleteProjectTag(caller: Credentials, id: string, tag: string): Promise<void> {
    this.#authorizer.enforce('identity:delete_project_tag', caller, { projectId: id });
    const project = await this.#findProject(id);
    const tags = project.tags ?? [];
    if (!tags.includes(tag)) throw new NotFoundError(`Tag ${tag} was not found.`);
    await this.#repo.updateProject({ ...project, tags: tags.filter((t) => t !== tag) });
  }

  /** Deletes every tag of a project (DELETE /projects/{id}/tags). */
  async deleteProjectTags(caller: Credentials, id: string): Promise<void> {
    this.#authorizer.enforce('identity:delete_project_tags', caller, { projectId: id });
    const project = await this.#findProject(id);
    await this.#repo.updateProject({ ...project, tags: [] });
  }

  async listDomains(caller: Credentials, filter: { name?: string; enabled?: boolean }): Promise<Domain[]> {
    this.#authorizer.enforce('identity:list_domains', caller);
    return (await this.#repo.listDomains()).filter(
      (d) =>
        (filter.name === undefined || d.name === filter.name) &&
        (filter.enabled === undefined || d.enabled === filter.enabled),
    );
  }

  /** The rule sees the domain id (a project-scoped caller may read its project's domain); 404 after. */
  async getDomain(caller: Credentials, id: string): Promise<Domain> {
    this.#authorizer.enforce('identity:get_domain', caller, { domainId: id });
    return this.#findDomain(id);
  }

  async createDomain(caller: Credentials, input: DeferredInput<DomainInput>): Promise<Domain> {
    this.#authorizer.enforce('identity:create_domain', caller);
    const { name, description, enabled } = input();
    const domain: Domain = {
      id: randomUUID().replaceAll('-', ''),
      name: name as string,
      description: description ?? '',
      enabled: enabled ?? true,
    };
    await this.#repo.createDomain(domain);
    return domain;
  }

  async updateDomain(caller: Credentials, id: string, changes: DeferredInput<DomainInput>): Promise<Domain> {
    this.#authorizer.enforce('identity:update_domain', caller, { domainId: id });
    const domain = await this.#findDomain(id);
    const input = changes();
    const updated: Domain = {
      ...domain,
      name: input.name ?? domain.name,
      description: input.description ?? domain.description,
      enabled: input.enabled ?? domain.enabled,
    };
    await this.#repo.updateDomain(updated);
    return updated;
  }

  /**
   * Deletes a domain with its projects and users. As in Keystone, only a disabled domain (403
   * otherwise); the default domain, which the admin account lives in, is never deleted here.
   */
  async deleteDomain(caller: Credentials, id: string): Promise<void> {
    this.#authorizer.enforce('identity:delete_domain', caller, { domainId: id });
    const domain = await this.#findDomain(id);
    if (domain.enabled) {
      throw new AuthError('FORBIDDEN', 'Cannot delete a domain that is enabled, please disable it first.');
    }
    if (domain.id === DEFAULT_DOMAIN.id)
      throw new AuthError('FORBIDDEN', 'The default domain cannot be deleted.');
    if (!(await this.#repo.deleteDomain(id))) throw new NotFoundError(`Could not find domain: ${id}.`);
  }

  /** Only a leaf of the hierarchy, as in Keystone (403 while it has child projects). */
  async deleteProject(caller: Credentials, id: string): Promise<void> {
    this.#authorizer.enforce('identity:delete_project', caller, { projectId: id });
    const domain = await this.#repo.findDomain(id);
    if (domain) {
      if (domain.enabled) {
        throw new AuthError(
          'FORBIDDEN',
          `cannot delete an enabled project acting as a domain. Please disable the project ${id} first.`,
        );
      }
      if (domain.id === DEFAULT_DOMAIN.id)
        throw new AuthError('FORBIDDEN', 'The default domain cannot be deleted.');
      await this.#repo.deleteDomain(id);
      return;
    }
    if ((await this.#repo.listProjects()).some((p) => p.parent_id === id)) {
      throw new AuthError(
        'FORBIDDEN',
        `Cannot delete the project ${id} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.`,
      );
    }
    if (!(await this.#repo.deleteProject(id))) throw new NotFoundError(`Could not find project: ${id}.`);
  }

  async listUsers(caller: Credentials, filter: UserFilter): Promise<User[]> {
    this.#authorizer.enforce('identity:list_users', caller);
    const users = await this.#repo.listUsers({ name: filter.name, domainId: filter.domainId });
    return users.filter((u) => filter.enabled === undefined || u.enabled === filter.enabled);
  }

  async createUser(caller: Credentials, input: DeferredInput<UserInput>): Promise<User> {
    this.#authorizer.enforce('identity:create_user', caller);
    const { name, ...rest } = input();
    return this.#accounts.createUser({ name: name as string, ...rest });
  }

  async getUser(caller: Credentials, id: string): Promise<User> {
    return this.#authorizedUser(caller, id, 'identity:get_user');
  }

  async updateUser(
    caller: Credentials,
    id: string,
    changes: DeferredInput<Omit<UserInput, 'domainId'>>,
  ): Promise<User> {
    await this.#authorizedUser(caller, id, 'identity:update_user');
    return this.#accounts.updateUser(id, changes());
  }

  async deleteUser(caller: Credentials, id: string): Promise<void> {
    this.#authorizer.enforce('identity:delete_user', caller, { userId: id });
    if (!(await this.#repo.deleteUser(id))) throw new NotFoundError(`Could not find user: ${id}.`);
  }

  /** The projects a user holds a role on (GET /users/{id}/projects). */
  async listUserProjects(caller: Credentials, userId: string): Promise<Project[]> {
    const user = await this.#authorizedUser(caller, userId, 'identity:list_user_projects');
    return this.#projectsOfUser(user.id);
  }

  /** Global roles, or with `domainId` that domain's roles (Keystone's identity:list_domain_roles). */
  async listRoles(caller: Credentials, filter: { name?: string; domainId?: string }): Promise<Role[]> {
    this.#authorizer.enforce(filter.domainId ? 'identity:list_domain_roles' : 'identity:list_roles', caller);
    return this.#repo.listRoles(filter);
  }

  /**
   * A global role, or a domain-specific one under its own rule (identity:create_domain_role). Which rule
   * applies is told apart before the body is read (`domainSpecific`: the body names a domain), as
   * Keystone must; a body that then names none is a global role under the domain rule, never the reverse.
   */
  async createRole(
    caller: Credentials,
    input: DeferredInput<{ name?: string; domainId?: string }>,
    domainSpecific = false,
  ): Promise<Role> {
    this.#authorizer.enforce(domainSpecific ? 'identity:create_domain_role' : 'identity:create_role', caller);
    const { name, domainId } = input();
    if (domainId !== undefined && !domainSpecific)
      this.#authorizer.enforce('identity:create_domain_role', caller);
    return this.#accounts.createRole(name as string, domainId);
  }

  /** A domain-specific role is read under identity:get_domain_role; an unknown one 404s after the rule. */
  async getRole(caller: Credentials, id: string): Promise<Role> {
    return this.#authorizedRole(caller, id, 'identity:get_role', 'identity:get_domain_role');
  }

  /**
   * Renames a role (PATCH /roles/{id}). The built-in roles are immutable, as `keystone-manage
   * bootstrap --immutable-roles` makes them: the rules and the implied roles name them.
   */
  async updateRole(caller: Credentials, id: string, input: DeferredInput<{ name?: string }>): Promise<Role> {
    const role = await this.#authorizedRole(
      caller,
      id,
      'identity:update_role',
      'identity:update_domain_role',
    );
    const { name } = input();
    if (name === undefined || name === role.name) return role;
    if ((BUILTIN_ROLES as readonly string[]).includes(role.name)) {
      throw new AuthError('FORBIDDEN', `Unable to update immutable role ${id}.`);
    }
    const renamed = { ...role, name };
    if (!(await this.#repo.updateRole(renamed))) throw new NotFoundError(`Could not find role: ${id}.`);
    return renamed;
  }

  /** Deletes a role with its assignments and inference rules (by cascade, in one statement). */
  async deleteRole(caller: Credentials, id: string): Promise<void> {
    await this.#authorizedRole(caller, id, 'identity:delete_role', 'identity:delete_domain_role');
    if (!(await this.#repo.deleteRole(id))) throw new NotFoundError(`Could not find role: ${id}.`);
  }

  /** As Keystone: the global rule when the role is global or unknown (then 404), the domain rule otherwise. */
  async #authorizedRole(
    caller: Credentials,
    id: string,
    action: string,
    domainAction: string,
  ): Promise<Role> {
    const role = await this.#repo.findRole(id);
    if (role?.domain_id) this.#authorizer.enforce(domainAction, caller, { domainId: role.domain_id });
    else this.#authorizer.enforce(action, caller);
    if (!role) throw new NotFoundError(`Could not find role: ${id}.`);
    return role;
  }

  /** A domain-specific role only on a project of its domain, as Keystone (403 otherwise). */
  async createGrant(caller: Credentials, grant: GrantRef): Promise<void> {
    await this.#grantTarget(caller, grant, 'identity:create_grant');
    const role = await this.#repo.findRole(grant.roleId);
    const project = await this.#repo.findProject(grant.projectId);
    if (role?.domain_id && project && role.domain_id !== project.domain_id) {
      throw new AuthError(
        'FORBIDDEN',
        `Project ${grant.projectId} must be in the same domain as the role ${grant.roleId} being assigned.`,
      );
    }
    await this.#repo.grantRole(grant.userId, grant.projectId, grant.roleId);
  }

  /** Resolves when the user holds the role on the project; NOT_FOUND otherwise. */
  async checkGrant(caller: Credentials, grant: GrantRef): Promise<void> {
    await this.#grantTarget(caller, grant, 'identity:check_grant');
    const found = await this.#repo.listAssignments(grant);
    if (found.length === 0) throw missingAssignment(grant);
  }

  async revokeGrant(caller: Credentials, grant: GrantRef): Promise<void> {
    await this.#grantTarget(caller, grant, 'identity:revoke_grant');
    if (!(await this.#repo.revokeRole(grant.userId, grant.projectId, grant.roleId))) {
      throw missingAssignment(grant);
    }
  }

  /** The roles a user holds on a project; the rule sees the user, as Keystone's does. */
  async listGrants(caller: Credentials, of: { projectId: string; userId: string }): Promise<Role[]> {
    this.#authorizer.enforce('identity:list_grants', caller, { userId: of.userId });
    const found = await this.#repo.listAssignments(of);
    return found.map((a) => a.role);
  }

  /** A user's roles on the system (GET /system/users/{id}/roles); 404 for an unknown user. */
  async listSystemGrants(caller: Credentials, userId: string): Promise<Role[]> {
    const user = await this.#authorizedUser(caller, userId, 'identity:list_system_grants_for_user');
    return (await this.#repo.listSystemAssignments({ userId: user.id })).map((a) => a.role);
  }

  async createSystemGrant(caller: Credentials, userId: string, roleId: string): Promise<void> {
    await this.#systemGrantTarget(caller, userId, roleId, 'identity:create_system_grant_for_user');
    await this.#repo.grantSystemRole(userId, roleId);
  }

  /** Resolves when the user holds the role on the system; NOT_FOUND otherwise. */
  async checkSystemGrant(caller: Credentials, userId: string, roleId: string): Promise<void> {
    await this.#systemGrantTarget(caller, userId, roleId, 'identity:check_system_grant_for_user');
    if ((await this.#repo.listSystemAssignments({ userId, roleId })).length === 0) {
      throw missingSystemAssignment(userId, roleId);
    }
  }

  async revokeSystemGrant(caller: Credentials, userId: string, roleId: string): Promise<void> {
    this.#authorizer.enforce('identity:revoke_system_grant_for_user', caller, { userId });
    if (!(await this.#repo.findRole(roleId))) throw new NotFoundError(`Could not find role: ${roleId}.`);
    if (!(await this.#repo.revokeSystemRole(userId, roleId))) throw missingSystemAssignment(userId, roleId);
  }

  async #domainAsProject(id: string): Promise<Project | null> {
    const domain = await this.#repo.findDomain(id);
    return domain ? domainAsProject(domain) : null;
  }

  async #findDomain(id: string): Promise<Domain> {
    const domain = await this.#repo.findDomain(id);
    if (!domain) throw new NotFoundError(`Could not find domain: ${id}.`);
    return domain;
  }

  /** The rule sees the user; then role and user must exist (Keystone builds its target from both). */
  async #systemGrantTarget(
    caller: Credentials,
    userId: string,
    roleId: string,
    action: string,
  ): Promise<void> {
    this.#authorizer.enforce(action, caller, { userId });
    if (!(await this.#repo.findRole(roleId))) throw new NotFoundError(`Could not find role: ${roleId}.`);
    if (!(await this.#repo.findUser(userId))) throw new NotFoundError(`Could not find user: ${userId}.`);
  }

  /** A project, or a domain as the project API shows it. */
  async #findProject(id: string): Promise<Project> {
    const project = (await this.#repo.findProject(id)) ?? (await this.#domainAsProject(id));
    if (!project) throw new NotFoundError(`Could not find project: ${id}.`);
    return project;
  }

  /** The rule on the user id first, then the user: a forbidden caller cannot probe which users exist. */
  async #authorizedUser(caller: Credentials, id: string, action: string): Promise<User> {
    this.#authorizer.enforce(action, caller, { userId: id });
    const user = await this.#repo.findUser(id);
    if (!user) throw new NotFoundError(`Could not find user: ${id}.`);
    return user;
  }

  /** Projects the user holds a role on, itself or through one of its groups. */
  async #projectsOfUser(userId: string): Promise<Project[]> {
    const actors = await this.#accounts.actorsOf(userId);
    const grants = await this.#repo.listGrants({ actors, scopeType: 'project' });
    const ids = new Set(grants.map((a) => a.scope.id));
    return (await this.#repo.listProjects()).filter((p) => ids.has(p.id));
  }

  /** The grant rules see the project; then each of project, user and role must exist, in that order. */
  async #grantTarget(caller: Credentials, grant: GrantRef, action: string): Promise<void> {
    this.#authorizer.enforce(action, caller, { projectId: grant.projectId });
    if (!(await this.#repo.findProject(grant.projectId)))
      throw new NotFoundError(`Could not find project: ${grant.projectId}.`);
    if (!(await this.#repo.findUser(grant.userId)))
      throw new NotFoundError(`Could not find user: ${grant.userId}.`);
    if (!(await this.#repo.findRole(grant.roleId)))
      throw new NotFoundError(`Could not find role: ${grant.roleId}.`);
  }
}

function missingSystemAssignment(userId: string, roleId: string): NotFoundError {
  return new NotFoundError(
    `Could not find role assignment with role: ${roleId}, user or group: ${userId}, project, domain, or system: system.`,
  );
}

function missingAssignment(grant: GrantRef): NotFoundError {
  return new NotFoundError(
    `Could not find role assignment with role: ${grant.roleId}, user or group: ${grant.userId}, project, domain, or system: ${grant.projectId}.`,
  );
}

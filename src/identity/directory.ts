// What callers of the Keystone API may read and change: projects, users, roles and role assignments.
// Every method takes the caller's credentials and enforces its Keystone rule (identity:get_project,
// identity:create_grant, …) with the target Keystone gives it, so a route only parses and renders.
import { NotFoundError } from '../errors/index.ts';
import type { Authorizer } from './authorize.ts';
import type { Credentials, Project, Role, User } from './model.ts';
import type { IdentityRepository } from './ports.ts';
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
}

export interface UserInput {
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

export interface RoleAssignment {
  userId: string;
  projectId: string;
  role: Role;
  /** Filled only when names were asked for (and the user or project still exists). */
  user: User | null;
  project: Project | null;
}

export interface IdentityDirectoryOptions {
  repository: IdentityRepository;
  authorizer: Authorizer;
  /** Creates and changes records with their validation and password hashing. */
  accounts: Pick<IdentityService, 'createProject' | 'createUser' | 'updateUser' | 'createRole'>;
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

  /** All projects for those the rule lets list them; a non-admin sees only projects it has a role on. */
  async listProjects(caller: Credentials, filter: { name?: string; domainId?: string }): Promise<Project[]> {
    this.#authorizer.enforce('identity:list_projects', caller);
    const projects = await this.#repo.listProjects(filter);
    if (caller.isAdmin) return projects;
    const mine = new Set(
      (await this.#repo.listAssignments({ userId: caller.userId })).map((a) => a.projectId),
    );
    return projects.filter((p) => mine.has(p.id));
  }

  async createProject(caller: Credentials, input: DeferredInput<ProjectInput>): Promise<Project> {
    this.#authorizer.enforce('identity:create_project', caller);
    const { name, description, enabled, domainId } = input();
    return this.#accounts.createProject({ name: name as string, description, enabled, domainId });
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
    changes: DeferredInput<Omit<ProjectInput, 'domainId'>>,
  ): Promise<Project> {
    this.#authorizer.enforce('identity:update_project', caller, { projectId: id });
    const project = await this.#findProject(id);
    const input = changes();
    const updated: Project = {
      ...project,
      name: input.name ?? project.name,
      description: input.description ?? project.description,
      enabled: input.enabled ?? project.enabled,
    };
    await this.#repo.updateProject(updated);
    return updated;
  }

  async deleteProject(caller: Credentials, id: string): Promise<void> {
    this.#authorizer.enforce('identity:delete_project', caller, { projectId: id });
    if (!(await this.#repo.deleteProject(id))) throw new NotFoundError(`Could not find project: ${id}.`);
  }

  async listUsers(caller: Credentials, filter: { name?: string; domainId?: string }): Promise<User[]> {
    this.#authorizer.enforce('identity:list_users', caller);
    return this.#repo.listUsers(filter);
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

  async listRoles(caller: Credentials, filter: { name?: string }): Promise<Role[]> {
    this.#authorizer.enforce('identity:list_roles', caller);
    return this.#repo.listRoles(filter);
  }

  async createRole(caller: Credentials, input: DeferredInput<{ name?: string }>): Promise<Role> {
    this.#authorizer.enforce('identity:create_role', caller);
    return this.#accounts.createRole(input().name as string);
  }

  async getRole(caller: Credentials, id: string): Promise<Role> {
    this.#authorizer.enforce('identity:get_role', caller);
    const role = await this.#repo.findRole(id);
    if (!role) throw new NotFoundError(`Could not find role: ${id}.`);
    return role;
  }

  async deleteRole(caller: Credentials, id: string): Promise<void> {
    this.#authorizer.enforce('identity:delete_role', caller);
    if (!(await this.#repo.deleteRole(id))) throw new NotFoundError(`Could not find role: ${id}.`);
  }

  async createGrant(caller: Credentials, grant: GrantRef): Promise<void> {
    await this.#grantTarget(caller, grant, 'identity:create_grant');
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

  /** Role assignments narrowed by user, project and role; with names, each also carries its user and project. */
  async listRoleAssignments(
    caller: Credentials,
    filter: { userId?: string; projectId?: string; roleId?: string },
    options: { includeNames: boolean },
  ): Promise<RoleAssignment[]> {
    this.#authorizer.enforce('identity:list_role_assignments', caller, { userId: filter.userId ?? null });
    const found = await this.#repo.listAssignments(filter);
    return Promise.all(
      found.map(async (a) => ({
        ...a,
        user: options.includeNames ? await this.#repo.findUser(a.userId) : null,
        project: options.includeNames ? await this.#repo.findProject(a.projectId) : null,
      })),
    );
  }

  async #findProject(id: string): Promise<Project> {
    const project = await this.#repo.findProject(id);
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

  async #projectsOfUser(userId: string): Promise<Project[]> {
    const ids = new Set((await this.#repo.listAssignments({ userId })).map((a) => a.projectId));
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

function missingAssignment(grant: GrantRef): NotFoundError {
  return new NotFoundError(
    `Could not find role assignment with role: ${grant.roleId}, user or group: ${grant.userId}, project, domain, or system: ${grant.projectId}.`,
  );
}

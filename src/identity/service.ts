// The identity service: password and token authentication, token validation and revocation, and the
// management of users, projects and role assignments. Tokens are random; only their SHA-256 is stored.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AuthError, ImageTrustError, NotFoundError, ValidationError } from '../errors/index.ts';
import type { Action, Authorizer } from './authorize.ts';
import { IdentityDirectory, type UserInput } from './directory.ts';
import { type FailedLoginUser, toFailedLoginUser } from './failed-login.ts';
import { GrantDirectory } from './grants.ts';
import {
  BUILTIN_IMPLICATIONS,
  BUILTIN_ROLES,
  type Credentials,
  DEFAULT_DOMAIN,
  type Domain,
  expandImpliedRoles,
  expandRoles,
  GOVERNANCE_ROLES,
  type GrantActor,
  type GrantScope,
  type Project,
  type Role,
  type RoleImplication,
  type TokenRecord,
  type User,
} from './model.ts';
import { generatePassword, hashPassword, verifyPassword } from './passwords.ts';
import type { IdentityClock, IdentityRepository } from './ports.ts';
import { checkExtra, checkName } from './requests.ts';

export interface IdentityServiceOptions {
  repository: IdentityRepository;
  tokenTtlSeconds: number;
  /** Issues and expires tokens; the composition root gives the system clock, tests one they move. */
  clock: IdentityClock;
  /** The policy the API's rules (identity:validate_token, identity:create_grant, …) run under. */
  authorizer: Authorizer;
  /**
   * The project (default domain) whose admins are cloud admins (`is_admin`); default `admin`, the
   * bootstrap project. The admin role on any other project makes its holder that project's admin only.
   */
  adminProjectName?: string;
  /** Keystone without admin_project_name: the admin role on any project is cloud admin (conformance runs only). */
  adminOnAnyProject?: boolean;
  /**
   * The deployment's key for hashing the unknown user names of failed logins (see failedLoginUser);
   * without it such names are not recorded at all.
   */
  loginNameKey?: Buffer;
}

/** How a caller names a user or project: by id, or by name within a domain. */
export interface NamedRef {
  id?: string;
  name?: string;
  domain?: { id?: string; name?: string };
}

export interface AuthRequest {
  password?: { user: NamedRef & { password?: string } };
  token?: { id: string };
  scope?: { project?: NamedRef; domain?: { id?: string; name?: string }; system?: boolean } | 'unscoped';
}

export interface IssuedToken {
  token: string;
  credentials: Credentials;
  user: User;
  project: Project | null;
  /** A domain-scoped token's domain. */
  domain: Domain | null;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Keystone's audit id: 16 random bytes, URL-safe base64 without padding (22 characters). */
const newAuditId = () => randomBytes(16).toString('base64url');

/** A token stored before audit ids were kept gets a stable one derived from its hash. */
const auditIdsOf = (record: TokenRecord): string[] =>
  record.audit_ids?.length
    ? record.audit_ids
    : [Buffer.from(record.token_hash.slice(0, 32), 'hex').toString('base64url')];

const unauthenticated = () =>
  new AuthError('UNAUTHENTICATED', 'The request you have made requires authentication.');

let decoy: Promise<string> | null = null;
/** A hash of a random password, verified against when the user does not exist. */
function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}

export class IdentityService {
  readonly #repo: IdentityRepository;
  readonly #ttl: number;
  readonly #clock: IdentityClock;
  readonly #authorizer: Authorizer;
  readonly #adminProjectName: string;
  readonly #adminOnAnyProject: boolean;
  readonly #loginNameKey: Buffer | null;
  /** Projects, users, roles and grants as API callers see them, each behind its rule. */
  readonly directory: IdentityDirectory;
  /** Groups, role assignments of every kind, inference rules and the assignment report, each behind its rule. */
  readonly grants: GrantDirectory;

  constructor(options: IdentityServiceOptions) {
    this.#repo = options.repository;
    this.#ttl = options.tokenTtlSeconds;
    this.#clock = options.clock;
    this.#authorizer = options.authorizer;
    this.#adminProjectName = options.adminProjectName ?? 'admin';
    this.#adminOnAnyProject = options.adminOnAnyProject ?? false;
    this.#loginNameKey = options.loginNameKey ?? null;
    this.directory = new IdentityDirectory({
      repository: options.repository,
      authorizer: options.authorizer,
      accounts: this,
    });
    this.grants = new GrantDirectory({
      repository: options.repository,
      authorizer: options.authorizer,
      roles: this,
    });
  }

  get repository(): IdentityRepository {
    return this.#repo;
  }

  /**
   * Creates the built-in roles and, on first start, the admin project and user. Returns the admin
   * password only when it was generated here, so the caller can tell the operator once.
   */
  async bootstrap(adminPassword?: string): Promise<{ created: boolean; generatedPassword?: string }> {
    await this.ensureBuiltinRoles();
    // Several API processes may start at once on one database: whoever loses a race re-reads.
    const name = this.#adminProjectName;
    const project =
      (await this.#repo.findProjectByName(DEFAULT_DOMAIN.id, name)) ??
      (await ignoreConflict(() =>
        this.createProject({ name, description: 'Bootstrap project for administering the cloud.' }),
      )) ??
      (await this.#repo.findProjectByName(DEFAULT_DOMAIN.id, name));
    if (!project) throw new ImageTrustError('INTERNAL', 'The admin project could not be created.');
    if (await this.#repo.findUserByName(DEFAULT_DOMAIN.id, 'admin')) return { created: false };
    const password = adminPassword || generatePassword();
    const user = await ignoreConflict(() =>
      this.createUser({ name: 'admin', password, defaultProjectId: project.id }),
    );
    if (!user) return { created: false };
    await this.grantRole(user.id, project.id, 'admin');
    return { created: true, generatedPassword: adminPassword ? undefined : password };
  }

  /** Creates the admin, member and reader roles if they are missing (idempotent, safe to race). */
  async ensureBuiltinRoles(): Promise<void> {
    for (const name of [...BUILTIN_ROLES, ...GOVERNANCE_ROLES]) {
      if (await this.#repo.findRoleByName(name)) continue;
      await ignoreConflict(() => this.#repo.createRole({ id: randomUUID().replaceAll('-', ''), name }));
    }
  }

  async authenticate(request: AuthRequest): Promise<IssuedToken> {
    let user: User;
    let methods: string[];
    // A token traded for another (the `token` method) hands on its own expiry, as Keystone does, so a
    // chain of renewals ends when the first token would have.
    let inheritedExpiry: Date | null = null;
    // The first token's audit id, kept as the second of each token obtained from it (Keystone's chain).
    let auditChainId: string | null = null;
    if (request.password) {
      const ref = request.password.user;
      const found = await this.#findUserRef(ref);
      // One message and the same scrypt cost for an unknown user and a wrong password, so neither the
      // answer nor its timing reveals which users exist.
      const valid = await verifyPassword(ref.password ?? '', found?.password_hash ?? (await decoyHash()));
      if (
        !found?.enabled ||
        !valid ||
        !found.password_hash ||
        !(await this.#domainEnabled(found.domain_id))
      ) {
        throw unauthenticated();
      }
      user = found;
      methods = ['password'];
    } else if (request.token) {
      // An unknown, expired or revoked token is Keystone's TokenNotFound here: 404, not 401.
      const credentials = await this.validateToken(request.token.id).catch((error: unknown) => {
        if (error instanceof AuthError) throw new NotFoundError('Could not find token.');
        throw error;
      });
      const found = await this.#repo.findUser(credentials.userId);
      if (!found)
        throw new AuthError('UNAUTHENTICATED', 'The request you have made requires authentication.');
      user = found;
      // Keystone keeps the methods that proved the first token and adds `token`.
      methods = [...new Set([...credentials.methods, 'token'])];
      inheritedExpiry = new Date(credentials.expiresAt);
      auditChainId = credentials.auditIds?.at(-1) ?? null;
    } else {
      throw new ValidationError('BAD_REQUEST', 'Expecting to find identity.methods with password or token.');
    }

    let project: Project | null = null;
    let domain: Domain | null = null;
    const system = request.scope !== 'unscoped' && request.scope?.system === true;
    const domainRef = request.scope !== 'unscoped' ? request.scope?.domain : undefined;
    if (domainRef) {
      domain =
        domainRef.id !== undefined
          ? await this.#repo.findDomain(domainRef.id)
          : await this.#repo.findDomainByName(domainRef.name ?? '');
      if (!domain?.enabled) throw unauthenticated();
    } else if (request.scope !== 'unscoped' && !system) {
      if (request.scope?.project) {
        project = await this.#findProjectRef(request.scope.project);
        if (!project)
          throw new AuthError('UNAUTHENTICATED', 'The request you have made requires authentication.');
      } else {
        // No scope asked for (with either method): the user's default project, as Keystone, when it is
        // enabled, in an enabled domain and the user has a role on it; an unscoped token otherwise.
        project = await this.#usableDefaultProject(user);
      }
    }
    let roles: string[] = [];
    if (system) {
      roles = await this.effectiveRoleNames(user.id, { type: 'system', id: 'all' });
      if (roles.length === 0) {
        throw new AuthError('UNAUTHENTICATED', `User ${user.id} has no access to the system.`);
      }
    }
    if (domain) {
      roles = await this.effectiveRoleNames(user.id, { type: 'domain', id: domain.id });
      if (roles.length === 0) {
        throw new AuthError('UNAUTHENTICATED', `User ${user.id} has no access to domain ${domain.id}.`);
      }
    }
    if (project) {
      if (!project.enabled || !(await this.#domainEnabled(project.domain_id)))
        throw new AuthError('UNAUTHENTICATED', `Project ${project.id} is disabled.`);
      roles = await this.effectiveRoleNames(user.id, { type: 'project', id: project.id });
      if (roles.length === 0) {
        throw new AuthError('UNAUTHENTICATED', `User ${user.id} has no access to project ${project.id}.`);
      }
    }
    const token = randomBytes(32).toString('base64url');
    const issuedAt = this.#clock.now();
    // A token obtained with another expires exactly when that one does, as in Keystone.
    const expiresAt = inheritedExpiry ?? new Date(issuedAt.getTime() + this.#ttl * 1000);
    const record: TokenRecord = {
      token_hash: hashToken(token),
      user_id: user.id,
      project_id: project?.id ?? null,
      methods,
      issued_at: issuedAt.toISOString(),
      expires_at: expiresAt.toISOString(),
      revoked: false,
      audit_ids: auditChainId ? [newAuditId(), auditChainId] : [newAuditId()],
      system,
      domain_id: domain?.id ?? null,
    };
    await this.#repo.saveToken(record);
    return {
      token,
      user,
      project,
      domain,
      credentials: this.#credentials(user, project, roles, record, domain),
    };
  }

  /**
   * How the log names the user of a failed login: the submitted name (or id) when it names a user, an
   * HMAC of it otherwise (it may be a password typed in the wrong field). Both lookups always run, so
   * the time taken does not tell which one matched.
   */
  async failedLoginUser(submitted: string | null, domain: string | null): Promise<FailedLoginUser> {
    if (submitted === null) return toFailedLoginUser(null, false, this.#loginNameKey);
    const inDefaultDomain = domain === DEFAULT_DOMAIN.id || domain === DEFAULT_DOMAIN.name;
    const [byId, byName] = await Promise.all([
      this.#repo.findUser(submitted),
      inDefaultDomain ? this.#repo.findUserByName(DEFAULT_DOMAIN.id, submitted) : null,
    ]);
    return toFailedLoginUser(submitted, byId !== null || byName !== null, this.#loginNameKey);
  }

  /** Resolves a token to credentials; expired, revoked or unknown tokens are UNAUTHENTICATED. */
  async validateToken(token: string): Promise<Credentials> {
    const record = token ? await this.#repo.findToken(hashToken(token)) : null;
    const invalid = unauthenticated;
    if (!record || record.revoked || Date.parse(record.expires_at) <= this.#clock.now().getTime())
      throw invalid();
    const user = await this.#repo.findUser(record.user_id);
    if (!user?.enabled || !(await this.#domainEnabled(user.domain_id))) throw invalid();
    const project = record.project_id ? await this.#repo.findProject(record.project_id) : null;
    if (record.project_id && (!project?.enabled || !(await this.#domainEnabled(project.domain_id))))
      throw invalid();
    const domain = record.domain_id ? await this.#repo.findDomain(record.domain_id) : null;
    if (record.domain_id && !domain?.enabled) throw invalid();
    const scope: GrantScope | null = project
      ? { type: 'project', id: project.id }
      : domain
        ? { type: 'domain', id: domain.id }
        : record.system
          ? { type: 'system', id: 'all' }
          : null;
    const roles = scope ? await this.effectiveRoleNames(user.id, scope) : [];
    // A token whose roles were all revoked no longer grants anything on its project, domain or the system.
    if (scope && roles.length === 0) throw invalid();
    return this.#credentials(user, project, roles, record, domain);
  }

  /**
   * As Keystone: a default project may name a project that does not exist (yet), never a domain. A
   * token asked without a scope is then unscoped (see #usableDefaultProject).
   */
  async #checkDefaultProject(projectId: string | null | undefined): Promise<void> {
    if (projectId && (await this.#repo.findDomain(projectId))) {
      throw new ValidationError('BAD_REQUEST', "User's default project ID cannot be a domain ID.");
    }
  }

  async #usableDefaultProject(user: User): Promise<Project | null> {
    const project = user.default_project_id ? await this.#repo.findProject(user.default_project_id) : null;
    if (!project?.enabled || !(await this.#domainEnabled(project.domain_id))) return null;
    const roles = await this.effectiveRoleNames(user.id, { type: 'project', id: project.id });
    return roles.length > 0 ? project : null;
  }

  /** The user and the groups it is in: whoever a role may have been granted to on its behalf. */
  async actorsOf(userId: string): Promise<GrantActor[]> {
    const groups = await this.#repo.listUserGroups(userId);
    return [{ type: 'user', id: userId }, ...groups.map((g): GrantActor => ({ type: 'group', id: g.id }))];
  }

  /**
   * Every inference rule in force: the built-in ones (admin ⇒ member ⇒ reader, which cannot be
   * removed) and those stored through the implied-roles API.
   */
  async implicationRules(): Promise<RoleImplication[]> {
    const roles = await this.#repo.listRoles();
    const byName = (name: string) => roles.find((r) => r.name === name);
    const builtin = BUILTIN_IMPLICATIONS.flatMap(({ prior, implied }) => {
      const p = byName(prior);
      const i = byName(implied);
      return p && i ? [{ prior: p, implied: i }] : [];
    });
    return [...builtin, ...(await this.#repo.listImplications())];
  }

  /**
   * The names of the roles a user holds on a project, a domain or the system: granted to it or to one
   * of its groups, with the roles those imply; domain-specific roles only through what they imply.
   */
  async effectiveRoleNames(userId: string, scope: GrantScope): Promise<string[]> {
    const assigned = await this.#repo.listGrants({ actors: await this.actorsOf(userId), scope });
    if (assigned.length === 0) return [];
    const unique = [...new Map(assigned.map((a) => [a.role.id, a.role])).values()];
    return expandRoles(unique, await this.implicationRules()).map((e) => e.role.name);
  }

  async #domainEnabled(domainId: string): Promise<boolean> {
    return (await this.#repo.findDomain(domainId))?.enabled ?? false;
  }

  #credentials(
    user: User,
    project: Project | null,
    roles: string[],
    record: TokenRecord,
    domain: Domain | null,
  ): Credentials {
    const credentials = toCredentials(
      user,
      project,
      roles,
      record.methods,
      new Date(record.issued_at),
      new Date(record.expires_at),
    );
    // Cloud-wide administration is the admin role on the admin project or on the system (Keystone's
    // system administrator), never the admin role on any other project.
    // identity.adminOnAnyProject (conformance runs only) widens it to the admin role on any project.
    const adminProject =
      (this.#adminOnAnyProject && project !== null) ||
      (project?.domain_id === DEFAULT_DOMAIN.id && project.name === this.#adminProjectName);
    return {
      ...credentials,
      isAdmin: credentials.isAdmin && (adminProject || record.system === true),
      projectDomainId: project?.domain_id ?? null,
      systemScope: record.system ? 'all' : null,
      scopeDomainId: domain?.id ?? null,
      scopeDomainName: domain?.name ?? null,
      auditIds: auditIdsOf(record),
    };
  }

  async revokeToken(token: string): Promise<void> {
    if (!(await this.#repo.revokeToken(hashToken(token)))) {
      throw new NotFoundError('Could not find token.');
    }
  }

  /** Another token's credentials for a caller the identity:validate_token rule allows (GET /auth/tokens). */
  async validateSubjectToken(caller: Credentials, subjectToken: string): Promise<Credentials> {
    return this.#subjectOf(caller, subjectToken, 'identity:validate_token');
  }

  /** Resolves when the token is valid and the identity:check_token rule allows the caller (HEAD /auth/tokens). */
  async checkSubjectToken(caller: Credentials, subjectToken: string): Promise<void> {
    await this.#subjectOf(caller, subjectToken, 'identity:check_token');
  }

  /** Revokes a valid token when the identity:revoke_token rule allows the caller (DELETE /auth/tokens). */
  async revokeSubjectToken(caller: Credentials, subjectToken: string): Promise<void> {
    await this.#subjectOf(caller, subjectToken, 'identity:revoke_token');
    await this.revokeToken(subjectToken);
  }

  /** The roles a token names, with their ids, as a token body lists them. */
  async rolesOf(credentials: Credentials): Promise<Role[]> {
    const roles = await this.#repo.listRoles({ all: true });
    return credentials.roles.map((name) => ({ id: roles.find((r) => r.name === name)?.id ?? name, name }));
  }

  /**
   * A missing, unknown or expired subject token is 404, as in Keystone; only a valid one is put to the
   * rule, whose target is the token's user (so a user may always handle its own tokens).
   */
  async #subjectOf(caller: Credentials, subjectToken: string, action: Action): Promise<Credentials> {
    if (!subjectToken) throw new NotFoundError('Could not find token.');
    let subject: Credentials;
    try {
      subject = await this.validateToken(subjectToken);
    } catch {
      throw new NotFoundError('Could not find token.');
    }
    this.#authorizer.enforce(action, caller, { userId: subject.userId });
    return subject;
  }

  async createProject(input: {
    name: string;
    description?: string;
    enabled?: boolean;
    domainId?: string;
    tags?: string[];
    parentId?: string;
  }): Promise<Project> {
    checkName(input.name, 'project');
    const parent = await this.#parentOf(input.parentId, input.domainId);
    const domainId = parent?.domain_id ?? (await this.#existingDomain(input.domainId ?? input.parentId));
    const project: Project = {
      id: randomUUID().replaceAll('-', ''),
      name: input.name,
      domain_id: domainId,
      description: input.description ?? '',
      enabled: input.enabled ?? true,
      tags: input.tags ?? [],
      parent_id: parent?.id ?? null,
    };
    await this.#repo.createProject(project);
    return project;
  }

  async createUser(input: UserInput & { name: string }): Promise<User> {
    checkName(input.name, 'user');
    const domainId = await this.#existingDomain(input.domainId);
    await this.#checkDefaultProject(input.defaultProjectId);
    const user: User = {
      id: randomUUID().replaceAll('-', ''),
      name: input.name,
      domain_id: domainId,
      password_hash: input.password ? await hashPassword(input.password) : null,
      default_project_id: input.defaultProjectId ?? null,
      email: input.email ?? null,
      description: input.description ?? null,
      enabled: input.enabled ?? true,
      extra: input.extra ?? {},
    };
    await this.#repo.createUser(user);
    return user;
  }

  async updateUser(
    id: string,
    changes: {
      name?: string;
      password?: string;
      enabled?: boolean;
      email?: string | null;
      description?: string | null;
      defaultProjectId?: string | null;
      extra?: Record<string, unknown>;
    },
  ): Promise<User> {
    const user = await this.#repo.findUser(id);
    if (!user) throw new NotFoundError(`Could not find user: ${id}.`);
    if (changes.name !== undefined) checkName(changes.name, 'user');
    await this.#checkDefaultProject(changes.defaultProjectId);
    const updated: User = {
      ...user,
      name: changes.name ?? user.name,
      enabled: changes.enabled ?? user.enabled,
      email: changes.email === undefined ? user.email : changes.email,
      description: changes.description === undefined ? user.description : changes.description,
      default_project_id:
        changes.defaultProjectId === undefined ? user.default_project_id : changes.defaultProjectId,
      password_hash:
        changes.password !== undefined ? await hashPassword(changes.password) : user.password_hash,
      extra: changes.extra ? checkExtra({ ...user.extra, ...changes.extra }) : user.extra,
    };
    await this.#repo.updateUser(updated);
    // As in Keystone, a new password or a disabled account ends every session the user had: a stolen
    // token must not outlive the password it was issued for, nor come back when the user is re-enabled.
    if (changes.password !== undefined || (user.enabled && !updated.enabled)) {
      await this.#repo.revokeUserTokens(id);
    }
    return updated;
  }

  /**
   * A user's own password change (POST /v3/users/{id}/password): no policy rule, the original password
   * is the proof, as in Keystone. A wrong password, an unknown or a disabled user are all
   * UNAUTHENTICATED, with the same scrypt cost. Revokes every token of the user.
   */
  async changePassword(userId: string, originalPassword: string, newPassword: string): Promise<void> {
    const user = userId ? await this.#repo.findUser(userId) : null;
    const valid = await verifyPassword(originalPassword, user?.password_hash ?? (await decoyHash()));
    if (!user?.enabled || !valid || !user.password_hash) {
      throw new AuthError('UNAUTHENTICATED', 'The request you have made requires authentication.');
    }
    await this.updateUser(user.id, { password: newPassword });
  }

  /** A global role, or (with `domainId`, which must exist) a domain-specific one. */
  async createRole(name: string, domainId?: string): Promise<Role> {
    checkName(name, 'role');
    if (domainId !== undefined) await this.#existingDomain(domainId);
    const role: Role = { id: randomUUID().replaceAll('-', ''), name, domain_id: domainId ?? null };
    await this.#repo.createRole(role);
    return role;
  }

  /** Grants a role (by id or name) to a user on a project. */
  async grantRole(userId: string, projectId: string, roleIdOrName: string): Promise<void> {
    const role = (await this.#repo.findRole(roleIdOrName)) ?? (await this.#repo.findRoleByName(roleIdOrName));
    if (!role) throw new NotFoundError(`Could not find role: ${roleIdOrName}.`);
    if (!(await this.#repo.findUser(userId))) throw new NotFoundError(`Could not find user: ${userId}.`);
    if (!(await this.#repo.findProject(projectId)))
      throw new NotFoundError(`Could not find project: ${projectId}.`);
    await this.#repo.grantRole(userId, projectId, role.id);
  }

  /** Grants a role (by id or name) to a user on the system (`keystone-manage bootstrap` style). */
  async grantSystemRole(userId: string, roleIdOrName: string): Promise<void> {
    const role = (await this.#repo.findRole(roleIdOrName)) ?? (await this.#repo.findRoleByName(roleIdOrName));
    if (!role) throw new NotFoundError(`Could not find role: ${roleIdOrName}.`);
    if (!(await this.#repo.findUser(userId))) throw new NotFoundError(`Could not find user: ${userId}.`);
    await this.#repo.grantSystemRole(userId, role.id);
  }

  /** Finds a user by id or name (the CLI accepts either, as OpenStack's does). */
  async resolveUser(idOrName: string): Promise<User> {
    const user =
      (await this.#repo.findUser(idOrName)) ?? (await this.#repo.findUserByName(DEFAULT_DOMAIN.id, idOrName));
    if (!user) throw new NotFoundError(`Could not find user: ${idOrName}.`);
    return user;
  }

  async resolveProject(idOrName: string): Promise<Project> {
    const project =
      (await this.#repo.findProject(idOrName)) ??
      (await this.#repo.findProjectByName(DEFAULT_DOMAIN.id, idOrName));
    if (!project) throw new NotFoundError(`Could not find project: ${idOrName}.`);
    return project;
  }

  async #findUserRef(ref: NamedRef): Promise<User | null> {
    if (ref.id) return this.#repo.findUser(ref.id);
    if (!ref.name) throw new ValidationError('BAD_REQUEST', 'Expecting to find id or name in user.');
    const domainId = await this.#domainOf(ref);
    return domainId ? this.#repo.findUserByName(domainId, ref.name) : null;
  }

  async #findProjectRef(ref: NamedRef): Promise<Project | null> {
    if (ref.id) return this.#repo.findProject(ref.id);
    if (!ref.name) throw new ValidationError('BAD_REQUEST', 'Expecting to find id or name in project.');
    const domainId = await this.#domainOf(ref);
    return domainId ? this.#repo.findProjectByName(domainId, ref.name) : null;
  }

  /** The id of the domain a name is looked up in; null when it names no domain. */
  async #domainOf(ref: NamedRef): Promise<string | null> {
    if (!ref.domain) throw new ValidationError('BAD_REQUEST', 'Expecting to find domain in user or project.');
    const domain: Domain | null =
      ref.domain.id !== undefined
        ? await this.#repo.findDomain(ref.domain.id)
        : await this.#repo.findDomainByName(ref.domain.name ?? '');
    return domain?.id ?? null;
  }

  /**
   * The parent project a new project names, as Keystone checks it: none when the parent is a domain
   * (or not given); 404 when it does not exist; 400 when it is in another domain than the one named,
   * or it or one of its ancestors is disabled.
   */
  async #parentOf(parentId: string | undefined, domainId: string | undefined): Promise<Project | null> {
    if (parentId === undefined || (await this.#repo.findDomain(parentId))) {
      if (parentId !== undefined && domainId !== undefined && parentId !== domainId) {
        throw new ValidationError(
          'BAD_REQUEST',
          `Cannot create project, the parent (${parentId}) is acting as a domain, but this project's domain id (${domainId}) does not match the parent's id.`,
        );
      }
      return null;
    }
    const parent = await this.#repo.findProject(parentId);
    if (!parent) throw new NotFoundError(`Could not find project: ${parentId}.`);
    if (domainId !== undefined && domainId !== parent.domain_id) {
      throw new ValidationError(
        'BAD_REQUEST',
        `Cannot create project, since it specifies its domain_id ${domainId}, but specifies a parent in a different domain (${parent.domain_id}).`,
      );
    }
    const seen = new Set<string>();
    for (let at: Project | null = parent; at && !seen.has(at.id); ) {
      seen.add(at.id);
      if (!at.enabled) {
        throw new ValidationError(
          'BAD_REQUEST',
          `Cannot create project, since its parent (${at.id}) is disabled.`,
        );
      }
      at = at.parent_id ? await this.#repo.findProject(at.parent_id) : null;
    }
    return parent;
  }

  /** The domain a new user or project goes in: `default` when none is named, 404 when it does not exist. */
  async #existingDomain(domainId: string | undefined): Promise<string> {
    if (domainId === undefined) return DEFAULT_DOMAIN.id;
    if (!(await this.#repo.findDomain(domainId)))
      throw new NotFoundError(`Could not find domain: ${domainId}.`);
    return domainId;
  }
}

/** Runs a create that another process may win; returns null when it did. */
async function ignoreConflict<T>(create: () => Promise<T>): Promise<T | null> {
  try {
    return await create();
  } catch (error) {
    if (error instanceof ImageTrustError && error.code === 'CONFLICT') return null;
    throw error;
  }
}

function toCredentials(
  user: User,
  project: Project | null,
  roles: string[],
  methods: string[],
  issuedAt: Date,
  expiresAt: Date,
): Credentials {
  const effective = expandImpliedRoles(roles);
  return {
    userId: user.id,
    userName: user.name,
    domainId: user.domain_id,
    projectId: project?.id ?? null,
    projectName: project?.name ?? null,
    roles: effective,
    isAdmin: effective.includes('admin'),
    methods,
    issuedAt: issuedAt.toISOString(),
    expiresAt: expiresAt.toISOString(),
  };
}

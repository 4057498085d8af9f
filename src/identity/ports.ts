// What identity needs from storage. Adapters live in storage/sql.
import type {
  Domain,
  GrantActor,
  GrantScope,
  Group,
  Project,
  Role,
  RoleImplication,
  StoredAssignment,
  TokenRecord,
  User,
} from './model.ts';

export interface IdentityRepository {
  createDomain(domain: Domain): Promise<void>;
  findDomain(id: string): Promise<Domain | null>;
  findDomainByName(name: string): Promise<Domain | null>;
  listDomains(): Promise<Domain[]>;
  updateDomain(domain: Domain): Promise<void>;
  /** Deletes the domain with its projects, users, groups and roles, and their assignments, at once. */
  deleteDomain(id: string): Promise<boolean>;

  createProject(project: Project): Promise<void>;
  findProject(id: string): Promise<Project | null>;
  findProjectByName(domainId: string, name: string): Promise<Project | null>;
  listProjects(filter?: { name?: string; domainId?: string }): Promise<Project[]>;
  /** Saves name, description, enabled and, when given, the tags (replacing them). */
  updateProject(project: Project): Promise<void>;
  deleteProject(id: string): Promise<boolean>;

  createUser(user: User): Promise<void>;
  findUser(id: string): Promise<User | null>;
  findUserByName(domainId: string, name: string): Promise<User | null>;
  listUsers(filter?: { name?: string; domainId?: string }): Promise<User[]>;
  updateUser(user: User): Promise<void>;
  deleteUser(id: string): Promise<boolean>;

  createRole(role: Role): Promise<void>;
  findRole(id: string): Promise<Role | null>;
  findRoleByName(name: string): Promise<Role | null>;
  /** Global roles only unless `domainId` is given (then that domain's roles); `all`: every role. */
  listRoles(filter?: { name?: string; domainId?: string; all?: boolean }): Promise<Role[]>;
  /** Renames a role; false when it does not exist. */
  updateRole(role: Role): Promise<boolean>;
  deleteRole(id: string): Promise<boolean>;

  grantRole(userId: string, projectId: string, roleId: string): Promise<void>;
  revokeRole(userId: string, projectId: string, roleId: string): Promise<boolean>;
  /** Role assignments, optionally narrowed by user, project or role. */
  listAssignments(filter: {
    userId?: string;
    projectId?: string;
    roleId?: string;
  }): Promise<{ userId: string; projectId: string; role: Role }[]>;

  grantSystemRole(userId: string, roleId: string): Promise<void>;
  revokeSystemRole(userId: string, roleId: string): Promise<boolean>;
  /** System role assignments, optionally narrowed by user or role. */
  listSystemAssignments(filter: {
    userId?: string;
    roleId?: string;
  }): Promise<{ userId: string; role: Role }[]>;

  createGroup(group: Group): Promise<void>;
  findGroup(id: string): Promise<Group | null>;
  listGroups(filter?: { name?: string; domainId?: string }): Promise<Group[]>;
  updateGroup(group: Group): Promise<void>;
  /** Deletes a group with its memberships and role assignments. */
  deleteGroup(id: string): Promise<boolean>;
  /** Adds a user to a group; adding twice is not an error. */
  addGroupMember(groupId: string, userId: string): Promise<void>;
  removeGroupMember(groupId: string, userId: string): Promise<boolean>;
  listGroupMembers(groupId: string): Promise<User[]>;
  listUserGroups(userId: string): Promise<Group[]>;

  /** Any kind of role assignment (user or group; project, domain or system); twice is not an error. */
  grant(actor: GrantActor, scope: GrantScope, roleId: string): Promise<void>;
  revoke(actor: GrantActor, scope: GrantScope, roleId: string): Promise<boolean>;
  /** Stored assignments narrowed by actor(s), scope and role; an empty `actors` list matches none. */
  listGrants(filter: {
    actors?: GrantActor[];
    actorType?: GrantActor['type'];
    scope?: GrantScope;
    scopeType?: GrantScope['type'];
    roleId?: string;
  }): Promise<StoredAssignment[]>;

  /** Stores an inference rule; false when it existed already. */
  createImplication(priorId: string, impliedId: string): Promise<boolean>;
  deleteImplication(priorId: string, impliedId: string): Promise<boolean>;
  /** Stored inference rules, optionally those of one prior role. */
  listImplications(priorId?: string): Promise<RoleImplication[]>;

  saveToken(token: TokenRecord): Promise<void>;
  findToken(tokenHash: string): Promise<TokenRecord | null>;
  revokeToken(tokenHash: string): Promise<boolean>;
  /** Revokes every token issued to a user; returns how many were still unrevoked. */
  revokeUserTokens(userId: string): Promise<number>;
  /** Deletes tokens that expired before `before`; returns how many. */
  purgeTokens(before: string): Promise<number>;
}

/** Where identity reads the time: token issue and expiry. */
export interface IdentityClock {
  now(): Date;
}

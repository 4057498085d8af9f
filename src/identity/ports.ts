// What identity needs from storage. Adapters live in storage/sql.
import type { Domain, Project, Role, TokenRecord, User } from './model.ts';

export interface IdentityRepository {
  createDomain(domain: Domain): Promise<void>;
  findDomain(id: string): Promise<Domain | null>;
  findDomainByName(name: string): Promise<Domain | null>;
  listDomains(): Promise<Domain[]>;
  updateDomain(domain: Domain): Promise<void>;
  /** Deletes the domain with its projects and users (and so their assignments). */
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
  listRoles(filter?: { name?: string }): Promise<Role[]>;
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

// Users, projects, roles and tokens (a Keystone v3 subset), and the credentials every API call carries.

export const DEFAULT_DOMAIN = { id: 'default', name: 'Default' } as const;

/** The built-in roles, each implying the next (admin ⇒ member ⇒ reader), as Keystone's defaults do. */
export const BUILTIN_ROLES = ['admin', 'member', 'reader'] as const;
/** Roles the governance rules name by default: who approves releases, and who reads the whole audit log. */
export const GOVERNANCE_ROLES = ['approver', 'auditor'] as const;
const IMPLIED_ROLES: Record<string, readonly string[]> = { admin: ['member'], member: ['reader'] };

export interface Domain {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
}

export interface Project {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  enabled: boolean;
  /** Keystone's project tags, in the order they were set; absent reads as none. */
  tags?: string[];
  /** The parent project in Keystone's hierarchy; null or absent for a top-level project (its domain). */
  parent_id?: string | null;
  /** A domain seen through the project API (Keystone's projects acting as domains). */
  is_domain?: boolean;
}

export interface User {
  id: string;
  name: string;
  domain_id: string;
  password_hash: string | null;
  default_project_id: string | null;
  email: string | null;
  description: string | null;
  enabled: boolean;
  /** Attributes Keystone keeps besides its own (`extra`), echoed as given; absent reads as none. */
  extra?: Record<string, unknown>;
}

export interface Role {
  id: string;
  name: string;
  /** A domain-specific role's domain: it never appears in a token itself, only the roles it implies. */
  domain_id?: string | null;
}

/** A group of users in a domain; roles granted to it count for each member. */
export interface Group {
  id: string;
  name: string;
  domain_id: string;
  description: string;
}

/** Who a role is granted to. */
export interface GrantActor {
  type: 'user' | 'group';
  id: string;
}

/** Where a role is granted: a project, a domain, or the system (id `all`). */
export interface GrantScope {
  type: 'project' | 'domain' | 'system';
  id: string;
}

/** One stored role assignment. */
export interface StoredAssignment {
  actor: GrantActor;
  scope: GrantScope;
  role: Role;
}

/** A role inference rule: holding `prior` also grants `implied`. */
export interface RoleImplication {
  prior: Role;
  implied: Role;
}

export interface TokenRecord {
  token_hash: string;
  user_id: string;
  project_id: string | null;
  methods: string[];
  issued_at: string;
  expires_at: string;
  revoked: boolean;
  /**
   * Keystone's audit ids: the token's own, then (for a token obtained with another token) the first
   * token's of the chain. Empty only for tokens stored before audit ids were kept.
   */
  audit_ids?: string[];
  /** A system-scoped token (`scope: {"system": {"all": true}}`); project_id is then null. */
  system?: boolean;
  /** A domain-scoped token's domain; project_id is then null. */
  domain_id?: string | null;
}

/** Who is calling, resolved from a valid token; every authorization decision reads only this. */
export interface Credentials {
  userId: string;
  userName: string;
  domainId: string;
  projectId: string | null;
  projectName: string | null;
  /** The domain of the scoped project (absent: the user's domain). */
  projectDomainId?: string | null;
  /** A domain-scoped token's domain (absent or null otherwise). */
  scopeDomainId?: string | null;
  scopeDomainName?: string | null;
  /** `all` for a system-scoped token: policy rules see it as `system_scope`. */
  systemScope?: 'all' | null;
  /** The token's audit ids (its own first), as issued. */
  auditIds?: string[];
  /** Effective role names, implied roles included. */
  roles: string[];
  isAdmin: boolean;
  methods: string[];
  issuedAt: string;
  expiresAt: string;
}

/** The built-in inference rules (admin ⇒ member ⇒ reader) as name pairs; they cannot be deleted. */
export const BUILTIN_IMPLICATIONS: readonly { prior: string; implied: string }[] = Object.entries(
  IMPLIED_ROLES,
).flatMap(([prior, implied]) => implied.map((name) => ({ prior, implied: name })));

/**
 * The roles a set of assigned roles grants, as Keystone expands them: each assigned role, then every
 * role it implies (transitively, each once, cycles tolerated), each implied one with the assigned role
 * it came from. Domain-specific roles are dropped: they only ever stand for the roles they imply.
 */
export function expandRoles(
  assigned: readonly Role[],
  rules: readonly RoleImplication[],
): { role: Role; prior?: Role }[] {
  const out: { role: Role; prior?: Role }[] = [];
  const seen = new Set<string>();
  const add = (role: Role, prior?: Role) => {
    if (seen.has(role.id)) return false;
    seen.add(role.id);
    out.push(prior ? { role, prior } : { role });
    return true;
  };
  const expand = (role: Role, prior: Role) => {
    for (const rule of rules) {
      if (rule.prior.id === role.id && add(rule.implied, prior)) expand(rule.implied, prior);
    }
  };
  // The assigned roles first, so a role both assigned and implied counts as assigned.
  for (const role of assigned) add(role);
  for (const role of assigned) expand(role, role);
  return out.filter((entry) => !entry.role.domain_id);
}

/** Expands role names with the roles they imply, keeping the given order first. */
export function expandImpliedRoles(names: readonly string[]): string[] {
  const out: string[] = [];
  const visit = (name: string) => {
    if (out.includes(name)) return;
    out.push(name);
    for (const implied of IMPLIED_ROLES[name] ?? []) visit(implied);
  };
  names.forEach(visit);
  return out;
}

export function toProjectView(project: Project, baseUrl: string): Record<string, unknown> {
  return {
    id: project.id,
    name: project.name,
    domain_id: project.is_domain ? null : project.domain_id,
    description: project.description,
    enabled: project.enabled,
    is_domain: project.is_domain === true,
    parent_id: project.is_domain ? null : (project.parent_id ?? project.domain_id),
    tags: project.tags ?? [],
    options: {},
    links: { self: `${baseUrl}/v3/projects/${project.id}` },
  };
}

export function toDomainView(domain: Domain, baseUrl: string): Record<string, unknown> {
  return {
    id: domain.id,
    name: domain.name,
    description: domain.description,
    enabled: domain.enabled,
    tags: [],
    options: {},
    links: { self: `${baseUrl}/v3/domains/${domain.id}` },
  };
}

export function toUserView(user: User, baseUrl: string): Record<string, unknown> {
  const view: Record<string, unknown> = {
    ...user.extra,
    id: user.id,
    name: user.name,
    domain_id: user.domain_id,
    enabled: user.enabled,
    password_expires_at: null,
    options: {},
    links: { self: `${baseUrl}/v3/users/${user.id}` },
  };
  if (user.default_project_id) view.default_project_id = user.default_project_id;
  if (user.email) view.email = user.email;
  if (user.description) view.description = user.description;
  return view;
}

export function toRoleView(role: Role, baseUrl: string): Record<string, unknown> {
  return {
    id: role.id,
    name: role.name,
    domain_id: role.domain_id ?? null,
    description: null,
    options: {},
    links: { self: `${baseUrl}/v3/roles/${role.id}` },
  };
}

export function toGroupView(group: Group, baseUrl: string): Record<string, unknown> {
  return {
    id: group.id,
    name: group.name,
    domain_id: group.domain_id,
    description: group.description,
    links: { self: `${baseUrl}/v3/groups/${group.id}` },
  };
}

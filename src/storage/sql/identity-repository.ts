// Users, projects, roles, assignments and tokens on SQL (SQLite or PostgreSQL).

import { ConflictError } from '../../errors/index.ts';
import type {
  Domain,
  GrantActor,
  GrantScope,
  Group,
  IdentityRepository,
  Project,
  Role,
  RoleImplication,
  StoredAssignment,
  TokenRecord,
  User,
} from '../../identity/index.ts';
import { isUniqueViolation, type SqlDatabase, type SqlValue, wrapSqlError } from './database.ts';

type Row = Record<string, unknown>;

const toProject = (r: Row): Project => ({
  id: String(r.id),
  name: String(r.name),
  domain_id: String(r.domain_id),
  description: String(r.description ?? ''),
  enabled: Number(r.enabled) === 1,
  parent_id: (r.parent_id as string | null) ?? null,
});

const toUser = (r: Row): User => ({
  id: String(r.id),
  name: String(r.name),
  domain_id: String(r.domain_id),
  password_hash: (r.password_hash as string | null) ?? null,
  default_project_id: (r.default_project_id as string | null) ?? null,
  email: (r.email as string | null) ?? null,
  description: (r.description as string | null) ?? null,
  enabled: Number(r.enabled) === 1,
  extra: r.extra ? (JSON.parse(String(r.extra)) as Record<string, unknown>) : {},
});

const extraOf = (u: User) => (u.extra && Object.keys(u.extra).length > 0 ? JSON.stringify(u.extra) : null);

const toRole = (r: Row): Role => ({
  id: String(r.id),
  name: String(r.name),
  domain_id: (r.domain_id as string | null) ?? null,
});

const toGroup = (r: Row): Group => ({
  id: String(r.id),
  name: String(r.name),
  domain_id: String(r.domain_id),
  description: String(r.description ?? ''),
});

/** Where each kind of assignment is kept: its table, and the columns naming actor and scope. */
const GRANT_TABLES: {
  actor: GrantActor['type'];
  scope: GrantScope['type'];
  table: string;
  actorColumn: string;
  scopeColumn: string | null;
}[] = [
  {
    actor: 'user',
    scope: 'project',
    table: 'role_assignments',
    actorColumn: 'user_id',
    scopeColumn: 'project_id',
  },
  {
    actor: 'user',
    scope: 'domain',
    table: 'user_domain_roles',
    actorColumn: 'user_id',
    scopeColumn: 'domain_id',
  },
  {
    actor: 'user',
    scope: 'system',
    table: 'system_role_assignments',
    actorColumn: 'user_id',
    scopeColumn: null,
  },
  {
    actor: 'group',
    scope: 'project',
    table: 'group_project_roles',
    actorColumn: 'group_id',
    scopeColumn: 'project_id',
  },
  {
    actor: 'group',
    scope: 'domain',
    table: 'group_domain_roles',
    actorColumn: 'group_id',
    scopeColumn: 'domain_id',
  },
  {
    actor: 'group',
    scope: 'system',
    table: 'group_system_roles',
    actorColumn: 'group_id',
    scopeColumn: null,
  },
];

function grantTable(actor: GrantActor, scope: GrantScope) {
  const found = GRANT_TABLES.find((t) => t.actor === actor.type && t.scope === scope.type);
  if (!found) throw new Error(`no assignments of ${actor.type} on ${scope.type}`);
  return found;
}

const toDomain = (r: Row): Domain => ({
  id: String(r.id),
  name: String(r.name),
  description: String(r.description ?? ''),
  enabled: Number(r.enabled) === 1,
});

export class SqlIdentityRepository implements IdentityRepository {
  readonly #db: SqlDatabase;
  readonly #now: () => Date;

  constructor(db: SqlDatabase, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  /** Runs a write that may hit a unique name; a clash becomes Keystone's CONFLICT. */
  async #write(sql: string, params: SqlValue[], what: string): Promise<void> {
    try {
      await this.#db.run(sql, params);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError('CONFLICT', `Conflict occurred attempting to store ${what}.`, {
          cause: error,
        });
      throw wrapSqlError(error);
    }
  }

  async #filtered<T>(
    table: string,
    map: (r: Row) => T,
    filter: Record<string, string | undefined>,
  ): Promise<T[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    for (const [column, value] of Object.entries(filter)) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    const rows = await this.#db.query(
      `SELECT * FROM ${table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY name, id`,
      params,
    );
    return rows.map(map);
  }

  async createDomain(d: Domain) {
    await this.#write(
      'INSERT INTO domains (id, name, description, enabled) VALUES (?, ?, ?, ?)',
      [d.id, d.name, d.description, d.enabled ? 1 : 0],
      `domain - Duplicate entry found with name ${d.name}`,
    );
  }
  async findDomain(id: string) {
    return (await this.#filtered('domains', toDomain, { id }))[0] ?? null;
  }
  async findDomainByName(name: string) {
    return (await this.#filtered('domains', toDomain, { name }))[0] ?? null;
  }
  listDomains() {
    return this.#filtered('domains', toDomain, {});
  }
  async updateDomain(d: Domain) {
    await this.#write(
      'UPDATE domains SET name = ?, description = ?, enabled = ? WHERE id = ?',
      [d.name, d.description, d.enabled ? 1 : 0, d.id],
      `domain - Duplicate entry found with name ${d.name}`,
    );
  }
  async deleteDomain(id: string) {
    // Its projects, users, groups and roles go with it (their assignments, memberships and tags by
    // cascade), all or nothing.
    return this.#db.transaction(async (tx) => {
      await tx.run('DELETE FROM projects WHERE domain_id = ?', [id]);
      await tx.run('DELETE FROM users WHERE domain_id = ?', [id]);
      await tx.run('DELETE FROM identity_groups WHERE domain_id = ?', [id]);
      await tx.run('DELETE FROM roles WHERE domain_id = ?', [id]);
      return (await tx.run('DELETE FROM domains WHERE id = ?', [id])) > 0;
    });
  }

  /** Projects with their tags, read in one more query. */
  async #withTags(projects: Project[]): Promise<Project[]> {
    if (projects.length === 0) return projects;
    const rows =
      projects.length === 1
        ? await this.#db.query(
            'SELECT project_id, tag FROM project_tags WHERE project_id = ? ORDER BY position',
            [projects[0].id],
          )
        : await this.#db.query('SELECT project_id, tag FROM project_tags ORDER BY project_id, position');
    const tags = new Map<string, string[]>();
    for (const r of rows) {
      const list = tags.get(String(r.project_id)) ?? [];
      list.push(String(r.tag));
      tags.set(String(r.project_id), list);
    }
    return projects.map((p) => ({ ...p, tags: tags.get(p.id) ?? [] }));
  }
  async #replaceTags(projectId: string, tags: string[]) {
    await this.#db.run('DELETE FROM project_tags WHERE project_id = ?', [projectId]);
    for (const [position, tag] of tags.entries()) {
      await this.#db.run('INSERT INTO project_tags (project_id, tag, position) VALUES (?, ?, ?)', [
        projectId,
        tag,
        position,
      ]);
    }
  }

  async createProject(p: Project) {
    await this.#db.transaction(async () => {
      await this.#write(
        'INSERT INTO projects (id, name, domain_id, description, enabled, created_at, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
          p.id,
          p.name,
          p.domain_id,
          p.description,
          p.enabled ? 1 : 0,
          this.#now().toISOString(),
          p.parent_id ?? null,
        ],
        `project - Duplicate entry found with name ${p.name} at domain ID ${p.domain_id}`,
      );
      if (p.tags?.length) await this.#replaceTags(p.id, p.tags);
    });
  }
  async findProject(id: string) {
    return (await this.#withTags(await this.#filtered('projects', toProject, { id })))[0] ?? null;
  }
  async findProjectByName(domainId: string, name: string) {
    return (
      (await this.#withTags(await this.#filtered('projects', toProject, { domain_id: domainId, name })))[0] ??
      null
    );
  }
  async listProjects(filter: { name?: string; domainId?: string } = {}) {
    return this.#withTags(
      await this.#filtered('projects', toProject, { name: filter.name, domain_id: filter.domainId }),
    );
  }
  async updateProject(p: Project) {
    await this.#db.transaction(async () => {
      await this.#write(
        'UPDATE projects SET name = ?, description = ?, enabled = ? WHERE id = ?',
        [p.name, p.description, p.enabled ? 1 : 0, p.id],
        `project - Duplicate entry found with name ${p.name} at domain ID ${p.domain_id}`,
      );
      if (p.tags !== undefined) await this.#replaceTags(p.id, p.tags);
    });
  }
  async deleteProject(id: string) {
    return (await this.#db.run('DELETE FROM projects WHERE id = ?', [id])) > 0;
  }

  async createUser(u: User) {
    await this.#write(
      `INSERT INTO users (id, name, domain_id, password_hash, default_project_id, email, description, enabled, created_at, extra)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        u.id,
        u.name,
        u.domain_id,
        u.password_hash,
        u.default_project_id,
        u.email,
        u.description,
        u.enabled ? 1 : 0,
        this.#now().toISOString(),
        extraOf(u),
      ],
      `user - Duplicate entry found with name ${u.name} at domain ID ${u.domain_id}`,
    );
  }
  async findUser(id: string) {
    return (await this.#filtered('users', toUser, { id }))[0] ?? null;
  }
  async findUserByName(domainId: string, name: string) {
    return (await this.#filtered('users', toUser, { domain_id: domainId, name }))[0] ?? null;
  }
  listUsers(filter: { name?: string; domainId?: string } = {}) {
    return this.#filtered('users', toUser, { name: filter.name, domain_id: filter.domainId });
  }
  async updateUser(u: User) {
    await this.#write(
      'UPDATE users SET name = ?, password_hash = ?, default_project_id = ?, email = ?, description = ?, enabled = ?, extra = ? WHERE id = ?',
      [
        u.name,
        u.password_hash,
        u.default_project_id,
        u.email,
        u.description,
        u.enabled ? 1 : 0,
        extraOf(u),
        u.id,
      ],
      `user - Duplicate entry found with name ${u.name} at domain ID ${u.domain_id}`,
    );
  }
  async deleteUser(id: string) {
    return (await this.#db.run('DELETE FROM users WHERE id = ?', [id])) > 0;
  }

  async createRole(r: Role) {
    await this.#write(
      'INSERT INTO roles (id, name, domain_id) VALUES (?, ?, ?)',
      [r.id, r.name, r.domain_id ?? null],
      `role - Duplicate entry found with name ${r.name}`,
    );
  }
  async findRole(id: string) {
    return (await this.#filtered('roles', toRole, { id }))[0] ?? null;
  }
  async findRoleByName(name: string) {
    return (await this.#filtered('roles', toRole, { name }))[0] ?? null;
  }
  async listRoles(filter: { name?: string; domainId?: string; all?: boolean } = {}) {
    const roles = await this.#filtered('roles', toRole, { name: filter.name, domain_id: filter.domainId });
    return filter.all || filter.domainId !== undefined ? roles : roles.filter((r) => !r.domain_id);
  }
  async updateRole(r: Role) {
    try {
      return (await this.#db.run('UPDATE roles SET name = ? WHERE id = ?', [r.name, r.id])) > 0;
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError(
          'CONFLICT',
          `Conflict occurred attempting to store role - Duplicate entry found with name ${r.name}`,
          {
            cause: error,
          },
        );
      throw wrapSqlError(error);
    }
  }
  async deleteRole(id: string) {
    return (await this.#db.run('DELETE FROM roles WHERE id = ?', [id])) > 0;
  }

  async grantRole(userId: string, projectId: string, roleId: string) {
    try {
      await this.#db.run('INSERT INTO role_assignments (user_id, project_id, role_id) VALUES (?, ?, ?)', [
        userId,
        projectId,
        roleId,
      ]);
    } catch (error) {
      if (!isUniqueViolation(error)) throw wrapSqlError(error); // granting twice is not an error in Keystone
    }
  }
  async revokeRole(userId: string, projectId: string, roleId: string) {
    return (
      (await this.#db.run(
        'DELETE FROM role_assignments WHERE user_id = ? AND project_id = ? AND role_id = ?',
        [userId, projectId, roleId],
      )) > 0
    );
  }
  async listAssignments(filter: { userId?: string; projectId?: string; roleId?: string }) {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.userId) where.push('a.user_id = ?') && params.push(filter.userId);
    if (filter.projectId) where.push('a.project_id = ?') && params.push(filter.projectId);
    if (filter.roleId) where.push('a.role_id = ?') && params.push(filter.roleId);
    const rows = await this.#db.query(
      `SELECT a.user_id, a.project_id, r.id AS role_id, r.name AS role_name, r.domain_id AS role_domain_id FROM role_assignments a
       JOIN roles r ON r.id = a.role_id${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY a.user_id, a.project_id, r.name`,
      params,
    );
    return rows.map((r) => ({
      userId: String(r.user_id),
      projectId: String(r.project_id),
      role: {
        id: String(r.role_id),
        name: String(r.role_name),
        domain_id: (r.role_domain_id as string | null) ?? null,
      },
    }));
  }

  async grantSystemRole(userId: string, roleId: string) {
    try {
      await this.#db.run('INSERT INTO system_role_assignments (user_id, role_id) VALUES (?, ?)', [
        userId,
        roleId,
      ]);
    } catch (error) {
      if (!isUniqueViolation(error)) throw wrapSqlError(error);
    }
  }
  async revokeSystemRole(userId: string, roleId: string) {
    return (
      (await this.#db.run('DELETE FROM system_role_assignments WHERE user_id = ? AND role_id = ?', [
        userId,
        roleId,
      ])) > 0
    );
  }
  async listSystemAssignments(filter: { userId?: string; roleId?: string }) {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.userId) where.push('a.user_id = ?') && params.push(filter.userId);
    if (filter.roleId) where.push('a.role_id = ?') && params.push(filter.roleId);
    const rows = await this.#db.query(
      `SELECT a.user_id, r.id AS role_id, r.name AS role_name, r.domain_id AS role_domain_id FROM system_role_assignments a
       JOIN roles r ON r.id = a.role_id${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY a.user_id, r.name`,
      params,
    );
    return rows.map((r) => ({
      userId: String(r.user_id),
      role: {
        id: String(r.role_id),
        name: String(r.role_name),
        domain_id: (r.role_domain_id as string | null) ?? null,
      },
    }));
  }

  async createGroup(g: Group) {
    await this.#write(
      'INSERT INTO identity_groups (id, name, domain_id, description) VALUES (?, ?, ?, ?)',
      [g.id, g.name, g.domain_id, g.description],
      `group - Duplicate entry found with name ${g.name} at domain ID ${g.domain_id}`,
    );
  }
  async findGroup(id: string) {
    return (await this.#filtered('identity_groups', toGroup, { id }))[0] ?? null;
  }
  listGroups(filter: { name?: string; domainId?: string } = {}) {
    return this.#filtered('identity_groups', toGroup, { name: filter.name, domain_id: filter.domainId });
  }
  async updateGroup(g: Group) {
    await this.#write(
      'UPDATE identity_groups SET name = ?, description = ? WHERE id = ?',
      [g.name, g.description, g.id],
      `group - Duplicate entry found with name ${g.name} at domain ID ${g.domain_id}`,
    );
  }
  async deleteGroup(id: string) {
    // Memberships and assignments go by cascade, in the same statement.
    return (await this.#db.run('DELETE FROM identity_groups WHERE id = ?', [id])) > 0;
  }
  async addGroupMember(groupId: string, userId: string) {
    try {
      await this.#db.run('INSERT INTO group_members (group_id, user_id) VALUES (?, ?)', [groupId, userId]);
    } catch (error) {
      if (!isUniqueViolation(error)) throw wrapSqlError(error);
    }
  }
  async removeGroupMember(groupId: string, userId: string) {
    return (
      (await this.#db.run('DELETE FROM group_members WHERE group_id = ? AND user_id = ?', [
        groupId,
        userId,
      ])) > 0
    );
  }
  async listGroupMembers(groupId: string) {
    const rows = await this.#db.query(
      'SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = ? ORDER BY u.name, u.id',
      [groupId],
    );
    return rows.map(toUser);
  }
  async listUserGroups(userId: string) {
    const rows = await this.#db.query(
      'SELECT g.* FROM identity_groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = ? ORDER BY g.name, g.id',
      [userId],
    );
    return rows.map(toGroup);
  }

  async grant(actor: GrantActor, scope: GrantScope, roleId: string) {
    const t = grantTable(actor, scope);
    const columns = [t.actorColumn, ...(t.scopeColumn ? [t.scopeColumn] : []), 'role_id'];
    const values = [actor.id, ...(t.scopeColumn ? [scope.id] : []), roleId];
    try {
      await this.#db.run(
        `INSERT INTO ${t.table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        values,
      );
    } catch (error) {
      if (!isUniqueViolation(error)) throw wrapSqlError(error); // granting twice is not an error in Keystone
    }
  }
  async revoke(actor: GrantActor, scope: GrantScope, roleId: string) {
    const t = grantTable(actor, scope);
    const where = [`${t.actorColumn} = ?`, ...(t.scopeColumn ? [`${t.scopeColumn} = ?`] : []), 'role_id = ?'];
    const values = [actor.id, ...(t.scopeColumn ? [scope.id] : []), roleId];
    return (await this.#db.run(`DELETE FROM ${t.table} WHERE ${where.join(' AND ')}`, values)) > 0;
  }
  async listGrants(filter: {
    actors?: GrantActor[];
    actorType?: GrantActor['type'];
    scope?: GrantScope;
    scopeType?: GrantScope['type'];
    roleId?: string;
  }): Promise<StoredAssignment[]> {
    const out: StoredAssignment[] = [];
    for (const t of GRANT_TABLES) {
      if (filter.actorType && filter.actorType !== t.actor) continue;
      const scopeType = filter.scope?.type ?? filter.scopeType;
      if (scopeType && scopeType !== t.scope) continue;
      const actorIds = filter.actors?.filter((a) => a.type === t.actor).map((a) => a.id);
      if (actorIds && actorIds.length === 0) continue;
      const where: string[] = [];
      const params: SqlValue[] = [];
      if (actorIds) {
        where.push(`a.${t.actorColumn} IN (${actorIds.map(() => '?').join(', ')})`);
        params.push(...actorIds);
      }
      if (filter.scope && t.scopeColumn) where.push(`a.${t.scopeColumn} = ?`) && params.push(filter.scope.id);
      if (filter.roleId) where.push('a.role_id = ?') && params.push(filter.roleId);
      const rows = await this.#db.query(
        `SELECT a.${t.actorColumn} AS actor_id, ${t.scopeColumn ? `a.${t.scopeColumn}` : "'all'"} AS scope_id,
         r.id AS role_id, r.name AS role_name, r.domain_id AS role_domain_id
         FROM ${t.table} a JOIN roles r ON r.id = a.role_id${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
         ORDER BY actor_id, scope_id, r.name`,
        params,
      );
      for (const r of rows) {
        out.push({
          actor: { type: t.actor, id: String(r.actor_id) },
          scope: { type: t.scope, id: String(r.scope_id) },
          role: {
            id: String(r.role_id),
            name: String(r.role_name),
            domain_id: (r.role_domain_id as string | null) ?? null,
          },
        });
      }
    }
    return out;
  }

  async createImplication(priorId: string, impliedId: string) {
    try {
      await this.#db.run('INSERT INTO role_implications (prior_role_id, implied_role_id) VALUES (?, ?)', [
        priorId,
        impliedId,
      ]);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw wrapSqlError(error);
    }
  }
  async deleteImplication(priorId: string, impliedId: string) {
    return (
      (await this.#db.run('DELETE FROM role_implications WHERE prior_role_id = ? AND implied_role_id = ?', [
        priorId,
        impliedId,
      ])) > 0
    );
  }
  async listImplications(priorId?: string): Promise<RoleImplication[]> {
    const rows = await this.#db.query(
      `SELECT p.id AS p_id, p.name AS p_name, p.domain_id AS p_domain, i.id AS i_id, i.name AS i_name,
       i.domain_id AS i_domain FROM role_implications x JOIN roles p ON p.id = x.prior_role_id
       JOIN roles i ON i.id = x.implied_role_id${priorId ? ' WHERE x.prior_role_id = ?' : ''} ORDER BY p.name, i.name`,
      priorId ? [priorId] : [],
    );
    const role = (id: unknown, name: unknown, domain: unknown): Role => ({
      id: String(id),
      name: String(name),
      domain_id: (domain as string | null) ?? null,
    });
    return rows.map((r) => ({
      prior: role(r.p_id, r.p_name, r.p_domain),
      implied: role(r.i_id, r.i_name, r.i_domain),
    }));
  }

  async saveToken(t: TokenRecord) {
    await this.#db.run(
      'INSERT INTO tokens (token_hash, user_id, project_id, methods, issued_at, expires_at, revoked, audit_ids, system_scope, domain_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        t.token_hash,
        t.user_id,
        t.project_id,
        t.methods.join(','),
        t.issued_at,
        t.expires_at,
        t.revoked ? 1 : 0,
        (t.audit_ids ?? []).join(' '),
        t.system ? 1 : 0,
        t.domain_id ?? null,
      ],
    );
  }
  async findToken(tokenHash: string) {
    const rows = await this.#db.query('SELECT * FROM tokens WHERE token_hash = ?', [tokenHash]);
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      token_hash: String(r.token_hash),
      user_id: String(r.user_id),
      project_id: (r.project_id as string | null) ?? null,
      methods: String(r.methods).split(',').filter(Boolean),
      issued_at: String(r.issued_at),
      expires_at: String(r.expires_at),
      revoked: Number(r.revoked) === 1,
      audit_ids: String(r.audit_ids ?? '')
        .split(' ')
        .filter(Boolean),
      system: Number(r.system_scope) === 1,
      domain_id: (r.domain_id as string | null) ?? null,
    };
  }
  async revokeToken(tokenHash: string) {
    return (await this.#db.run('UPDATE tokens SET revoked = 1 WHERE token_hash = ?', [tokenHash])) > 0;
  }
  async revokeUserTokens(userId: string) {
    return this.#db.run('UPDATE tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0', [userId]);
  }
  async purgeTokens(before: string) {
    return this.#db.run('DELETE FROM tokens WHERE expires_at < ?', [before]);
  }
}

// Metadata definitions on SQL (SQLite and PostgreSQL alike). A namespace and what it holds are written
// in one transaction, so a create, a delete or a definition file loaded at start is all or nothing.
import { ConflictError, NotFoundError } from '../../errors/index.ts';
import type {
  AssociationRecord,
  ItemKind,
  ItemRecord,
  MetadefRepository,
  NamespaceContents,
  NamespaceListQuery,
  NamespaceRecord,
  ResourceTypeRecord,
} from '../../metadefs/index.ts';
import { isUniqueViolation, type SqlDatabase, type SqlExecutor, type SqlValue } from './database.ts';

const NAMESPACE_COLUMNS =
  'id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at';

function toNamespace(row: Record<string, unknown>): NamespaceRecord {
  const optional = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return {
    id: String(row.id),
    namespace: String(row.namespace),
    display_name: optional(row.display_name),
    description: optional(row.description),
    visibility: row.visibility as NamespaceRecord['visibility'],
    protected: Number(row.protected) === 1,
    owner: optional(row.owner),
    created_at: String(row.created_at),
    updated_at: String(row.updated_at),
  };
}

function toItem<D>(row: Record<string, unknown>): ItemRecord<D> {
  return {
    namespaceId: String(row.namespace_id),
    kind: row.kind as ItemKind,
    name: String(row.name),
    document: JSON.parse(String(row.document)) as D,
    created_at: String(row.created_at),
    updated_at: String(row.updated_at),
  };
}

function toAssociation(row: Record<string, unknown>): AssociationRecord {
  return {
    namespaceId: String(row.namespace_id),
    name: String(row.resource_type),
    prefix: row.prefix === null ? null : String(row.prefix),
    properties_target: row.properties_target === null ? null : String(row.properties_target),
    created_at: String(row.created_at),
    updated_at: String(row.updated_at),
  };
}

/** Turns a unique-key violation into Glance's 409, with what was duplicated. */
async function conflictAware<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ConflictError('CONFLICT', `${what} already exists.`, { cause: error });
    throw error;
  }
}

export interface SqlMetadefRepositoryOptions {
  /** Crash point for fault tests: reached inside a definition file's transaction, before it commits. */
  failpoint?: (name: string) => void;
}

export class SqlMetadefRepository implements MetadefRepository {
  readonly #db: SqlDatabase;
  readonly #failpoint?: (name: string) => void;

  constructor(db: SqlDatabase, options: SqlMetadefRepositoryOptions = {}) {
    this.#db = db;
    this.#failpoint = options.failpoint;
  }

  async findNamespace(name: string): Promise<NamespaceRecord | null> {
    const rows = await this.#db.query(
      `SELECT ${NAMESPACE_COLUMNS} FROM metadef_namespaces WHERE namespace = ?`,
      [name],
    );
    return rows.length ? toNamespace(rows[0]) : null;
  }

  async listNamespaces(query: NamespaceListQuery): Promise<NamespaceRecord[]> {
    if (query.limit <= 0) return [];
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (!query.viewer.isAdmin) {
      if (query.viewer.projectId !== null) {
        where.push("(visibility = 'public' OR owner IS NULL OR owner = ?)");
        params.push(query.viewer.projectId);
      } else {
        where.push("(visibility = 'public' OR owner IS NULL)");
      }
    }
    if (query.visibility) {
      where.push('visibility = ?');
      params.push(query.visibility);
    }
    if (query.resourceTypes) {
      if (query.resourceTypes.length === 0) return [];
      where.push(
        `id IN (SELECT namespace_id FROM metadef_associations WHERE resource_type IN (${query.resourceTypes.map(() => '?').join(', ')}))`,
      );
      params.push(...query.resourceTypes);
    }
    // Keyset paging over (sort key, created_at, id), all in the one direction, as oslo.db paginates.
    const keys = [...new Set([query.sortKey, 'created_at', 'id'])];
    const op = query.sortDir === 'asc' ? '>' : '<';
    if (query.marker) {
      const marker = query.marker as unknown as Record<string, SqlValue>;
      const alternatives = keys.map((key, i) => {
        const equal = keys.slice(0, i).map((k) => `${k} = ?`);
        return `(${[...equal, `${key} ${op} ?`].join(' AND ')})`;
      });
      where.push(`(${alternatives.join(' OR ')})`);
      keys.forEach((key, i) => {
        for (const k of keys.slice(0, i)) params.push(marker[k]);
        params.push(marker[key]);
      });
    }
    const order = keys.map((key) => `${key} ${query.sortDir.toUpperCase()}`).join(', ');
    params.push(query.limit);
    const rows = await this.#db.query(
      `SELECT ${NAMESPACE_COLUMNS} FROM metadef_namespaces ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${order} LIMIT ?`,
      params,
    );
    return rows.map(toNamespace);
  }

  async #insertNamespace(tx: SqlExecutor, ns: NamespaceRecord): Promise<void> {
    await conflictAware(`The metadata definition namespace=${ns.namespace}`, () =>
      tx.run(`INSERT INTO metadef_namespaces (${NAMESPACE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        ns.id,
        ns.namespace,
        ns.display_name,
        ns.description,
        ns.visibility,
        ns.protected ? 1 : 0,
        ns.owner,
        ns.created_at,
        ns.updated_at,
      ]),
    );
  }

  async #ensureResourceType(tx: SqlExecutor, name: string, isProtected: boolean, now: string): Promise<void> {
    await tx.run(
      `INSERT INTO metadef_resource_types (name, protected, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO NOTHING`,
      [name, isProtected ? 1 : 0, now, now],
    );
  }

  async #insertAssociation(tx: SqlExecutor, a: AssociationRecord, position: number): Promise<void> {
    await conflictAware(
      `The metadata definition resource-type association of resource-type=${a.name} to namespace`,
      () =>
        tx.run(
          `INSERT INTO metadef_associations (namespace_id, resource_type, prefix, properties_target, position,
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [a.namespaceId, a.name, a.prefix, a.properties_target, position, a.created_at, a.updated_at],
        ),
    );
  }

  async #insertItem(tx: SqlExecutor, item: ItemRecord, position: number): Promise<void> {
    await conflictAware(`A metadata definition ${item.kind} with name=${item.name} in the namespace`, () =>
      tx.run(
        `INSERT INTO metadef_items (namespace_id, kind, name, document, position, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          item.namespaceId,
          item.kind,
          item.name,
          JSON.stringify(item.document),
          position,
          item.created_at,
          item.updated_at,
        ],
      ),
    );
  }

  async #insertContents(
    tx: SqlExecutor,
    ns: NamespaceRecord,
    contents: NamespaceContents,
    protectedTypes: boolean,
  ): Promise<void> {
    const stamp = { namespaceId: ns.id, created_at: ns.created_at, updated_at: ns.updated_at };
    for (const [i, a] of contents.associations.entries()) {
      await this.#ensureResourceType(tx, a.name, protectedTypes, ns.created_at);
      await this.#insertAssociation(tx, { ...a, ...stamp }, i);
    }
    for (const [i, o] of contents.objects.entries())
      await this.#insertItem(tx, { ...stamp, kind: 'object', name: o.name, document: o.document }, i);
    for (const [i, p] of contents.properties.entries())
      await this.#insertItem(tx, { ...stamp, kind: 'property', name: p.name, document: p.document }, i);
    for (const [i, t] of contents.tags.entries())
      await this.#insertItem(tx, { ...stamp, kind: 'tag', name: t, document: {} }, i);
  }

  async createNamespace(namespace: NamespaceRecord, contents: NamespaceContents): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await this.#insertNamespace(tx, namespace);
      await this.#insertContents(tx, namespace, contents, false);
    });
  }

  async updateNamespace(ns: NamespaceRecord): Promise<void> {
    const changed = await conflictAware(`The metadata definition namespace=${ns.namespace}`, () =>
      this.#db.run(
        `UPDATE metadef_namespaces SET namespace = ?, display_name = ?, description = ?, visibility = ?,
           protected = ?, owner = ?, updated_at = ? WHERE id = ?`,
        [
          ns.namespace,
          ns.display_name,
          ns.description,
          ns.visibility,
          ns.protected ? 1 : 0,
          ns.owner,
          ns.updated_at,
          ns.id,
        ],
      ),
    );
    if (changed === 0) throw new NotFoundError(`Namespace ${ns.namespace} not found`);
  }

  async deleteNamespace(id: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run('DELETE FROM metadef_items WHERE namespace_id = ?', [id]);
      await tx.run('DELETE FROM metadef_associations WHERE namespace_id = ?', [id]);
      await tx.run('DELETE FROM metadef_namespaces WHERE id = ?', [id]);
    });
  }

  async listItems<D>(namespaceId: string, kind: ItemKind): Promise<ItemRecord<D>[]> {
    const rows = await this.#db.query(
      `SELECT namespace_id, kind, name, document, created_at, updated_at FROM metadef_items
       WHERE namespace_id = ? AND kind = ? ORDER BY created_at, position, name`,
      [namespaceId, kind],
    );
    return rows.map((row) => toItem<D>(row));
  }

  async findItem<D>(namespaceId: string, kind: ItemKind, name: string): Promise<ItemRecord<D> | null> {
    const rows = await this.#db.query(
      `SELECT namespace_id, kind, name, document, created_at, updated_at FROM metadef_items
       WHERE namespace_id = ? AND kind = ? AND name = ?`,
      [namespaceId, kind, name],
    );
    return rows.length ? toItem<D>(rows[0]) : null;
  }

  async createItem(item: ItemRecord): Promise<void> {
    await this.#insertItem(this.#db, item, 0);
  }

  async updateItem(oldName: string, item: ItemRecord): Promise<void> {
    const changed = await conflictAware(
      `A metadata definition ${item.kind} with name=${item.name} in the namespace`,
      () =>
        this.#db.run(
          `UPDATE metadef_items SET name = ?, document = ?, updated_at = ?
           WHERE namespace_id = ? AND kind = ? AND name = ?`,
          [item.name, JSON.stringify(item.document), item.updated_at, item.namespaceId, item.kind, oldName],
        ),
    );
    if (changed === 0)
      throw new NotFoundError(`The metadata definition ${item.kind} ${oldName} was not found.`);
  }

  async deleteItem(namespaceId: string, kind: ItemKind, name: string): Promise<void> {
    const changed = await this.#db.run(
      'DELETE FROM metadef_items WHERE namespace_id = ? AND kind = ? AND name = ?',
      [namespaceId, kind, name],
    );
    if (changed === 0) throw new NotFoundError(`The metadata definition ${kind} ${name} was not found.`);
  }

  async deleteItems(namespaceId: string, kind: ItemKind): Promise<void> {
    await this.#db.run('DELETE FROM metadef_items WHERE namespace_id = ? AND kind = ?', [namespaceId, kind]);
  }

  async addTags(namespaceId: string, tags: ItemRecord[], append: boolean): Promise<void> {
    await this.#db.transaction(async (tx) => {
      if (!append)
        await tx.run("DELETE FROM metadef_items WHERE namespace_id = ? AND kind = 'tag'", [namespaceId]);
      for (const [i, tag] of tags.entries()) await this.#insertItem(tx, tag, i);
    });
  }

  async listResourceTypes(): Promise<ResourceTypeRecord[]> {
    const rows = await this.#db.query(
      'SELECT name, protected, created_at, updated_at FROM metadef_resource_types ORDER BY created_at, name',
    );
    return rows.map((row) => ({
      name: String(row.name),
      protected: Number(row.protected) === 1,
      created_at: String(row.created_at),
      updated_at: String(row.updated_at),
    }));
  }

  async listAssociations(namespaceIds: string[]): Promise<AssociationRecord[]> {
    if (namespaceIds.length === 0) return [];
    const rows = await this.#db.query(
      `SELECT namespace_id, resource_type, prefix, properties_target, created_at, updated_at
       FROM metadef_associations WHERE namespace_id IN (${namespaceIds.map(() => '?').join(', ')})
       ORDER BY created_at, position, resource_type`,
      namespaceIds,
    );
    return rows.map(toAssociation);
  }

  async createAssociation(association: AssociationRecord): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await this.#ensureResourceType(tx, association.name, false, association.created_at);
      await this.#insertAssociation(tx, association, 0);
    });
  }

  async deleteAssociation(namespaceId: string, name: string): Promise<boolean> {
    const changed = await this.#db.run(
      'DELETE FROM metadef_associations WHERE namespace_id = ? AND resource_type = ?',
      [namespaceId, name],
    );
    return changed > 0;
  }

  async loadedDefinitions(): Promise<Set<string>> {
    const rows = await this.#db.query('SELECT file FROM metadef_loaded_files');
    return new Set(rows.map((row) => String(row.file)));
  }

  async loadDefinition(
    file: string,
    digest: string,
    namespace: NamespaceRecord,
    contents: NamespaceContents,
  ): Promise<boolean> {
    try {
      return await this.#db.transaction(async (tx) => {
        const done = await tx.query('SELECT file FROM metadef_loaded_files WHERE file = ?', [file]);
        if (done.length > 0) return false;
        const existing = await tx.query('SELECT id FROM metadef_namespaces WHERE namespace = ?', [
          namespace.namespace,
        ]);
        const create = existing.length === 0;
        if (create) {
          await this.#insertNamespace(tx, namespace);
          await this.#insertContents(tx, namespace, contents, true);
          this.#failpoint?.('metadefs-namespace-written');
        }
        await tx.run(
          'INSERT INTO metadef_loaded_files (file, digest, namespace, created, loaded_at) VALUES (?, ?, ?, ?, ?)',
          [file, digest, namespace.namespace, create ? 1 : 0, namespace.created_at],
        );
        return create;
      });
    } catch (error) {
      // Another process loading the same file at the same moment got there first: it is loaded.
      if (error instanceof ConflictError || isUniqueViolation(error)) {
        if ((await this.loadedDefinitions()).has(file)) return false;
      }
      throw error;
    }
  }
}

// The image catalog's metadata on SQL: one implementation for SQLite and PostgreSQL. Status changes
// are conditional updates, so two processes can never both move an image out of the same status.
import type {
  BlobHolder,
  GovernanceFields,
  ImageListQuery,
  ImageMember,
  ImageRecord,
  ImageRepository,
  ImageStatus,
  LifecycleState,
  SortKey,
  UploadInFlight,
  UploadLease,
} from '../../catalog/index.ts';
import { ConflictError } from '../../errors/index.ts';
import {
  isUniqueViolation,
  type SqlDatabase,
  type SqlExecutor,
  type SqlValue,
  wrapSqlError,
} from './database.ts';

const BASE_COLUMNS = [
  'id',
  'name',
  'status',
  'visibility',
  'protected',
  'os_hidden',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'owner',
  'size',
  'virtual_size',
  'container_format',
  'disk_format',
  'min_ram',
  'min_disk',
  'created_at',
  'updated_at',
  'blob_key',
  'image_class',
  'lifecycle_state',
  'deprecation_at',
  'obsolescence_at',
  'replacement',
  'created_by',
  'uploaded_by',
  'signed_by',
] as const;

const GOVERNANCE_COLUMNS = [
  'lifecycle_state',
  'deprecation_at',
  'obsolescence_at',
  'replacement',
  'image_class',
  'visibility',
] as const satisfies readonly (keyof GovernanceFields)[];

/** The SQL for a governance key used as a property filter; the lifecycle as it is at `now`. */
function governanceFilter(name: string, now: string | undefined): { sql: string; params: SqlValue[] } | null {
  if (name === 'lifecycle_state' && now) {
    return {
      sql: `(CASE WHEN images.lifecycle_state = 'obsolete' OR images.obsolescence_at <= ? THEN 'obsolete'
        WHEN images.lifecycle_state = 'deprecated' OR images.deprecation_at <= ? THEN 'deprecated'
        ELSE 'available' END)`,
      params: [now, now],
    };
  }
  if (['image_class', 'lifecycle_state', 'deprecation_at', 'obsolescence_at', 'replacement'].includes(name)) {
    return { sql: `images.${name}`, params: [] };
  }
  return null;
}

/** An image whose data some process is writing: an upload, an import, or a stage still under way. */
const WRITING = "(status IN ('saving', 'importing') OR (status = 'uploading' AND upload_owner IS NOT NULL))";

const NUMERIC_SORT_KEYS = new Set<SortKey>(['size', 'min_ram', 'min_disk']);

/** Sort and keyset expressions treat NULL as the smallest value, identically in both dialects. */
function sortExpression(key: SortKey): string {
  return NUMERIC_SORT_KEYS.has(key) ? `COALESCE(images.${key}, -1)` : `COALESCE(images.${key}, '')`;
}

function sortValue(image: ImageRecord, key: SortKey): SqlValue {
  const value = (image as unknown as Record<string, unknown>)[key];
  if (NUMERIC_SORT_KEYS.has(key)) return value === null || value === undefined ? -1 : Number(value);
  return value === null || value === undefined ? '' : String(value);
}

type Row = Record<string, unknown>;

function toRecord(row: Row, properties: Record<string, string>, tags: string[]): ImageRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(row.id),
    name: (row.name as string | null) ?? null,
    status: row.status as ImageStatus,
    visibility: row.visibility as ImageRecord['visibility'],
    protected: Number(row.protected) === 1,
    os_hidden: Number(row.os_hidden) === 1,
    checksum: (row.checksum as string | null) ?? null,
    os_hash_algo: (row.os_hash_algo as string | null) ?? null,
    os_hash_value: (row.os_hash_value as string | null) ?? null,
    owner: (row.owner as string | null) ?? null,
    size: num(row.size),
    virtual_size: num(row.virtual_size),
    container_format: (row.container_format as string | null) ?? null,
    disk_format: (row.disk_format as string | null) ?? null,
    min_ram: Number(row.min_ram),
    min_disk: Number(row.min_disk),
    created_at: String(row.created_at),
    updated_at: String(row.updated_at),
    blob_key: (row.blob_key as string | null) ?? null,
    image_class: (row.image_class as ImageRecord['image_class']) ?? 'custom',
    lifecycle_state: (row.lifecycle_state as ImageRecord['lifecycle_state']) ?? 'available',
    deprecation_at: (row.deprecation_at as string | null) ?? null,
    obsolescence_at: (row.obsolescence_at as string | null) ?? null,
    replacement: (row.replacement as string | null) ?? null,
    created_by: (row.created_by as string | null) ?? null,
    uploaded_by: (row.uploaded_by as string | null) ?? null,
    signed_by: (row.signed_by as string | null) ?? null,
    properties,
    tags,
  };
}

function columnValues(image: ImageRecord): SqlValue[] {
  return BASE_COLUMNS.map((column) => {
    const value = image[column];
    if (typeof value === 'boolean') return value ? 1 : 0;
    return value as SqlValue;
  });
}

function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

export class SqlImageRepository implements ImageRepository {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async createImage(image: ImageRecord): Promise<void> {
    try {
      await this.#db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO images (${BASE_COLUMNS.join(', ')}) VALUES (${placeholders(BASE_COLUMNS.length)})`,
          columnValues(image),
        );
        await this.#writeChildren(tx, image);
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError('CONFLICT', `Image ID ${image.id} already exists!`, { cause: error });
      }
      throw wrapSqlError(error);
    }
  }

  async findImage(id: string): Promise<ImageRecord | null> {
    const rows = await this.#db.query(`SELECT ${BASE_COLUMNS.join(', ')} FROM images WHERE id = ?`, [id]);
    if (rows.length === 0) return null;
    const [image] = await this.#hydrate(this.#db, rows);
    return image;
  }

  async listImages(query: ImageListQuery): Promise<ImageRecord[]> {
    const where: string[] = ["images.status NOT IN ('deleted', 'killed')"];
    const params: SqlValue[] = [];
    const memberExists = (statusFilter: boolean) => {
      params.push(query.viewer.projectId);
      let clause = 'EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = images.id AND m.member = ?';
      if (statusFilter && query.memberStatus !== 'all') {
        clause += ' AND m.status = ?';
        params.push(query.memberStatus);
      }
      return `${clause})`;
    };
    const owned = () => {
      params.push(query.viewer.projectId);
      return 'images.owner = ?';
    };

    // Visibility follows Glance's image_get_all: admins see every image; others see what they own,
    // public images, and shared images whose membership matches member_status.
    const { visibility, viewer } = query;
    if (visibility && visibility !== 'all') {
      params.push(visibility);
      where.push('images.visibility = ?');
    }
    if (!viewer.isAdmin) {
      if (viewer.projectId === null) {
        where.push("images.visibility IN ('public', 'community')");
        if (!visibility) where.push("images.visibility = 'public'");
      } else if (visibility === 'community' || visibility === 'public') {
        // Every community and public image is listable by anyone.
      } else if (visibility === 'private') {
        where.push(owned());
      } else if (visibility === 'shared') {
        where.push(`(${owned()} OR ${memberExists(true)})`);
      } else {
        const alsoCommunity = visibility === 'all' ? " OR images.visibility = 'community'" : '';
        const ownedClause = owned();
        where.push(
          `(${ownedClause} OR images.visibility = 'public'${alsoCommunity} OR (images.visibility = 'shared' AND ${memberExists(true)}))`,
        );
      }
    } else if (!visibility) {
      // Glance hides other projects' community images from the default list, even for admins.
      params.push(viewer.projectId);
      where.push("(images.visibility <> 'community' OR images.owner = ?)");
    }

    for (const [column, values] of Object.entries(query.anyOf)) {
      if (!values || values.length === 0) continue;
      where.push(`images.${column} IN (${placeholders(values.length)})`);
      params.push(...values);
    }
    if (query.osHidden !== undefined) {
      where.push('images.os_hidden = ?');
      params.push(query.osHidden ? 1 : 0);
    }
    if (query.protected !== undefined) {
      where.push('images.protected = ?');
      params.push(query.protected ? 1 : 0);
    }
    if (query.size !== undefined) {
      where.push('images.size = ?');
      params.push(query.size);
    }
    if (query.sizeMin !== undefined) {
      where.push('images.size >= ?');
      params.push(query.sizeMin);
    }
    if (query.sizeMax !== undefined) {
      where.push('images.size <= ?');
      params.push(query.sizeMax);
    }
    const operators = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
    for (const filter of query.timeFilters) {
      where.push(`images.${filter.column} ${operators[filter.op]} ?`);
      params.push(filter.value);
    }
    for (const tag of query.tags) {
      where.push('EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = images.id AND t.tag = ?)');
      params.push(tag);
    }
    for (const [name, values] of Object.entries(query.properties)) {
      // Class and lifecycle are shown as properties but kept in columns: filter them where they live.
      const column = governanceFilter(name, query.now);
      if (column) {
        where.push(`${column.sql} IN (${placeholders(values.length)})`);
        params.push(...column.params, ...values);
        continue;
      }
      where.push(
        `EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = images.id AND p.name = ? AND p.value IN (${placeholders(values.length)}))`,
      );
      params.push(name, ...values);
    }

    const sort = [...query.sort];
    if (!sort.some((s) => s.key === 'id')) sort.push({ key: 'id', dir: sort.at(-1)?.dir ?? 'desc' });
    if (query.marker) {
      // Keyset pagination: rows strictly after the marker in the sort order.
      const alternatives: string[] = [];
      for (let i = 0; i < sort.length; i++) {
        const parts: string[] = [];
        for (let j = 0; j < i; j++) {
          parts.push(`${sortExpression(sort[j].key)} = ?`);
          params.push(sortValue(query.marker, sort[j].key));
        }
        parts.push(`${sortExpression(sort[i].key)} ${sort[i].dir === 'asc' ? '>' : '<'} ?`);
        params.push(sortValue(query.marker, sort[i].key));
        alternatives.push(`(${parts.join(' AND ')})`);
      }
      where.push(`(${alternatives.join(' OR ')})`);
    }
    const orderBy = sort.map((s) => `${sortExpression(s.key)} ${s.dir.toUpperCase()}`).join(', ');
    params.push(query.limit);
    const sql = `SELECT ${BASE_COLUMNS.map((c) => `images.${c}`).join(', ')} FROM images WHERE ${where.join(' AND ')} ORDER BY ${orderBy} LIMIT ?`;
    return this.#hydrate(this.#db, await this.#db.query(sql, params));
  }

  async saveImage(image: ImageRecord, expectedStatus: ImageStatus): Promise<boolean> {
    return this.#db
      .transaction(async (tx) => {
        const assignments = BASE_COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = ?`);
        const values = columnValues(image).slice(1);
        const changed = await tx.run(
          `UPDATE images SET ${assignments.join(', ')} WHERE id = ? AND status = ?`,
          [...values, image.id, expectedStatus],
        );
        if (changed === 0) return false;
        await tx.run('DELETE FROM image_properties WHERE image_id = ?', [image.id]);
        await tx.run('DELETE FROM image_tags WHERE image_id = ?', [image.id]);
        await this.#writeChildren(tx, image);
        return true;
      })
      .catch((error) => {
        throw wrapSqlError(error);
      });
  }

  async transitionImage(
    id: string,
    from: readonly ImageStatus[],
    to: ImageStatus,
    fields: Parameters<ImageRepository['transitionImage']>[3] = {},
    updatedAt?: string,
  ): Promise<boolean> {
    const sets = ['status = ?'];
    const params: SqlValue[] = [to];
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      sets.push(`${key} = ?`);
      params.push(value as SqlValue);
    }
    if (updatedAt) {
      sets.push('updated_at = ?');
      params.push(updatedAt);
    }
    if (to === 'deleted' && updatedAt) {
      sets.push('deleted_at = ?');
      params.push(updatedAt);
    }
    params.push(id, ...from);
    const changed = await this.#db.run(
      `UPDATE images SET ${sets.join(', ')} WHERE id = ? AND status IN (${placeholders(from.length)})`,
      params,
    );
    return changed > 0;
  }

  async beginUpload(
    id: string,
    from: readonly ImageStatus[],
    lease: UploadLease,
    updatedAt: string,
    to: 'saving' | 'uploading' | 'importing' = 'saving',
  ): Promise<boolean> {
    // An image still staging (uploading under a lease) is not ready for anything yet.
    const changed = await this.#db.run(
      `UPDATE images SET status = ?, upload_owner = ?, upload_heartbeat = ?, upload_temp = ?, updated_at = ?
       WHERE id = ? AND status IN (${placeholders(from.length)})
         AND (status <> 'uploading' OR upload_owner IS NULL)`,
      [to, lease.owner, lease.heartbeat, lease.temp, updatedAt, id, ...from],
    );
    return changed > 0;
  }

  async renewUploadLease(id: string, owner: string, heartbeat: string): Promise<boolean> {
    const changed = await this.#db.run(
      `UPDATE images SET upload_heartbeat = ? WHERE id = ? AND ${WRITING} AND upload_owner = ?`,
      [heartbeat, id, owner],
    );
    return changed > 0;
  }

  async finishUpload(
    id: string,
    owner: string,
    fields: Parameters<ImageRepository['transitionImage']>[3] = {},
    updatedAt: string,
  ): Promise<boolean> {
    const sets = [
      "status = 'active'",
      'upload_owner = NULL',
      'upload_heartbeat = NULL',
      'upload_temp = NULL',
    ];
    const params: SqlValue[] = [];
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      sets.push(`${key} = ?`);
      params.push(value as SqlValue);
    }
    sets.push('updated_at = ?');
    params.push(updatedAt, id, owner);
    const changed = await this.#db.run(
      `UPDATE images SET ${sets.join(', ')} WHERE id = ? AND status IN ('saving', 'importing') AND upload_owner = ?`,
      params,
    );
    return changed > 0;
  }

  async finishStage(
    id: string,
    owner: string,
    fields: { size: number },
    updatedAt: string,
  ): Promise<boolean> {
    const changed = await this.#db.run(
      `UPDATE images SET size = ?, upload_owner = NULL, upload_heartbeat = NULL, upload_temp = NULL, updated_at = ?
       WHERE id = ? AND status = 'uploading' AND upload_owner = ?`,
      [fields.size, updatedAt, id, owner],
    );
    return changed > 0;
  }

  async setImageProperties(id: string, changes: Record<string, string | null>): Promise<void> {
    await this.#db
      .transaction(async (tx) => {
        for (const [name, value] of Object.entries(changes)) {
          await tx.run('DELETE FROM image_properties WHERE image_id = ? AND name = ?', [id, name]);
          if (value !== null) {
            await tx.run('INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)', [
              id,
              name,
              value,
            ]);
          }
        }
      })
      .catch((error) => {
        throw wrapSqlError(error);
      });
  }

  async releaseUpload(id: string, owner: string, updatedAt: string, heartbeat?: string): Promise<boolean> {
    // '' stands for an upload recorded before leases existed (no owner, no heartbeat).
    const match = (column: string, value: string) =>
      value === ''
        ? { sql: ` AND ${column} IS NULL`, params: [] }
        : { sql: ` AND ${column} = ?`, params: [value] };
    const conditions = [
      match('upload_owner', owner),
      ...(heartbeat !== undefined ? [match('upload_heartbeat', heartbeat)] : []),
    ];
    const changed = await this.#db.run(
      `UPDATE images SET status = 'queued', size = NULL, virtual_size = NULL, blob_key = NULL,
         upload_owner = NULL, upload_heartbeat = NULL, upload_temp = NULL, updated_at = ?
       WHERE id = ? AND status IN ('saving', 'uploading', 'importing')${conditions.map((c) => c.sql).join('')}`,
      [updatedAt, id, ...conditions.flatMap((c) => c.params)],
    );
    return changed > 0;
  }

  async listUploads(): Promise<UploadInFlight[]> {
    const rows = await this.#db.query(
      `SELECT id, status, upload_owner, upload_heartbeat, upload_temp FROM images
       WHERE status IN ('saving', 'importing') OR (status = 'uploading' AND upload_owner IS NOT NULL)`,
    );
    return rows.map((row) => ({
      id: String(row.id),
      status: String(row.status) as ImageStatus,
      // An upload started before leases existed has no owner: anyone may recover it.
      owner: row.upload_owner === null ? '' : String(row.upload_owner),
      heartbeat: row.upload_heartbeat === null ? '' : String(row.upload_heartbeat),
      temp: row.upload_temp === null ? null : String(row.upload_temp),
    }));
  }

  async listBlobHolders(): Promise<BlobHolder[]> {
    const rows = await this.#db.query(
      "SELECT id, status, blob_key FROM images WHERE status <> 'deleted' AND (blob_key IS NOT NULL OR status IN ('saving', 'uploading', 'importing'))",
    );
    return rows.map((row) => ({
      id: String(row.id),
      status: String(row.status) as ImageStatus,
      blobKey: row.blob_key === null ? null : String(row.blob_key),
    }));
  }

  async updateGovernance(
    id: string,
    expected: LifecycleState,
    fields: Partial<GovernanceFields>,
    updatedAt: string,
  ): Promise<boolean> {
    const sets = ['updated_at = ?'];
    const params: SqlValue[] = [updatedAt];
    for (const key of GOVERNANCE_COLUMNS) {
      if (fields[key] === undefined) continue;
      sets.push(`${key} = ?`);
      params.push(fields[key]);
    }
    params.push(id, expected);
    const changed = await this.#db.run(
      `UPDATE images SET ${sets.join(', ')} WHERE id = ? AND lifecycle_state = ? AND status NOT IN ('deleted', 'killed')`,
      params,
    );
    return changed > 0;
  }

  async listDueLifecycle(now: string, limit: number): Promise<ImageRecord[]> {
    // ISO timestamps in one format compare correctly as text, in both dialects.
    const rows = await this.#db.query(
      `SELECT ${BASE_COLUMNS.join(', ')} FROM images
       WHERE status NOT IN ('deleted', 'killed') AND (
         (lifecycle_state = 'available' AND deprecation_at IS NOT NULL AND deprecation_at <= ?)
         OR (lifecycle_state <> 'obsolete' AND obsolescence_at IS NOT NULL AND obsolescence_at <= ?))
       ORDER BY id LIMIT ?`,
      [now, now, limit],
    );
    return this.#hydrate(this.#db, rows);
  }

  async findMember(imageId: string, projectId: string): Promise<ImageMember | null> {
    const rows = await this.#db.query('SELECT * FROM image_members WHERE image_id = ? AND member = ?', [
      imageId,
      projectId,
    ]);
    return rows.length ? toMember(rows[0]) : null;
  }

  async listMembers(imageId: string): Promise<ImageMember[]> {
    const rows = await this.#db.query(
      'SELECT * FROM image_members WHERE image_id = ? ORDER BY created_at, member',
      [imageId],
    );
    return rows.map(toMember);
  }

  async addMember(member: ImageMember): Promise<void> {
    try {
      await this.#db.run(
        'INSERT INTO image_members (image_id, member, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
        [member.image_id, member.member_id, member.status, member.created_at, member.updated_at],
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError(
          'CONFLICT',
          `Member ${member.member_id} already exists for image ${member.image_id}`,
          {
            cause: error,
          },
        );
      }
      throw wrapSqlError(error);
    }
  }

  async updateMember(member: ImageMember): Promise<boolean> {
    const changed = await this.#db.run(
      'UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member = ?',
      [member.status, member.updated_at, member.image_id, member.member_id],
    );
    return changed > 0;
  }

  async removeMember(imageId: string, projectId: string): Promise<boolean> {
    return (
      (await this.#db.run('DELETE FROM image_members WHERE image_id = ? AND member = ?', [
        imageId,
        projectId,
      ])) > 0
    );
  }

  async countMembers(imageId: string): Promise<number> {
    const rows = await this.#db.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM image_members WHERE image_id = ?',
      [imageId],
    );
    return Number(rows[0].n);
  }

  async #writeChildren(tx: SqlExecutor, image: ImageRecord): Promise<void> {
    for (const [name, value] of Object.entries(image.properties)) {
      await tx.run('INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)', [
        image.id,
        name,
        value,
      ]);
    }
    for (const tag of new Set(image.tags)) {
      await tx.run('INSERT INTO image_tags (image_id, tag) VALUES (?, ?)', [image.id, tag]);
    }
  }

  async #hydrate(db: SqlExecutor, rows: Row[]): Promise<ImageRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => String(row.id));
    const props = await db.query<{ image_id: string; name: string; value: string }>(
      `SELECT image_id, name, value FROM image_properties WHERE image_id IN (${placeholders(ids.length)}) ORDER BY name`,
      ids,
    );
    const tags = await db.query<{ image_id: string; tag: string }>(
      `SELECT image_id, tag FROM image_tags WHERE image_id IN (${placeholders(ids.length)}) ORDER BY tag`,
      ids,
    );
    const propsById = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
    for (const p of props) propsById.get(p.image_id)![p.name] = p.value;
    const tagsById = new Map<string, string[]>(ids.map((id) => [id, []]));
    for (const t of tags) tagsById.get(t.image_id)!.push(t.tag);
    return rows.map((row) => toRecord(row, propsById.get(String(row.id))!, tagsById.get(String(row.id))!));
  }
}

function toMember(row: Row): ImageMember {
  return {
    image_id: String(row.image_id),
    member_id: String(row.member),
    status: row.status as ImageMember['status'],
    created_at: String(row.created_at),
    updated_at: String(row.updated_at),
  };
}

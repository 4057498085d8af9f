// Key-manager secrets on SQL: one implementation for SQLite and PostgreSQL. Payloads arrive sealed and
// leave sealed; storing a payload and re-wrapping a data key are conditional updates, safe across processes.
import { ConflictError } from '../../errors/index.ts';
import type {
  AclOperation,
  SealedPayload,
  SecretAcl,
  SecretListQuery,
  SecretMetadata,
  SecretRecord,
  SecretRepository,
  SecretSortKey,
  StoredContentType,
  WrappedKeyRow,
} from '../../keys/index.ts';
import { isUniqueViolation, type SqlDatabase, type SqlValue, wrapSqlError } from './database.ts';

const COLUMNS = [
  'id',
  'project_id',
  'creator_id',
  'name',
  'secret_type',
  'algorithm',
  'bit_length',
  'mode',
  'expiration',
  'status',
  'content_type',
  'kek_id',
  'wrapped_key',
  'payload',
  'created_at',
  'updated_at',
] as const;

const SORT_COLUMNS: Record<SecretSortKey, string> = {
  algorithm: 'algorithm',
  bit_length: 'bit_length',
  created: 'created_at',
  expiration: 'expiration',
  mode: 'mode',
  name: 'name',
  secret_type: 'secret_type',
  status: 'status',
  updated: 'updated_at',
};

const DATE_COLUMNS = { created: 'created_at', updated: 'updated_at', expiration: 'expiration' } as const;
const OPERATORS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

type Row = Record<string, unknown>;

const text = (value: unknown) => (value === null || value === undefined ? null : String(value));

function toRecord(row: Row): SecretRecord {
  const sealed: SealedPayload | null =
    row.payload === null || row.payload === undefined
      ? null
      : { kekId: String(row.kek_id), wrappedKey: String(row.wrapped_key), ciphertext: String(row.payload) };
  return {
    id: String(row.id),
    projectId: String(row.project_id),
    creatorId: text(row.creator_id),
    name: text(row.name),
    secretType: row.secret_type as SecretRecord['secretType'],
    algorithm: text(row.algorithm),
    bitLength: row.bit_length === null || row.bit_length === undefined ? null : Number(row.bit_length),
    mode: text(row.mode),
    expiration: text(row.expiration),
    status: 'ACTIVE',
    contentType: text(row.content_type) as StoredContentType | null,
    sealed,
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

function toValues(secret: SecretRecord): SqlValue[] {
  return [
    secret.id,
    secret.projectId,
    secret.creatorId,
    secret.name,
    secret.secretType,
    secret.algorithm,
    secret.bitLength,
    secret.mode,
    secret.expiration,
    secret.status,
    secret.contentType,
    secret.sealed?.kekId ?? null,
    secret.sealed?.wrappedKey ?? null,
    secret.sealed?.ciphertext ?? null,
    secret.createdAt,
    secret.updatedAt,
  ];
}

export class SqlSecretRepository implements SecretRepository {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async createSecret(secret: SecretRecord): Promise<void> {
    try {
      await this.#db.run(
        `INSERT INTO secrets (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
        toValues(secret),
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError('CONFLICT', `Secret ${secret.id} already exists.`, { cause: error });
      }
      throw wrapSqlError(error);
    }
  }

  async findSecret(id: string): Promise<SecretRecord | null> {
    const rows = await this.#db.query(`SELECT ${COLUMNS.join(', ')} FROM secrets WHERE id = ?`, [id]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async listSecrets(query: SecretListQuery): Promise<{ secrets: SecretRecord[]; total: number }> {
    const where = ['(expiration IS NULL OR expiration > ?)'];
    const params: SqlValue[] = [query.now];
    if (query.aclUserId === undefined) {
      where.unshift('project_id = ?');
      params.unshift(query.projectId);
    } else {
      // user_ids is a JSON array: each dialect looks inside it its own way.
      const listed =
        this.#db.dialect === 'postgres'
          ? 'a.user_ids::jsonb @> jsonb_build_array(?::text)'
          : 'EXISTS (SELECT 1 FROM json_each(a.user_ids) AS u WHERE u.value = ?)';
      where.push(`EXISTS (SELECT 1 FROM secret_acls AS a WHERE a.secret_id = secrets.id AND ${listed})`);
      params.push(query.aclUserId);
    }
    // LIKE is case-insensitive in SQLite but not in PostgreSQL; lower() both sides so the backends agree
    // (and agree with Barbican on MySQL, its usual database).
    for (const [column, pattern] of [
      ['name', query.name],
      ['algorithm', query.algorithm],
      ['mode', query.mode],
    ] as const) {
      if (pattern === undefined) continue;
      where.push(`LOWER(${column}) LIKE LOWER(?)`);
      params.push(pattern);
    }
    if (query.bitLength !== undefined) {
      where.push('bit_length = ?');
      params.push(query.bitLength);
    }
    if (query.secretType !== undefined) {
      where.push('secret_type = ?');
      params.push(query.secretType);
    }
    for (const filter of query.dateFilters) {
      where.push(`${DATE_COLUMNS[filter.column]} ${OPERATORS[filter.op]} ?`);
      params.push(filter.value);
    }
    const clause = where.join(' AND ');
    const counted = await this.#db.query<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM secrets WHERE ${clause}`,
      params,
    );
    // NULLs sort first ascending and last descending in both dialects, as MySQL orders them.
    const order = [
      ...query.sort.map(({ key, dir }) => {
        const column = SORT_COLUMNS[key];
        const direction = dir === 'asc' ? 'ASC' : 'DESC';
        return `CASE WHEN ${column} IS NULL THEN 0 ELSE 1 END ${direction}, ${column} ${direction}`;
      }),
      'created_at ASC',
      'id ASC',
    ].join(', ');
    const rows = await this.#db.query(
      `SELECT ${COLUMNS.join(', ')} FROM secrets WHERE ${clause} ORDER BY ${order} LIMIT ? OFFSET ?`,
      [...params, query.limit, query.offset],
    );
    return { secrets: rows.map(toRecord), total: Number(counted[0].n) };
  }

  async storePayload(
    id: string,
    contentType: StoredContentType,
    sealed: SealedPayload,
    updatedAt: string,
  ): Promise<boolean> {
    const changed = await this.#db.run(
      `UPDATE secrets SET content_type = ?, kek_id = ?, wrapped_key = ?, payload = ?, updated_at = ?
       WHERE id = ? AND payload IS NULL`,
      [contentType, sealed.kekId, sealed.wrappedKey, sealed.ciphertext, updatedAt, id],
    );
    return changed > 0;
  }

  async deleteSecret(id: string): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      await tx.run('DELETE FROM secret_acls WHERE secret_id = ?', [id]);
      await tx.run('DELETE FROM secret_metadata WHERE secret_id = ?', [id]);
      return (await tx.run('DELETE FROM secrets WHERE id = ?', [id])) > 0;
    });
  }

  async findAcls(secretId: string): Promise<SecretAcl[]> {
    const rows = await this.#db.query(
      `SELECT operation, project_access, user_ids, created_at, updated_at FROM secret_acls
       WHERE secret_id = ? ORDER BY operation`,
      [secretId],
    );
    return rows.map((row) => ({
      operation: String(row.operation) as AclOperation,
      projectAccess: Number(row.project_access) !== 0,
      users: JSON.parse(String(row.user_ids)) as string[],
      createdAt: String(row.created_at),
      updatedAt: String(row.updated_at),
    }));
  }

  async replaceAcls(
    secretId: string,
    acls: readonly SecretAcl[],
    secretUpdatedAt: string | null,
  ): Promise<void> {
    try {
      await this.#db.transaction(async (tx) => {
        await tx.run('DELETE FROM secret_acls WHERE secret_id = ?', [secretId]);
        for (const acl of acls) {
          await tx.run(
            `INSERT INTO secret_acls (secret_id, operation, project_access, user_ids, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)`,
            [
              secretId,
              acl.operation,
              acl.projectAccess ? 1 : 0,
              JSON.stringify(acl.users),
              acl.createdAt,
              acl.updatedAt,
            ],
          );
        }
        if (secretUpdatedAt !== null) {
          await tx.run('UPDATE secrets SET updated_at = ? WHERE id = ?', [secretUpdatedAt, secretId]);
        }
      });
    } catch (error) {
      throw wrapSqlError(error);
    }
  }

  async findMetadata(secretId: string): Promise<SecretMetadata> {
    const rows = await this.#db.query(
      'SELECT meta_key, meta_value FROM secret_metadata WHERE secret_id = ? ORDER BY meta_key',
      [secretId],
    );
    return Object.fromEntries(rows.map((row) => [String(row.meta_key), String(row.meta_value)]));
  }

  async replaceMetadata(secretId: string, metadata: SecretMetadata, updatedAt: string): Promise<void> {
    try {
      await this.#db.transaction(async (tx) => {
        await tx.run('DELETE FROM secret_metadata WHERE secret_id = ?', [secretId]);
        for (const [key, value] of Object.entries(metadata)) {
          await tx.run(
            `INSERT INTO secret_metadata (secret_id, meta_key, meta_value, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?)`,
            [secretId, key, value, updatedAt, updatedAt],
          );
        }
      });
    } catch (error) {
      throw wrapSqlError(error);
    }
  }

  async addMetadatum(secretId: string, key: string, value: string, updatedAt: string): Promise<boolean> {
    try {
      await this.#db.run(
        `INSERT INTO secret_metadata (secret_id, meta_key, meta_value, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?)`,
        [secretId, key, value, updatedAt, updatedAt],
      );
      return true;
    } catch (error) {
      // Two requests adding the same key at once: the primary key lets one through.
      if (isUniqueViolation(error)) return false;
      throw wrapSqlError(error);
    }
  }

  async setMetadatum(secretId: string, key: string, value: string, updatedAt: string): Promise<void> {
    try {
      await this.#db.transaction(async (tx) => {
        const changed = await tx.run(
          'UPDATE secret_metadata SET meta_value = ?, updated_at = ? WHERE secret_id = ? AND meta_key = ?',
          [value, updatedAt, secretId, key],
        );
        if (changed > 0) return;
        await tx.run(
          `INSERT INTO secret_metadata (secret_id, meta_key, meta_value, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?)`,
          [secretId, key, value, updatedAt, updatedAt],
        );
      });
    } catch (error) {
      throw wrapSqlError(error);
    }
  }

  async deleteMetadatum(secretId: string, key: string): Promise<void> {
    await this.#db.run('DELETE FROM secret_metadata WHERE secret_id = ? AND meta_key = ?', [secretId, key]);
  }

  async listWrappedKeys(options: {
    exceptKekId: string;
    afterId: string | null;
    limit: number;
  }): Promise<WrappedKeyRow[]> {
    const rows = await this.#db.query(
      `SELECT id, project_id, content_type, kek_id, wrapped_key FROM secrets
       WHERE payload IS NOT NULL AND kek_id <> ? AND id > ? ORDER BY id LIMIT ?`,
      [options.exceptKekId, options.afterId ?? '', options.limit],
    );
    return rows.map((row) => ({
      id: String(row.id),
      projectId: String(row.project_id),
      contentType: row.content_type as StoredContentType,
      kekId: String(row.kek_id),
      wrappedKey: String(row.wrapped_key),
    }));
  }

  async replaceWrappedKey(
    id: string,
    from: Pick<SealedPayload, 'kekId' | 'wrappedKey'>,
    to: Pick<SealedPayload, 'kekId' | 'wrappedKey'>,
  ): Promise<boolean> {
    const changed = await this.#db.run(
      'UPDATE secrets SET kek_id = ?, wrapped_key = ? WHERE id = ? AND kek_id = ? AND wrapped_key = ?',
      [to.kekId, to.wrappedKey, id, from.kekId, from.wrappedKey],
    );
    return changed > 0;
  }

  async countByKek(): Promise<Record<string, number>> {
    const rows = await this.#db.query<{ kek_id: string; n: number | string }>(
      'SELECT kek_id, COUNT(*) AS n FROM secrets WHERE payload IS NOT NULL GROUP BY kek_id',
    );
    return Object.fromEntries(rows.map((row) => [String(row.kek_id), Number(row.n)]));
  }
}

// The container decision API's per-project policy.json, registries.d and public keys on SQL (SQLite and
// PostgreSQL alike). Writes are single upserts, so concurrent API processes never see half a document.
import type {
  ContainerKeyRecord,
  ContainerTrustRepository,
  ProjectDocument,
  ProjectDocumentKind,
} from '../../admission/index.ts';
import { type SqlDatabase, wrapSqlError } from './database.ts';

const DOCUMENT_TABLES: Record<ProjectDocumentKind, string> = {
  policy: 'container_policies',
  registries: 'container_registries',
};

const KEY_COLUMNS = 'project_id, name, key_type, fingerprints, material, created_at, updated_at';

function toKey(row: Record<string, unknown>): ContainerKeyRecord {
  return {
    projectId: String(row.project_id),
    name: String(row.name),
    keyType: row.key_type as ContainerKeyRecord['keyType'],
    fingerprints: JSON.parse(String(row.fingerprints)) as string[],
    material: Buffer.from(String(row.material), 'base64'),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

export class SqlContainerTrustRepository implements ContainerTrustRepository {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async putDocument(kind: ProjectDocumentKind, document: ProjectDocument): Promise<void> {
    try {
      await this.#db.run(
        `INSERT INTO ${DOCUMENT_TABLES[kind]} (project_id, document, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
        [document.projectId, document.document, document.updatedAt],
      );
    } catch (error) {
      throw wrapSqlError(error);
    }
  }

  async findDocument(kind: ProjectDocumentKind, projectId: string): Promise<ProjectDocument | null> {
    const rows = await this.#db.query(
      `SELECT project_id, document, updated_at FROM ${DOCUMENT_TABLES[kind]} WHERE project_id = ?`,
      [projectId],
    );
    if (rows.length === 0) return null;
    return {
      projectId: String(rows[0].project_id),
      document: String(rows[0].document),
      updatedAt: String(rows[0].updated_at),
    };
  }

  async deleteDocument(kind: ProjectDocumentKind, projectId: string): Promise<boolean> {
    return (await this.#db.run(`DELETE FROM ${DOCUMENT_TABLES[kind]} WHERE project_id = ?`, [projectId])) > 0;
  }

  async putKey(key: ContainerKeyRecord): Promise<boolean> {
    // One transaction, so "was it new?" and the write agree even with another writer racing.
    return this.#db.transaction(async (tx) => {
      const existing = await tx.query('SELECT name FROM container_keys WHERE project_id = ? AND name = ?', [
        key.projectId,
        key.name,
      ]);
      await tx.run(
        `INSERT INTO container_keys (${KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (project_id, name) DO UPDATE SET key_type = excluded.key_type,
           fingerprints = excluded.fingerprints, material = excluded.material, updated_at = excluded.updated_at`,
        [
          key.projectId,
          key.name,
          key.keyType,
          JSON.stringify(key.fingerprints),
          key.material.toString('base64'),
          key.createdAt,
          key.updatedAt,
        ],
      );
      return existing.length === 0;
    });
  }

  async findKey(projectId: string, name: string): Promise<ContainerKeyRecord | null> {
    const rows = await this.#db.query(
      `SELECT ${KEY_COLUMNS} FROM container_keys WHERE project_id = ? AND name = ?`,
      [projectId, name],
    );
    return rows.length ? toKey(rows[0]) : null;
  }

  async listKeys(projectId: string): Promise<ContainerKeyRecord[]> {
    const rows = await this.#db.query(
      `SELECT ${KEY_COLUMNS} FROM container_keys WHERE project_id = ? ORDER BY name`,
      [projectId],
    );
    return rows.map(toKey);
  }

  async deleteKey(projectId: string, name: string): Promise<boolean> {
    return (
      (await this.#db.run('DELETE FROM container_keys WHERE project_id = ? AND name = ?', [
        projectId,
        name,
      ])) > 0
    );
  }
}

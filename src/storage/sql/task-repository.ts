// Import tasks on SQL (SQLite and PostgreSQL alike). A task's status moves by conditional update, so
// the import that runs it and a recovery that fails it cannot both decide how it ended.
import type { ImportTask, TaskListQuery, TaskRepository } from '../../catalog/index.ts';
import { ConflictError } from '../../errors/index.ts';
import { isUniqueViolation, type SqlDatabase, type SqlValue, wrapSqlError } from './database.ts';

const COLUMNS = [
  'id',
  'type',
  'status',
  'owner',
  'image_id',
  'request_id',
  'user_id',
  'input',
  'result',
  'message',
  'created_at',
  'updated_at',
  'expires_at',
] as const;

type Row = Record<string, unknown>;

function toTask(row: Row): ImportTask {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.parse(String(v)));
  return {
    id: String(row.id),
    type: String(row.type) as ImportTask['type'],
    status: String(row.status) as ImportTask['status'],
    owner: text(row.owner),
    image_id: text(row.image_id),
    request_id: text(row.request_id),
    user_id: text(row.user_id),
    input: json(row.input),
    result: json(row.result),
    message: String(row.message ?? ''),
    created_at: String(row.created_at),
    updated_at: String(row.updated_at),
    expires_at: text(row.expires_at),
  };
}

function toValues(task: ImportTask): SqlValue[] {
  return COLUMNS.map((column) => {
    const value = task[column];
    if (column === 'input' || column === 'result') return value === null ? null : JSON.stringify(value);
    return value as SqlValue;
  });
}

export class SqlTaskRepository implements TaskRepository {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async createTask(task: ImportTask): Promise<void> {
    try {
      await this.#db.run(
        `INSERT INTO tasks (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
        toValues(task),
      );
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError('CONFLICT', `Task ${task.id} already exists.`, { cause: error });
      throw wrapSqlError(error);
    }
  }

  async findTask(id: string): Promise<ImportTask | null> {
    const rows = await this.#db.query(`SELECT ${COLUMNS.join(', ')} FROM tasks WHERE id = ?`, [id]);
    return rows.length ? toTask(rows[0]) : null;
  }

  async listTasks(query: TaskListQuery): Promise<ImportTask[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.owner !== null) {
      where.push('owner = ?');
      params.push(query.owner);
    }
    if (query.status) {
      where.push('status = ?');
      params.push(query.status);
    }
    if (query.type) {
      where.push('type = ?');
      params.push(query.type);
    }
    const after = query.sortDir === 'asc' ? '>' : '<';
    if (query.marker) {
      // Keyset pagination on (created_at, id): ties in creation time are ordered by id.
      where.push(`(created_at ${after} ? OR (created_at = ? AND id ${after} ?))`);
      params.push(query.marker.created_at, query.marker.created_at, query.marker.id);
    }
    const dir = query.sortDir.toUpperCase();
    params.push(query.limit);
    const rows = await this.#db.query(
      `SELECT ${COLUMNS.join(', ')} FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at ${dir}, id ${dir} LIMIT ?`,
      params,
    );
    return rows.map(toTask);
  }

  async listImageTasks(imageId: string): Promise<ImportTask[]> {
    const rows = await this.#db.query(
      `SELECT ${COLUMNS.join(', ')} FROM tasks WHERE image_id = ? ORDER BY created_at ASC, id ASC`,
      [imageId],
    );
    return rows.map(toTask);
  }

  async updateTask(task: ImportTask, expected: ImportTask['status']): Promise<boolean> {
    const changed = await this.#db
      .run(
        `UPDATE tasks SET status = ?, result = ?, message = ?, updated_at = ?, expires_at = ?
         WHERE id = ? AND status = ?`,
        [
          task.status,
          task.result === null ? null : JSON.stringify(task.result),
          task.message,
          task.updated_at,
          task.expires_at,
          task.id,
          expected,
        ],
      )
      .catch((error) => {
        throw wrapSqlError(error);
      });
    return changed > 0;
  }
}

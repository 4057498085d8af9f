// SQLite adapter over node:sqlite. The driver is synchronous, so one promise chain serialises
// statements and keeps another request's statements out of an open transaction.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type SqlDatabase, type SqlExecutor, type SqlRow, type SqlValue, wrapSqlError } from './database.ts';

export function openSqliteDatabase(file: string): SqlDatabase {
  // Password and token hashes live here: keep the directory private to the service's user.
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(file);
  db.exec(
    // busy_timeout first: switching a new file to WAL takes a lock another starting process may hold.
    'PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;',
  );
  const statements = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const direct: SqlExecutor = {
    dialect: 'sqlite',
    async query<T extends SqlRow>(sql: string, params: SqlValue[] = []) {
      try {
        return prepare(sql).all(...params) as T[];
      } catch (error) {
        throw wrapSqlError(error);
      }
    },
    async run(sql: string, params: SqlValue[] = []) {
      try {
        return Number(prepare(sql).run(...params).changes);
      } catch (error) {
        throw wrapSqlError(error);
      }
    },
  };
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };
  const transaction = <T>(work: (tx: SqlExecutor) => Promise<T>) =>
    exclusive(async () => {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(direct);
        db.exec('COMMIT');
        return result;
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    });
  return {
    dialect: 'sqlite',
    query: (sql, params) => exclusive(() => direct.query(sql, params)),
    run: (sql, params) => exclusive(() => direct.run(sql, params)),
    transaction,
    // BEGIN IMMEDIATE already takes SQLite's write lock, which other processes respect.
    withMigrationLock: transaction,
    async close() {
      await exclusive(async () => db.close());
    },
  };
}

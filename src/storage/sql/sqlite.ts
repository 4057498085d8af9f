// SQLite adapter over node:sqlite. The driver is synchronous, so one promise chain serialises
// statements and keeps another request's statements out of an open transaction.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  ambientExecutor,
  type SqlDatabase,
  type SqlExecutor,
  type SqlRow,
  type SqlValue,
  withAmbientTransaction,
  wrapSqlError,
} from './database.ts';

export function openSqliteDatabase(file: string): SqlDatabase {
  // Password and token hashes live here: keep the directory private to the service's user.
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(file);
  db.exec(
    // busy_timeout first: switching a new file to WAL takes a lock another starting process may hold.
    'PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;',
  );
  const exec = (sql: string) => {
    try {
      db.exec(sql);
    } catch (error) {
      throw wrapSqlError(error);
    }
  };
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
  // The database object itself identifies its ambient transaction.
  const self = {} as SqlDatabase;
  const transaction = <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
    // Inside an open transaction of this database, a nested one is part of it.
    const outer = ambientExecutor(self);
    if (outer) return work(outer);
    return exclusive(async () => {
      exec('BEGIN IMMEDIATE');
      try {
        const result = await withAmbientTransaction(self, direct, work);
        // A full disk often shows here, when the WAL grows at commit.
        exec('COMMIT');
        return result;
      } catch (error) {
        // The work's own error is the one to report, even if the rollback fails too.
        if (db.isTransaction) {
          try {
            db.exec('ROLLBACK');
          } catch {}
        }
        throw error;
      }
    });
  };
  // Statements inside the open transaction run at once; others queue behind it.
  const viaQueue = <T>(statement: (executor: SqlExecutor) => Promise<T>): Promise<T> =>
    ambientExecutor(self) ? statement(direct) : exclusive(() => statement(direct));
  return Object.assign(self, {
    dialect: 'sqlite' as const,
    query: <T extends SqlRow>(sql: string, params?: SqlValue[]) => viaQueue((e) => e.query<T>(sql, params)),
    run: (sql: string, params?: SqlValue[]) => viaQueue((e) => e.run(sql, params)),
    transaction,
    // BEGIN IMMEDIATE already takes SQLite's write lock, which other processes respect.
    withMigrationLock: transaction,
    async close() {
      await exclusive(async () => db.close());
    },
  });
}

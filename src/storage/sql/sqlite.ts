// SQLite adapter over node:sqlite. The driver is synchronous, so one promise chain serialises
// statements and keeps another request's statements out of an open transaction.
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ConfigError } from '../../errors/index.ts';
import {
  ambientExecutor,
  type SqlDatabase,
  type SqlExecutor,
  type SqlRow,
  type SqlValue,
  withAmbientTransaction,
  wrapSqlError,
} from './database.ts';

/**
 * Makes the database file 0600 before SQLite opens it. SQLite creates its -wal, -shm and -journal files
 * with the database file's mode, so they follow; left to itself it would make all of them 0644.
 */
function makeDatabaseFilePrivate(file: string): void {
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      // The umask applies to open's mode; fchmod sets it exactly.
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // A file an earlier version made readable by everyone is tightened, with any WAL it left.
  for (const existing of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    const info = statSync(existing, { throwIfNoEntry: false });
    if (info && (info.mode & 0o077) !== 0) chmodSync(existing, 0o600);
  }
}

export function openSqliteDatabase(file: string): SqlDatabase {
  // Password and token hashes live here: keep the directory and the files private to the service's user.
  if (file !== ':memory:') {
    try {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
      makeDatabaseFilePrivate(file);
    } catch (error) {
      throw new ConfigError(`Cannot create the database file ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
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

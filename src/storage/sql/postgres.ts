// PostgreSQL adapter over a pg pool: `?` placeholders are numbered, BIGINT columns come back as
// numbers, and migrations take an advisory lock so many API processes can start at once.
import pg from 'pg';
import {
  ambientExecutor,
  isConnectionError,
  type SqlDatabase,
  type SqlExecutor,
  type SqlRow,
  type SqlValue,
  withAmbientTransaction,
  wrapSqlError,
} from './database.ts';

// int8 (BIGINT) as a JS number: image sizes stay far below 2^53.
pg.types.setTypeParser(20, (value: string) => Number(value));

const MIGRATION_LOCK_KEY = 0x1a6e7257; // arbitrary, fixed: "imagetrust migrations"

function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function executorFor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    dialect: 'postgres',
    async query<T extends SqlRow>(sql: string, params: SqlValue[] = []) {
      const result = await client.query(numberPlaceholders(sql), params).catch((error) => {
        throw wrapSqlError(error);
      });
      return result.rows as T[];
    },
    async run(sql: string, params: SqlValue[] = []) {
      const result = await client.query(numberPlaceholders(sql), params).catch((error) => {
        throw wrapSqlError(error);
      });
      return result.rowCount ?? 0;
    },
  };
}

export function openPostgresDatabase(url: string): SqlDatabase {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // The database object itself identifies its ambient transaction.
  const self = {} as SqlDatabase;
  const transaction = async <T>(work: (tx: SqlExecutor) => Promise<T>, lock = false): Promise<T> => {
    // Inside an open transaction of this database, a nested one is part of it (and already serialised
    // as far as it needs: the migration lock is only ever taken at the outermost level).
    const outer = ambientExecutor(self);
    if (outer) return work(outer);
    const client = await pool.connect().catch((error) => {
      throw wrapSqlError(error);
    });
    let broken = false;
    try {
      await client.query('BEGIN');
      if (lock) await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const result = await withAmbientTransaction(self, executorFor(client), work);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = isConnectionError(error) || isConnectionError((error as { cause?: unknown }).cause);
      if (!broken) await client.query('ROLLBACK').catch(() => undefined);
      // The work's own errors pass unchanged; a lost connection (BEGIN, COMMIT or a statement) is a 503.
      throw broken ? wrapSqlError(error) : error;
    } finally {
      // A connection the server dropped goes, rather than back to the pool for the next request to trip on.
      client.release(broken);
    }
  };
  const pooled = executorFor(pool);
  return Object.assign(self, {
    dialect: 'postgres' as const,
    // Statements issued inside an open transaction run on its connection, so they see and join it.
    query: <T extends SqlRow>(sql: string, params?: SqlValue[]) =>
      (ambientExecutor(self) ?? pooled).query<T>(sql, params),
    run: (sql: string, params?: SqlValue[]) => (ambientExecutor(self) ?? pooled).run(sql, params),
    transaction: <T>(work: (tx: SqlExecutor) => Promise<T>) => transaction(work),
    withMigrationLock: <T>(work: (tx: SqlExecutor) => Promise<T>) => transaction(work, true),
    async close() {
      await pool.end();
    },
  });
}

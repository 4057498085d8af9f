// PostgreSQL adapter over a pg pool: `?` placeholders are numbered, BIGINT columns come back as
// numbers, and migrations take an advisory lock so many API processes can start at once.
import pg from 'pg';
import { type SqlDatabase, type SqlExecutor, type SqlRow, type SqlValue, wrapSqlError } from './database.ts';

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
  const transaction = async <T>(work: (tx: SqlExecutor) => Promise<T>, lock = false): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      if (lock) await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const result = await work(executorFor(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  return {
    ...executorFor(pool),
    transaction: (work) => transaction(work),
    withMigrationLock: (work) => transaction(work, true),
    async close() {
      await pool.end();
    },
  };
}

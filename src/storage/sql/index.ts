// Opens the metadata database named by a URL (sqlite:PATH or postgres://...) and migrates it.
import { ConfigError } from '../../errors/index.ts';
import type { SqlDatabase } from './database.ts';
import { migrateDatabase } from './migrations.ts';
import { openSqliteDatabase } from './sqlite.ts';

export async function openDatabase(url: string): Promise<SqlDatabase> {
  let db: SqlDatabase;
  // The PostgreSQL driver is loaded only for a PostgreSQL URL: the embedded default never holds it.
  if (/^postgres(ql)?:\/\//.test(url)) db = (await import('./postgres.ts')).openPostgresDatabase(url);
  else if (url.startsWith('sqlite:'))
    db = openSqliteDatabase(url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''));
  else
    throw new ConfigError(
      `Unsupported database URL '${redactUrl(url)}': use sqlite:PATH or postgres://USER@HOST:PORT/DB.`,
    );
  try {
    await migrateDatabase(db);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw new ConfigError(`Cannot open database ${redactUrl(url)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return db;
}

/** Database URLs may carry a password; never print it. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export type { SqlDatabase, SqlExecutor } from './database.ts';

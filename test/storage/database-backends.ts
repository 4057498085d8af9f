// The two metadata backends the storage contract suites run against: SQLite in a temporary file and
// PostgreSQL on loopback, each test on its own empty database (a new file, or a new schema).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type SqlDatabase } from '../../src/storage/index.ts';

export const POSTGRES_URL = process.env.IMAGETRUST_TEST_POSTGRES ?? 'postgres://root@127.0.0.1:5432/test';

export interface DatabaseBackend {
  readonly name: 'sqlite' | 'postgres';
  /** Fails with instructions when the backend cannot be used; call it in a before() hook. */
  ready(): Promise<void>;
  /** Opens a fresh, empty, migrated database. */
  open(): Promise<SqlDatabase>;
  /** A URL for a fresh, empty, not yet migrated database (for the migration tests). */
  freshUrl(): Promise<string>;
  /** Closes what open() returned and removes every file or schema this backend made. */
  dispose(): Promise<void>;
}

export function sqliteBackend(): DatabaseBackend {
  let dir: string | null = null;
  let count = 0;
  const opened: SqlDatabase[] = [];
  const freshUrl = async () => {
    dir ??= await mkdtemp(path.join(tmpdir(), 'imagetrust-sqlite-'));
    return `sqlite:${path.join(dir, `metadata-${++count}.db`)}`;
  };
  return {
    name: 'sqlite',
    async ready() {},
    freshUrl,
    async open() {
      const db = await openDatabase(await freshUrl());
      opened.push(db);
      return db;
    },
    async dispose() {
      await Promise.all(opened.splice(0).map((db) => db.close().catch(() => undefined)));
      if (dir) await rm(dir, { recursive: true, force: true });
      dir = null;
    },
  };
}

/** The message a developer sees when PostgreSQL is not there: never skip silently, say how to fix it. */
function unreachable(error: unknown): Error {
  return new Error(
    `PostgreSQL is not reachable at ${POSTGRES_URL} (${(error as Error).message}). The storage contract ` +
      'tests need it. On Debian: `apt-get install postgresql && pg_ctlcluster 15 main start`, with a ' +
      'role that may create schemas (trust authentication on loopback), or point IMAGETRUST_TEST_POSTGRES ' +
      'at a server you can create schemas on.',
    { cause: error },
  );
}

/** A URL that opens the test database with `schema` as the only search path. */
export function postgresUrlFor(schema: string): string {
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** Runs one statement on the test database as a plain client (outside the code under test). */
export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw unreachable(error);
  }
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export function postgresBackend(): DatabaseBackend {
  const schemas: string[] = [];
  const opened: SqlDatabase[] = [];
  const freshUrl = async () => {
    const schema = `it_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE SCHEMA ${schema}`);
    schemas.push(schema);
    return postgresUrlFor(schema);
  };
  return {
    name: 'postgres',
    async ready() {
      await adminQuery('SELECT 1');
    },
    freshUrl,
    async open() {
      const db = await openDatabase(await freshUrl());
      opened.push(db);
      return db;
    },
    async dispose() {
      await Promise.all(opened.splice(0).map((db) => db.close().catch(() => undefined)));
      for (const schema of schemas.splice(0)) await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

export function databaseBackends(): DatabaseBackend[] {
  return [sqliteBackend(), postgresBackend()];
}

// One small SQL port that both metadata adapters (SQLite, PostgreSQL) implement, so every repository
// is written once. Statements use `?` placeholders; the PostgreSQL driver numbers them.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ImageTrustError, UnavailableError, ValidationError } from '../../errors/index.ts';

export type SqlValue = string | number | null;
export type SqlRow = Record<string, unknown>;

export interface SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  query<T extends SqlRow = SqlRow>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** Runs a statement and returns how many rows it changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `work` in one transaction; it commits when `work` resolves and rolls back when it throws.
   * The transaction is ambient: every statement of this database issued while `work` runs (by any
   * repository, through `tx` or the database itself) joins it, and a nested `transaction` joins the
   * outer one. That is how a change and the domain event recording it commit together.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Serialises schema migrations across every process sharing the database. */
  withMigrationLock<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** True when a driver error is a unique or primary key violation, whatever the dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const wrapped = error as { cause?: unknown } | null;
  if (wrapped instanceof ImageTrustError && wrapped.cause) return isUniqueViolation(wrapped.cause);
  const e = error as { code?: string; errcode?: number };
  // PostgreSQL unique_violation; SQLite SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY.
  return e?.code === '23505' || e?.errcode === 2067 || e?.errcode === 1555;
}

/** True when the database could not write for lack of space, whatever the dialect. */
function isDiskFull(error: unknown): boolean {
  const e = error as { code?: string; errcode?: number } | null;
  // PostgreSQL disk_full (53100); SQLite SQLITE_FULL (13), or its I/O error for a failed write to a full disk.
  return e?.code === '53100' || (e?.errcode !== undefined && (e.errcode & 0xff) === 13);
}

/** Storage failures reach callers as ImageTrustError, with the driver's error kept as cause. */
/**
 * True when the database could not be reached or dropped the connection (restarting, shut down, network):
 * a state of the service, not a bug. The outcome of a statement in flight then is unknown to us.
 */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  // Sockets: refused, reset, timed out, unreachable, name not found.
  if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code))
    return true;
  // PostgreSQL: connection exceptions (class 08), administrator or crash shutdown, starting up.
  if (/^08[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03') return true;
  // node-postgres's own words for a connection that ended under it.
  const message = typeof e?.message === 'string' ? e.message : '';
  return /^Connection terminated|connection error and is not queryable|^timeout exceeded when trying to connect/.test(
    message,
  );
}

export function wrapSqlError(error: unknown): ImageTrustError {
  if (error instanceof ImageTrustError) return error;
  if (isConnectionError(error)) {
    // The detail stays in the log (cause); the client learns only that it should retry.
    return new UnavailableError(
      'METADATA_STORE_UNAVAILABLE',
      'The metadata store cannot be reached, so the request may not have been completed; retry shortly.',
      { cause: error, headers: { 'Retry-After': '5' } },
    );
  }
  if (isDiskFull(error)) {
    return new UnavailableError(
      'METADATA_STORE_FULL',
      'The metadata store has no space left, so nothing was changed; an operator must free disk space.',
      { cause: error, headers: { 'Retry-After': '60' } },
    );
  }
  // PostgreSQL text cannot hold NUL (character_not_in_repertoire, untranslatable_character): the edge
  // refuses it in URLs and JSON, and any other text that carries one (a document, a header) is the
  // client's to fix, not an internal error.
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '22021' || code === '22P05') {
    return new ValidationError(
      'BAD_REQUEST',
      'The request has text the metadata store cannot hold (a NUL character).',
      { cause: error },
    );
  }
  return new ImageTrustError('INTERNAL', `Metadata store error: ${(error as Error)?.message ?? error}`, {
    cause: error,
  });
}

/** The open transaction of one database, as seen from the async context that opened it. */
interface AmbientTransaction {
  owner: object;
  executor: SqlExecutor;
  open: boolean;
}

const ambient = new AsyncLocalStorage<AmbientTransaction>();

/**
 * The executor of the transaction `owner` has open in this async context, or null. A transaction that
 * has ended is never joined, even from a callback that outlived it.
 */
export function ambientExecutor(owner: object): SqlExecutor | null {
  const current = ambient.getStore();
  return current?.owner === owner && current.open ? current.executor : null;
}

/** Runs `work` with `executor` as `owner`'s ambient transaction; closes it whatever happens. */
export async function withAmbientTransaction<T>(
  owner: object,
  executor: SqlExecutor,
  work: (tx: SqlExecutor) => Promise<T>,
): Promise<T> {
  const store: AmbientTransaction = { owner, executor, open: true };
  try {
    return await ambient.run(store, () => work(executor));
  } finally {
    store.open = false;
  }
}

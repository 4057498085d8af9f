// The transparency log on SQL (SQLite and PostgreSQL). Positions are assigned inside the inserting
// transaction: PostgreSQL appenders queue on an advisory lock (SQLite's BEGIN IMMEDIATE already
// serialises writers), and a unique violation from any appender that slipped past is retried.
import type { AuditEntry, AuditRepository, SignedTreeHead } from '../../audit/index.ts';
import type { RecordedEvent } from '../../events/index.ts';
import {
  isUniqueViolation,
  type SqlDatabase,
  type SqlExecutor,
  type SqlRow,
  type SqlValue,
  wrapSqlError,
} from './database.ts';
import { toRecordedEvent } from './event-outbox.ts';

const ENTRY_COLUMNS = 'seq, leaf_hash, event_type, subject_id, project_id, actor_id, recorded_at, event';
const HEAD_COLUMNS = 'tree_size, root_hash, signed_at, key_id, signature';
/** Rows per INSERT statement: 8 parameters each keeps a statement well under every driver's limit. */
const ROWS_PER_INSERT = 100;
const APPEND_LOCK_KEY = 0x1a6e7a0d; // arbitrary, fixed: "imagetrust audit appends"
const MAX_ATTEMPTS = 20;

const text = (value: unknown) => (value === null || value === undefined ? null : String(value));

function toEntry(row: SqlRow): AuditEntry {
  return {
    seq: Number(row.seq),
    leafHash: String(row.leaf_hash),
    leaf: String(row.event),
    eventType: String(row.event_type),
    subjectId: text(row.subject_id),
    projectId: text(row.project_id),
    actorId: text(row.actor_id),
    recordedAt: String(row.recorded_at),
  };
}

function toHead(row: SqlRow): SignedTreeHead {
  const signedAt = String(row.signed_at);
  return {
    tree_size: Number(row.tree_size),
    root_hash: String(row.root_hash),
    timestamp: Date.parse(signedAt),
    signed_at: signedAt,
    key_id: String(row.key_id),
    signature: String(row.signature),
  };
}

export class SqlAuditRepository implements AuditRepository {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  appendEntries(build: (firstSeq: number) => AuditEntry[]): Promise<AuditEntry[]> {
    return this.#append(async (_tx, firstSeq) => build(firstSeq));
  }

  /**
   * Moves up to `limit` events from the outbox into the log, in outbox order, in one transaction: the
   * entries are inserted and their outbox rows deleted together, so each event is appended exactly once
   * whichever process relays it.
   */
  appendFromOutbox(
    limit: number,
    build: (firstSeq: number, events: RecordedEvent[]) => AuditEntry[],
  ): Promise<AuditEntry[]> {
    return this.#append(async (tx, firstSeq) => {
      const rows = await tx.query<{ id: number | string; occurred_at: string; event: string }>(
        'SELECT id, occurred_at, event FROM event_outbox ORDER BY id LIMIT ?',
        [limit],
      );
      if (rows.length === 0) return [];
      const entries = build(firstSeq, rows.map(toRecordedEvent));
      const ids = rows.map((row) => Number(row.id));
      for (let i = 0; i < ids.length; i += ROWS_PER_INSERT) {
        const chunk = ids.slice(i, i + ROWS_PER_INSERT);
        await tx.run(`DELETE FROM event_outbox WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
      }
      return entries;
    });
  }

  /** Finds the next position under the append lock, builds the entries there, inserts them; retries races. */
  async #append(build: (tx: SqlExecutor, firstSeq: number) => Promise<AuditEntry[]>): Promise<AuditEntry[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#db.transaction(async (tx) => {
          if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(?)', [APPEND_LOCK_KEY]);
          const [row] = await tx.query<{ last: number | string | null }>(
            'SELECT MAX(seq) AS last FROM audit_entries',
          );
          const firstSeq = row?.last === null || row?.last === undefined ? 0 : Number(row.last) + 1;
          const entries = await build(tx, firstSeq);
          for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
            const chunk = entries.slice(i, i + ROWS_PER_INSERT);
            const params: SqlValue[] = [];
            for (const e of chunk) {
              params.push(
                e.seq,
                e.leafHash,
                e.eventType,
                e.subjectId,
                e.projectId,
                e.actorId,
                e.recordedAt,
                e.leaf,
              );
            }
            await tx.run(
              `INSERT INTO audit_entries (${ENTRY_COLUMNS}) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
              params,
            );
          }
          return entries;
        });
      } catch (error) {
        if (!isUniqueViolation(error) || attempt >= MAX_ATTEMPTS) throw wrapSqlError(error);
        // Another appender took these positions; back off a little and read the new end of the log.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }

  async listEntries(start: number, end: number): Promise<AuditEntry[]> {
    const rows = await this.#db.query(
      `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE seq >= ? AND seq < ? ORDER BY seq`,
      [start, end],
    );
    return rows.map(toEntry);
  }

  async scanEntries(fromSeq: number, limit: number): Promise<AuditEntry[]> {
    const rows = await this.#db.query(
      `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE seq >= ? ORDER BY seq LIMIT ?`,
      [fromSeq, limit],
    );
    return rows.map(toEntry);
  }

  async listLeafHashes(start: number, limit: number): Promise<{ seq: number; leafHash: string }[]> {
    const rows = await this.#db.query(
      'SELECT seq, leaf_hash FROM audit_entries WHERE seq >= ? ORDER BY seq LIMIT ?',
      [start, limit],
    );
    return rows.map((row) => ({ seq: Number(row.seq), leafHash: String(row.leaf_hash) }));
  }

  async listEntriesBySubject(subjectId: string): Promise<AuditEntry[]> {
    const rows = await this.#db.query(
      `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE subject_id = ? ORDER BY seq`,
      [subjectId],
    );
    return rows.map(toEntry);
  }

  async saveTreeHead(head: SignedTreeHead): Promise<boolean> {
    try {
      await this.#db.run(`INSERT INTO audit_tree_heads (${HEAD_COLUMNS}) VALUES (?, ?, ?, ?, ?)`, [
        head.tree_size,
        head.root_hash,
        head.signed_at,
        head.key_id,
        head.signature,
      ]);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw wrapSqlError(error);
    }
  }

  async latestTreeHead(): Promise<SignedTreeHead | null> {
    const rows = await this.#db.query(
      `SELECT ${HEAD_COLUMNS} FROM audit_tree_heads ORDER BY tree_size DESC LIMIT 1`,
    );
    return rows.length ? toHead(rows[0]) : null;
  }

  async findTreeHead(treeSize: number): Promise<SignedTreeHead | null> {
    const rows = await this.#db.query(`SELECT ${HEAD_COLUMNS} FROM audit_tree_heads WHERE tree_size = ?`, [
      treeSize,
    ]);
    return rows.length ? toHead(rows[0]) : null;
  }

  async listTreeHeads(): Promise<SignedTreeHead[]> {
    const rows = await this.#db.query(`SELECT ${HEAD_COLUMNS} FROM audit_tree_heads ORDER BY tree_size`);
    return rows.map(toHead);
  }
}

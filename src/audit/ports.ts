// What the audit log needs from storage. Entries are append-only; positions are assigned atomically by
// the repository so many processes can share one database.
import type { RecordedEvent } from '../events/index.ts';
import type { AuditEntry } from './events.ts';
import type { SignedTreeHead } from './tree-head.ts';

export interface AuditRepository {
  /**
   * Appends entries at the next free positions, all or none: in one transaction it finds the next
   * sequence number, asks `build` for the entries starting there (their leaves embed their `seq`), and
   * inserts them. A race with another appender is retried with a fresh sequence number.
   */
  appendEntries(build: (firstSeq: number) => AuditEntry[]): Promise<AuditEntry[]>;
  /**
   * Appends up to `limit` waiting domain events from the outbox, in outbox order, and removes them from
   * it in the same transaction. Resolves with the entries appended (none when the outbox was empty).
   */
  appendFromOutbox(
    limit: number,
    build: (firstSeq: number, events: RecordedEvent[]) => AuditEntry[],
  ): Promise<AuditEntry[]>;
  /** Entries with `start <= seq < end`, in order. */
  listEntries(start: number, end: number): Promise<AuditEntry[]>;
  /** Entries with `seq >= fromSeq`, in order, at most `limit` of them (gaps are visible as jumps in `seq`). */
  scanEntries(fromSeq: number, limit: number): Promise<AuditEntry[]>;
  /** Sequence numbers and leaf hashes from `start`, in order, at most `limit` of them. */
  listLeafHashes(start: number, limit: number): Promise<{ seq: number; leafHash: string }[]>;
  /** Every entry about `subjectId`, in order. */
  listEntriesBySubject(subjectId: string): Promise<AuditEntry[]>;
  /** Stores a signed head; false when a head of that size is already stored (another process signed it). */
  saveTreeHead(head: SignedTreeHead): Promise<boolean>;
  latestTreeHead(): Promise<SignedTreeHead | null>;
  findTreeHead(treeSize: number): Promise<SignedTreeHead | null>;
  /** Every stored head, smallest first. */
  listTreeHeads(): Promise<SignedTreeHead[]>;
}

export interface AuditClock {
  now(): Date;
}

/**
 * The largest signed head this host has seen, kept outside the database (a file next to the signing
 * key), so that deleting the newest entries together with the heads that cover them is still noticed.
 * Several processes may share it: it only ever grows.
 */
export interface TreeHeadPin {
  read(): Promise<SignedTreeHead | null>;
  /** Keeps `head` when it is larger than the head kept; never lowers it. */
  raise(head: SignedTreeHead): Promise<void>;
}

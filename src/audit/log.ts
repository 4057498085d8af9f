// The transparency log service: appends events (group-committed, so a busy server writes many per
// transaction), keeps the leaf hashes in memory for O(log n) proofs, ends every append batch with a
// signed tree head, and re-checks the whole stored log against its signed heads and against the largest
// head kept outside the database.
import type { KeyObject } from 'node:crypto';
import { IntegrityError, ValidationError } from '../errors/index.ts';
import {
  type AuditEntry,
  type AuditEvent,
  type AuditLeaf,
  leafHashOf,
  parseAuditLeaf,
  toAuditEntry,
  toAuditLeaf,
} from './events.ts';
import { MerkleTree } from './merkle-tree.ts';
import type { AuditClock, AuditRepository, TreeHeadPin } from './ports.ts';
import { AUDIT_PROOF_FORMAT, type AuditProofBundle } from './proof-bundle.ts';
import {
  auditPublicKeyFromPem,
  type SignedTreeHead,
  signTreeHead,
  type TreeHeadSigner,
  verifyTreeHeadSignature,
} from './tree-head.ts';

/** Largest page of entries one request returns. */
export const MAX_ENTRIES_PAGE = 1000;
const SYNC_PAGE = 10_000;
const VERIFY_PAGE = 5_000;

export interface AuditLogOptions {
  repository: AuditRepository;
  signer: TreeHeadSigner;
  clock: AuditClock;
  /**
   * After an append batch, sign a new head when the latest one this process signed is older than this
   * many milliseconds. Default 0: every batch ends with a signed head over it, so no entry stays open to
   * an edit or deletion nothing would notice. A batch left unsigned is signed by the next relay pass;
   * heads are also signed whenever one is asked for and the tree grew.
   */
  signIntervalMs?: number;
  /** Keeps the largest signed head outside the database, so a deleted tail with its heads is noticed. */
  pin?: TreeHeadPin;
  /** Most events written in one transaction. Default 500. */
  maxBatch?: number;
  /** Told of each batch once it is committed (metrics); must not throw. */
  onAppended?: (entries: readonly AuditEntry[]) => void;
}

export interface InclusionProof {
  leaf_index: number;
  tree_size: number;
  leaf_hash: string;
  audit_path: string[];
  root_hash: string;
}

export interface ConsistencyProof {
  first: number;
  second: number;
  consistency_path: string[];
  first_root: string;
  second_root: string;
}

export type StoredLogProblem =
  | 'altered'
  | 'removed'
  | 'reordered'
  | 'inserted'
  | 'head-mismatch'
  | 'bad-signature'
  /** The log is shorter than the largest head kept outside the database: its tail went with its heads. */
  | 'truncated'
  /** Entries no signed head covers: nothing vouches for them. */
  | 'unsigned';

export type StoredLogReport =
  | {
      ok: true;
      treeSize: number;
      /** The latest signed head, every entry up to its size checked against it; null when none is stored. */
      head: SignedTreeHead | null;
      heads: number;
      /** Entries after the latest head; always 0, since an entry under no signed head is a failure. */
      unsigned: number;
    }
  | { ok: false; firstBadSeq: number; problem: StoredLogProblem; message: string };

interface Pending {
  event: AuditEvent;
  resolve: (entry: AuditEntry) => void;
  reject: (error: unknown) => void;
}

function checkCount(name: string, value: number, min = 0): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ValidationError('INVALID_QUERY', `${name} must be an integer of at least ${min}.`);
  }
  return value;
}

const hex = (hashes: Buffer[]) => hashes.map((h) => h.toString('hex'));

export class AuditLog {
  readonly #repository: AuditRepository;
  readonly #signer: TreeHeadSigner;
  readonly #clock: AuditClock;
  readonly #signIntervalMs: number;
  readonly #maxBatch: number;
  readonly #pin: TreeHeadPin | null;
  /** The pin as this process last read or raised it (undefined: not read yet). */
  #pinned: SignedTreeHead | null | undefined;
  /** Entries were appended that no head this process obtained covers yet. */
  #headOwed = false;
  readonly #tree = new MerkleTree();
  readonly #queue: Pending[] = [];
  #draining = false;
  #syncing: Promise<void> | null = null;
  #lastSignedAt = Number.NEGATIVE_INFINITY;
  #relayQueued: Promise<number> | null = null;
  #relayRunning: Promise<number> = Promise.resolve(0);
  /** As a subscriber of the domain-event stream. */
  readonly name = 'transparency-log';

  readonly #onAppended: (entries: readonly AuditEntry[]) => void;

  constructor(options: AuditLogOptions) {
    this.#repository = options.repository;
    this.#signer = options.signer;
    this.#clock = options.clock;
    this.#signIntervalMs = options.signIntervalMs ?? 0;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#pin = options.pin ?? null;
    this.#onAppended = options.onAppended ?? (() => {});
  }

  get publicKeyPem(): string {
    return this.#signer.publicKeyPem;
  }

  get keyId(): string {
    return this.#signer.keyId;
  }

  /**
   * appendAuditEvent: records one event and resolves with its entry once it is committed. Events arriving
   * while a write is in flight are committed together in the next transaction.
   */
  async append(event: AuditEvent): Promise<AuditEntry> {
    // Refuse a malformed event now, in the caller's stack, rather than failing its whole batch later.
    toAuditLeaf(event, 0, this.#clock.now());
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        void this.#drain();
      }
    });
  }

  /** The domain-event stream's delivery: append what waits in the outbox. */
  deliver(): Promise<number> {
    return this.relayOutbox();
  }

  /**
   * Appends every domain event waiting in the outbox, in order; resolves with how many this call's pass
   * appended. Passes run one at a time in a process; a call made while a pass runs waits for one that
   * starts after it, so it sees every event committed before the call. Many processes may relay at once:
   * each event is taken out of the outbox in the transaction that appends it.
   */
  relayOutbox(): Promise<number> {
    if (this.#relayQueued) return this.#relayQueued;
    const pass = this.#relayRunning
      .catch(() => 0)
      .then(() => {
        this.#relayQueued = null;
        return this.#relayPass();
      });
    this.#relayQueued = pass;
    this.#relayRunning = pass;
    return pass;
  }

  async #relayPass(): Promise<number> {
    let appended = 0;
    for (;;) {
      const entries = await this.#repository.appendFromOutbox(this.#maxBatch, (firstSeq, events) =>
        // Each leaf carries the time of the change it records, not the time it reached the log.
        events.map(({ event, occurredAt }, i) => toAuditEntry(toAuditLeaf(event, firstSeq + i, occurredAt))),
      );
      for (const entry of entries) if (!this.#absorb(entry.seq, entry.leafHash)) break;
      this.#onAppended(entries);
      appended += entries.length;
      if (entries.length < this.#maxBatch) break;
    }
    // A head a failed pass still owes is signed by this one, even when it appended nothing. A failure
    // reaches the stream, which reports it; the appended events are committed either way.
    if (appended > 0 || this.#headOwed) await this.#maybeSign();
    return appended;
  }

  /** Records several events in one transaction, contiguous and in order. */
  async appendAll(events: AuditEvent[]): Promise<AuditEntry[]> {
    const now = this.#clock.now();
    for (const event of events) toAuditLeaf(event, 0, now);
    const entries = await this.#write(events);
    await this.#maybeSign();
    return entries;
  }

  async #drain(): Promise<void> {
    try {
      // Let the callers of this tick join the first batch.
      await null;
      while (this.#queue.length > 0) {
        while (this.#queue.length > 0) {
          const batch = this.#queue.splice(0, this.#maxBatch);
          try {
            const entries = await this.#write(batch.map((p) => p.event));
            for (const [i, p] of batch.entries()) p.resolve(entries[i]);
          } catch (error) {
            for (const p of batch) p.reject(error);
          }
        }
        // A head that fails to sign now is signed by the next request for one.
        await this.#maybeSign().catch(() => undefined);
      }
    } finally {
      // Cleared in the same turn the queue was seen empty, so no append can be stranded.
      this.#draining = false;
    }
  }

  async #write(events: AuditEvent[]): Promise<AuditEntry[]> {
    const entries = await this.#repository.appendEntries((firstSeq) => {
      const now = this.#clock.now();
      return events.map((event, i) => toAuditEntry(toAuditLeaf(event, firstSeq + i, now)));
    });
    // Only extend the in-memory tree when nobody else appended in between; otherwise the next sync
    // reads the missing leaves from the database.
    for (const entry of entries) if (!this.#absorb(entry.seq, entry.leafHash)) break;
    this.#onAppended(entries);
    return entries;
  }

  async #maybeSign(): Promise<void> {
    this.#headOwed = true;
    if (this.#clock.now().getTime() - this.#lastSignedAt >= this.#signIntervalMs) {
      await this.latestTreeHead();
    }
  }

  /**
   * At start: loads every leaf hash and checks them against the latest signed head and the head kept
   * outside the database, then signs a head over entries a process that died left unsigned.
   * LOG_TAMPERED when the stored log does not match.
   */
  async checkAtStart(): Promise<void> {
    await this.#sync();
    await this.#checkPinned();
    if (this.#tree.size > 0 || (await this.#repository.latestTreeHead())) await this.latestTreeHead();
  }

  /**
   * Adds a committed leaf to the in-memory tree. Appends and syncs interleave, so a leaf may arrive
   * twice (it must then be the same) or early (false: the leaves before it are not loaded yet).
   */
  #absorb(seq: number, leafHash: string): boolean {
    if (seq > this.#tree.size) return false;
    if (seq === this.#tree.size) this.#tree.appendLeafHash(Buffer.from(leafHash, 'hex'));
    else if (this.#tree.leafHash(seq).toString('hex') !== leafHash) {
      throw new IntegrityError(
        'LOG_TAMPERED',
        `Audit entry ${seq} changed in the database after it was read; run \`imagetrust audit verify\`.`,
      );
    }
    return true;
  }

  /** Brings the in-memory tree up to what the database holds (other processes append too). */
  async #sync(): Promise<void> {
    this.#syncing ??= (async () => {
      for (;;) {
        const rows = await this.#repository.listLeafHashes(this.#tree.size, SYNC_PAGE);
        for (const row of rows) {
          if (!this.#absorb(row.seq, row.leafHash)) {
            throw new IntegrityError(
              'LOG_TAMPERED',
              `The audit log has no entry ${this.#tree.size} (next is ${row.seq}); run \`imagetrust audit verify\`.`,
            );
          }
        }
        if (rows.length < SYNC_PAGE) return;
      }
    })().finally(() => {
      this.#syncing = null;
    });
    return this.#syncing;
  }

  /**
   * Syncs until the tree holds `size` leaves; false when it cannot. The first sync may have begun before
   * the caller learned of `size` (a head another process signed after committing its entries); the
   * second began after, so it sees those entries unless they were deleted.
   */
  async #syncTo(size: number): Promise<boolean> {
    for (let i = 0; i < 2 && this.#tree.size < size; i++) await this.#sync();
    return this.#tree.size >= size;
  }

  /** The latest signed tree head, signing a new one first when the log grew since. */
  async latestTreeHead(): Promise<SignedTreeHead> {
    await this.#sync();
    await this.#checkPinned();
    const stored = await this.#repository.latestTreeHead();
    if (stored && !(await this.#syncTo(stored.tree_size))) {
      throw new IntegrityError(
        'LOG_TAMPERED',
        `The audit log ends at ${this.#tree.size} entries but the head signed at ${stored.signed_at} covers ${stored.tree_size}: entries were deleted; run \`imagetrust audit verify\`.`,
      );
    }
    const size = this.#tree.size;
    if (stored) this.#checkHead(stored);
    if (stored && stored.tree_size >= size) return this.#covered(stored);
    const head = signTreeHead(this.#signer, size, this.#tree.rootAt(size), this.#clock.now());
    this.#lastSignedAt = head.timestamp;
    if (await this.#repository.saveTreeHead(head)) return this.#covered(head);
    // Another process signed this size first: serve its head, so every process agrees.
    return this.#covered((await this.#repository.findTreeHead(size)) ?? head);
  }

  /**
   * The log holds at least the largest head kept outside the database, with the same root. Read once per
   * process: a pin another process raised since is only stronger, and is read by the next start.
   */
  async #checkPinned(): Promise<void> {
    if (!this.#pin) return;
    if (this.#pinned === undefined) this.#pinned = await this.#pin.read();
    const pinned = this.#pinned;
    if (!pinned) return;
    if (!(await this.#syncTo(pinned.tree_size))) {
      throw new IntegrityError(
        'LOG_TAMPERED',
        `The audit log ends at ${this.#tree.size} entries but this host signed a head over ${pinned.tree_size} ` +
          `(at ${pinned.signed_at}, kept outside the database): its newest entries were deleted. Run ` +
          '`imagetrust audit verify`; only if the database was restored from a backup on purpose, move the head file (audit-log-head.json) away.',
      );
    }
    if (this.#tree.rootAt(pinned.tree_size).toString('hex') !== pinned.root_hash) {
      throw new IntegrityError(
        'LOG_TAMPERED',
        `The first ${pinned.tree_size} audit entries do not hash to the root this host signed at ${pinned.signed_at} (kept outside the database): the log was rewritten; run \`imagetrust audit verify\`.`,
      );
    }
  }

  /** Records that `head` covers what this process appended, and raises the pin to it. */
  async #covered(head: SignedTreeHead): Promise<SignedTreeHead> {
    if (this.#pin && head.tree_size > (this.#pinned?.tree_size ?? 0)) {
      await this.#pin.raise(head);
      this.#pinned = head;
    }
    if (head.tree_size >= this.#tree.size) this.#headOwed = false;
    return head;
  }

  /** A stored head must describe the leaves we hold; anything else means the database was rewritten. */
  #checkHead(head: SignedTreeHead): void {
    if (this.#tree.rootAt(head.tree_size).toString('hex') !== head.root_hash) {
      throw new IntegrityError(
        'LOG_TAMPERED',
        `The signed tree head of size ${head.tree_size} does not match the stored entries; run \`imagetrust audit verify\`.`,
      );
    }
  }

  /** Entries `start <= seq < end`, at most MAX_ENTRIES_PAGE of them. */
  async entries(start: number, end: number): Promise<AuditEntry[]> {
    checkCount('start', start);
    checkCount('end', end);
    if (end <= start) throw new ValidationError('INVALID_QUERY', 'end must be greater than start.');
    return this.#repository.listEntries(start, Math.min(end, start + MAX_ENTRIES_PAGE));
  }

  async #ensureSize(treeSize: number): Promise<void> {
    if (treeSize > this.#tree.size) await this.#sync();
    if (treeSize > this.#tree.size) {
      throw new ValidationError(
        'INVALID_QUERY',
        `tree_size ${treeSize} is larger than the log (${this.#tree.size} entries).`,
      );
    }
  }

  /** The audit path of entry `seq` in the tree of `treeSize` entries. */
  async inclusionProof(seq: number, treeSize: number): Promise<InclusionProof> {
    checkCount('seq', seq);
    checkCount('tree_size', treeSize, 1);
    await this.#ensureSize(treeSize);
    if (seq >= treeSize) throw new ValidationError('INVALID_QUERY', 'seq must be smaller than tree_size.');
    return {
      leaf_index: seq,
      tree_size: treeSize,
      leaf_hash: this.#tree.leafHash(seq).toString('hex'),
      audit_path: hex(this.#tree.inclusionProof(seq, treeSize)),
      root_hash: this.#tree.rootAt(treeSize).toString('hex'),
    };
  }

  /** Proof that the tree of `first` entries is a prefix of the tree of `second` entries. */
  async consistencyProof(first: number, second: number): Promise<ConsistencyProof> {
    checkCount('first', first);
    checkCount('second', second);
    if (first > second) throw new ValidationError('INVALID_QUERY', 'first must not be larger than second.');
    await this.#ensureSize(second);
    return {
      first,
      second,
      consistency_path: hex(this.#tree.consistencyProof(first, second)),
      first_root: this.#tree.rootAt(first).toString('hex'),
      second_root: this.#tree.rootAt(second).toString('hex'),
    };
  }

  /** Every entry about `subjectId` with its audit path to the latest signed head, as one verifiable file. */
  async historyOf(subjectId: string): Promise<AuditProofBundle> {
    const head = await this.latestTreeHead();
    const entries = (await this.#repository.listEntriesBySubject(subjectId)).filter(
      (entry) => entry.seq < head.tree_size,
    );
    return {
      format: AUDIT_PROOF_FORMAT,
      subject_id: subjectId,
      tree_head: head,
      public_key: this.#signer.publicKeyPem,
      entries: entries.map((entry) => ({
        seq: entry.seq,
        leaf: entry.leaf,
        leaf_hash: entry.leafHash,
        audit_path: hex(this.#tree.inclusionProof(entry.seq, head.tree_size)),
      })),
    };
  }

  /** Whether `subjectId` has any entry (for a 404 before authorization reveals anything). */
  async projectOf(subjectId: string): Promise<{ found: boolean; projectId: string | null }> {
    const entries = await this.#repository.listEntriesBySubject(subjectId);
    if (entries.length === 0) return { found: false, projectId: null };
    const owned = entries.filter((entry) => entry.projectId !== null);
    return { found: true, projectId: owned.length ? owned[owned.length - 1].projectId : null };
  }

  /**
   * Re-checks everything stored, without trusting this process's memory: each entry's leaf hash from its
   * text, the sequence without gaps, each leaf's own seq, the indexed columns, then every signed head's
   * signature and root. Reports the first problem.
   */
  async verifyStoredLog(
    publicKey: KeyObject = auditPublicKeyFromPem(this.#signer.publicKeyPem),
  ): Promise<StoredLogReport> {
    return verifyStoredAuditLog(this.#repository, publicKey, { pinned: await this.#pin?.read() });
  }
}

function failure(firstBadSeq: number, problem: StoredLogProblem, message: string): StoredLogReport {
  return { ok: false, firstBadSeq, problem, message };
}

/** Which of the indexed columns disagrees with the leaf, if any. */
function columnMismatch(entry: AuditEntry, leaf: AuditLeaf): string | null {
  if (entry.eventType !== leaf.type) return 'event_type';
  if (entry.subjectId !== leaf.subject_id) return 'subject_id';
  if (entry.projectId !== leaf.project_id) return 'project_id';
  if (entry.actorId !== (leaf.actor?.user_id ?? null)) return 'actor_id';
  if (entry.recordedAt !== leaf.recorded_at) return 'recorded_at';
  return null;
}

export interface StoredLogCheckOptions {
  /**
   * The largest head this host signed, kept outside the database (read before the log is scanned, so a
   * head signed meanwhile is in the database too): the log must reach its size with its root.
   */
  pinned?: SignedTreeHead | null;
}

/** verifyStoredLog over any repository (the CLI uses it without a signer). */
export async function verifyStoredAuditLog(
  repository: AuditRepository,
  publicKey: KeyObject,
  options: StoredLogCheckOptions = {},
): Promise<StoredLogReport> {
  const tree = new MerkleTree();
  let page = await repository.scanEntries(0, VERIFY_PAGE);
  while (page.length > 0) {
    for (let i = 0; i < page.length; i++) {
      const entry = page[i];
      const expected = tree.size;
      if (entry.seq !== expected) {
        return failure(
          expected,
          'removed',
          `Entry ${expected} is missing: the next stored entry is ${entry.seq}.`,
        );
      }
      const leaf = parseAuditLeaf(entry.leaf);
      if (!leaf) {
        return failure(expected, 'altered', `Entry ${expected}: the stored event is not a canonical leaf.`);
      }
      if (leaf.seq !== entry.seq) {
        // A leaf from further on sits here: swapped with another row, or everything after a deleted row
        // was renumbered down. A leaf from earlier on means rows were shifted up to make room.
        if (leaf.seq < entry.seq) {
          return failure(
            leaf.seq,
            'inserted',
            `Entry ${entry.seq} holds the event of entry ${leaf.seq}: an entry was inserted before it.`,
          );
        }
        const next = page[i + 1] ? parseAuditLeaf(page[i + 1].leaf) : null;
        const shifted = next ? next.seq === leaf.seq + 1 : i + 1 === page.length;
        return shifted
          ? failure(
              expected,
              'removed',
              `Entry ${expected} was removed and later entries renumbered (it holds entry ${leaf.seq}).`,
            )
          : failure(expected, 'reordered', `Entry ${expected} holds the event of entry ${leaf.seq}.`);
      }
      if (leafHashOf(entry.leaf) !== entry.leafHash) {
        return failure(expected, 'altered', `Entry ${expected}: the event does not match its leaf hash.`);
      }
      const column = columnMismatch(entry, leaf);
      if (column) {
        return failure(
          expected,
          'altered',
          `Entry ${expected}: the ${column} column disagrees with the event.`,
        );
      }
      tree.appendLeafHash(Buffer.from(entry.leafHash, 'hex'));
    }
    page = await repository.scanEntries(tree.size, VERIFY_PAGE);
  }
  const heads = await repository.listTreeHeads();
  let vouched = 0;
  for (const head of heads) {
    if (!verifyTreeHeadSignature(head, publicKey)) {
      return failure(
        vouched,
        'bad-signature',
        `The tree head of size ${head.tree_size} signed at ${head.signed_at} does not verify with the log's key.`,
      );
    }
    if (head.tree_size > tree.size) {
      return failure(
        tree.size,
        'removed',
        `The log ends at ${tree.size} entries but a head signed at ${head.signed_at} covers ${head.tree_size}.`,
      );
    }
    if (tree.rootAt(head.tree_size).toString('hex') !== head.root_hash) {
      return failure(
        vouched,
        'head-mismatch',
        `The entries from ${vouched} to ${head.tree_size - 1} do not hash to the root signed at ${head.signed_at}.`,
      );
    }
    vouched = head.tree_size;
  }
  const pinned = options.pinned;
  if (pinned) {
    if (!verifyTreeHeadSignature(pinned, publicKey)) {
      return failure(
        Math.min(pinned.tree_size, tree.size),
        'bad-signature',
        `The head of size ${pinned.tree_size} kept outside the database does not verify with the log's key.`,
      );
    }
    if (pinned.tree_size > tree.size) {
      return failure(
        tree.size,
        'truncated',
        `The log ends at ${tree.size} entries but this host signed a head over ${pinned.tree_size} at ${pinned.signed_at}: its newest entries were deleted with their heads.`,
      );
    }
    if (tree.rootAt(pinned.tree_size).toString('hex') !== pinned.root_hash) {
      return failure(
        0,
        'head-mismatch',
        `The first ${pinned.tree_size} entries do not hash to the root this host signed at ${pinned.signed_at}.`,
      );
    }
  }
  if (vouched < tree.size) {
    return failure(
      vouched,
      'unsigned',
      `Entries ${vouched} to ${tree.size - 1} are under no signed head, so nothing vouches for them: a process ` +
        'may be signing them now (verify again), one that died before signing leaves them to the next start, ' +
        'or they were added or changed behind the service.',
    );
  }
  const latest = heads.length ? heads[heads.length - 1] : null;
  return { ok: true, treeSize: tree.size, head: latest, heads: heads.length, unsigned: 0 };
}

// Audit events and the leaves they become. A leaf is the canonical JSON (see canonical-json.ts) of
//   {"actor", "content_digest", "details", "project_id", "recorded_at", "seq", "subject_id", "type"}
// with `actor` null or {"project_id", "user_id", "user_name"} (absent parts null), `details` an object
// ({} when none), `content_digest` a "sha256:<hex>"-style digest or null, and `recorded_at` an ISO 8601 UTC
// time with milliseconds. Its Merkle leaf hash is SHA-256(0x00 || UTF-8 bytes of that text).
//
// Events are public evidence: `details` must never carry secrets, payloads, passwords, tokens or keys —
// only identifiers, digests and names. The checks below refuse the obvious mistakes.

import { ValidationError } from '../errors/index.ts';
import type { DomainEvent, DomainEventType, EventActor } from '../events/index.ts';
import { canonicalJson } from './canonical-json.ts';
import { hashLeaf } from './merkle-tree.ts';

/** The log records domain events (`noun.verb`, see events/): the same types, actors and fields. */
export type AuditEventType = DomainEventType;
export type AuditActor = EventActor;
export type AuditEvent = DomainEvent;

/** The leaf object, field names as stored and hashed. */
export interface AuditLeaf {
  seq: number;
  type: string;
  actor: { user_id: string; user_name: string | null; project_id: string | null } | null;
  project_id: string | null;
  subject_id: string | null;
  content_digest: string | null;
  details: Record<string, unknown>;
  recorded_at: string;
}

/** One stored log entry: the leaf text exactly as hashed, its hash, and the indexed columns. */
export interface AuditEntry {
  seq: number;
  /** Hex SHA-256(0x00 || leaf). */
  leafHash: string;
  /** The canonical JSON text of the leaf (the bytes that were hashed). */
  leaf: string;
  eventType: string;
  subjectId: string | null;
  projectId: string | null;
  actorId: string | null;
  recordedAt: string;
}

const TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const DIGEST_PATTERN = /^[a-z0-9]+:[0-9a-f]{32,128}$/;
/** Keys that smell of secret material; an event carrying one is a bug in the caller. */
const FORBIDDEN_DETAIL_KEYS =
  /^(payload|password|passphrase|secret|token|private_?key|ciphertext|plaintext|wrapped_?key|kek)$/i;
/** Details are a few identifiers; anything larger is a payload that slipped in. */
const MAX_DETAILS_BYTES = 8192;

function checkDetails(value: unknown, at: string): void {
  if (value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (FORBIDDEN_DETAIL_KEYS.test(key)) {
      throw new ValidationError(
        'BAD_REQUEST',
        `Audit event detail ${at}.${key} looks like secret material; log identifiers and digests only.`,
      );
    }
    checkDetails(inner, `${at}.${key}`);
  }
}

/** Builds the leaf of `event` at position `seq`, recorded at `recordedAt`; refuses malformed events. */
export function toAuditLeaf(event: AuditEvent, seq: number, recordedAt: Date): AuditLeaf {
  if (!TYPE_PATTERN.test(event.type)) {
    throw new ValidationError(
      'BAD_REQUEST',
      `Audit event type '${event.type}' is not of the form noun.verb.`,
    );
  }
  const digest = event.contentDigest ?? null;
  if (digest !== null && !DIGEST_PATTERN.test(digest)) {
    throw new ValidationError('BAD_REQUEST', `Audit content digest '${digest}' is not of the form alg:hex.`);
  }
  const details = event.details ?? {};
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    throw new ValidationError('BAD_REQUEST', 'Audit event details must be an object.');
  }
  checkDetails(details, 'details');
  if (Buffer.byteLength(canonicalJson(details)) > MAX_DETAILS_BYTES) {
    throw new ValidationError('BAD_REQUEST', `Audit event details exceed ${MAX_DETAILS_BYTES} bytes.`);
  }
  return {
    seq,
    type: event.type,
    actor: event.actor
      ? {
          user_id: event.actor.userId,
          user_name: event.actor.userName ?? null,
          project_id: event.actor.projectId ?? null,
        }
      : null,
    project_id: event.projectId ?? null,
    subject_id: event.subjectId ?? null,
    content_digest: digest,
    details,
    recorded_at: recordedAt.toISOString(),
  };
}

/** The stored entry of a leaf: its canonical text, hash and indexed columns. */
export function toAuditEntry(leaf: AuditLeaf): AuditEntry {
  const text = canonicalJson(leaf);
  return {
    seq: leaf.seq,
    leafHash: hashLeaf(Buffer.from(text, 'utf8')).toString('hex'),
    leaf: text,
    eventType: leaf.type,
    subjectId: leaf.subject_id,
    projectId: leaf.project_id,
    actorId: leaf.actor?.user_id ?? null,
    recordedAt: leaf.recorded_at,
  };
}

/** Hex leaf hash of a leaf's text, as an independent verifier computes it. */
export function leafHashOf(leafText: string): string {
  return hashLeaf(Buffer.from(leafText, 'utf8')).toString('hex');
}

/** Parses a leaf text; null when it is not a canonical leaf object (altered, or not ours). */
export function parseAuditLeaf(leafText: string): AuditLeaf | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(leafText);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const leaf = parsed as AuditLeaf;
  if (!Number.isSafeInteger(leaf.seq) || typeof leaf.type !== 'string') return null;
  try {
    if (canonicalJson(parsed) !== leafText) return null;
  } catch {
    return null;
  }
  return leaf;
}

// A subject's history as a self-contained file: the signed tree head, and each entry's leaf text with its
// audit path to that head. Anyone holding the log's public key verifies it offline with
// verifyAuditProofBundle, without trusting the server that produced it.
import type { KeyObject } from 'node:crypto';
import { leafHashOf, parseAuditLeaf } from './events.ts';
import { verifyConsistency, verifyInclusion } from './merkle-tree.ts';
import { type SignedTreeHead, verifyTreeHeadSignature } from './tree-head.ts';

export const AUDIT_PROOF_FORMAT = 'imagetrust-audit-history/v1';

export interface AuditProofEntry {
  seq: number;
  /** The canonical leaf text; its leaf hash is SHA-256(0x00 || UTF-8 bytes). */
  leaf: string;
  leaf_hash: string;
  /** Hex hashes, leaf side first (RFC 6962 PATH). */
  audit_path: string[];
}

export interface AuditProofBundle {
  format: typeof AUDIT_PROOF_FORMAT;
  subject_id: string;
  tree_head: SignedTreeHead;
  /** The log's public key as the server presented it; verifiers compare it with their trusted copy. */
  public_key: string;
  entries: AuditProofEntry[];
  /**
   * Optional: that `tree_head` extends a head the verifier pinned earlier (RFC 6962 consistency proof),
   * so the log was only appended to in between, never rewritten or forked.
   */
  consistency?: { from: SignedTreeHead; path: string[] };
}

/** How a bundle is checked: against a trusted key, and optionally against a head pinned before. */
export interface ProofBundleOptions {
  previousHead?: SignedTreeHead;
}

export type ProofBundleCheck =
  | { ok: true; treeSize: number; entries: number }
  | {
      ok: false;
      seq: number | null;
      problem: 'malformed' | 'bad-signature' | 'altered' | 'not-included' | 'wrong-subject' | 'inconsistent';
      message: string;
    };

const HEX32 = /^[0-9a-f]{64}$/;

/** Checks a history file against a trusted public key: head signature, each leaf and its inclusion. */
export function verifyAuditProofBundle(
  bundle: unknown,
  publicKey: KeyObject,
  options: ProofBundleOptions = {},
): ProofBundleCheck {
  const b = bundle as Partial<AuditProofBundle> | null;
  if (!b || typeof b !== 'object' || b.format !== AUDIT_PROOF_FORMAT || !Array.isArray(b.entries)) {
    return { ok: false, seq: null, problem: 'malformed', message: `Not an ${AUDIT_PROOF_FORMAT} document.` };
  }
  const head = b.tree_head;
  if (!head || typeof head !== 'object' || !verifyTreeHeadSignature(head, publicKey)) {
    return {
      ok: false,
      seq: null,
      problem: 'bad-signature',
      message: 'The tree head is not signed by the given public key.',
    };
  }
  const root = Buffer.from(head.root_hash, 'hex');
  for (const entry of b.entries) {
    const seq = Number.isSafeInteger(entry?.seq) ? entry.seq : null;
    if (
      seq === null ||
      typeof entry.leaf !== 'string' ||
      !Array.isArray(entry.audit_path) ||
      !entry.audit_path.every((h) => typeof h === 'string' && HEX32.test(h))
    ) {
      return { ok: false, seq, problem: 'malformed', message: 'An entry lacks its seq, leaf or audit path.' };
    }
    const leaf = parseAuditLeaf(entry.leaf);
    const hash = leafHashOf(entry.leaf);
    if (!leaf || leaf.seq !== seq || hash !== entry.leaf_hash) {
      return {
        ok: false,
        seq,
        problem: 'altered',
        message: `Entry ${seq}: the leaf text does not match its seq or leaf hash.`,
      };
    }
    if (leaf.subject_id !== b.subject_id) {
      return {
        ok: false,
        seq,
        problem: 'wrong-subject',
        message: `Entry ${seq} is about ${leaf.subject_id}, not ${b.subject_id}.`,
      };
    }
    const path = entry.audit_path.map((h) => Buffer.from(h, 'hex'));
    if (!verifyInclusion(Buffer.from(hash, 'hex'), seq, head.tree_size, path, root)) {
      return {
        ok: false,
        seq,
        problem: 'not-included',
        message: `Entry ${seq}: the audit path does not lead to the signed root of size ${head.tree_size}.`,
      };
    }
  }
  if (options.previousHead) {
    const problem = checkConsistency(options.previousHead, head, b.consistency, publicKey);
    if (problem) return { ok: false, seq: null, problem: 'inconsistent', message: problem };
  }
  return { ok: true, treeSize: head.tree_size, entries: b.entries.length };
}

/** Null when `head` extends the pinned `previous` head by the bundle's consistency proof; else why not. */
function checkConsistency(
  previous: SignedTreeHead,
  head: SignedTreeHead,
  consistency: AuditProofBundle['consistency'],
  publicKey: KeyObject,
): string | null {
  if (!verifyTreeHeadSignature(previous, publicKey))
    return 'The pinned tree head is not signed by the given key.';
  if (previous.tree_size > head.tree_size) {
    return `The log shrank from ${previous.tree_size} to ${head.tree_size} entries since the pinned head: it was rolled back.`;
  }
  if (
    !consistency ||
    consistency.from?.tree_size !== previous.tree_size ||
    consistency.from.root_hash !== previous.root_hash ||
    !Array.isArray(consistency.path) ||
    !consistency.path.every((h) => typeof h === 'string' && HEX32.test(h))
  ) {
    return 'The file carries no consistency proof from the pinned head; fetch it with `imagetrust audit proof IMAGE --since-head HEAD`.';
  }
  const ok = verifyConsistency(
    previous.tree_size,
    head.tree_size,
    Buffer.from(previous.root_hash, 'hex'),
    Buffer.from(head.root_hash, 'hex'),
    consistency.path.map((h) => Buffer.from(h, 'hex')),
  );
  return ok
    ? null
    : `The tree of size ${head.tree_size} does not extend the pinned tree of size ${previous.tree_size}: the log was rewritten or forked.`;
}

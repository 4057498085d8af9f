// The transparency log: every event appended as an RFC 6962 Merkle leaf, signed tree heads, inclusion
// and consistency proofs, and offline verification of proofs and of the whole stored log.
export { canonicalJson } from './canonical-json.ts';
export {
  type AuditActor,
  type AuditEntry,
  type AuditEvent,
  type AuditEventType,
  type AuditLeaf,
  leafHashOf,
  parseAuditLeaf,
  toAuditEntry,
  toAuditLeaf,
} from './events.ts';
export {
  AuditLog,
  type AuditLogOptions,
  type ConsistencyProof,
  type InclusionProof,
  MAX_ENTRIES_PAGE,
  type StoredLogCheckOptions,
  type StoredLogProblem,
  type StoredLogReport,
  verifyStoredAuditLog,
} from './log.ts';
export {
  EMPTY_TREE_ROOT,
  hashChildren,
  hashLeaf,
  MerkleTree,
  verifyConsistency,
  verifyInclusion,
} from './merkle-tree.ts';
export type { AuditClock, AuditRepository, TreeHeadPin } from './ports.ts';
export {
  AUDIT_PROOF_FORMAT,
  type AuditProofBundle,
  type AuditProofEntry,
  type ProofBundleCheck,
  type ProofBundleOptions,
  verifyAuditProofBundle,
} from './proof-bundle.ts';
export { AuditReader, type AuditReaderOptions, type DeferredParams } from './reader.ts';
export {
  auditPublicKeyFromPem,
  createTreeHeadSigner,
  keyIdOf,
  type SignedTreeHead,
  signTreeHead,
  type TreeHeadSigner,
  treeHeadSignatureInput,
  verifyTreeHeadSignature,
} from './tree-head.ts';

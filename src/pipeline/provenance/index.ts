// Build provenance: in-toto statements with SLSA provenance v1 predicates, signed in DSSE envelopes.
export { type ProvenanceAttestation, readProvenanceAttestation } from './attestation.ts';
export {
  type DsseEnvelope,
  hexEqual,
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  MAX_ENVELOPE_BYTES,
  parseEnvelope,
  preAuthEncoding,
  signEnvelope,
  type TrustedKey,
  toTrustedKey,
  verifyEnvelope,
} from './dsse.ts';
export {
  type BuildProvenanceInput,
  DEBIAN_BUILD_TYPE,
  type DigestSet,
  debianPackageUrl,
  type InTotoStatement,
  makeBuildProvenance,
  type ResourceDescriptor,
  readResourceDescriptor,
  readSlsaProvenance,
  readStatement,
  SLSA_PROVENANCE_V1,
  type SlsaProvenanceV1,
  STATEMENT_TYPE,
} from './statement.ts';

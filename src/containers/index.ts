// Container image trust as containers/image defines it: image names, policy.json, registries.d.
// Simple signing, sigstore, the registry client and image sources are re-exported whole: each
// sub-folder's index.ts already holds only its public surface.

export { createDestinationGuard, type DestinationGuard, isInternalAddress } from './destination-guard.ts';
export { createPolicyMechanisms, type PolicyMechanismOptions, signatureStorageFor } from './mechanisms.ts';
export type {
  FulcioTrust,
  FulcioTrustConfig,
  LintFinding,
  ParsedPolicyDocument,
  Policy,
  PolicyDecision,
  PolicyImage,
  PolicyLintOptions,
  PolicyLocation,
  PolicyMechanisms,
  PolicyRequirement,
  PolicyScopeMatch,
  RequirementOutcome,
  SignedByKeyType,
  SignedByRequirement,
  SignedClaims,
  SignedIdentity,
  SigstoreMechanism,
  SigstoreSignature,
  SigstoreSignedRequirement,
  SimpleSigningMechanism,
} from './policy/index.ts';
export {
  assertImageAllowed,
  dockerScopeProblem,
  evaluatePolicy,
  findPolicyFile,
  goFileErrorText,
  KNOWN_POLICY_TRANSPORTS,
  lintPolicy,
  matchesSignedIdentity,
  parsePolicy,
  parsePolicyDocument,
  readKeyFile,
  readPolicyFile,
  resolvePolicyScope,
  SIGNED_BY_KEY_TYPES,
  SIGSTORE_SIGNATURE_MIME_TYPE,
  validatePolicyScope,
} from './policy/index.ts';
export type {
  DockerReference,
  ImageReference,
  ImageTransport,
  ParseImageNameOptions,
} from './reference/index.ts';
export {
  DEFAULT_DOMAIN,
  dockerPolicyIdentity,
  dockerPolicyNamespaces,
  dockerReferenceName,
  dockerReferenceString,
  familiarDockerReferenceString,
  formatImageName,
  IMAGE_TRANSPORTS,
  isNameOnly,
  parseCanonicalDockerReference,
  parseDockerReference,
  parseImageName,
  parseNormalizedDockerReference,
  validateDigest,
  withDefaultTag,
} from './reference/index.ts';
export type {
  LookasideOptions,
  RegistriesConfig,
  RegistriesFile,
  RegistryNamespace,
} from './registries-d/index.ts';
export {
  builtinLookaside,
  configuredLookaside,
  lintRegistries,
  lookasideRepositoryURL,
  lookasideSignatureURL,
  mergeRegistriesFiles,
  parseRegistriesFile,
  readRegistriesDir,
  registriesSectionsFor,
  usesSigstoreAttachments,
} from './registries-d/index.ts';
export * from './registry/index.ts';
export * from './signing/index.ts';
export * from './sigstore/index.ts';
export * from './sources/index.ts';

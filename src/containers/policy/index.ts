// containers-policy.json: strict parsing, scope resolution and evaluation of the signature requirements.

export { type JsonNode, parseGoJson, positionAt } from '../go-json.ts';
export {
  assertImageAllowed,
  evaluatePolicy,
  type PolicyDecision,
  type RequirementOutcome,
  SIGSTORE_SIGNATURE_MIME_TYPE,
} from './evaluate.ts';
export { matchesSignedIdentity } from './identity.ts';
export {
  dockerScopeProblem,
  KNOWN_POLICY_TRANSPORTS,
  type LintFinding,
  lintPolicy,
  type PolicyLintOptions,
} from './lint.ts';
export { findPolicyFile, goFileErrorText, readKeyFile, readPolicyFile } from './loader.ts';
export { type ParsedPolicyDocument, type PolicyLocation, parsePolicy, parsePolicyDocument } from './parse.ts';
export type {
  FulcioTrust,
  PolicyImage,
  PolicyMechanisms,
  SignedClaims,
  SigstoreMechanism,
  SigstoreSignature,
  SimpleSigningMechanism,
} from './ports.ts';
export { type PolicyScopeMatch, resolvePolicyScope, validatePolicyScope } from './scope.ts';
export {
  type FulcioTrustConfig,
  type Policy,
  type PolicyRequirement,
  SIGNED_BY_KEY_TYPES,
  type SignedByKeyType,
  type SignedByRequirement,
  type SignedIdentity,
  type SigstoreSignedRequirement,
} from './types.ts';

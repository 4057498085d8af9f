// Simple signing (containers/image "atomic container signature" with OpenPGP): manifest digests, the
// payload, keys, signing, standalone verification and the mechanism the policy evaluator uses.

export {
  type DockerManifestSignatureInput,
  type VerifiedDockerManifestSignature,
  verifyDockerManifestSignature,
} from './docker-signature.ts';
export {
  exportGpgPublicKeys,
  type GpgSignOptions,
  signDockerManifestWithGpg,
} from './gpg.ts';
export { computeManifestDigest, matchesDigest } from './manifest-digest.ts';
export {
  createSimpleSigningMechanism,
  type SimpleSigningMechanism,
  type SimpleSigningMechanismOptions,
  type SimpleSigningVerification,
} from './mechanism.ts';
export {
  loadOpenPgp,
  type OpenPgpKeyring,
  readOpenPgpPrivateKeys,
  readOpenPgpPublicKeys,
  type VerifiedOpenPgpMessage,
  verifyOpenPgpMessage,
} from './openpgp.ts';
export {
  type CreatePayloadOptions,
  createSimpleSigningPayload,
  parseSimpleSigningPayload,
  SIMPLE_SIGNING_TYPE,
  type SimpleSigningPayload,
} from './payload.ts';
export { SIMPLE_SIGNING_CREATOR, type SignDockerManifestOptions, signDockerManifest } from './sign.ts';

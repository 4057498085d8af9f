// VM image signatures with cursive's semantics: the img_signature* properties, the signing certificate,
// the streaming verifier, certificate chains against trusted certificates, and signing identities.

export type { KeyUsageName } from './certificate-fields.ts';
export {
  type CertificateSecret,
  checkPublicKeyForKeyType,
  loadSigningCertificate,
  loadTrustedCertificates,
} from './certificates.ts';
export {
  type CertificateValidationInput,
  type TrustedCertificate,
  validateCertificate,
} from './chain.ts';
export {
  certificateNotFound,
  certificateUnavailable,
  formatGlanceSignatureFailure,
  formatNovaCertificateFailure,
  signatureFailure,
  signatureMismatch,
} from './failures.ts';
export {
  type DigestAlgorithm,
  HASH_METHODS,
  type HashMethod,
  planSignatureVerification,
  readSignatureProperties,
  SIGNATURE_KEY_TYPES,
  SIGNATURE_PROPERTY_NAMES,
  type SignatureKeyType,
  type SignaturePlan,
  type SignatureProperties,
} from './properties.ts';
export { type SigningOptions, signingOptionsFor } from './signing.ts';
export {
  createStreamingVerifier,
  finishSignatureVerification,
  maximumPssSaltLength,
  type SignatureCheck,
  type StreamingVerifier,
  startSignatureCheck,
  toSignatureCheck,
  toVerificationSpec,
  type UncheckedVerificationSpec,
  type VerificationSpec,
} from './verification-spec.ts';
export {
  type CertificateOptions,
  type CertificateSignatureHash,
  type CertificateSigner,
  createCertificate,
  generateSigningIdentity,
  SIGNING_CURVES,
  type SigningCurve,
  type SigningIdentity,
  type SigningIdentityOptions,
} from './x509-writer.ts';

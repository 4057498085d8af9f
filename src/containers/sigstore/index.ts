// Sigstore (cosign) signatures: the payload, key-based verification, and reading attachments from a registry.
export { readSigstoreAttachments, sigstoreAttachmentTag } from './attachments.ts';
export { type FulcioTrustRoot, readPemCertificates, verifyFulcioCertificate } from './fulcio.ts';
export { createSigstoreMechanism } from './mechanism.ts';
export {
  createSigstorePayload,
  parseSigstorePayload,
  SIGSTORE_BUNDLE_ANNOTATION,
  SIGSTORE_CERTIFICATE_ANNOTATION,
  SIGSTORE_CHAIN_ANNOTATION,
  SIGSTORE_PAYLOAD_TYPE,
  SIGSTORE_SIGNATURE_ANNOTATION,
  SIGSTORE_SIGNATURE_MIME_TYPE,
  type SigstorePayload,
} from './payload.ts';
export { verifyRekorSet } from './rekor.ts';
export { readSigstorePublicKey, type SigstoreSignature, verifySigstoreSignature } from './verify.ts';

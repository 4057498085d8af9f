// The exact failure texts of cursive and Glance, built in one place: clients and operators read them,
// so they are part of the compatibility contract (spec glance-compat §1.9, §1.10, §2.3).
import { VerificationError } from '../errors/index.ts';

type VerificationCode = VerificationError['code'];

/**
 * Errors whose message Glance passes through verbatim instead of prefixing it: in Glance these are
 * Python ValueErrors (from base64 or PEM decoding) that escape cursive and become a bare 400.
 */
const verbatimFailures = new WeakSet<VerificationError>();

/** A cursive SignatureVerificationError built from a reason: `Signature verification for the image failed: <reason>.` */
export function signatureFailure(code: VerificationCode, reason: string): VerificationError {
  return new VerificationError(code, `Signature verification for the image failed: ${reason}.`);
}

/** A failure whose text Glance shows as it is, without "Signature verification failed for image". */
export function verbatimFailure(code: VerificationCode, message: string, cause?: unknown): VerificationError {
  const error = new VerificationError(code, message, { cause });
  verbatimFailures.add(error);
  return error;
}

/** The final cryptographic check failed: Glance's text is exactly this, without reason or period. */
export function signatureMismatch(): VerificationError {
  return new VerificationError('SIGNATURE_INVALID', 'Signature verification failed');
}

/** The key manager has no secret with this ID (Barbican answered 404). */
export function certificateNotFound(certificateUuid: string): VerificationError {
  return signatureFailure('CERTIFICATE_NOT_FOUND', `Certificate not found with ID: ${certificateUuid}`);
}

/** Any other key-manager failure while fetching the certificate (Keystone or Barbican unreachable, 5xx). */
export function certificateUnavailable(certificateUuid: string, cause?: unknown): VerificationError {
  return new VerificationError(
    'CERTIFICATE_NOT_FOUND',
    `Signature verification for the image failed: Unable to retrieve certificate with ID: ${certificateUuid}.`,
    { cause },
  );
}

/**
 * The message Glance 25.1 puts in the 400 body when an upload fails signature verification:
 * `Signature verification failed for image <id>: <cursive text>`, except for the few failures that
 * Glance reports verbatim (see verbatimFailure).
 */
export function formatGlanceSignatureFailure(imageId: string, error: VerificationError): string {
  if (verbatimFailures.has(error)) return error.message;
  return `Signature verification failed for image ${imageId}: ${error.message}`;
}

/** The fault text Nova records when the signing certificate fails validation against trusted certificates. */
export function formatNovaCertificateFailure(certificateUuid: string, error: VerificationError): string {
  return `Image signature certificate validation failed for certificate: ${certificateUuid}. ${error.message}`;
}

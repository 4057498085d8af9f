// skopeo standalone-verify's decision (c/image VerifyDockerManifestSignature): the checks in the reference's
// order — expected reference, OpenPGP, signer, payload, digest, reference — each with its text.
import { VerificationError } from '../../errors/index.ts';
import { dockerReferenceString, parseNormalizedDockerReference } from '../reference/index.ts';
import { matchesDigest } from './manifest-digest.ts';
import { type OpenPgpKeyring, verifyOpenPgpMessage } from './openpgp.ts';
import { parseSimpleSigningPayload, type SimpleSigningPayload } from './payload.ts';

export interface DockerManifestSignatureInput {
  signature: Uint8Array;
  manifest: Uint8Array;
  expectedDockerReference: string;
  publicKeys: OpenPgpKeyring;
  /** Upper-case fingerprints compared as exact strings (as gpgme reports them), or any key of the keyring. */
  expectedFingerprints: readonly string[] | 'any';
  /** When key validity (expiry, revocation) is judged. */
  now: Date;
}

export interface VerifiedDockerManifestSignature {
  /** The accepted fingerprint: the expected one that matched, or the signer's primary key for `any`. */
  fingerprint: string;
  payload: SimpleSigningPayload;
}

/** The fully expanded string form, as Go's ParseNormalizedNamed(s).String(). */
function normalizeDockerReference(text: string): string {
  return dockerReferenceString(parseNormalizedDockerReference(text));
}

function invalid(message: string): VerificationError {
  return new VerificationError('SIGNATURE_INVALID', message);
}

/**
 * The fingerprint the signature is accepted under. A signing subkey matches its own fingerprint (5.23.1)
 * or its primary's (HEAD). One expected fingerprint fails with 5.23.1's text, several with HEAD's.
 */
function acceptedFingerprint(signer: string, primary: string, expected: readonly string[] | 'any'): string {
  if (expected === 'any') return primary;
  const match = expected.find((fingerprint) => fingerprint === signer || fingerprint === primary);
  if (match !== undefined) return match;
  if (expected.length === 1) {
    throw invalid(`Signature by ${signer} does not match expected fingerprint ${expected[0]}`);
  }
  throw invalid(
    signer === primary
      ? `signature by key ${signer} is not accepted`
      : `signature by key ${signer} of ${primary} is not accepted`,
  );
}

/** Verifies a simple signature for a manifest and the reference it is expected to be signed for. */
export async function verifyDockerManifestSignature(
  input: DockerManifestSignatureInput,
): Promise<VerifiedDockerManifestSignature> {
  const expectedReference = normalizeDockerReference(input.expectedDockerReference);
  const message = await verifyOpenPgpMessage(input.signature, input.publicKeys, input.now);
  const fingerprint = acceptedFingerprint(
    message.signerFingerprint,
    message.primaryFingerprint,
    input.expectedFingerprints,
  );
  const payload = parseSimpleSigningPayload(message.content);
  if (!matchesDigest(input.manifest, payload.dockerManifestDigest)) {
    throw invalid(
      `Signature for docker digest ${JSON.stringify(payload.dockerManifestDigest)} does not match`,
    );
  }
  let signedReference: string;
  try {
    signedReference = normalizeDockerReference(payload.dockerReference);
  } catch {
    throw invalid(`Invalid docker reference ${payload.dockerReference} in signature`);
  }
  if (signedReference !== expectedReference) {
    throw invalid(
      `Docker reference ${payload.dockerReference} does not match ${input.expectedDockerReference}`,
    );
  }
  return { fingerprint, payload };
}

// Key-based sigstore signature verification (sigstoreSigned, c/image 5.23): a PEM public key, the
// base64 signature annotation, SHA-256 over the exact payload bytes, then the strict payload parse.
// Digest and identity checks stay with the policy evaluator, which knows the image.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { PolicyError } from '../../errors/index.ts';
import { parseSigstorePayload, SIGSTORE_SIGNATURE_ANNOTATION, type SigstorePayload } from './payload.ts';

/** One sigstore signature as storage gives it: the payload blob and its layer annotations. */
export interface SigstoreSignature {
  /** The layer media type; only cosign simple-signing layers are signatures. */
  mimeType: string;
  payload: Buffer;
  annotations: Record<string, string>;
}

const rejected = (message: string) => new PolicyError('SIGNATURE_REJECTED', message);

/**
 * Reads a PEM `PUBLIC KEY` (PKIX: ECDSA, RSA or Ed25519), as sigstore's UnmarshalPEMToPublicKey does;
 * errors carry c/image's `parsing public key: ` prefix.
 */
export function readSigstorePublicKey(pem: Uint8Array): KeyObject {
  const text = Buffer.from(pem).toString('latin1');
  const block = /-----BEGIN ([^-\r\n]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!block) throw rejected('parsing public key: PEM decoding failed');
  if (block[1] !== 'PUBLIC KEY') {
    throw rejected(
      `parsing public key: unknown Public key PEM file type: ${block[1]}. Are you passing the correct public key?`,
    );
  }
  const body = block[2].replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, '');
  try {
    return createPublicKey({ key: Buffer.from(body, 'base64'), format: 'der', type: 'spki' });
  } catch (error) {
    throw rejected(`parsing public key: x509: ${(error as Error).message}`);
  }
}

/** Go's strict StdEncoding: the alphabet, `=` only as final padding, length a multiple of 4. */
function decodeStrictBase64(value: string): Buffer {
  const invalidAt = value.search(/[^A-Za-z0-9+/=]/);
  const padAt = value.indexOf('=');
  const badPadding = padAt !== -1 && (padAt < value.length - 2 || /=[^=]/.test(value.slice(padAt)));
  if (invalidAt !== -1 || badPadding || value.length % 4 !== 0) {
    const at = invalidAt !== -1 ? invalidAt : badPadding ? padAt : value.length - (value.length % 4);
    throw rejected(`base64 decoding: illegal base64 data at input byte ${at}`);
  }
  return Buffer.from(value, 'base64');
}

/** The message sigstore's verifier gives for a signature that does not verify, by key type. */
function verifierFailure(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return 'invalid signature when validating ASN.1 encoded signature';
    case 'rsa':
    case 'rsa-pss':
      return 'crypto/rsa: verification error';
    case 'ed25519':
      return 'failed to verify signature';
    default:
      return `unsupported public key type ${key.asymmetricKeyType}`;
  }
}

/** Checks one signature with one key; true if the payload bytes are what the key signed. */
function signatureVerifies(key: KeyObject, payload: Buffer, signature: Buffer): boolean {
  try {
    // Ed25519 signs the message itself; ECDSA and RSA (PKCS#1 v1.5) sign its SHA-256.
    return verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key, signature);
  } catch {
    return false;
  }
}

/**
 * Verifies a sigstore signature with any of `keys` (5.23 has exactly one; HEAD's keyPaths/keyDatas
 * accept any) and returns what its payload claims. Throws SIGNATURE_REJECTED with c/image's texts.
 */
export function verifySigstoreSignature(
  signature: Pick<SigstoreSignature, 'payload' | 'annotations'>,
  keys: KeyObject[],
): SigstorePayload {
  const encoded = signature.annotations[SIGSTORE_SIGNATURE_ANNOTATION];
  if (encoded === undefined) throw rejected(`missing ${SIGSTORE_SIGNATURE_ANNOTATION} annotation`);
  if (keys.length === 0) throw rejected('no public key to verify the signature with');
  const raw = decodeStrictBase64(encoded);
  if (!keys.some((key) => signatureVerifies(key, signature.payload, raw))) {
    throw rejected(`cryptographic signature verification failed: ${verifierFailure(keys[0])}`);
  }
  return parseSigstorePayload(signature.payload);
}

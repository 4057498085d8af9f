// DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding, signing and strict
// verification of envelopes against loaded trusted keys. Pure over its inputs: no files, no clock.
import { createHash, createPublicKey, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { AttestationError } from '../../errors/index.ts';

/** The payload type of an in-toto statement in a DSSE envelope. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** An envelope larger than this (its JSON text, in bytes) is refused before it is parsed. */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;
const MAX_SIGNATURES = 16;
const MAX_SIGNATURE_BYTES = 1024;
const MAX_KEYID_LENGTH = 256;
const MAX_PAYLOAD_TYPE_LENGTH = 256;

/** The DSSE JSON envelope, as the spec's envelope.md defines it. */
export interface DsseEnvelope {
  payloadType: string;
  /** Base64 of the serialized body. */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** A public key an envelope may be signed with, and its keyid (lowercase hex sha256 of its DER SPKI). */
export interface TrustedKey {
  keyid: string;
  key: KeyObject;
}

const malformed = (message: string): never => {
  throw new AttestationError('ATTESTATION_MALFORMED', message);
};

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body; lengths count bytes. */
export function preAuthEncoding(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${body.length} `, 'ascii'),
    body,
  ]);
}

/** Lowercase hex sha256 of the public key's DER SubjectPublicKeyInfo. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** The kinds of key DSSE envelopes are signed with here: Ed25519, or ECDSA P-256 over SHA-256. */
function keyKind(key: KeyObject): 'ed25519' | 'p256' {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'p256';
  throw new AttestationError(
    'ATTESTATION_MALFORMED',
    `Attestation keys must be Ed25519 or ECDSA P-256; this one is ${key.asymmetricKeyType ?? 'unknown'}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}.`,
  );
}

/** A trusted key from a PEM public key (SPKI), a certificate or a private key (its public half is kept). */
export function toTrustedKey(pem: string | Buffer): TrustedKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new AttestationError('ATTESTATION_MALFORMED', 'The trusted key is not a PEM public key.', {
      cause: error,
    });
  }
  keyKind(key);
  return { keyid: keyIdOf(key), key };
}

/** Signs `payload` as DSSE: one signature, base64 standard, keyid of the signing key. ECDSA signatures are DER. */
export function signEnvelope(
  payloadType: string,
  payload: Uint8Array | string,
  key: KeyObject,
): DsseEnvelope {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const pae = preAuthEncoding(payloadType, body);
  const sig =
    keyKind(key) === 'ed25519' ? sign(null, pae, key) : sign('sha256', pae, { key, dsaEncoding: 'der' });
  return {
    payloadType,
    payload: body.toString('base64'),
    signatures: [{ keyid: keyIdOf(key), sig: sig.toString('base64') }],
  };
}

/** Base64, standard or URL-safe (DSSE verifiers must accept either), checked strictly before decoding. */
function decodeBase64(value: string, what: string): Buffer {
  const standard = /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0;
  const urlSafe = /^[A-Za-z0-9_-]*={0,2}$/.test(value) && (value.length % 4 === 0 || !value.includes('='));
  if (!standard && !urlSafe) malformed(`${what} is not base64.`);
  const bytes = Buffer.from(value, standard ? 'base64' : 'base64url');
  const again = bytes.toString(standard ? 'base64' : 'base64url');
  // Non-canonical encodings (stray bits in the last character) name the same bytes two ways.
  if (again.replace(/=+$/, '') !== value.replace(/=+$/, '')) malformed(`${what} is not canonical base64.`);
  return bytes;
}

/** Reads an envelope from its JSON text or a parsed value, refusing anything but the exact shape. */
export function parseEnvelope(input: string | Uint8Array | unknown): DsseEnvelope {
  let value = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
    if (size > MAX_ENVELOPE_BYTES) malformed(`The envelope is larger than ${MAX_ENVELOPE_BYTES} bytes.`);
    try {
      value = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
    } catch (error) {
      throw new AttestationError('ATTESTATION_MALFORMED', 'The envelope is not JSON.', { cause: error });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    malformed('The envelope must be a JSON object with payloadType, payload and signatures.');
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (!['payloadType', 'payload', 'signatures'].includes(key))
      malformed(`Unknown key '${key}' in the envelope.`);
  }
  const { payloadType, payload, signatures } = object;
  if (typeof payloadType !== 'string' || payloadType === '' || payloadType.length > MAX_PAYLOAD_TYPE_LENGTH)
    malformed('payloadType must be a non-empty string.');
  if (typeof payload !== 'string') malformed('payload must be a base64 string.');
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > MAX_SIGNATURES)
    malformed(`signatures must be an array of 1 to ${MAX_SIGNATURES} signatures.`);
  const read = (signatures as unknown[]).map((entry, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      malformed(`signatures[${i}] must be an object with sig and keyid.`);
    const { keyid = '', sig, ...rest } = entry as Record<string, unknown>;
    if (Object.keys(rest).length) malformed(`Unknown key '${Object.keys(rest)[0]}' in signatures[${i}].`);
    if (typeof keyid !== 'string' || keyid.length > MAX_KEYID_LENGTH)
      malformed(`signatures[${i}].keyid must be a string of at most ${MAX_KEYID_LENGTH} characters.`);
    if (typeof sig !== 'string' || sig === '' || sig.length > (MAX_SIGNATURE_BYTES * 4) / 3 + 4)
      malformed(`signatures[${i}].sig must be base64 of at most ${MAX_SIGNATURE_BYTES} bytes.`);
    return { keyid: keyid as string, sig: sig as string };
  });
  return { payloadType: payloadType as string, payload: payload as string, signatures: read };
}

function verifiesWith(key: KeyObject, pae: Buffer, sig: Buffer): boolean {
  const attempt = (check: () => boolean) => {
    try {
      return check();
    } catch {
      return false;
    }
  };
  if (key.asymmetricKeyType === 'ed25519') return attempt(() => verify(null, pae, key, sig));
  // ECDSA: DER as openssl and sigstore write it, or r||s as the DSSE spec's test vector; a signature
  // is tried in both, since a rare DER signature is 64 bytes long too.
  return (['der', 'ieee-p1363'] as const).some((dsaEncoding) =>
    attempt(() => verify('sha256', pae, { key, dsaEncoding }, sig)),
  );
}

/**
 * Verifies an envelope against trusted keys: valid when a signature verifies with one of them over
 * PAE(payloadType, payload). The keyid only narrows which keys are tried; it decides nothing.
 * Throws ATTESTATION_MALFORMED, ATTESTATION_UNTRUSTED (no trusted key signed) or ATTESTATION_INVALID
 * (a signature that names a trusted key does not verify).
 */
export function verifyEnvelope(
  input: string | Uint8Array | unknown,
  trustedKeys: readonly TrustedKey[],
): { payloadType: string; payload: Buffer; keyid: string } {
  const envelope = parseEnvelope(input);
  const payload = decodeBase64(envelope.payload, 'payload');
  const pae = preAuthEncoding(envelope.payloadType, payload);
  let namedTrustedKey = false;
  for (const [i, signature] of envelope.signatures.entries()) {
    const sig = decodeBase64(signature.sig, `signatures[${i}].sig`);
    if (sig.length > MAX_SIGNATURE_BYTES)
      malformed(`signatures[${i}].sig is longer than ${MAX_SIGNATURE_BYTES} bytes.`);
    const named = trustedKeys.filter((k) => hexEqual(k.keyid, signature.keyid));
    namedTrustedKey ||= named.length > 0;
    for (const candidate of named.length ? named : trustedKeys) {
      if (verifiesWith(candidate.key, pae, sig))
        return { payloadType: envelope.payloadType, payload, keyid: candidate.keyid };
    }
  }
  if (trustedKeys.length === 0) {
    throw new AttestationError(
      'ATTESTATION_UNTRUSTED',
      'No trusted keys were given to verify the envelope with.',
    );
  }
  if (namedTrustedKey) {
    throw new AttestationError(
      'ATTESTATION_INVALID',
      'The envelope signature by a trusted key does not verify: the payload or its type was changed after signing.',
    );
  }
  throw new AttestationError(
    'ATTESTATION_UNTRUSTED',
    `No signature on the envelope was made by a trusted key (keyids: ${envelope.signatures.map((s) => s.keyid || '(none)').join(', ')}).`,
  );
}

/** Compares two hex digests without leaking where they differ; false when the lengths differ. */
export function hexEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

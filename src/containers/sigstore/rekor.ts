// Rekor signed entry timestamps (the `dev.sigstore.cosign/bundle` annotation): the log's signature over
// the canonical entry, then the hashedrekord entry must name this key or certificate, this signature
// and this payload. Returns the integrated time, which Fulcio certificates are judged at.
import { createHash, type KeyObject, verify } from 'node:crypto';
import { PolicyError } from '../../errors/index.ts';

const rejected = (message: string) => new PolicyError('SIGNATURE_REJECTED', message);

/** RFC 8785 canonical JSON for what a SET carries (objects, arrays, strings, numbers). */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The DER body of the first PEM block, and whether anything but whitespace follows it. */
function pemBody(bytes: Buffer): { der: Buffer; trailing: boolean } | undefined {
  const text = bytes.toString('latin1');
  const block = /-----BEGIN ([^-\r\n]+)-----\r?\n([\s\S]*?)-----END \1-----\r?\n?/.exec(text);
  if (!block) return undefined;
  const der = Buffer.from(block[2].replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, ''), 'base64');
  return { der, trailing: text.slice(block.index + block[0].length).length > 0 };
}

interface SetInput {
  /** Rekor's public keys (ECDSA). */
  rekorKeys: KeyObject[];
  /** The bundle annotation text. */
  bundle: string;
  /** The key (PEM PUBLIC KEY) or certificate (PEM) the log entry must name. */
  keyOrCertificatePem: Buffer;
  base64Signature: string;
  payload: Buffer;
}

function field<T>(value: unknown, name: string, kind: 'string' | 'object'): T {
  if (typeof value !== kind || value === null) throw rejected(`Missing "${name}" field in hashedrekord`);
  return value as T;
}

/** Verifies a Rekor SET as c/image's VerifyRekorSET does; returns the entry's integrated time. */
export function verifyRekorSet(input: SetInput): Date {
  let set: { SignedEntryTimestamp?: unknown; Payload?: Record<string, unknown> };
  try {
    set = JSON.parse(input.bundle);
  } catch (error) {
    throw rejected((error as Error).message);
  }
  if (typeof set.Payload !== 'object' || set.Payload === null) throw rejected('missing Rekor SET payload');
  const canonical = Buffer.from(canonicalJson(set.Payload));
  const setSignature = Buffer.from(String(set.SignedEntryTimestamp ?? ''), 'base64');
  // ecdsa.VerifyASN1 over the SHA-256 of the canonical payload, with any Rekor key.
  const verified = input.rekorKeys.some((key) => {
    try {
      return verify('sha256', canonical, key, setSignature);
    } catch {
      return false;
    }
  });
  if (!verified) throw rejected('cryptographic signature verification of Rekor SET failed');

  const payload = JSON.parse(canonical.toString('utf8')) as { body?: unknown; integratedTime?: unknown };
  let entry: { apiVersion?: unknown; kind?: unknown; spec?: unknown };
  try {
    entry = JSON.parse(Buffer.from(String(payload.body ?? ''), 'base64').toString('utf8'));
  } catch (error) {
    throw rejected(`decoding the body of a Rekor SET payload: ${(error as Error).message}`);
  }
  if (entry.kind !== 'hashedrekord')
    throw rejected(`decoding the body of a Rekor SET payload: unexpected kind ${JSON.stringify(entry.kind)}`);
  if (entry.apiVersion === undefined) throw rejected('missing Rekor SET Payload API version');
  if (entry.apiVersion !== '0.0.1')
    throw rejected(`unsupported Rekor SET Payload hashedrekord version ${JSON.stringify(entry.apiVersion)}`);
  const spec = field<Record<string, unknown>>(entry.spec, 'spec', 'object');
  const signature = field<Record<string, unknown>>(spec.signature, 'signature', 'object');
  const publicKey = field<Record<string, unknown>>(signature.publicKey, 'signature.publicKey', 'object');

  const logged = pemBody(Buffer.from(String(publicKey.content ?? ''), 'base64'));
  if (!logged) throw rejected('publicKey in Rekor SET is not in PEM format');
  if (logged.trailing) throw rejected('publicKey in Rekor SET has trailing data');
  const ours = pemBody(input.keyOrCertificatePem);
  if (!ours)
    throw rejected('public key or cert to be matched against publicKey in Rekor SET is not in PEM format');
  if (ours.trailing)
    throw rejected('public key or cert to be matched against publicKey in Rekor SET has trailing data');
  if (!logged.der.equals(ours.der)) throw rejected('publicKey in Rekor SET does not match');

  const loggedSignature = Buffer.from(String(signature.content ?? ''), 'base64');
  if (!loggedSignature.equals(Buffer.from(input.base64Signature, 'base64')))
    throw rejected('signature in Rekor SET does not match');

  const data = field<Record<string, unknown>>(spec.data, 'data', 'object');
  const hash = field<Record<string, unknown>>(data.hash, 'data.hash', 'object');
  const algorithm = field<string>(hash.algorithm, 'data.hash.algorithm', 'string');
  if (algorithm !== 'sha256')
    throw rejected(`Unexpected "data.hash.algorithm" value ${JSON.stringify(algorithm)}`);
  const value = field<string>(hash.value, 'data.hash.value', 'string');
  if (value !== createHash('sha256').update(input.payload).digest('hex'))
    throw rejected('payload in Rekor SET does not match');

  if (typeof payload.integratedTime !== 'number')
    throw rejected('parsing Rekor SET payload: integratedTime is not a number');
  return new Date(payload.integratedTime * 1000);
}

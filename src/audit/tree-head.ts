// Signed tree heads. The signature is Ed25519 (RFC 8032, pure) over the 50 bytes of RFC 6962 §3.5's
// TreeHeadSignature structure:
//   version         1 byte   0x00 (v1)
//   signature_type  1 byte   0x01 (tree_hash)
//   timestamp       8 bytes  milliseconds since the Unix epoch, unsigned big-endian
//   tree_size       8 bytes  unsigned big-endian
//   sha256_root     32 bytes the raw root hash
// The key id is the lowercase hex SHA-256 of the public key's DER SubjectPublicKeyInfo (as RFC 6962's
// LogID). Signatures travel base64, hashes hex, and `signed_at` is the timestamp as ISO 8601 UTC.
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/** A signed tree head, as stored and served. */
export interface SignedTreeHead {
  tree_size: number;
  /** Hex MTH of the first `tree_size` leaves. */
  root_hash: string;
  /** Milliseconds since the epoch, as signed. */
  timestamp: number;
  /** The same instant, ISO 8601 UTC. */
  signed_at: string;
  key_id: string;
  /** Base64 Ed25519 signature over treeHeadSignatureInput(). */
  signature: string;
}

/** Signs tree heads; the private key never leaves it. */
export interface TreeHeadSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  sign(message: Buffer): Buffer;
}

/** The exact bytes an Ed25519 tree head signature covers. */
export function treeHeadSignatureInput(treeSize: number, timestamp: number, rootHash: Uint8Array): Buffer {
  if (rootHash.length !== 32) throw new RangeError('A root hash is 32 bytes.');
  const bytes = Buffer.alloc(50);
  bytes[0] = 0; // version v1
  bytes[1] = 1; // signature_type tree_hash
  bytes.writeBigUInt64BE(BigInt(timestamp), 2);
  bytes.writeBigUInt64BE(BigInt(treeSize), 10);
  Buffer.from(rootHash).copy(bytes, 18);
  return bytes;
}

/** Hex SHA-256 of the DER SubjectPublicKeyInfo. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** A signer over an Ed25519 private key. */
export function createTreeHeadSigner(privateKey: KeyObject): TreeHeadSigner {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new RangeError('The audit log signs tree heads with Ed25519 keys only.');
  }
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (message) => sign(null, message, privateKey),
  };
}

export function signTreeHead(
  signer: TreeHeadSigner,
  treeSize: number,
  rootHash: Uint8Array,
  at: Date,
): SignedTreeHead {
  const timestamp = at.getTime();
  return {
    tree_size: treeSize,
    root_hash: Buffer.from(rootHash).toString('hex'),
    timestamp,
    signed_at: new Date(timestamp).toISOString(),
    key_id: signer.keyId,
    signature: signer.sign(treeHeadSignatureInput(treeSize, timestamp, rootHash)).toString('base64'),
  };
}

/** The public key of a PEM (public or private, Ed25519); throws on anything else. */
export function auditPublicKeyFromPem(pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new RangeError('Audit log keys are Ed25519.');
  return key;
}

/**
 * True when `head` is signed by `publicKey`: the key id matches the key and the signature covers the
 * head's size, timestamp and root. Pure and synchronous, for offline verifiers.
 */
export function verifyTreeHeadSignature(head: SignedTreeHead, publicKey: KeyObject): boolean {
  if (publicKey.asymmetricKeyType !== 'ed25519') return false;
  if (head.key_id !== keyIdOf(publicKey)) return false;
  if (!/^[0-9a-f]{64}$/.test(head.root_hash)) return false;
  if (!Number.isSafeInteger(head.tree_size) || head.tree_size < 0) return false;
  if (!Number.isSafeInteger(head.timestamp) || head.timestamp < 0) return false;
  if (new Date(head.timestamp).toISOString() !== head.signed_at) return false;
  const signature = Buffer.from(head.signature, 'base64');
  if (signature.length !== 64) return false;
  const message = treeHeadSignatureInput(head.tree_size, head.timestamp, Buffer.from(head.root_hash, 'hex'));
  return verify(null, message, publicKey, signature);
}

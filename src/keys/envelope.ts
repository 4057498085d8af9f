// Envelope encryption of secret payloads: each payload under a fresh 256-bit data key (AES-256-GCM), the
// data key wrapped by a key-encryption key (KEK) from the keyring. Both layers bind the secret's identity
// as associated data, so a ciphertext moved to another row, or a wrong KEK, fails instead of decrypting.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError, ImageTrustError } from '../errors/index.ts';
import type { SealedPayload } from './model.ts';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** One key-encryption key; `key` is 32 bytes. */
export interface KeyEncryptionKey {
  id: string;
  key: Buffer;
  /** ISO 8601; when the key was made. */
  created: string;
}

/** The KEKs a process knows, and the one new data keys are wrapped with. */
export interface Keyring {
  current: string;
  keys: readonly KeyEncryptionKey[];
}

/** What a payload is bound to: decrypting it under any other identity fails. */
export interface PayloadBinding {
  secretId: string;
  projectId: string;
  contentType: string;
}

function corrupt(secretId: string, why: string, cause?: unknown): ImageTrustError {
  return new ImageTrustError(
    'SECRET_CORRUPT',
    `Secret ${secretId} cannot be decrypted: ${why}. Restore the keyring or the row from a backup.`,
    { cause },
  );
}

// Associated data is a JSON array, so no field can be shifted into another by a crafted value.
const dataKeyAad = (kekId: string, b: PayloadBinding) =>
  Buffer.from(JSON.stringify(['imagetrust/data-key/v1', kekId, b.secretId, b.projectId]));
const payloadAad = (b: PayloadBinding) =>
  Buffer.from(JSON.stringify(['imagetrust/secret-payload/v1', b.secretId, b.projectId, b.contentType]));

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Opens nonce ‖ ciphertext ‖ tag; GCM checks the tag in constant time and throws on any mismatch. */
function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error('sealed value is truncated');
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([
    decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
    decipher.final(),
  ]);
}

function findKek(keyring: Keyring, id: string): KeyEncryptionKey | undefined {
  return keyring.keys.find((k) => k.id === id);
}

function currentKek(keyring: Keyring): KeyEncryptionKey {
  const kek = findKek(keyring, keyring.current);
  if (!kek)
    throw new ConfigError(`The keyring's current key-encryption key '${keyring.current}' is missing.`);
  return kek;
}

function unwrapDataKey(keyring: Keyring, binding: PayloadBinding, kekId: string, wrappedKey: string): Buffer {
  const kek = findKek(keyring, kekId);
  if (!kek) throw corrupt(binding.secretId, `its key-encryption key '${kekId}' is not in the keyring`);
  let dataKey: Buffer;
  try {
    dataKey = open(kek.key, Buffer.from(wrappedKey, 'base64'), dataKeyAad(kekId, binding));
  } catch (error) {
    throw corrupt(binding.secretId, `its data key fails authentication under '${kekId}'`, error);
  }
  if (dataKey.length !== KEY_BYTES) throw corrupt(binding.secretId, 'its data key has the wrong length');
  return dataKey;
}

/** Encrypts a payload under a fresh data key, wrapped by the keyring's current KEK. */
export function sealPayload(keyring: Keyring, binding: PayloadBinding, plaintext: Buffer): SealedPayload {
  const kek = currentKek(keyring);
  const dataKey = randomBytes(KEY_BYTES);
  try {
    return {
      kekId: kek.id,
      wrappedKey: seal(kek.key, dataKey, dataKeyAad(kek.id, binding)).toString('base64'),
      ciphertext: seal(dataKey, plaintext, payloadAad(binding)).toString('base64'),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** Decrypts a sealed payload; a missing KEK or any tampering throws SECRET_CORRUPT, never garbage. */
export function openPayload(keyring: Keyring, binding: PayloadBinding, sealed: SealedPayload): Buffer {
  const dataKey = unwrapDataKey(keyring, binding, sealed.kekId, sealed.wrappedKey);
  try {
    return open(dataKey, Buffer.from(sealed.ciphertext, 'base64'), payloadAad(binding));
  } catch (error) {
    throw corrupt(binding.secretId, 'its payload fails authentication', error);
  } finally {
    dataKey.fill(0);
  }
}

/** Re-wraps a data key under the current KEK; the payload ciphertext is untouched. */
export function rewrapDataKey(
  keyring: Keyring,
  binding: PayloadBinding,
  sealed: Pick<SealedPayload, 'kekId' | 'wrappedKey'>,
): Pick<SealedPayload, 'kekId' | 'wrappedKey'> {
  const kek = currentKek(keyring);
  const dataKey = unwrapDataKey(keyring, binding, sealed.kekId, sealed.wrappedKey);
  try {
    return {
      kekId: kek.id,
      wrappedKey: seal(kek.key, dataKey, dataKeyAad(kek.id, binding)).toString('base64'),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** Makes a new random KEK; `now` names and dates it. */
export function createKek(now: Date): KeyEncryptionKey {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return {
    id: `kek-${stamp}-${randomBytes(4).toString('hex')}`,
    key: randomBytes(KEY_BYTES),
    created: now.toISOString(),
  };
}

/** Adds a KEK and makes it current. */
export function addCurrentKek(keyring: Keyring, kek: KeyEncryptionKey): Keyring {
  return { current: kek.id, keys: [...keyring.keys.filter((k) => k.id !== kek.id), kek] };
}

/** Drops the given KEKs; the current one can never be retired. */
export function retireKeks(keyring: Keyring, ids: Iterable<string>): Keyring {
  const drop = new Set(ids);
  if (drop.has(keyring.current)) throw new ConfigError('The current key-encryption key cannot be retired.');
  return { current: keyring.current, keys: keyring.keys.filter((k) => !drop.has(k.id)) };
}

/** A keyring of one KEK given directly (IMAGETRUST_KEK): base64 of exactly 32 bytes. */
export function keyringFromBase64(id: string, base64: string, source: string): Keyring {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== base64.trim()) {
    throw new ConfigError(
      `${source} must be the base64 encoding of exactly 32 random bytes (openssl rand -base64 32).`,
    );
  }
  return { current: id, keys: [{ id, key, created: new Date(0).toISOString() }] };
}

/** The keyring file's JSON: `{"version": 1, "current": ID, "keys": [{"id","key","created"}]}`. */
export function serializeKeyring(keyring: Keyring): string {
  return `${JSON.stringify(
    {
      version: 1,
      current: keyring.current,
      keys: keyring.keys.map((k) => ({ id: k.id, key: k.key.toString('base64'), created: k.created })),
    },
    null,
    2,
  )}\n`;
}

/** Parses and checks a keyring file; every problem is a ConfigError naming the file. */
export function parseKeyring(text: string, source: string): Keyring {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Keyring ${source} is not valid JSON.`, { cause: error });
  }
  const d = doc as { version?: unknown; current?: unknown; keys?: unknown };
  if (
    !d ||
    typeof d !== 'object' ||
    d.version !== 1 ||
    typeof d.current !== 'string' ||
    !Array.isArray(d.keys)
  ) {
    throw new ConfigError(`Keyring ${source} must hold {"version": 1, "current": ID, "keys": [...]}.`);
  }
  const keys: KeyEncryptionKey[] = d.keys.map((entry: unknown, index: number) => {
    const e = entry as { id?: unknown; key?: unknown; created?: unknown };
    if (!e || typeof e.id !== 'string' || e.id === '' || typeof e.key !== 'string') {
      throw new ConfigError(`Keyring ${source}: key #${index + 1} needs a string id and key.`);
    }
    const key = Buffer.from(e.key, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new ConfigError(`Keyring ${source}: key '${e.id}' is not 32 bytes of base64.`);
    }
    return { id: e.id, key, created: typeof e.created === 'string' ? e.created : '' };
  });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) {
    throw new ConfigError(`Keyring ${source} lists a key id twice.`);
  }
  if (!keys.some((k) => k.id === d.current)) {
    throw new ConfigError(`Keyring ${source}: the current key '${d.current}' is not among its keys.`);
  }
  return { current: d.current, keys };
}

// OpenPGP for simple signing, judged as c/image's gpgme back end judges it: armored and binary keyrings,
// one signature per message, and only a fully valid signature (not expired, revoked or unknown) counts.
import type * as openpgp from 'openpgp';
import { ValidationError, VerificationError } from '../../errors/index.ts';

/**
 * openpgp.js, loaded when a key or signature is first read: a server that never sees one (most never
 * do) does not hold its ~7 MB.
 */
export const loadOpenPgp = (): Promise<typeof openpgp> => import('openpgp');

/** Keys imported from one or more files; `fingerprints` are the primary keys', upper-case hex. */
export interface OpenPgpKeyring {
  keys: openpgp.Key[];
  fingerprints: string[];
}

/** What a verified signed message yields. */
export interface VerifiedOpenPgpMessage {
  /** The key that made the signature (a subkey's own fingerprint when a subkey signed), upper-case. */
  signerFingerprint: string;
  /** The primary key of the signer, upper-case. */
  primaryFingerprint: string;
  content: Uint8Array;
}

const ARMOR_BLOCK = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

function invalidSignature(message: string, cause?: unknown): VerificationError {
  return new VerificationError('SIGNATURE_INVALID', message, { cause });
}

/** Binary OpenPGP starts with a packet header, whose top bit is set; otherwise look for an armor line. */
function isArmored(bytes: Uint8Array): boolean {
  if (bytes.length > 0 && (bytes[0] & 0x80) !== 0) return false;
  return Buffer.from(bytes.subarray(0, 4096)).toString('latin1').includes('-----BEGIN PGP ');
}

/** Every key in the data, armored (any number of blocks) or binary; unreadable data yields none. */
async function readKeysFrom(bytes: Uint8Array): Promise<openpgp.Key[]> {
  const pgp = await loadOpenPgp();
  if (isArmored(bytes)) {
    const keys: openpgp.Key[] = [];
    for (const block of Buffer.from(bytes).toString('utf8').match(ARMOR_BLOCK) ?? []) {
      keys.push(...(await pgp.readKeys({ armoredKeys: block }).catch(() => [])));
    }
    return keys;
  }
  return pgp.readKeys({ binaryKeys: bytes }).catch(() => []);
}

/** Imports public keys as the ephemeral gpgme keyring does; nothing imported is an error. */
export async function readOpenPgpPublicKeys(files: Uint8Array[]): Promise<OpenPgpKeyring> {
  const keys: openpgp.Key[] = [];
  for (const file of files) {
    for (const key of await readKeysFrom(file)) keys.push(key.isPrivate() ? key.toPublic() : key);
  }
  if (keys.length === 0) throw new ValidationError('BAD_REQUEST', 'No public keys imported');
  return { keys, fingerprints: keys.map((key) => key.getFingerprint().toUpperCase()) };
}

/** Private keys from a file (armored or binary), decrypted with the passphrase when they are protected. */
export async function readOpenPgpPrivateKeys(
  bytes: Uint8Array,
  passphrase?: string,
): Promise<openpgp.PrivateKey[]> {
  const pgp = await loadOpenPgp();
  const keys = (await readKeysFrom(bytes)).filter((key): key is openpgp.PrivateKey => key.isPrivate());
  const decrypted: openpgp.PrivateKey[] = [];
  for (const key of keys) {
    if (key.isDecrypted()) {
      decrypted.push(key);
      continue;
    }
    if (passphrase === undefined) {
      throw new ValidationError(
        'BAD_REQUEST',
        `The key ${key.getFingerprint().toUpperCase()} is protected: give its passphrase with --passphrase-file.`,
      );
    }
    try {
      decrypted.push(await pgp.decryptKey({ privateKey: key, passphrase }));
    } catch (error) {
      throw new ValidationError(
        'BAD_REQUEST',
        `Cannot unlock the key ${key.getFingerprint().toUpperCase()}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return decrypted;
}

/** gpgme accepts a fingerprint or a long key ID of the primary key or of a subkey. */
function keyMatches(candidate: { getFingerprint(): string }, wanted: string): boolean {
  const fingerprint = candidate.getFingerprint().toUpperCase();
  const spec = wanted.toUpperCase().replace(/^0X/, '');
  return fingerprint === spec || (spec.length === 16 && fingerprint.endsWith(spec));
}

export interface SignOpenPgpOptions {
  content: Uint8Array;
  privateKeys: openpgp.PrivateKey[];
  /** Which key signs: a primary fingerprint (its signing subkey is used, as gpg does) or a subkey's. */
  fingerprint: string;
  now: Date;
}

/** A binary OpenPGP signed message (one-pass signature, literal data, signature) over the content. */
export async function signOpenPgpMessage(options: SignOpenPgpOptions): Promise<Uint8Array> {
  const pgp = await loadOpenPgp();
  for (const key of options.privateKeys) {
    const subkey = key.subkeys.find((candidate) => keyMatches(candidate, options.fingerprint));
    if (!keyMatches(key, options.fingerprint) && !subkey) continue;
    const message = await pgp.createMessage({ binary: options.content, date: options.now });
    return pgp.sign({
      message,
      signingKeys: key,
      signingKeyIDs: subkey ? subkey.getKeyID() : undefined,
      date: options.now,
      format: 'binary',
    });
  }
  throw new ValidationError('BAD_REQUEST', `key "${options.fingerprint}" not found`);
}

type ReadMessage = { kind: 'message'; message: openpgp.Message<Uint8Array> | openpgp.Message<string> };
type ReadCleartext = { kind: 'cleartext'; message: openpgp.CleartextMessage };

/** Binary, armored or clearsigned input, as gpgme takes all three; anything else is "No data". */
async function readSignedMessage(bytes: Uint8Array): Promise<ReadMessage | ReadCleartext> {
  const pgp = await loadOpenPgp();
  const text = Buffer.from(bytes).toString('utf8');
  try {
    if (isArmored(bytes) && text.trimStart().startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
      return { kind: 'cleartext', message: await pgp.readCleartextMessage({ cleartextMessage: text }) };
    }
    if (isArmored(bytes)) {
      return { kind: 'message', message: await pgp.readMessage({ armoredMessage: text }) };
    }
  } catch (error) {
    throw invalidSignature('No data', error);
  }
  if (bytes.length === 0 || (bytes[0] & 0x80) === 0) throw invalidSignature('No data');
  try {
    return { kind: 'message', message: await pgp.readMessage({ binaryMessage: bytes }) };
  } catch (error) {
    throw invalidSignature('Unexpected GPG signature count 0', error);
  }
}

/**
 * Verifies a signed message against the keyring at `now` and returns its content and signer. Exactly one
 * signature must be present, and it must be valid; an unknown, expired or revoked key fails like a bad one.
 */
export async function verifyOpenPgpMessage(
  signature: Uint8Array,
  keyring: OpenPgpKeyring,
  now: Date,
): Promise<VerifiedOpenPgpMessage> {
  const pgp = await loadOpenPgp();
  const read = await readSignedMessage(signature);
  let result: openpgp.VerifyMessageResult<Uint8Array | string>;
  try {
    result =
      read.kind === 'cleartext'
        ? await pgp.verify({ message: read.message, verificationKeys: keyring.keys, date: now })
        : await pgp.verify({
            message: read.message as openpgp.Message<Uint8Array>,
            verificationKeys: keyring.keys,
            date: now,
            format: 'binary',
          });
  } catch (error) {
    // A message without literal data (a detached signature) or a broken stream lands here.
    throw invalidSignature(`Invalid GPG signature: ${(error as Error).message}`, error);
  }
  if (result.signatures.length !== 1) {
    throw invalidSignature(`Unexpected GPG signature count ${result.signatures.length}`);
  }
  const [only] = result.signatures;
  try {
    await only.verified;
  } catch (error) {
    throw invalidSignature(`Invalid GPG signature: ${(error as Error).message}`, error);
  }
  for (const key of keyring.keys) {
    const [signer] = key.getKeys(only.keyID);
    if (!signer) continue;
    // openpgp judges the key at signing time; gpgme also refuses a key that has expired since (EXPKEYSIG).
    try {
      await key.verifyPrimaryKey(now);
      if (signer !== key) await (signer as openpgp.Subkey).verify(now);
    } catch (error) {
      throw invalidSignature(`Invalid GPG signature: ${(error as Error).message}`, error);
    }
    return {
      signerFingerprint: signer.getFingerprint().toUpperCase(),
      primaryFingerprint: key.getFingerprint().toUpperCase(),
      content: typeof result.data === 'string' ? Buffer.from(result.data, 'utf8') : result.data,
    };
  }
  // openpgp only verifies with keys it was given, so this is unreachable in practice.
  throw invalidSignature(`Invalid GPG signature: no key ${only.keyID.toHex().toUpperCase()}`);
}

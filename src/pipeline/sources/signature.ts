// The detached OpenPGP signature over a checksum list, judged as `gpg --verify SHA256SUMS.gpg SHA256SUMS`
// with the given keyring: fail closed, so an unsigned, malformed or wrongly signed list trusts nothing.
import * as openpgp from 'openpgp';
import type { OpenPgpKeyring } from '../../containers/index.ts';
import { SourceError } from '../../errors/index.ts';

export interface VerifyChecksumListOptions {
  /** The checksum list's bytes, exactly as downloaded. */
  list: Uint8Array;
  /** The detached signature, armored or binary. */
  signature: Uint8Array;
  keyring: OpenPgpKeyring;
  /** Keys are judged (expiry, revocation) at this time. */
  now: Date;
}

export interface VerifiedChecksumList {
  /** Primary key fingerprints of the keyring keys whose signatures were good, upper-case hex. */
  signers: string[];
}

function untrusted(message: string, cause?: unknown): SourceError {
  return new SourceError(
    'SOURCE_LIST_UNTRUSTED',
    `${message}: the checksum list is not trusted, so nothing is verified against it.`,
    { cause },
  );
}

async function readDetachedSignature(bytes: Uint8Array): Promise<openpgp.Signature> {
  const text = Buffer.from(bytes.subarray(0, 4096)).toString('latin1');
  try {
    if (bytes.length > 0 && (bytes[0] & 0x80) === 0 && text.includes('-----BEGIN PGP SIGNATURE-----')) {
      return await openpgp.readSignature({ armoredSignature: Buffer.from(bytes).toString('utf8') });
    }
    return await openpgp.readSignature({ binarySignature: bytes });
  } catch (error) {
    throw untrusted('The signature file is not an OpenPGP signature', error);
  }
}

/**
 * Verifies the list's detached signature. At least one signature must be good and made by a keyring key
 * valid at `now`; signatures by keys outside the keyring are ignored (distributions sign with several
 * keys), but a bad signature by a keyring key refuses the list, as gpg's non-zero status does.
 */
export async function verifyChecksumListSignature(
  options: VerifyChecksumListOptions,
): Promise<VerifiedChecksumList> {
  const signature = await readDetachedSignature(options.signature);
  const message = await openpgp.createMessage({ binary: options.list });
  let result: openpgp.VerifyMessageResult<Uint8Array>;
  try {
    result = await openpgp.verify({
      message,
      signature,
      verificationKeys: options.keyring.keys,
      date: options.now,
      format: 'binary',
    });
  } catch (error) {
    throw untrusted(`The signature cannot be checked (${(error as Error).message})`, error);
  }
  const signers: string[] = [];
  for (const candidate of result.signatures) {
    const key = options.keyring.keys.find((k) => k.getKeys(candidate.keyID).length > 0);
    if (!key) continue;
    try {
      await candidate.verified;
      // openpgp judges the key at signing time; like gpg, also refuse a key expired or revoked since.
      await key.verifyPrimaryKey(options.now);
    } catch (error) {
      throw untrusted(
        `Bad signature by key ${key.getFingerprint().toUpperCase()} (${(error as Error).message})`,
        error,
      );
    }
    signers.push(key.getFingerprint().toUpperCase());
  }
  if (signers.length === 0) {
    const ids = result.signatures.map((s) => s.keyID.toHex().toUpperCase()).join(', ') || 'none';
    throw untrusted(`No signature by a key in the keyring (signed by: ${ids})`);
  }
  return { signers };
}

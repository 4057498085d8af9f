// Public keys a project uploads for its container policy: OpenPGP (armored or binary) for signedBy, PEM
// public keys for sigstoreSigned. Private material is refused so a tenant never parks a secret here.
import { createHash, createPublicKey } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { loadOpenPgp } from '../containers/index.ts';
import { ValidationError } from '../errors/index.ts';
import type { ContainerKeyType } from './ports.ts';

/** Content types a key upload may carry; the bytes decide the key type, not the header. */
export const KEY_MEDIA_TYPES = ['application/octet-stream', 'application/pgp-keys', 'application/x-pem-file'];

/** Names keyPath may use: no slashes or leading dots, so no name can look like a server path. */
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isContainerKeyName(name: string): boolean {
  return KEY_NAME.test(name);
}

export function assertContainerKeyName(name: string): void {
  if (!isContainerKeyName(name)) {
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid key name ${JSON.stringify(name)}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
    );
  }
}

const invalidKey = (message: string) => new ValidationError('BAD_REQUEST', message);

async function readOpenPgp(material: Buffer, armored: boolean): Promise<string[]> {
  const pgp = await loadOpenPgp();
  let keys: openpgp.Key[];
  try {
    keys = armored
      ? await pgp.readKeys({ armoredKeys: material.toString('utf8') })
      : await pgp.readKeys({ binaryKeys: new Uint8Array(material) });
  } catch (error) {
    throw new ValidationError('BAD_REQUEST', `Unreadable OpenPGP key: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (keys.some((key) => key.isPrivate())) {
    throw invalidKey('The upload holds an OpenPGP private key; upload only the public key (gpg --export).');
  }
  if (keys.length === 0) throw invalidKey('No OpenPGP public key found in the upload.');
  return keys.map((key) => key.getFingerprint().toUpperCase());
}

function readPem(material: Buffer): string[] {
  let der: Buffer;
  try {
    der = createPublicKey({ key: material, format: 'pem' }).export({ type: 'spki', format: 'der' });
  } catch (error) {
    throw new ValidationError('BAD_REQUEST', `Unreadable PEM public key: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return [`SHA256:${createHash('sha256').update(der).digest('base64')}`];
}

/** The type and fingerprints of uploaded key material; throws BAD_REQUEST for anything else. */
export async function readContainerKey(
  material: Buffer,
): Promise<{ keyType: ContainerKeyType; fingerprints: string[] }> {
  if (material.length === 0) throw invalidKey('The key upload is empty.');
  const head = material.subarray(0, 4096).toString('latin1');
  if (/-----BEGIN [A-Z ]*PRIVATE KEY/.test(head) || head.includes('-----BEGIN PGP PRIVATE KEY BLOCK')) {
    throw invalidKey('The upload holds a private key; upload only the public key.');
  }
  if (head.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    return { keyType: 'openpgp', fingerprints: await readOpenPgp(material, true) };
  }
  if (head.includes('-----BEGIN PUBLIC KEY-----')) return { keyType: 'pem', fingerprints: readPem(material) };
  // Binary OpenPGP starts with a packet header, whose top bit is set.
  if ((material[0] & 0x80) !== 0) {
    return { keyType: 'openpgp', fingerprints: await readOpenPgp(material, false) };
  }
  throw invalidKey('Unrecognised key material: expected an OpenPGP public key or a PEM public key.');
}

// OpenPGP keys for the unit tests, made with openpgp.js at run time (Ed25519 is quick to generate).
import * as openpgp from 'openpgp';

export interface TestKey {
  privateKey: openpgp.PrivateKey;
  publicKey: openpgp.PublicKey;
  fingerprint: string;
  armoredPublic: Buffer;
  binaryPublic: Buffer;
}

export async function makeTestKey(
  options: { name?: string; signingSubkey?: boolean; date?: Date; keyExpirationTime?: number } = {},
): Promise<TestKey> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: options.name ?? 'Signer', email: 'signer@example.com' }],
    subkeys: options.signingSubkey ? [{ sign: true }] : [{}],
    // A fixed creation time keeps keys valid at the tests' fixed 'now', whatever the machine clock says.
    date: options.date ?? new Date('2025-06-01T00:00:00Z'),
    keyExpirationTime: options.keyExpirationTime,
    format: 'object',
  });
  const publicKey = privateKey.toPublic();
  return {
    privateKey,
    publicKey,
    fingerprint: privateKey.getFingerprint().toUpperCase(),
    armoredPublic: Buffer.from(publicKey.armor()),
    binaryPublic: Buffer.from(publicKey.write()),
  };
}

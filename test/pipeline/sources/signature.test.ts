// The detached signature over a checksum list fails closed: only a good signature by a keyring key,
// valid at the given time, makes the list trusted.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { readOpenPgpPublicKeys } from '../../../src/containers/index.ts';
import { verifyChecksumListSignature } from '../../../src/pipeline/sources/index.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const LIST = Buffer.from(`${'a'.repeat(64)}  debian.iso\n`);

async function generate(email: string, keyExpirationTime = 0) {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ email }],
    date: new Date('2026-01-01T00:00:00Z'),
    keyExpirationTime,
    format: 'object',
  });
  return { privateKey, publicKey };
}

async function detachSign(
  list: Uint8Array,
  keys: openpgp.PrivateKey[],
  armored = false,
): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: list });
  const date = new Date('2026-02-01T00:00:00Z');
  if (armored) {
    const text = await openpgp.sign({ message, signingKeys: keys, detached: true, date, format: 'armored' });
    return Buffer.from(text);
  }
  return openpgp.sign({ message, signingKeys: keys, detached: true, date, format: 'binary' });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('verifyChecksumListSignature', () => {
  let release: Awaited<ReturnType<typeof generate>>;
  let stranger: Awaited<ReturnType<typeof generate>>;
  let expiring: Awaited<ReturnType<typeof generate>>;

  before(async () => {
    release = await generate('release@example.test');
    stranger = await generate('stranger@example.test');
    expiring = await generate('expiring@example.test', 60 * 60 * 24 * 60);
  });

  const keyringOf = (...keys: openpgp.PublicKey[]) => readOpenPgpPublicKeys(keys.map((key) => key.write()));

  it('trusts a list with a good binary or armored signature by a keyring key', async () => {
    const keyring = await keyringOf(release.publicKey);
    for (const armored of [false, true]) {
      const signature = await detachSign(LIST, [release.privateKey], armored);
      const result = await verifyChecksumListSignature({ list: LIST, signature, keyring, now: NOW });
      assert.deepEqual(result.signers, [release.publicKey.getFingerprint().toUpperCase()]);
    }
  });

  it('refuses a list changed after signing', async () => {
    const signature = await detachSign(LIST, [release.privateKey]);
    const swapped = Buffer.from(`${'b'.repeat(64)}  debian.iso\n`);
    const keyring = await keyringOf(release.publicKey);
    assert.equal(
      await codeOf(verifyChecksumListSignature({ list: swapped, signature, keyring, now: NOW })),
      'SOURCE_LIST_UNTRUSTED',
    );
  });

  it('refuses a signature by a key outside the keyring', async () => {
    const signature = await detachSign(LIST, [stranger.privateKey]);
    const keyring = await keyringOf(release.publicKey);
    assert.equal(
      await codeOf(verifyChecksumListSignature({ list: LIST, signature, keyring, now: NOW })),
      'SOURCE_LIST_UNTRUSTED',
    );
  });

  it('ignores an extra signature by an unknown key when a keyring key signed too', async () => {
    const signature = await detachSign(LIST, [stranger.privateKey, release.privateKey]);
    const keyring = await keyringOf(release.publicKey);
    const result = await verifyChecksumListSignature({ list: LIST, signature, keyring, now: NOW });
    assert.equal(result.signers.length, 1);
  });

  it('refuses data that is not a signature', async () => {
    const keyring = await keyringOf(release.publicKey);
    for (const signature of [Buffer.alloc(0), Buffer.from('not a signature\n'), LIST]) {
      assert.equal(
        await codeOf(verifyChecksumListSignature({ list: LIST, signature, keyring, now: NOW })),
        'SOURCE_LIST_UNTRUSTED',
      );
    }
  });

  it('refuses a signature whose key has expired by now', async () => {
    const signature = await detachSign(LIST, [expiring.privateKey]);
    const keyring = await keyringOf(expiring.publicKey);
    assert.equal(
      await codeOf(verifyChecksumListSignature({ list: LIST, signature, keyring, now: NOW })),
      'SOURCE_LIST_UNTRUSTED',
    );
    const earlier = new Date('2026-02-15T00:00:00Z');
    const result = await verifyChecksumListSignature({ list: LIST, signature, keyring, now: earlier });
    assert.equal(result.signers.length, 1);
  });
});

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import {
  readOpenPgpPrivateKeys,
  readOpenPgpPublicKeys,
  verifyOpenPgpMessage,
} from '../../../src/containers/signing/index.ts';
import { makeTestKey, type TestKey } from './keys.ts';

const CONTENT = Buffer.from('{"hello":"world"}');
const NOW = new Date('2026-06-01T12:00:00Z');

async function signBinary(key: openpgp.PrivateKey, date = NOW, content = CONTENT): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: content, date });
  return openpgp.sign({ message, signingKeys: key, date, format: 'binary' });
}

describe('readOpenPgpPublicKeys', () => {
  let first: TestKey;
  let second: TestKey;
  before(async () => {
    first = await makeTestKey({ name: 'First' });
    second = await makeTestKey({ name: 'Second' });
  });

  it('reads an armored key and reports its primary fingerprint in upper case', async () => {
    const keyring = await readOpenPgpPublicKeys([first.armoredPublic]);
    assert.deepEqual(keyring.fingerprints, [first.fingerprint]);
    assert.match(first.fingerprint, /^[0-9A-F]{40}$/);
  });

  it('reads a binary key', async () => {
    assert.deepEqual((await readOpenPgpPublicKeys([first.binaryPublic])).fingerprints, [first.fingerprint]);
  });

  it('reads several armored blocks and several binary keys in one file', async () => {
    const armored = Buffer.concat([first.armoredPublic, Buffer.from('\n'), second.armoredPublic]);
    assert.deepEqual((await readOpenPgpPublicKeys([armored])).fingerprints, [
      first.fingerprint,
      second.fingerprint,
    ]);
    const binary = Buffer.concat([first.binaryPublic, second.binaryPublic]);
    assert.deepEqual((await readOpenPgpPublicKeys([binary])).fingerprints, [
      first.fingerprint,
      second.fingerprint,
    ]);
  });

  it('reads keys from several files', async () => {
    const keyring = await readOpenPgpPublicKeys([first.binaryPublic, second.armoredPublic]);
    assert.deepEqual(keyring.fingerprints, [first.fingerprint, second.fingerprint]);
  });

  it('takes the public part of a secret key', async () => {
    const keyring = await readOpenPgpPublicKeys([Buffer.from(first.privateKey.armor())]);
    assert.equal(keyring.keys[0].isPrivate(), false);
  });

  it('refuses data that holds no key', async () => {
    await assert.rejects(readOpenPgpPublicKeys([Buffer.from('not a key')]), {
      code: 'BAD_REQUEST',
      message: 'No public keys imported',
    });
  });
});

describe('readOpenPgpPrivateKeys', () => {
  it('decrypts a protected key with its passphrase and refuses it without', async () => {
    const { privateKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs: [{ name: 'Locked' }],
      passphrase: 'secret',
      format: 'armored',
    });
    const [key] = await readOpenPgpPrivateKeys(Buffer.from(privateKey), 'secret');
    assert.equal(key.isDecrypted(), true);
    await assert.rejects(readOpenPgpPrivateKeys(Buffer.from(privateKey)), { code: 'BAD_REQUEST' });
    await assert.rejects(readOpenPgpPrivateKeys(Buffer.from(privateKey), 'wrong'), { code: 'BAD_REQUEST' });
  });
});

describe('verifyOpenPgpMessage', () => {
  let signer: TestKey;
  let other: TestKey;
  let withSubkey: TestKey;
  before(async () => {
    signer = await makeTestKey();
    other = await makeTestKey({ name: 'Other' });
    withSubkey = await makeTestKey({ signingSubkey: true });
  });

  it('returns the content and the signer of a binary signed message', async () => {
    const keyring = await readOpenPgpPublicKeys([signer.binaryPublic]);
    const verified = await verifyOpenPgpMessage(await signBinary(signer.privateKey), keyring, NOW);
    assert.equal(Buffer.from(verified.content).toString(), CONTENT.toString());
    assert.equal(verified.signerFingerprint, signer.fingerprint);
    assert.equal(verified.primaryFingerprint, signer.fingerprint);
  });

  it('accepts an armored signed message and a clearsigned one', async () => {
    const keyring = await readOpenPgpPublicKeys([signer.armoredPublic]);
    const armored = await openpgp.sign({
      message: await openpgp.createMessage({ binary: CONTENT }),
      signingKeys: signer.privateKey,
      date: NOW,
    });
    assert.equal(
      (await verifyOpenPgpMessage(Buffer.from(armored), keyring, NOW)).signerFingerprint,
      signer.fingerprint,
    );
    const clearsigned = await openpgp.sign({
      message: await openpgp.createCleartextMessage({ text: CONTENT.toString() }),
      signingKeys: signer.privateKey,
      date: NOW,
    });
    const verified = await verifyOpenPgpMessage(Buffer.from(clearsigned), keyring, NOW);
    assert.equal(Buffer.from(verified.content).toString(), CONTENT.toString());
  });

  it('reports the subkey that signed, and its primary key', async () => {
    const keyring = await readOpenPgpPublicKeys([withSubkey.binaryPublic]);
    const verified = await verifyOpenPgpMessage(await signBinary(withSubkey.privateKey), keyring, NOW);
    assert.equal(verified.primaryFingerprint, withSubkey.fingerprint);
    assert.equal(verified.signerFingerprint, withSubkey.privateKey.subkeys[0].getFingerprint().toUpperCase());
  });

  it('rejects a signature by a key that is not in the keyring', async () => {
    const keyring = await readOpenPgpPublicKeys([other.binaryPublic]);
    await assert.rejects(verifyOpenPgpMessage(await signBinary(signer.privateKey), keyring, NOW), {
      code: 'SIGNATURE_INVALID',
      message: /^Invalid GPG signature: /,
    });
  });

  it('rejects a signature by an expired key', async () => {
    const created = new Date('2026-01-01T00:00:00Z');
    const expiring = await makeTestKey({ date: created, keyExpirationTime: 3600 });
    const keyring = await readOpenPgpPublicKeys([expiring.binaryPublic]);
    const signature = await signBinary(expiring.privateKey, new Date(created.getTime() + 60_000));
    await assert.rejects(verifyOpenPgpMessage(signature, keyring, NOW), {
      message: /^Invalid GPG signature: /,
    });
  });

  it('rejects a signature by a revoked key', async () => {
    const signature = await signBinary(signer.privateKey);
    const { publicKey } = await openpgp.revokeKey({ key: signer.privateKey, date: NOW, format: 'binary' });
    const keyring = await readOpenPgpPublicKeys([Buffer.from(publicKey)]);
    await assert.rejects(verifyOpenPgpMessage(signature, keyring, new Date(NOW.getTime() + 1000)), {
      message: /^Invalid GPG signature: /,
    });
  });

  it('rejects a tampered message', async () => {
    const keyring = await readOpenPgpPublicKeys([signer.binaryPublic]);
    const signature = Buffer.from(await signBinary(signer.privateKey));
    const at = signature.indexOf('world');
    signature[at] ^= 0x01;
    await assert.rejects(verifyOpenPgpMessage(signature, keyring, NOW), {
      message: /^Invalid GPG signature: /,
    });
  });

  it('rejects a detached signature, which signs nothing', async () => {
    const keyring = await readOpenPgpPublicKeys([signer.binaryPublic]);
    const detached = await openpgp.sign({
      message: await openpgp.createMessage({ binary: CONTENT }),
      signingKeys: signer.privateKey,
      date: NOW,
      detached: true,
      format: 'binary',
    });
    await assert.rejects(verifyOpenPgpMessage(detached, keyring, NOW), { code: 'SIGNATURE_INVALID' });
  });

  it('requires exactly one signature', async () => {
    const keyring = await readOpenPgpPublicKeys([signer.binaryPublic, other.binaryPublic]);
    const twice = await openpgp.sign({
      message: await openpgp.createMessage({ binary: CONTENT }),
      signingKeys: [signer.privateKey, other.privateKey],
      date: NOW,
      format: 'binary',
    });
    await assert.rejects(verifyOpenPgpMessage(twice, keyring, NOW), {
      message: 'Unexpected GPG signature count 2',
    });
  });

  it('says "No data" for input that is not OpenPGP', async () => {
    const keyring = await readOpenPgpPublicKeys([signer.binaryPublic]);
    await assert.rejects(verifyOpenPgpMessage(Buffer.from('{"not":"openpgp"}'), keyring, NOW), {
      message: 'No data',
    });
    await assert.rejects(verifyOpenPgpMessage(Buffer.alloc(0), keyring, NOW), { message: 'No data' });
  });
});

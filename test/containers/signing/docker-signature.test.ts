import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import type { SimpleSigningMechanism as PolicySimpleSigningPort } from '../../../src/containers/policy/ports.ts';
import {
  computeManifestDigest,
  createSimpleSigningMechanism,
  createSimpleSigningPayload,
  type OpenPgpKeyring,
  readOpenPgpPublicKeys,
  signDockerManifest,
  verifyDockerManifestSignature,
} from '../../../src/containers/signing/index.ts';
import { DOCKER_V2S2_MANIFEST, OCI_MANIFEST } from './fixtures.ts';
import { makeTestKey, type TestKey } from './keys.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const MANIFEST = Buffer.from(DOCKER_V2S2_MANIFEST);
const REFERENCE = 'example.com/ns/app:v1';

async function signPayload(key: openpgp.PrivateKey, payload: Buffer): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: payload, date: NOW });
  return openpgp.sign({ message, signingKeys: key, date: NOW, format: 'binary' });
}

describe('verifyDockerManifestSignature', () => {
  let signer: TestKey;
  let stranger: TestKey;
  let withSubkey: TestKey;
  let keyring: OpenPgpKeyring;
  let signature: Uint8Array;
  before(async () => {
    signer = await makeTestKey();
    stranger = await makeTestKey({ name: 'Stranger' });
    withSubkey = await makeTestKey({ signingSubkey: true });
    keyring = await readOpenPgpPublicKeys([signer.armoredPublic, withSubkey.binaryPublic]);
    signature = await signDockerManifest({
      manifest: MANIFEST,
      dockerReference: REFERENCE,
      privateKeys: [signer.privateKey],
      fingerprint: signer.fingerprint,
      now: NOW,
    });
  });

  const verify = (overrides: Partial<Parameters<typeof verifyDockerManifestSignature>[0]> = {}) =>
    verifyDockerManifestSignature({
      signature,
      manifest: MANIFEST,
      expectedDockerReference: REFERENCE,
      publicKeys: keyring,
      expectedFingerprints: [signer.fingerprint],
      now: NOW,
      ...overrides,
    });

  it('accepts a signature for the manifest and reference by an expected key', async () => {
    const verified = await verify();
    assert.equal(verified.fingerprint, signer.fingerprint);
    assert.equal(verified.payload.dockerManifestDigest, computeManifestDigest(MANIFEST));
    assert.equal(verified.payload.dockerReference, REFERENCE);
    assert.equal(verified.payload.timestamp, Math.floor(NOW.getTime() / 1000));
  });

  it('accepts any key of the keyring with "any", reporting the primary fingerprint', async () => {
    assert.equal((await verify({ expectedFingerprints: 'any' })).fingerprint, signer.fingerprint);
  });

  it('accepts one of several expected fingerprints', async () => {
    const verified = await verify({ expectedFingerprints: [stranger.fingerprint, signer.fingerprint] });
    assert.equal(verified.fingerprint, signer.fingerprint);
  });

  it('compares normalised references: busybox:latest matches docker.io/library/busybox:latest', async () => {
    const signed = await signDockerManifest({
      manifest: MANIFEST,
      dockerReference: 'docker.io/library/busybox:latest',
      privateKeys: [signer.privateKey],
      fingerprint: signer.fingerprint,
      now: NOW,
    });
    await verify({ signature: signed, expectedDockerReference: 'busybox:latest' });
    await assert.rejects(verify({ signature: signed, expectedDockerReference: 'busybox' }), {
      message: 'Docker reference docker.io/library/busybox:latest does not match busybox',
    });
  });

  it('refuses an expected reference that does not parse, before looking at the signature', async () => {
    await assert.rejects(verify({ expectedDockerReference: 'UPPER/case', signature: Buffer.from('x') }), {
      code: 'REFERENCE_INVALID',
      message: 'invalid reference format: repository name must be lowercase',
    });
  });

  it('refuses a signer that is not the expected fingerprint, with the 5.23.1 text', async () => {
    await assert.rejects(verify({ expectedFingerprints: [stranger.fingerprint] }), {
      code: 'SIGNATURE_INVALID',
      message: `Signature by ${signer.fingerprint} does not match expected fingerprint ${stranger.fingerprint}`,
    });
  });

  it('compares fingerprints case-sensitively, as skopeo does', async () => {
    await assert.rejects(verify({ expectedFingerprints: [signer.fingerprint.toLowerCase()] }), {
      message: /does not match expected fingerprint/,
    });
  });

  it('refuses a signer outside a list of several with the HEAD text', async () => {
    await assert.rejects(verify({ expectedFingerprints: [stranger.fingerprint, withSubkey.fingerprint] }), {
      message: `signature by key ${signer.fingerprint} is not accepted`,
    });
  });

  it('accepts a subkey signature under the subkey or the primary fingerprint', async () => {
    const signed = await signDockerManifest({
      manifest: MANIFEST,
      dockerReference: REFERENCE,
      privateKeys: [withSubkey.privateKey],
      fingerprint: withSubkey.fingerprint,
      now: NOW,
    });
    const subkeyFingerprint = withSubkey.privateKey.subkeys[0].getFingerprint().toUpperCase();
    assert.equal(
      (await verify({ signature: signed, expectedFingerprints: [subkeyFingerprint] })).fingerprint,
      subkeyFingerprint,
    );
    assert.equal(
      (await verify({ signature: signed, expectedFingerprints: [withSubkey.fingerprint] })).fingerprint,
      withSubkey.fingerprint,
    );
  });

  it('checks the signer before parsing the payload', async () => {
    const bad = await signPayload(signer.privateKey, Buffer.from('{}'));
    await assert.rejects(verify({ signature: bad, expectedFingerprints: [stranger.fingerprint] }), {
      message: /does not match expected fingerprint/,
    });
    await assert.rejects(verify({ signature: bad }), { message: 'Key "critical" missing in a JSON object' });
  });

  it('refuses a signature for another manifest', async () => {
    await assert.rejects(verify({ manifest: Buffer.from(OCI_MANIFEST) }), {
      code: 'SIGNATURE_INVALID',
      message: `Signature for docker digest "${computeManifestDigest(MANIFEST)}" does not match`,
    });
  });

  it('checks the digest before the reference', async () => {
    await assert.rejects(
      verify({ manifest: Buffer.from(OCI_MANIFEST), expectedDockerReference: 'other:v1' }),
      {
        message: /^Signature for docker digest/,
      },
    );
  });

  it('refuses a signature for another reference, printing both as written', async () => {
    await assert.rejects(verify({ expectedDockerReference: 'example.com/ns/app:v2' }), {
      message: `Docker reference ${REFERENCE} does not match example.com/ns/app:v2`,
    });
  });

  it('refuses a signed reference that does not parse', async () => {
    const payload = createSimpleSigningPayload({
      dockerManifestDigest: computeManifestDigest(MANIFEST),
      dockerReference: 'Not A Reference',
      creator: 'test',
      now: NOW,
    });
    await assert.rejects(verify({ signature: await signPayload(signer.privateKey, payload) }), {
      message: 'Invalid docker reference Not A Reference in signature',
    });
  });

  it('refuses a signature by a key outside the keyring', async () => {
    const foreign = await signDockerManifest({
      manifest: MANIFEST,
      dockerReference: REFERENCE,
      privateKeys: [stranger.privateKey],
      fingerprint: stranger.fingerprint,
      now: NOW,
    });
    await assert.rejects(verify({ signature: foreign, expectedFingerprints: 'any' }), {
      message: /^Invalid GPG signature: /,
    });
  });

  it('refuses to sign with a key the key file does not hold', async () => {
    await assert.rejects(
      signDockerManifest({
        manifest: MANIFEST,
        dockerReference: REFERENCE,
        privateKeys: [signer.privateKey],
        fingerprint: stranger.fingerprint,
        now: NOW,
      }),
      { message: `key "${stranger.fingerprint}" not found` },
    );
  });
});

describe('createSimpleSigningMechanism', () => {
  it('verifies with the key material it is given and returns signer and claims', async () => {
    const signer = await makeTestKey();
    const signature = await signDockerManifest({
      manifest: MANIFEST,
      dockerReference: REFERENCE,
      privateKeys: [signer.privateKey],
      fingerprint: signer.fingerprint,
      now: NOW,
    });
    // Typed as the policy evaluator's port, so a drift between the two fails the type check.
    const mechanism: PolicySimpleSigningPort = createSimpleSigningMechanism({ now: () => NOW });
    const verified = await mechanism.verify(Buffer.from(signature), [signer.binaryPublic], {
      keyType: 'GPGKeys',
    });
    assert.equal(verified.fingerprint, signer.fingerprint);
    assert.deepEqual(verified.payload, {
      dockerManifestDigest: computeManifestDigest(MANIFEST),
      dockerReference: REFERENCE,
    });
    await assert.rejects(
      mechanism.verify(Buffer.from(signature), [Buffer.from('junk')], { keyType: 'GPGKeys' }),
      {
        code: 'SIGNATURE_REJECTED',
        message: 'No public keys imported',
      },
    );
    const stranger = await makeTestKey({ name: 'Stranger' });
    await assert.rejects(
      mechanism.verify(Buffer.from(signature), [stranger.armoredPublic], { keyType: 'GPGKeys' }),
      {
        code: 'SIGNATURE_REJECTED',
        message: /^Invalid GPG signature: /,
      },
    );
  });
});

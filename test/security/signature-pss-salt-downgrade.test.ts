// Attack: an RSA-PSS signature whose salt is shorter than the maximum (the digest-length salt many
// libraries default to, or none at all). Glance rejects it; Node's auto-detect would accept it.
import assert from 'node:assert/strict';
import { constants, createVerify, generateKeyPairSync, sign } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  createCertificate,
  createStreamingVerifier,
  planSignatureVerification,
  toVerificationSpec,
} from '../../src/trust/index.ts';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';

const NOW = new Date('2030-06-01T00:00:00Z');

describe('attack: PSS salt downgrade', () => {
  let fixtures: SigningFixtures;
  before(() => {
    fixtures = loadSigningFixtures();
  });

  function ourVerdict(signature: Buffer, certificateName = 'rsa2048'): boolean {
    const plan = planSignatureVerification({
      signature: signature.toString('base64'),
      hashMethod: 'SHA-256',
      keyType: 'RSA-PSS',
      certificateUuid: 'u',
    });
    const verifier = createStreamingVerifier(
      toVerificationSpec(plan, fixtures.certificate(`certs/${certificateName}.pem`)),
    );
    verifier.update(fixtures.image);
    return verifier.verify();
  }

  it("rejects openssl's digest-length salt that Node's default PSS verification accepts", () => {
    const signature = fixtures.file('sigs/rsa2048.sha256.pss-digest.sig');
    const nodeDefault = createVerify('sha256')
      .update(fixtures.image)
      .verify(
        {
          key: fixtures.certificate('certs/rsa2048.pem').publicKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
        },
        signature,
      );
    assert.equal(nodeDefault, true, 'the attack must be real: auto-detect accepts the short salt');
    assert.equal(ourVerdict(signature), false);
  });

  it('rejects salts of 0, 20 and max-1 bytes, and accepts exactly the maximum', () => {
    const key = fixtures.file('keys/rsa2048.key');
    for (const [saltLength, expected] of [
      [0, false],
      [20, false],
      [221, false],
      [222, true],
    ] as const) {
      const signature = sign('sha256', fixtures.image, {
        key: key.toString(),
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength,
      });
      assert.equal(ourVerdict(signature), expected, `salt ${saltLength}`);
    }
  });

  it('never hands OpenSSL a negative salt length, which Node would read as "digest" or "auto"', () => {
    const signature = fixtures.file('sigs/rsa2048.sha256.pss-digest.sig');
    const plan = planSignatureVerification({
      signature: signature.toString('base64'),
      hashMethod: 'SHA-256',
      keyType: 'RSA-PSS',
      certificateUuid: 'u',
    });
    const spec = toVerificationSpec(plan, fixtures.certificate('certs/rsa2048.pem'));
    for (const saltLength of [-1, -2, -3]) {
      const verifier = createStreamingVerifier({ ...spec, saltLength });
      verifier.update(fixtures.image);
      assert.equal(verifier.verify(), false, `salt ${saltLength}`);
    }
  });

  it('keeps special salt values out of the spec for a key too small for the hash', () => {
    // RSA-512 with SHA-512: the maximum salt is 64 - 64 - 2 = -2, Node's RSA_PSS_SALTLEN_AUTO.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 512 });
    const certificate = createCertificate({
      publicKey,
      commonName: 'tiny',
      notBefore: NOW,
      notAfter: new Date(NOW.getTime() + 1000),
      signer: { privateKey },
    });
    const plan = planSignatureVerification({
      signature: Buffer.alloc(64, 1).toString('base64'),
      hashMethod: 'SHA-512',
      keyType: 'RSA-PSS',
      certificateUuid: 'u',
    });
    const spec = toVerificationSpec(plan, certificate);
    assert.equal(spec.saltLength, 0, 'the maximum, 64 - 64 - 2 = -2, would mean "auto" to Node');
    const verifier = createStreamingVerifier(spec);
    verifier.update(Buffer.from('data'));
    assert.equal(verifier.verify(), false);
  });
});

// Attacks that reuse or swap genuine material: a real signature over other data, a signature checked
// against an attacker's certificate, and one signature presented under another scheme.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  createCertificate,
  createStreamingVerifier,
  loadSigningCertificate,
  planSignatureVerification,
  toVerificationSpec,
  validateCertificate,
} from '../../src/trust/index.ts';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';

const NOW = new Date('2030-06-01T00:00:00Z');

describe('attack: signature and certificate substitution', () => {
  let fixtures: SigningFixtures;
  before(() => {
    fixtures = loadSigningFixtures();
  });

  function verdict(
    signature: Buffer,
    certificate: X509Certificate,
    hashMethod: string,
    keyType: string,
    data: Buffer,
  ) {
    const plan = planSignatureVerification({
      signature: signature.toString('base64'),
      hashMethod,
      keyType,
      certificateUuid: 'u',
    });
    const verifier = createStreamingVerifier(toVerificationSpec(plan, certificate));
    verifier.update(data);
    return verifier.verify();
  }

  it('rejects a genuine signature from the same certificate over different data', () => {
    const other = Buffer.concat([fixtures.image.subarray(1), fixtures.image.subarray(0, 1)]);
    for (const [name, certificate, hashMethod, keyType] of [
      ['rsa3072.sha256.pss', 'rsa3072', 'SHA-256', 'RSA-PSS'],
      ['dsa2048.sha384', 'dsa2048', 'SHA-384', 'DSA'],
      ['secp521r1.sha512', 'secp521r1', 'SHA-512', 'ECC_SECP521R1'],
    ]) {
      const signature = fixtures.file(`sigs/${name}.sig`);
      const cert = fixtures.certificate(`certs/${certificate}.pem`);
      assert.equal(verdict(signature, cert, hashMethod, keyType, fixtures.image), true, name);
      assert.equal(verdict(signature, cert, hashMethod, keyType, other), false, name);
      assert.equal(verdict(signature, cert, hashMethod, keyType, Buffer.alloc(0)), false, name);
    }
  });

  it("verifies an attacker's re-signed image against the attacker's certificate, and chain validation stops it", () => {
    // The attacker controls img_signature_certificate_uuid, so Glance's upload check alone cannot
    // tell them apart: only validation against trusted certificates (Nova's check) does.
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const attackerCertificate = createCertificate({
      publicKey,
      commonName: 'leaf0', // the same name as the genuine signer
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2099-01-01T00:00:00Z'),
      signer: { privateKey },
      ca: {},
    });
    const tampered = Buffer.from(fixtures.image);
    tampered[100] ^= 0xff;
    const signature = sign('sha384', tampered, { key: privateKey, dsaEncoding: 'der' });
    assert.equal(verdict(signature, attackerCertificate, 'SHA-384', 'ECC_SECP384R1', tampered), true);
    assert.throws(
      () =>
        validateCertificate({
          certificate: attackerCertificate,
          trusted: [fixtures.certificate('chain/root0.pem')],
          now: NOW,
        }),
      { code: 'CERTIFICATE_UNTRUSTED' },
    );
    assert.throws(
      () =>
        validateCertificate({
          certificate: attackerCertificate,
          trusted: [fixtures.certificate('chain/root0.pem'), fixtures.certificate('chain/leaf0.pem')],
          now: NOW,
        }),
      { code: 'CERTIFICATE_UNTRUSTED' },
    );
  });

  it('rejects a genuine signature checked against another certificate of the same key type', () => {
    const signature = fixtures.file('sigs/sect571r1.sha256.sig');
    const wrong = fixtures.certificate('certs/sect571k1.pem');
    assert.equal(verdict(signature, wrong, 'SHA-256', 'ECC_SECT571R1', fixtures.image), false);
  });

  it('does not accept an ECDSA signature presented as DSA, nor an RSA one as ECDSA', () => {
    const ecdsa = fixtures.file('sigs/secp384r1.sha256.sig');
    assert.throws(
      () => verdict(ecdsa, fixtures.certificate('certs/secp384r1.pem'), 'SHA-256', 'DSA', fixtures.image),
      {
        code: 'CERTIFICATE_INVALID',
      },
    );
    assert.equal(
      verdict(ecdsa, fixtures.certificate('certs/dsa2048.pem'), 'SHA-256', 'DSA', fixtures.image),
      false,
    );
    const rsa = fixtures.file('sigs/rsa2048.sha256.pss.sig');
    assert.equal(
      verdict(rsa, fixtures.certificate('certs/secp384r1.pem'), 'SHA-256', 'ECC_SECP384R1', fixtures.image),
      false,
    );
  });

  it('takes the certificate only from a certificate secret, never from a key or opaque secret', () => {
    const pem = fixtures.file('certs/rsa2048.pem');
    for (const secretType of ['public', 'private', 'opaque', 'symmetric']) {
      assert.throws(
        () => loadSigningCertificate({ secretType, payload: pem, contentType: 'application/octet-stream' }),
        {
          code: 'CERTIFICATE_INVALID',
        },
      );
    }
  });
});

// Signing options: signatures made with them pass our Glance verification path and openssl's own check.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createSign, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createStreamingVerifier,
  loadSigningCertificate,
  planSignatureVerification,
  signingOptionsFor,
  toVerificationSpec,
} from '../../src/trust/index.ts';
import { loadSigningFixtures, type SigningFixtures, unevenChunks } from '../fixtures/signing-fixtures.ts';

describe('signingOptionsFor', () => {
  let fixtures: SigningFixtures;
  let dir: string;
  before(() => {
    fixtures = loadSigningFixtures();
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-signing-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const keys: [name: string, keyType: string][] = [
    ['rsa2048', 'RSA-PSS'],
    ['rsa4096', 'RSA-PSS'],
    ['dsa2048', 'DSA'],
    ['secp384r1', 'ECC_SECP384R1'],
    ['secp521r1', 'ECC_SECP521R1'],
    ['sect409k1', 'ECC_SECT409K1'],
    ['sect409r1', 'ECC_SECT409R1'],
    ['sect571k1', 'ECC_SECT571K1'],
    ['sect571r1', 'ECC_SECT571R1'],
  ];
  for (const [name, keyType] of keys) {
    it(`signs with a ${name} key so that Glance's checks and openssl both accept it`, () => {
      const key = createPrivateKey(fixtures.file(`keys/${name}.key`));
      const options = signingOptionsFor(key, 'SHA-384');
      assert.equal(options.keyType, keyType);
      assert.equal(options.hashMethod, 'SHA-384');
      const signer = createSign(options.algorithm);
      for (const chunk of unevenChunks(fixtures.image)) signer.update(chunk);
      const signature = signer.sign({
        key,
        padding: options.padding,
        saltLength: options.saltLength,
        dsaEncoding: 'der',
      });

      const plan = planSignatureVerification({
        signature: signature.toString('base64'),
        hashMethod: options.hashMethod,
        keyType: options.keyType,
        certificateUuid: 'u',
      });
      const certificate = loadSigningCertificate({
        secretType: 'certificate',
        payload: fixtures.file(`certs/${name}.pem`),
        contentType: 'application/octet-stream',
      });
      const verifier = createStreamingVerifier(toVerificationSpec(plan, certificate));
      verifier.update(fixtures.image);
      assert.equal(verifier.verify(), true);

      const publicKey = path.join(dir, `${name}.pub`);
      writeFileSync(publicKey, certificate.publicKey.export({ type: 'spki', format: 'pem' }));
      const signatureFile = path.join(dir, `${name}.sig`);
      writeFileSync(signatureFile, signature);
      const pss = options.padding
        ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:max']
        : [];
      const result = spawnSync('openssl', [
        'dgst',
        '-sha384',
        '-verify',
        publicKey,
        ...pss,
        '-signature',
        signatureFile,
        path.join(fixtures.dir, 'image.bin'),
      ]);
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    });
  }

  it('uses the maximum PSS salt for RSA keys', () => {
    const options = signingOptionsFor(createPrivateKey(fixtures.file('keys/rsa2048.key')), 'SHA-256');
    assert.equal(options.saltLength, 222);
  });

  it("publishes Glance's spelling for common spellings of a hash method", () => {
    const key = createPrivateKey(fixtures.file('keys/secp384r1.key'));
    for (const spelling of ['sha256', 'SHA256', 'sha-256', 'SHA-256']) {
      assert.equal(signingOptionsFor(key, spelling).hashMethod, 'SHA-256');
    }
    assert.throws(() => signingOptionsFor(key, 'SHA-1'), { code: 'BAD_REQUEST' });
    assert.throws(() => signingOptionsFor(key, 'md5'), { code: 'BAD_REQUEST' });
  });

  it('refuses keys whose signatures Glance would reject, and key types that misdescribe the key', () => {
    assert.throws(
      () => signingOptionsFor(createPrivateKey(fixtures.file('keys/prime256v1.key')), 'SHA-256'),
      {
        code: 'BAD_REQUEST',
      },
    );
    assert.throws(() => signingOptionsFor(generateKeyPairSync('ed25519').privateKey, 'SHA-256'), {
      code: 'BAD_REQUEST',
    });
    const p384 = createPrivateKey(fixtures.file('keys/secp384r1.key'));
    assert.equal(signingOptionsFor(p384, 'SHA-512', 'ECC_SECP384R1').keyType, 'ECC_SECP384R1');
    assert.throws(() => signingOptionsFor(p384, 'SHA-512', 'ECC_SECP521R1'), { code: 'BAD_REQUEST' });
    assert.throws(() => signingOptionsFor(p384, 'SHA-512', 'RSA-PSS'), { code: 'BAD_REQUEST' });
    const rsa = createPrivateKey(fixtures.file('keys/rsa2048.key'));
    assert.throws(() => signingOptionsFor(rsa, 'SHA-256', 'DSA'), { code: 'BAD_REQUEST' });
    assert.throws(() => signingOptionsFor(fixtures.certificate('certs/rsa2048.pem').publicKey, 'SHA-256'), {
      code: 'BAD_REQUEST',
    });
  });
});

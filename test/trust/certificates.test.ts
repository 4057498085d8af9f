// Loading the signing certificate from a key-manager secret (castellan rules) and matching its key type.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { VerificationError } from '../../src/errors/index.ts';
import {
  checkPublicKeyForKeyType,
  formatGlanceSignatureFailure,
  loadSigningCertificate,
  type SignatureKeyType,
} from '../../src/trust/index.ts';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';

function thrown(action: () => unknown): VerificationError {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof VerificationError, String(error));
    return error;
  }
  assert.fail('expected a VerificationError');
}

describe('loadSigningCertificate', () => {
  let fixtures: SigningFixtures;
  before(() => {
    fixtures = loadSigningFixtures();
  });

  it('loads a PEM certificate stored as secret type certificate (the documented way)', () => {
    const certificate = loadSigningCertificate({
      secretType: 'certificate',
      payload: fixtures.file('certs/rsa2048.pem'),
      contentType: 'application/octet-stream',
    });
    assert.equal(certificate.subject, 'CN=rsa2048');
  });

  it('also accepts a PEM certificate stored as text/plain, where Glance 25.1 fails with a 500', () => {
    const certificate = loadSigningCertificate({
      secretType: 'certificate',
      payload: fixtures.file('certs/secp384r1.pem'),
      contentType: 'text/plain',
    });
    assert.equal(certificate.subject, 'CN=secp384r1');
  });

  it('takes the first certificate block when the PEM also holds other blocks', () => {
    const payload = Buffer.concat([fixtures.file('keys/secp384r1.key'), fixtures.file('certs/rsa3072.pem')]);
    const certificate = loadSigningCertificate({
      secretType: 'certificate',
      payload,
      contentType: 'text/plain',
    });
    assert.equal(certificate.subject, 'CN=rsa3072');
  });

  const formats: [secretType: string, format: string][] = [
    ['opaque', 'Opaque'],
    ['symmetric', 'RAW'],
    ['passphrase', 'RAW'],
    ['public', 'SubjectPublicKeyInfo'],
    ['private', 'PKCS8'],
    ['something-new', 'Opaque'],
  ];
  for (const [secretType, format] of formats) {
    it(`rejects a ${secretType} secret as "Invalid certificate format: ${format}"`, () => {
      const error = thrown(() =>
        loadSigningCertificate({
          secretType,
          payload: fixtures.file('certs/rsa2048.pem'),
          contentType: 'application/octet-stream',
        }),
      );
      assert.equal(error.code, 'CERTIFICATE_INVALID');
      assert.equal(
        error.message,
        `Signature verification for the image failed: Invalid certificate format: ${format}.`,
      );
    });
  }

  it("answers an opaque secret with Glance's full message", () => {
    const error = thrown(() =>
      loadSigningCertificate({
        secretType: 'opaque',
        payload: fixtures.file('certs/rsa2048.pem'),
        contentType: 'application/octet-stream',
      }),
    );
    assert.equal(
      formatGlanceSignatureFailure('9f3e', error),
      'Signature verification failed for image 9f3e: Signature verification for the image failed: Invalid certificate format: Opaque.',
    );
  });

  it("rejects a DER payload with pyca's PEM error, which Glance shows without its prefix", () => {
    const error = thrown(() =>
      loadSigningCertificate({
        secretType: 'certificate',
        payload: fixtures.file('certs/rsa2048.der'),
        contentType: 'application/octet-stream',
      }),
    );
    assert.equal(error.code, 'CERTIFICATE_INVALID');
    const text =
      'Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details. MalformedFraming';
    assert.equal(error.message, text);
    assert.equal(formatGlanceSignatureFailure('9f3e', error), text);
  });

  it('rejects PEM that holds no certificate block', () => {
    const certificate = fixtures.certificate('certs/rsa2048.pem');
    const payload = Buffer.from(certificate.publicKey.export({ type: 'spki', format: 'pem' }));
    const error = thrown(() =>
      loadSigningCertificate({ secretType: 'certificate', payload, contentType: 'x' }),
    );
    assert.equal(
      error.message,
      'Valid PEM but no BEGIN CERTIFICATE/END CERTIFICATE delimiters. Are you sure this is a certificate?',
    );
  });

  it('rejects a certificate block whose contents are not a certificate', () => {
    const payload = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const error = thrown(() =>
      loadSigningCertificate({ secretType: 'certificate', payload, contentType: 'x' }),
    );
    assert.equal(error.code, 'CERTIFICATE_INVALID');
  });

  it('rejects a certificate block with broken base64 or mismatched delimiters', () => {
    const pem = fixtures.file('certs/rsa2048.pem').toString();
    for (const payload of [
      pem.replace(/\n[A-Za-z]/, '\n*'),
      pem.replace('END CERTIFICATE', 'END X509 CERTIFICATE'),
    ]) {
      const error = thrown(() =>
        loadSigningCertificate({
          secretType: 'certificate',
          payload: Buffer.from(payload),
          contentType: 'x',
        }),
      );
      assert.equal(error.code, 'CERTIFICATE_INVALID');
      assert.match(error.message, /^Unable to load PEM file/);
    }
  });
});

describe('checkPublicKeyForKeyType', () => {
  let fixtures: SigningFixtures;
  before(() => {
    fixtures = loadSigningFixtures();
  });

  const matches: [certificate: string, keyType: SignatureKeyType][] = [
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
  for (const [name, keyType] of matches) {
    it(`accepts a ${name} certificate for ${keyType}`, () => {
      checkPublicKeyForKeyType(fixtures.certificate(`certs/${name}.pem`), keyType);
    });
  }

  it('does not compare the curve with the ECC key type, as cursive does not', () => {
    checkPublicKeyForKeyType(fixtures.certificate('certs/prime256v1.pem'), 'ECC_SECP384R1');
    checkPublicKeyForKeyType(fixtures.certificate('certs/secp521r1.pem'), 'ECC_SECT571K1');
  });

  const mismatches: [certificate: string, keyType: SignatureKeyType][] = [
    ['rsa2048', 'ECC_SECP384R1'],
    ['rsa2048', 'DSA'],
    ['dsa2048', 'RSA-PSS'],
    ['secp384r1', 'RSA-PSS'],
    ['secp384r1', 'DSA'],
    ['dsa2048', 'ECC_SECP521R1'],
  ];
  for (const [name, keyType] of mismatches) {
    it(`rejects a ${name} certificate for ${keyType}`, () => {
      const error = thrown(() =>
        checkPublicKeyForKeyType(fixtures.certificate(`certs/${name}.pem`), keyType),
      );
      assert.equal(error.code, 'CERTIFICATE_INVALID');
      assert.equal(
        error.message,
        `Signature verification for the image failed: Invalid public key type for signature key type: ${keyType}.`,
      );
    });
  }
});

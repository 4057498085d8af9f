// Certificate validation against trusted certificates, row by row from spec §2.4 (cursive as Nova uses
// it), with chains made by `openssl ca`.
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { VerificationError } from '../../src/errors/index.ts';
import { formatNovaCertificateFailure, validateCertificate } from '../../src/trust/index.ts';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';

// The fixtures' "valid" certificates span 2020–2099; the expired window is 2021 and the future one 2090.
const NOW = new Date('2030-06-01T00:00:00Z');
const CHAIN_FAILURE =
  'Certificate chain building failed. Could not locate the signing certificate for the base certificate in the set of trusted certificates.';

describe('validateCertificate', () => {
  let fixtures: SigningFixtures;
  const cert = (name: string): X509Certificate => fixtures.certificate(`chain/${name}.pem`);
  before(() => {
    fixtures = loadSigningFixtures();
  });

  function subjects(leaf: string, trusted: string[], now = NOW): string[] {
    return validateCertificate({ certificate: cert(leaf), trusted: trusted.map(cert), now }).map(
      (c) => c.subject,
    );
  }

  function rejection(leaf: string, trusted: string[], now = NOW): VerificationError {
    try {
      validateCertificate({ certificate: cert(leaf), trusted: trusted.map(cert), now });
    } catch (error) {
      assert.ok(error instanceof VerificationError, String(error));
      return error;
    }
    assert.fail(`${leaf} was accepted`);
  }

  it('rejects a self-signed certificate without CA extensions even when it trusts itself', () => {
    const error = rejection('ss-plain', ['ss-plain']);
    assert.equal(error.code, 'CERTIFICATE_UNTRUSTED');
    assert.equal(error.message, CHAIN_FAILURE);
  });

  it('rejects what plain `openssl req -x509` makes (CA but no keyUsage), trusting itself', () => {
    assert.equal(rejection('ss-req-default', ['ss-req-default']).code, 'CERTIFICATE_UNTRUSTED');
  });

  it('accepts a self-signed CA with keyCertSign that trusts itself', () => {
    assert.deepEqual(subjects('ss-ca', ['ss-ca']), ['CN=ss-ca']);
  });

  it('rejects a self-signed CA that is not in the trusted list', () => {
    assert.equal(rejection('ss-ca', ['root0']).code, 'CERTIFICATE_UNTRUSTED');
  });

  it('accepts a leaf issued by a trusted root with pathlen 0 and keyCertSign', () => {
    assert.deepEqual(subjects('leaf0', ['root0']), ['CN=leaf0', 'CN=root0']);
  });

  it('accepts leaf ← intermediate (pathlen 0, EC) ← root (pathlen 1) when both CAs are trusted', () => {
    assert.deepEqual(subjects('leaf1', ['root1', 'inter']), ['CN=leaf1', 'CN=inter', 'CN=root1']);
    assert.deepEqual(subjects('leaf1', ['inter', 'root1']), ['CN=leaf1', 'CN=inter', 'CN=root1']);
  });

  it('rejects the same chain when only the root is trusted (intermediates must be in the list)', () => {
    const error = rejection('leaf1', ['root1']);
    assert.equal(error.code, 'CERTIFICATE_UNTRUSTED');
    assert.equal(error.message, CHAIN_FAILURE);
  });

  it('rejects the chain when only the intermediate is trusted: it must end in a trusted self-signed CA', () => {
    const error = rejection('leaf1', ['inter']);
    assert.equal(error.code, 'CERTIFICATE_UNTRUSTED');
    assert.match(error.message, /signing certificate for certificate 'CN=inter'/);
  });

  it('rejects a leaf whose root is a CA without keyUsage', () => {
    assert.equal(rejection('leaf-noku', ['root-noku']).code, 'CERTIFICATE_UNTRUSTED');
  });

  it('accepts a leaf under a root without pathlen (unlimited), where cursive 0.2.3 crashes', () => {
    assert.deepEqual(subjects('leaf-nopathlen', ['root-nopathlen']), [
      'CN=leaf-nopathlen',
      'CN=root-nopathlen',
    ]);
  });

  it('enforces pathlen: a root with pathlen 0 cannot have an intermediate below it', () => {
    const error = rejection('leaf-too-deep', ['root0', 'inter-under-root0']);
    assert.equal(error.code, 'CERTIFICATE_UNTRUSTED');
    assert.match(error.message, /is not configured to support certificate chains of sufficient length\.$/);
    // The intermediate itself (pathlen 0) may sign the leaf.
    assert.deepEqual(subjects('inter-under-root0', ['root0']), ['CN=inter-under-root0', 'CN=root0']);
  });

  it('names the trusted certificate by its key-manager ID when one is given', () => {
    try {
      validateCertificate({
        certificate: cert('leaf-too-deep'),
        trusted: [
          { id: 'root-uuid', certificate: cert('root0') },
          { id: 'inter-uuid', certificate: cert('inter-under-root0') },
        ],
        now: NOW,
      });
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof VerificationError);
      assert.equal(
        error.message,
        "Certificate validation failed. The signing certificate 'root-uuid' is not configured to support certificate chains of sufficient length.",
      );
    }
  });

  it('rejects an expired leaf and a not-yet-valid leaf by date', () => {
    for (const leaf of ['leaf-expired', 'leaf-future']) {
      const error = rejection(leaf, ['root0']);
      assert.equal(error.code, 'CERTIFICATE_EXPIRED');
      assert.equal(error.message, 'The certificate is outside its valid date range.');
      assert.equal(
        formatNovaCertificateFailure('leaf-uuid', error),
        'Image signature certificate validation failed for certificate: leaf-uuid. The certificate is outside its valid date range.',
      );
    }
  });

  it('judges dates at the time it is given, inclusive of both ends', () => {
    const leaf = cert('leaf-expired');
    const ok = (now: Date) =>
      validateCertificate({ certificate: leaf, trusted: [cert('root0')], now }).length;
    assert.equal(ok(new Date('2021-06-01T00:00:00Z')), 2);
    assert.equal(ok(new Date('2021-01-01T00:00:00Z')), 2);
    assert.equal(ok(new Date('2022-01-01T00:00:00Z')), 2);
    assert.throws(() => ok(new Date('2022-01-01T00:00:01Z')), { code: 'CERTIFICATE_EXPIRED' });
    assert.throws(() => ok(new Date('2020-12-31T23:59:59Z')), { code: 'CERTIFICATE_EXPIRED' });
  });

  it('rejects a valid leaf under an expired root (the root cannot be a link)', () => {
    const error = rejection('leaf-under-expired-root', ['root-expired']);
    assert.equal(error.code, 'CERTIFICATE_UNTRUSTED');
    assert.equal(error.message, CHAIN_FAILURE);
  });

  it('rejects everything against an empty trusted list', () => {
    for (const leaf of ['leaf0', 'ss-ca']) {
      const error = rejection(leaf, []);
      assert.equal(error.code, 'CERTIFICATE_UNTRUSTED');
      assert.equal(error.message, CHAIN_FAILURE);
    }
  });

  it('rejects a leaf that only trusts itself', () => {
    assert.equal(rejection('leaf0', ['leaf0']).code, 'CERTIFICATE_UNTRUSTED');
  });

  it('rejects a leaf against unrelated trusted roots', () => {
    assert.equal(rejection('leaf0', ['root1', 'ss-ca', 'root-nopathlen']).code, 'CERTIFICATE_UNTRUSTED');
  });

  it('accepts a leaf issued by a DSA root (dsa-with-SHA256)', () => {
    assert.deepEqual(subjects('leaf-dsa-issued', ['root-dsa']), ['CN=leaf-dsa-issued', 'CN=root-dsa']);
  });

  it('skips trusted entries that are unusable and still finds the right one', () => {
    assert.deepEqual(subjects('leaf0', ['ss-plain', 'root-expired', 'leaf1', 'root0']), [
      'CN=leaf0',
      'CN=root0',
    ]);
  });
});

// Attacks on certificate validation: a look-alike root, a leaf posing as a CA, cross-signed loops
// and absurdly long chains must all end in CERTIFICATE_UNTRUSTED, never in a hang or a crash.
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, type KeyObject, type X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { createCertificate, validateCertificate } from '../../src/trust/index.ts';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';

const NOW = new Date('2030-06-01T00:00:00Z');
const dates = { notBefore: new Date('2029-01-01T00:00:00Z'), notAfter: new Date('2031-01-01T00:00:00Z') };

function ecKeys(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
}

describe('attack: certificate chain forgery', () => {
  let fixtures: SigningFixtures;
  before(() => {
    fixtures = loadSigningFixtures();
  });

  it('rejects a leaf issued by a look-alike root that copies the trusted root name', () => {
    const fake = ecKeys();
    const trustedRoot = fixtures.certificate('chain/root0.pem');
    // A self-signed CA named "root0", then a leaf whose issuer name matches the trusted root.
    const lookAlike = createCertificate({
      ...fake,
      commonName: 'root0',
      ...dates,
      signer: { privateKey: fake.privateKey },
      ca: {},
    });
    const leafKeys = ecKeys();
    const leaf = createCertificate({
      publicKey: leafKeys.publicKey,
      commonName: 'leaf0',
      ...dates,
      signer: { privateKey: fake.privateKey, certificate: lookAlike },
    });
    assert.equal(leaf.issuer, trustedRoot.subject);
    assert.throws(() => validateCertificate({ certificate: leaf, trusted: [trustedRoot], now: NOW }), {
      code: 'CERTIFICATE_UNTRUSTED',
    });
  });

  it('does not let a trusted end-entity certificate issue further certificates', () => {
    const leaf0 = fixtures.certificate('chain/leaf0.pem');
    const victim = ecKeys();
    const issued = createCertificate({
      publicKey: victim.publicKey,
      commonName: 'issued-by-a-leaf',
      ...dates,
      signer: { privateKey: createPrivateKey(fixtures.file('chain/leaf0.key')), certificate: leaf0 },
    });
    assert.throws(
      () =>
        validateCertificate({
          certificate: issued,
          trusted: [leaf0, fixtures.certificate('chain/root0.pem')],
          now: NOW,
        }),
      { code: 'CERTIFICATE_UNTRUSTED' },
    );
  });

  it('stops on a cross-signed loop of trusted CAs instead of looping forever', () => {
    const a = ecKeys();
    const b = ecKeys();
    const bSelf = createCertificate({
      ...b,
      commonName: 'B',
      ...dates,
      signer: { privateKey: b.privateKey },
      ca: {},
    });
    const aByB = createCertificate({
      publicKey: a.publicKey,
      commonName: 'A',
      ...dates,
      signer: { privateKey: b.privateKey, certificate: bSelf },
      ca: {},
    });
    const bByA = createCertificate({
      publicKey: b.publicKey,
      commonName: 'B',
      ...dates,
      signer: { privateKey: a.privateKey, certificate: aByB },
      ca: {},
    });
    const leafKeys = ecKeys();
    const leaf = createCertificate({
      publicKey: leafKeys.publicKey,
      commonName: 'leaf',
      ...dates,
      signer: { privateKey: a.privateKey, certificate: aByB },
    });
    assert.throws(() => validateCertificate({ certificate: leaf, trusted: [aByB, bByA], now: NOW }), {
      code: 'CERTIFICATE_UNTRUSTED',
      message: /loop/,
    });
  });

  it('refuses an absurdly long chain even when every link is trusted and unconstrained', () => {
    const rootKeys = ecKeys();
    const root = createCertificate({
      ...rootKeys,
      commonName: 'deep-root',
      ...dates,
      signer: { privateKey: rootKeys.privateKey },
      ca: {},
    });
    const trusted: X509Certificate[] = [root];
    const keys: KeyObject[] = [rootKeys.privateKey];
    for (let depth = 0; depth < 20; depth++) {
      const next = ecKeys();
      trusted.push(
        createCertificate({
          publicKey: next.publicKey,
          commonName: `ca-${depth}`,
          ...dates,
          signer: { certificate: trusted[depth], privateKey: keys[depth] },
          ca: {},
        }),
      );
      keys.push(next.privateKey);
    }
    const leafKeys = ecKeys();
    const leafUnder = (level: number) =>
      createCertificate({
        publicKey: leafKeys.publicKey,
        commonName: `leaf-under-${level}`,
        ...dates,
        signer: { certificate: trusted[level], privateKey: keys[level] },
      });
    assert.throws(() => validateCertificate({ certificate: leafUnder(20), trusted, now: NOW }), {
      code: 'CERTIFICATE_UNTRUSTED',
      message: /longer than 16/,
    });
    // Ten links are fine: the limit is for abuse, not for real hierarchies.
    assert.equal(validateCertificate({ certificate: leafUnder(9), trusted, now: NOW }).length, 11);
  });
});

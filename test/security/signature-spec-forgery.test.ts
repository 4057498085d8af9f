// Attack: a verification spec changed on its way to whatever runs it (a digest worker during an upload
// or the gate's download, the gate's check of its cache). Every runner goes through trust's one
// toSignatureCheck, so a negative PSS salt never reaches OpenSSL and a malformed spec is refused.
import assert from 'node:assert/strict';
import { constants, createVerify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { closeDigestWorkers, createDigester } from '../../src/storage/index.ts';
import {
  createStreamingVerifier,
  planSignatureVerification,
  toSignatureCheck,
  toVerificationSpec,
  type VerificationSpec,
} from '../../src/trust/index.ts';
import { loadSigningFixtures, type SigningFixtures, unevenChunks } from '../fixtures/signing-fixtures.ts';

describe('attack: a forged verification spec', () => {
  let fixtures: SigningFixtures;
  let spec: VerificationSpec;
  before(() => {
    fixtures = loadSigningFixtures();
    // openssl's digest-length salt: Glance rejects it, Node's "digest" (-1) and "auto" (-2) accept it.
    const plan = planSignatureVerification({
      signature: fixtures.signature('rsa2048.sha256.pss-digest'),
      hashMethod: 'SHA-256',
      keyType: 'RSA-PSS',
      certificateUuid: 'u',
    });
    spec = toVerificationSpec(plan, fixtures.certificate('certs/rsa2048.pem'));
  });
  after(() => closeDigestWorkers());

  /** What the upload path and the gate's download run: the one-pass digester, on workers or inline. */
  async function digesterVerdict(forged: VerificationSpec, parallel: boolean): Promise<boolean | undefined> {
    const digester = createDigester(['md5', 'sha512'], { parallel, verify: forged });
    for (const chunk of unevenChunks(fixtures.image)) await digester.update(chunk);
    return (await digester.finish()).signatureValid;
  }

  /** What the gate runs over a cached copy. */
  function cacheVerdict(forged: VerificationSpec): boolean {
    const verifier = createStreamingVerifier(forged);
    for (const chunk of unevenChunks(fixtures.image)) verifier.update(chunk);
    return verifier.verify();
  }

  for (const saltLength of [-1, -2]) {
    it(`answers no to a salt length of ${saltLength} on every path, where Node itself would say yes`, async () => {
      const nodeAlone = createVerify('sha256')
        .update(fixtures.image)
        .verify(
          { key: spec.publicKeyPem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
          Buffer.from(spec.signature, 'base64'),
        );
      assert.equal(nodeAlone, true, 'the attack must be real');
      const forged = { ...spec, saltLength };
      assert.equal(toSignatureCheck(forged), null);
      assert.equal(await digesterVerdict(forged, true), false);
      assert.equal(await digesterVerdict(forged, false), false);
      assert.equal(cacheVerdict(forged), false);
    });
  }

  it('refuses a malformed spec with INTERNAL before any data, on every path', () => {
    const malformed = [
      { ...spec, saltLength: 1.5 },
      { ...spec, padding: constants.RSA_PKCS1_PADDING },
      { ...spec, saltLength: undefined },
      { ...spec, algorithm: 'md5' as never },
      { ...spec, dsaEncoding: 'ieee-p1363' as never },
    ];
    for (const forged of malformed) {
      assert.throws(() => toSignatureCheck(forged), { code: 'INTERNAL' });
      for (const parallel of [true, false]) {
        assert.throws(() => createDigester(['md5'], { parallel, verify: forged }), { code: 'INTERNAL' });
      }
      assert.throws(() => createStreamingVerifier(forged), { code: 'INTERNAL' });
    }
  });

  it('still verifies the genuine spec on every path', async () => {
    const genuine = {
      ...spec,
      signature: fixtures.signature('rsa2048.sha256.pss'),
    };
    assert.equal(await digesterVerdict(genuine, true), true);
    assert.equal(await digesterVerdict(genuine, false), true);
    assert.equal(cacheVerdict(genuine), true);
  });
});

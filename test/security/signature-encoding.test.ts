// Attacks on the signature's encoding: other encodings of a genuine signature, appended bytes, and
// base64 tricks must not verify anything the signer did not sign.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { readChildren, readInteger, readSingle } from '../../src/trust/der.ts';
import {
  createStreamingVerifier,
  planSignatureVerification,
  toVerificationSpec,
} from '../../src/trust/index.ts';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';

describe('attack: signature encoding tricks', () => {
  let fixtures: SigningFixtures;
  before(() => {
    fixtures = loadSigningFixtures();
  });

  function verdict(signature: string, certificate: string, hashMethod: string, keyType: string): boolean {
    const plan = planSignatureVerification({ signature, hashMethod, keyType, certificateUuid: 'u' });
    const verifier = createStreamingVerifier(
      toVerificationSpec(plan, fixtures.certificate(`certs/${certificate}.pem`)),
    );
    verifier.update(fixtures.image);
    return verifier.verify();
  }

  /** The same (r, s) as raw fixed-width integers, IEEE-P1363 style. */
  function toP1363(der: Buffer, width: number): Buffer {
    const [r, s] = readChildren(readSingle(der)).map(readInteger);
    const fixed = (value: bigint) => Buffer.from(value.toString(16).padStart(width * 2, '0'), 'hex');
    return Buffer.concat([fixed(r), fixed(s)]);
  }

  it('rejects an ECDSA signature re-encoded as raw r||s (Glance wants DER)', () => {
    const der = fixtures.file('sigs/secp384r1.sha384.sig');
    assert.equal(verdict(der.toString('base64'), 'secp384r1', 'SHA-384', 'ECC_SECP384R1'), true);
    assert.equal(
      verdict(toP1363(der, 48).toString('base64'), 'secp384r1', 'SHA-384', 'ECC_SECP384R1'),
      false,
    );
  });

  it('rejects a DER signature with bytes appended inside the base64', () => {
    for (const [name, certificate, hashMethod, keyType] of [
      ['secp521r1.sha512', 'secp521r1', 'SHA-512', 'ECC_SECP521R1'],
      ['dsa2048.sha256', 'dsa2048', 'SHA-256', 'DSA'],
      ['rsa2048.sha256.pss', 'rsa2048', 'SHA-256', 'RSA-PSS'],
    ]) {
      const padded = Buffer.concat([fixtures.file(`sigs/${name}.sig`), Buffer.from([0, 0, 0])]);
      assert.equal(verdict(padded.toString('base64'), certificate, hashMethod, keyType), false, name);
    }
  });

  it('ignores whatever follows the base64 padding, as Python does, so nothing there can be smuggled in', () => {
    // 256 bytes of RSA-2048 signature always end in "==".
    const genuine = fixtures.signature('rsa2048.sha256.pss');
    assert.match(genuine, /==$/);
    const other = fixtures.signature('rsa2048.sha384.pss');
    assert.equal(verdict(`${genuine}${other}`, 'rsa2048', 'SHA-256', 'RSA-PSS'), true);
    assert.equal(verdict(`${genuine}${other}`, 'rsa2048', 'SHA-384', 'RSA-PSS'), false);
  });

  it('rejects an all-zero RSA signature and one equal to the modulus length of 0xff bytes', () => {
    for (const fill of [0x00, 0xff]) {
      const signature = Buffer.alloc(256, fill).toString('base64');
      assert.equal(verdict(signature, 'rsa2048', 'SHA-256', 'RSA-PSS'), false);
    }
  });
});

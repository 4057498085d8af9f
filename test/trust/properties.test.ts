// The img_signature* properties: when Glance checks at all, and cursive's checks and texts before any data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VerificationError } from '../../src/errors/index.ts';
import {
  formatGlanceSignatureFailure,
  planSignatureVerification,
  readSignatureProperties,
  type SignatureProperties,
} from '../../src/trust/index.ts';
import { decodeLenientBase64 } from '../../src/trust/properties.ts';

const complete = {
  img_signature: 'YWJj',
  img_signature_hash_method: 'SHA-256',
  img_signature_key_type: 'RSA-PSS',
  img_signature_certificate_uuid: '3c2e0c6a-4b1e-4c38-9f0e-5f4c8d1f2a77',
};

const valid: SignatureProperties = {
  signature: 'YWJj',
  hashMethod: 'SHA-256',
  keyType: 'RSA-PSS',
  certificateUuid: 'cert-1',
};

/** Runs the plan and returns the VerificationError it throws. */
function planError(properties: Partial<SignatureProperties>): VerificationError {
  try {
    planSignatureVerification({ ...valid, ...properties });
  } catch (error) {
    assert.ok(error instanceof VerificationError);
    return error;
  }
  assert.fail('expected the plan to be refused');
}

describe('readSignatureProperties', () => {
  it('returns the four values when all four properties are set', () => {
    assert.deepEqual(readSignatureProperties({ ...complete, os_distro: 'debian' }), {
      signature: 'YWJj',
      hashMethod: 'SHA-256',
      keyType: 'RSA-PSS',
      certificateUuid: '3c2e0c6a-4b1e-4c38-9f0e-5f4c8d1f2a77',
    });
  });

  for (const missing of Object.keys(complete)) {
    it(`asks for no check when only ${missing} is missing (3 of 4 is no signature at all)`, () => {
      const properties: Record<string, string> = { ...complete };
      delete properties[missing];
      assert.equal(readSignatureProperties(properties), null);
    });
  }

  it('counts empty strings as present, so they fail later as Glance does', () => {
    const properties = readSignatureProperties({ ...complete, img_signature_hash_method: '' });
    assert.ok(properties);
    assert.throws(() => planSignatureVerification(properties), {
      code: 'SIGNATURE_MALFORMED',
      message: 'Signature verification for the image failed: Invalid signature hash method: .',
    });
  });
});

describe('planSignatureVerification', () => {
  it('decodes the signature and names the digest for every hash method', () => {
    for (const [hashMethod, algorithm] of [
      ['SHA-224', 'sha224'],
      ['SHA-256', 'sha256'],
      ['SHA-384', 'sha384'],
      ['SHA-512', 'sha512'],
    ]) {
      const plan = planSignatureVerification({ ...valid, hashMethod });
      assert.equal(plan.algorithm, algorithm);
      assert.deepEqual(plan.signature, Buffer.from('abc'));
      assert.equal(plan.certificateUuid, 'cert-1');
    }
  });

  it('accepts every key type Glance registers', () => {
    for (const keyType of [
      'RSA-PSS',
      'DSA',
      'ECC_SECT571K1',
      'ECC_SECT409K1',
      'ECC_SECT571R1',
      'ECC_SECT409R1',
      'ECC_SECP521R1',
      'ECC_SECP384R1',
    ]) {
      assert.equal(planSignatureVerification({ ...valid, keyType }).keyType, keyType);
    }
  });

  it('rejects hash methods that are not the exact upper-case strings', () => {
    for (const hashMethod of ['sha256', 'SHA256', 'sha-256', 'SHA-1', 'MD5', ' SHA-256']) {
      const error = planError({ hashMethod });
      assert.equal(error.code, 'SIGNATURE_MALFORMED');
      assert.equal(
        error.message,
        `Signature verification for the image failed: Invalid signature hash method: ${hashMethod}.`,
      );
    }
  });

  it('rejects P-256, PKCS#1 v1.5 and lower-case key types with cursive text', () => {
    for (const keyType of [
      'ECC_SECP256R1',
      'RSA-PKCS1',
      'rsa-pss',
      'ECC_secp384r1',
      'SECP384R1',
      'Ed25519',
    ]) {
      const error = planError({ keyType });
      assert.equal(error.code, 'SIGNATURE_MALFORMED');
      assert.equal(
        error.message,
        `Signature verification for the image failed: Invalid signature key type: ${keyType}.`,
      );
    }
  });

  it('rejects a badly padded signature with the text Glance gives', () => {
    const error = planError({ signature: 'abcde' });
    assert.equal(error.code, 'SIGNATURE_MALFORMED');
    assert.equal(
      error.message,
      'Signature verification for the image failed: The signature data was not properly encoded using base64.',
    );
  });

  it('checks in cursive order: encoding, then hash method, then key type', () => {
    assert.match(planError({ signature: 'abcde', hashMethod: 'x', keyType: 'y' }).message, /base64/);
    assert.match(planError({ hashMethod: 'x', keyType: 'y' }).message, /hash method: x\.$/);
    assert.match(planError({ keyType: 'y' }).message, /key type: y\.$/);
  });

  it('passes a non-ASCII signature through as a bare ValueError text, as Glance does', () => {
    const error = planError({ signature: 'YWJj\u00e9' });
    assert.equal(error.code, 'SIGNATURE_MALFORMED');
    assert.equal(error.message, 'string argument should contain only ASCII characters');
    assert.equal(
      formatGlanceSignatureFailure('img-1', error),
      'string argument should contain only ASCII characters',
    );
  });

  it('lets an all-garbage signature decode to nothing; it fails once the certificate is known', () => {
    assert.equal(planSignatureVerification({ ...valid, signature: '!!!' }).signature.length, 0);
    assert.equal(planSignatureVerification({ ...valid, signature: '' }).signature.length, 0);
  });
});

describe('decodeLenientBase64 (Python 3.11 base64.b64decode without validation)', () => {
  // Expected values printed by CPython 3.11.7's base64.b64decode for the same inputs.
  const vectors: [input: string, expected: string | null][] = [
    ['YQ==', 'a'],
    ['YWI=', 'ab'],
    ['YWJj', 'abc'],
    ['YWJj=', 'abc'],
    ['YQ==YWJj', 'a'],
    ['Y=Q==', 'a'],
    ['=YQ==', 'a'],
    ['YQ=\n=', 'a'],
    ['YQ=a=', 'a\x06'],
    ['YQ-_==', 'a'],
    ['YR==', 'a'],
    ['YWJjZA=x=', 'abcd\x0c'],
    ['Y W\nJ\tj', 'abc'],
    ['!!!', ''],
    ['', ''],
    ['YQ', null],
    ['YQ=', null],
    ['Y', null],
    ['abcde', null],
    ['YWJjZA=', null],
  ];
  for (const [input, expected] of vectors) {
    it(`decodes ${JSON.stringify(input)} to ${expected === null ? 'an error' : JSON.stringify(expected)}`, () => {
      const decoded = decodeLenientBase64(input);
      assert.equal(decoded === null ? null : decoded.toString('latin1'), expected);
    });
  }

  it('round-trips every signature length', () => {
    for (let length = 0; length < 600; length += 37) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 151) & 0xff));
      assert.deepEqual(decodeLenientBase64(bytes.toString('base64')), bytes);
    }
  });
});

describe('formatGlanceSignatureFailure', () => {
  it("prefixes cursive's text with the image ID, as Glance's 400 does", () => {
    const error = planError({ keyType: 'RSA-PKCS1' });
    assert.equal(
      formatGlanceSignatureFailure('7b1c', error),
      'Signature verification failed for image 7b1c: Signature verification for the image failed: Invalid signature key type: RSA-PKCS1.',
    );
  });
});

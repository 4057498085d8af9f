// Streaming verification of openssl-made image signatures for every hash method and key type Glance
// accepts, and the signatures Glance rejects (spec §1.3–1.6).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  createStreamingVerifier,
  finishSignatureVerification,
  formatGlanceSignatureFailure,
  loadSigningCertificate,
  planSignatureVerification,
  readSignatureProperties,
  toVerificationSpec,
  type VerificationSpec,
} from '../../src/trust/index.ts';
import { maximumPssSaltLength } from '../../src/trust/verification-spec.ts';
import { loadSigningFixtures, type SigningFixtures, unevenChunks } from '../fixtures/signing-fixtures.ts';

const HASHES = [
  ['SHA-224', 'sha224'],
  ['SHA-256', 'sha256'],
  ['SHA-384', 'sha384'],
  ['SHA-512', 'sha512'],
] as const;
const RSA_KEYS = ['rsa2048', 'rsa3072', 'rsa4096'];
const OTHER_KEYS = [
  ['dsa2048', 'DSA'],
  ['secp384r1', 'ECC_SECP384R1'],
  ['secp521r1', 'ECC_SECP521R1'],
  ['sect409k1', 'ECC_SECT409K1'],
  ['sect409r1', 'ECC_SECT409R1'],
  ['sect571k1', 'ECC_SECT571K1'],
  ['sect571r1', 'ECC_SECT571R1'],
] as const;

interface Attempt {
  certificate: string;
  signature: string;
  hashMethod: string;
  keyType: string;
  image?: Buffer;
}

describe('image signature verification', () => {
  let fixtures: SigningFixtures;
  before(() => {
    fixtures = loadSigningFixtures();
  });

  /** The whole path Glance takes: properties, plan, certificate secret, spec, streamed data. */
  function specFor(attempt: Attempt): VerificationSpec {
    const plan = planSignatureVerification({
      signature: attempt.signature,
      hashMethod: attempt.hashMethod,
      keyType: attempt.keyType,
      certificateUuid: 'c0ffee',
    });
    const certificate = loadSigningCertificate({
      secretType: 'certificate',
      payload: fixtures.file(`certs/${attempt.certificate}.pem`),
      contentType: 'application/octet-stream',
    });
    return toVerificationSpec(plan, certificate);
  }

  function verifies(attempt: Attempt): boolean {
    const verifier = createStreamingVerifier(specFor(attempt));
    for (const chunk of unevenChunks(attempt.image ?? fixtures.image)) verifier.update(chunk);
    return verifier.verify();
  }

  for (const [hashMethod, hash] of HASHES) {
    for (const key of RSA_KEYS) {
      for (const variant of ['pss', 'pss-max']) {
        it(`verifies an RSA-PSS ${key} ${hashMethod} signature made with openssl (${variant} salt)`, () => {
          const signature = fixtures.signature(`${key}.${hash}.${variant}`);
          assert.equal(verifies({ certificate: key, signature, hashMethod, keyType: 'RSA-PSS' }), true);
        });
      }
      it(`rejects an RSA-PSS ${key} ${hashMethod} signature with a digest-length salt`, () => {
        const signature = fixtures.signature(`${key}.${hash}.pss-digest`);
        assert.equal(verifies({ certificate: key, signature, hashMethod, keyType: 'RSA-PSS' }), false);
      });
      it(`rejects a PKCS#1 v1.5 ${key} ${hashMethod} signature under RSA-PSS`, () => {
        const signature = fixtures.signature(`${key}.${hash}.pkcs1`);
        assert.equal(verifies({ certificate: key, signature, hashMethod, keyType: 'RSA-PSS' }), false);
      });
    }
    for (const [key, keyType] of OTHER_KEYS) {
      it(`verifies a ${keyType} ${hashMethod} signature made with openssl`, () => {
        const signature = fixtures.signature(`${key}.${hash}`);
        assert.equal(verifies({ certificate: key, signature, hashMethod, keyType }), true);
      });
    }
  }

  it('requires the maximum PSS salt, as a number (spec §1.4 examples)', () => {
    assert.equal(maximumPssSaltLength(2048, 'sha256'), 222);
    assert.equal(maximumPssSaltLength(2048, 'sha512'), 190);
    assert.equal(maximumPssSaltLength(3072, 'sha256'), 350);
    assert.equal(maximumPssSaltLength(4096, 'sha384'), 462);
    const spec = specFor({
      certificate: 'rsa2048',
      signature: fixtures.signature('rsa2048.sha256.pss'),
      hashMethod: 'SHA-256',
      keyType: 'RSA-PSS',
    });
    assert.equal(spec.saltLength, 222);
  });

  it('verifies a P-256 signature under an ECC_SECP384R1 key type, since cursive never checks the curve', () => {
    const signature = fixtures.signature('prime256v1.sha256');
    assert.equal(
      verifies({ certificate: 'prime256v1', signature, hashMethod: 'SHA-256', keyType: 'ECC_SECP384R1' }),
      true,
    );
  });

  it('rejects the P-256 key type string before looking at the certificate', () => {
    assert.throws(
      () =>
        specFor({
          certificate: 'prime256v1',
          signature: fixtures.signature('prime256v1.sha256'),
          hashMethod: 'SHA-256',
          keyType: 'ECC_SECP256R1',
        }),
      {
        code: 'SIGNATURE_MALFORMED',
        message: 'Signature verification for the image failed: Invalid signature key type: ECC_SECP256R1.',
      },
    );
  });

  it('rejects a lower-case hash method even with a good signature', () => {
    assert.throws(
      () =>
        specFor({
          certificate: 'secp384r1',
          signature: fixtures.signature('secp384r1.sha384'),
          hashMethod: 'sha384',
          keyType: 'ECC_SECP384R1',
        }),
      {
        code: 'SIGNATURE_MALFORMED',
        message: 'Signature verification for the image failed: Invalid signature hash method: sha384.',
      },
    );
  });

  it('rejects a signature checked with the wrong key', () => {
    const signature = fixtures.signature('rsa2048.sha256.pss');
    assert.equal(
      verifies({ certificate: 'rsa3072', signature, hashMethod: 'SHA-256', keyType: 'RSA-PSS' }),
      false,
    );
    const ecSignature = fixtures.signature('secp384r1.sha384');
    assert.equal(
      verifies({
        certificate: 'secp521r1',
        signature: ecSignature,
        hashMethod: 'SHA-384',
        keyType: 'ECC_SECP521R1',
      }),
      false,
    );
  });

  it('rejects a signature checked with a different hash method than it was made with', () => {
    const signature = fixtures.signature('secp384r1.sha384');
    assert.equal(
      verifies({ certificate: 'secp384r1', signature, hashMethod: 'SHA-512', keyType: 'ECC_SECP384R1' }),
      false,
    );
  });

  for (const [certificate, name, hashMethod, keyType] of [
    ['rsa2048', 'rsa2048.sha256.pss', 'SHA-256', 'RSA-PSS'],
    ['dsa2048', 'dsa2048.sha256', 'SHA-256', 'DSA'],
    ['sect571k1', 'sect571k1.sha512', 'SHA-512', 'ECC_SECT571K1'],
  ] as const) {
    it(`rejects a ${keyType} signature over an image with one byte flipped`, () => {
      for (const position of [0, fixtures.image.length >> 1, fixtures.image.length - 1]) {
        const image = Buffer.from(fixtures.image);
        image[position] ^= 0x01;
        const signature = fixtures.signature(name);
        assert.equal(verifies({ certificate, signature, hashMethod, keyType, image }), false);
      }
    });

    it(`rejects a truncated ${keyType} signature`, () => {
      const bytes = fixtures.file(`sigs/${name}.sig`);
      for (const cut of [1, 8, bytes.length >> 1]) {
        const signature = bytes.subarray(0, bytes.length - cut).toString('base64');
        assert.equal(verifies({ certificate, signature, hashMethod, keyType }), false);
      }
    });
  }

  it('rejects the image truncated or extended by a byte', () => {
    const signature = fixtures.signature('secp384r1.sha256');
    const attempt = { certificate: 'secp384r1', signature, hashMethod: 'SHA-256', keyType: 'ECC_SECP384R1' };
    assert.equal(verifies({ ...attempt, image: fixtures.image.subarray(0, -1) }), false);
    assert.equal(verifies({ ...attempt, image: Buffer.concat([fixtures.image, Buffer.from([0])]) }), false);
  });

  it('drops characters outside the base64 alphabet, so a wrapped or sprinkled signature still verifies', () => {
    const clean = fixtures.signature('rsa2048.sha384.pss');
    const noisy = `${clean.slice(0, 40)}\n ${clean.slice(40, 100)}-_!\t${clean.slice(100)}\n`;
    assert.equal(
      verifies({ certificate: 'rsa2048', signature: noisy, hashMethod: 'SHA-384', keyType: 'RSA-PSS' }),
      true,
    );
  });

  it('rejects a signature with broken base64 padding before any data', () => {
    // Fixed text, never derived from a fixture: an ECDSA signature's length varies with its random
    // nonce, so trimming one would only sometimes break the padding. Python's b64decode refuses both:
    // 9 data characters ("cannot be 1 more than a multiple of 4") and 10 with one pad ("Incorrect padding").
    for (const broken of ['MIGHAkIBm=', 'MIGHAkIBmw=']) {
      assert.throws(
        () =>
          specFor({
            certificate: 'secp521r1',
            signature: broken,
            hashMethod: 'SHA-512',
            keyType: 'ECC_SECP521R1',
          }),
        {
          code: 'SIGNATURE_MALFORMED',
          message:
            'Signature verification for the image failed: The signature data was not properly encoded using base64.',
        },
        broken,
      );
    }
  });

  it('refuses an empty signature once the certificate is in hand, as cursive does', () => {
    assert.throws(
      () => specFor({ certificate: 'rsa2048', signature: '***', hashMethod: 'SHA-256', keyType: 'RSA-PSS' }),
      {
        code: 'SIGNATURE_MALFORMED',
        message: 'Signature verification for the image failed: Error occurred while creating the verifier.',
      },
    );
  });

  it('checks the key type against the certificate before the empty signature', () => {
    assert.throws(
      () => specFor({ certificate: 'rsa2048', signature: '', hashMethod: 'SHA-256', keyType: 'DSA' }),
      {
        code: 'CERTIFICATE_INVALID',
      },
    );
  });

  it("ends a failed verification with SIGNATURE_INVALID and Glance's bare text", () => {
    const spec = specFor({
      certificate: 'rsa2048',
      signature: fixtures.signature('rsa2048.sha256.pss-digest'),
      hashMethod: 'SHA-256',
      keyType: 'RSA-PSS',
    });
    const verifier = createStreamingVerifier(spec);
    verifier.update(fixtures.image);
    let caught: unknown;
    try {
      finishSignatureVerification(verifier);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught);
    assert.equal((caught as { code?: string }).code, 'SIGNATURE_INVALID');
    assert.equal((caught as Error).message, 'Signature verification failed');
    assert.equal(
      formatGlanceSignatureFailure('4d2a', caught as never),
      'Signature verification failed for image 4d2a: Signature verification failed',
    );
  });

  it('settles on its first answer and takes no data after it', () => {
    const spec = specFor({
      certificate: 'sect409r1',
      signature: fixtures.signature('sect409r1.sha224'),
      hashMethod: 'SHA-224',
      keyType: 'ECC_SECT409R1',
    });
    const verifier = createStreamingVerifier(spec);
    verifier.update(fixtures.image);
    assert.equal(verifier.verify(), true);
    assert.equal(verifier.verify(), true);
    finishSignatureVerification(verifier);
    assert.throws(() => verifier.update(Buffer.from('more')), { code: 'INTERNAL' });
  });

  it('refuses a spec that was tampered with on its way to the verifier', () => {
    const spec = specFor({
      certificate: 'rsa2048',
      signature: fixtures.signature('rsa2048.sha256.pss'),
      hashMethod: 'SHA-256',
      keyType: 'RSA-PSS',
    });
    assert.throws(() => createStreamingVerifier({ ...spec, saltLength: undefined }), { code: 'INTERNAL' });
    assert.throws(() => createStreamingVerifier({ ...spec, algorithm: 'md5' as never }), {
      code: 'INTERNAL',
    });
    assert.throws(() => createStreamingVerifier({ ...spec, padding: 1 }), { code: 'INTERNAL' });
  });

  it('goes from image properties to a verdict with a spec that survives JSON and a worker thread', async () => {
    const properties = readSignatureProperties({
      img_signature: fixtures.signature('rsa4096.sha512.pss'),
      img_signature_hash_method: 'SHA-512',
      img_signature_key_type: 'RSA-PSS',
      img_signature_certificate_uuid: 'c0ffee',
    });
    assert.ok(properties);
    const plan = planSignatureVerification(properties);
    const certificate = loadSigningCertificate({
      secretType: 'certificate',
      payload: fixtures.file('certs/rsa4096.pem'),
      contentType: 'application/octet-stream',
    });
    const spec: VerificationSpec = JSON.parse(JSON.stringify(toVerificationSpec(plan, certificate)));
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.module).then(({ createStreamingVerifier }) => {
        const verifier = createStreamingVerifier(workerData.spec);
        parentPort.on('message', (chunk) => {
          if (chunk === null) parentPort.postMessage(verifier.verify());
          else verifier.update(chunk);
        });
        parentPort.postMessage('ready');
      });
      `,
      {
        eval: true,
        workerData: { spec, module: new URL('../../src/trust/index.ts', import.meta.url).href },
      },
    );
    try {
      const messages: unknown[] = [];
      const verdict = new Promise<unknown>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (message) => {
          messages.push(message);
          if (message === 'ready') {
            for (const chunk of unevenChunks(fixtures.image)) worker.postMessage(chunk);
            worker.postMessage(null);
          } else resolve(message);
        });
      });
      assert.equal(await verdict, true);
    } finally {
      await worker.terminate();
    }
  });
});

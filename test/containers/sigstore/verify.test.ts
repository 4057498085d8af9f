// Key-based sigstore verification with keys made here (node:crypto) over cosign-format payloads.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  createSigstorePayload,
  parseSigstorePayload,
  readSigstorePublicKey,
  SIGSTORE_SIGNATURE_ANNOTATION,
  verifySigstoreSignature,
} from '../../../src/containers/sigstore/index.ts';
import { ImageTrustError } from '../../../src/errors/index.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const REFERENCE = '127.0.0.1:5000/ns/app:v1';

function keyPair(type: 'ec' | 'rsa' | 'ed25519') {
  const pair =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  return {
    privateKey: pair.privateKey,
    pem: Buffer.from(pair.publicKey.export({ type: 'spki', format: 'pem' })),
  };
}

function signPayload(privateKey: KeyObject, payload: Buffer): string {
  return sign(privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, privateKey).toString(
    'base64',
  );
}

const payload = createSigstorePayload({
  dockerManifestDigest: DIGEST,
  dockerReference: REFERENCE,
  creator: 'imagetrust test',
  now: new Date('2026-01-01T00:00:00Z'),
});

function rejectsWith(fn: () => unknown, text: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ImageTrustError);
    assert.equal(error.code, 'SIGNATURE_REJECTED');
    if (typeof text === 'string') assert.equal(error.message, text);
    else assert.match(error.message, text);
    return true;
  });
}

describe('verifySigstoreSignature', () => {
  for (const type of ['ec', 'rsa', 'ed25519'] as const) {
    it(`accepts a ${type} signature over the exact payload and returns its claims`, () => {
      const { privateKey, pem } = keyPair(type);
      const claims = verifySigstoreSignature(
        { payload, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: signPayload(privateKey, payload) } },
        [readSigstorePublicKey(pem)],
      );
      assert.equal(claims.dockerManifestDigest, DIGEST);
      assert.equal(claims.dockerReference, REFERENCE);
    });
  }

  it('rejects a payload changed after signing, with the ECDSA verifier text', () => {
    const { privateKey, pem } = keyPair('ec');
    const signature = signPayload(privateKey, payload);
    const tampered = Buffer.from(payload.toString().replace('ns/app', 'ns/evil'));
    rejectsWith(
      () =>
        verifySigstoreSignature(
          { payload: tampered, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: signature } },
          [readSigstorePublicKey(pem)],
        ),
      'cryptographic signature verification failed: invalid signature when validating ASN.1 encoded signature',
    );
  });

  it('rejects a signature made with another key', () => {
    const signer = keyPair('ec');
    const other = keyPair('ec');
    rejectsWith(
      () =>
        verifySigstoreSignature(
          {
            payload,
            annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: signPayload(signer.privateKey, payload) },
          },
          [readSigstorePublicKey(other.pem)],
        ),
      /^cryptographic signature verification failed: /,
    );
  });

  it('accepts when any one of several keys verifies (HEAD keyPaths)', () => {
    const signer = keyPair('ec');
    const other = keyPair('ec');
    const annotations = { [SIGSTORE_SIGNATURE_ANNOTATION]: signPayload(signer.privateKey, payload) };
    verifySigstoreSignature({ payload, annotations }, [
      readSigstorePublicKey(other.pem),
      readSigstorePublicKey(signer.pem),
    ]);
  });

  it('rejects a missing signature annotation and bad base64', () => {
    const { pem } = keyPair('ec');
    const key = readSigstorePublicKey(pem);
    rejectsWith(
      () => verifySigstoreSignature({ payload, annotations: {} }, [key]),
      `missing ${SIGSTORE_SIGNATURE_ANNOTATION} annotation`,
    );
    rejectsWith(
      () =>
        verifySigstoreSignature({ payload, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: 'not*base64' } }, [
          key,
        ]),
      'base64 decoding: illegal base64 data at input byte 3',
    );
  });

  it('checks the signature before it parses the payload', () => {
    const { privateKey, pem } = keyPair('ec');
    const garbage = Buffer.from('{"critical":');
    rejectsWith(
      () =>
        verifySigstoreSignature(
          {
            payload: garbage,
            annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: signPayload(privateKey, garbage) },
          },
          [readSigstorePublicKey(pem)],
        ),
      /^invalid JSON/,
    );
  });
});

describe('readSigstorePublicKey', () => {
  it('rejects what is not PEM (a GPG key, say) as c/image does', () => {
    rejectsWith(
      () => readSigstorePublicKey(Buffer.from('\x99\x01\x0d binary gpg')),
      'parsing public key: PEM decoding failed',
    );
  });

  it('rejects a PEM block that is not a PUBLIC KEY', () => {
    const { privateKey } = keyPair('ec');
    rejectsWith(
      () => readSigstorePublicKey(Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }))),
      /^parsing public key: unknown Public key PEM file type: PRIVATE KEY/,
    );
  });
});

describe('parseSigstorePayload', () => {
  const body = (critical: string, optional = 'null') =>
    Buffer.from(`{"critical":${critical},"optional":${optional}}`);
  const critical = (type = 'cosign container image signature') =>
    `{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"${type}"}`;

  it('accepts cosign output with optional null', () => {
    assert.deepEqual(parseSigstorePayload(body(critical())), {
      dockerManifestDigest: DIGEST,
      dockerReference: 'r',
    });
  });

  it('rejects the simple-signing type', () => {
    rejectsWith(
      () => parseSigstorePayload(body(critical('atomic container signature'))),
      'Unrecognized signature type atomic container signature',
    );
  });

  it('rejects duplicate, unknown and missing keys', () => {
    rejectsWith(
      () =>
        parseSigstorePayload(
          Buffer.from(`{"critical":${critical()},"critical":${critical()},"optional":null}`),
        ),
      'Duplicate key "critical"',
    );
    rejectsWith(
      () => parseSigstorePayload(Buffer.from(`{"critical":${critical()},"optional":null,"extra":1}`)),
      'Unknown key "extra"',
    );
    rejectsWith(
      () => parseSigstorePayload(Buffer.from(`{"critical":${critical()}}`)),
      'Key "optional" missing in a JSON object',
    );
    rejectsWith(
      () =>
        parseSigstorePayload(body('{"type":"cosign container image signature","image":{},"identity":{}}')),
      'Key "docker-manifest-digest" missing in a JSON object',
    );
  });

  it('rejects a fractional timestamp with the 5.23 text', () => {
    rejectsWith(
      () => parseSigstorePayload(body(critical(), '{"timestamp":1.5}')),
      'Field optional.timestamp is not is not an integer',
    );
  });
});

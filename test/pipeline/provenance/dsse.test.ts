// DSSE envelopes: the PAE of the spec, signatures that other tools (openssl) verify, and hostile
// envelopes refused with codes, never crashes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ImageTrustError } from '../../../src/errors/index.ts';
import {
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  MAX_ENVELOPE_BYTES,
  preAuthEncoding,
  signEnvelope,
  toTrustedKey,
  verifyEnvelope,
} from '../../../src/pipeline/provenance/index.ts';
import { ed25519, p256 } from './fixtures.ts';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ImageTrustError, String(error));
    return error.code;
  }
  return 'no error';
};

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;

/** A big-endian 32-byte base64url of a decimal integer (JWK coordinates). */
const coordinate = (decimal: string) =>
  Buffer.from(BigInt(decimal).toString(16).padStart(64, '0'), 'hex').toString('base64url');

describe('preAuthEncoding', () => {
  it('matches the DSSE spec test vector', () => {
    assert.equal(
      preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString(),
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('counts bytes, not characters, and takes an empty body', () => {
    assert.equal(preAuthEncoding('tÿpe', Buffer.from('é')).toString(), 'DSSEv1 5 tÿpe 2 é');
    assert.equal(preAuthEncoding('t', Buffer.alloc(0)).toString(), 'DSSEv1 1 t 0 ');
  });
});

describe('verifyEnvelope', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'imagetrust-dsse-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it("verifies the DSSE spec's ECDSA P-256 example envelope (r||s signature, no keyid)", () => {
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: coordinate('46950820868899156662930047687818585632848591499744589407958293238635476079160'),
        y: coordinate('5640078356564379163099075877009565129882514886557779369047442380624545832820'),
      },
      format: 'jwk',
    });
    const envelope = {
      payload: 'aGVsbG8gd29ybGQ=',
      payloadType: 'http://example.com/HelloWorld',
      signatures: [
        { sig: 'A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==' },
      ],
    };
    const verified = verifyEnvelope(JSON.stringify(envelope), [toTrustedKey(pem(key))]);
    assert.equal(verified.payload.toString(), 'hello world');
    assert.equal(verified.keyid, keyIdOf(key));
    // Without a keyid nothing says a trusted key made the failing signature: untrusted, not invalid.
    const altered = { ...envelope, payloadType: 'http://example.com/HelloWorlD' };
    assert.equal(
      codeOf(() => verifyEnvelope(altered, [toTrustedKey(pem(key))])),
      'ATTESTATION_UNTRUSTED',
    );
    const named = { ...altered, signatures: [{ ...altered.signatures[0], keyid: keyIdOf(key) }] };
    assert.equal(
      codeOf(() => verifyEnvelope(named, [toTrustedKey(pem(key))])),
      'ATTESTATION_INVALID',
    );
  });

  it('names a key by the sha256 of its DER SPKI, as openssl computes it', () => {
    const { publicKey } = ed25519();
    const file = path.join(work, 'key.pem');
    writeFileSync(file, pem(publicKey));
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', file, '-outform', 'DER']);
    assert.equal(keyIdOf(publicKey), createHash('sha256').update(der).digest('hex'));
    assert.match(keyIdOf(publicKey), /^[0-9a-f]{64}$/);
  });

  for (const [name, make, verifyArgs] of [
    ['Ed25519', ed25519, ['pkeyutl', '-verify', '-rawin']],
    ['ECDSA P-256', p256, ['pkeyutl', '-verify', '-rawin', '-digest', 'sha256']],
  ] as const) {
    it(`signs with ${name} so that openssl verifies the signature over the PAE bytes`, () => {
      const { privateKey, publicKey } = make();
      const statement = '{"_type":"https://in-toto.io/Statement/v1"}';
      const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, statement, privateKey);
      assert.equal(envelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
      assert.equal(Buffer.from(envelope.payload, 'base64').toString(), statement);
      assert.equal(envelope.signatures[0].keyid, keyIdOf(publicKey));
      const files = {
        key: path.join(work, `${name}.pem`),
        pae: path.join(work, 'pae'),
        sig: path.join(work, 'sig'),
      };
      writeFileSync(files.key, pem(publicKey));
      writeFileSync(files.pae, preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, Buffer.from(statement)));
      writeFileSync(files.sig, Buffer.from(envelope.signatures[0].sig, 'base64'));
      const out = execFileSync(
        'openssl',
        [...verifyArgs, '-pubin', '-inkey', files.key, '-in', files.pae, '-sigfile', files.sig],
        { encoding: 'utf8' },
      );
      assert.match(out, /Signature Verified Successfully/);
      assert.deepEqual(
        verifyEnvelope(JSON.stringify(envelope), [toTrustedKey(pem(publicKey))]).payload,
        Buffer.from(statement),
      );
    });
  }

  it('accepts URL-safe base64, which DSSE verifiers must', () => {
    const { privateKey, publicKey } = ed25519();
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from([0xfb, 0xff, 0xfe, 0x3f]), privateKey);
    const urlSafe = {
      ...envelope,
      payload: Buffer.from(envelope.payload, 'base64').toString('base64url'),
      signatures: envelope.signatures.map((s) => ({
        ...s,
        sig: Buffer.from(s.sig, 'base64').toString('base64url'),
      })),
    };
    assert.deepEqual(
      verifyEnvelope(urlSafe, [toTrustedKey(pem(publicKey))]).payload,
      Buffer.from([0xfb, 0xff, 0xfe, 0x3f]),
    );
  });

  it('tells an untrusted signer from a trusted key whose signature fails', () => {
    const signer = ed25519();
    const other = ed25519();
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, '{}', signer.privateKey);
    assert.equal(
      codeOf(() => verifyEnvelope(envelope, [toTrustedKey(pem(other.publicKey))])),
      'ATTESTATION_UNTRUSTED',
    );
    assert.equal(
      codeOf(() => verifyEnvelope(envelope, [])),
      'ATTESTATION_UNTRUSTED',
    );
    const tampered = { ...envelope, payload: Buffer.from('{"x":1}').toString('base64') };
    assert.equal(
      codeOf(() => verifyEnvelope(tampered, [toTrustedKey(pem(signer.publicKey))])),
      'ATTESTATION_INVALID',
    );
    // The keyid is a hint only: a wrong one does not stop a valid signature by a trusted key.
    const misnamed = { ...envelope, signatures: [{ ...envelope.signatures[0], keyid: 'not-a-key' }] };
    assert.equal(
      verifyEnvelope(misnamed, [toTrustedKey(pem(other.publicKey)), toTrustedKey(pem(signer.publicKey))])
        .keyid,
      keyIdOf(signer.publicKey),
    );
    // A second, valid signature by a trusted key is enough beside a bad one.
    const twice = { ...envelope, signatures: [{ keyid: '', sig: 'AAAA' }, ...envelope.signatures] };
    assert.equal(
      verifyEnvelope(twice, [toTrustedKey(pem(signer.publicKey))]).keyid,
      keyIdOf(signer.publicKey),
    );
  });

  it('refuses hostile envelopes with ATTESTATION_MALFORMED', () => {
    const { privateKey, publicKey } = ed25519();
    const keys = [toTrustedKey(pem(publicKey))];
    const good = signEnvelope(IN_TOTO_PAYLOAD_TYPE, '{}', privateKey);
    const hostile: [string, unknown][] = [
      ['not JSON', '{"payloadType":'],
      ['an array', '[]'],
      ['null', 'null'],
      ['a number', 42],
      ['an unknown key', { ...good, extra: 1 }],
      ['a numeric payloadType', { ...good, payloadType: 7 }],
      ['an empty payloadType', { ...good, payloadType: '' }],
      ['a payload that is no string', { ...good, payload: ['e30='] }],
      ['a payload that is not base64', { ...good, payload: 'e30=!' }],
      ['a payload with stray bits', { ...good, payload: 'e31=' }],
      ['no signatures', { ...good, signatures: [] }],
      ['signatures that are no array', { ...good, signatures: good.signatures[0] }],
      ['a signature that is a string', { ...good, signatures: ['sig'] }],
      ['a signature without sig', { ...good, signatures: [{ keyid: 'k' }] }],
      ['a numeric keyid', { ...good, signatures: [{ keyid: 1, sig: good.signatures[0].sig }] }],
      ['a sig that is not base64', { ...good, signatures: [{ keyid: '', sig: '%%%%' }] }],
      ['a huge sig', { ...good, signatures: [{ keyid: '', sig: 'A'.repeat(8000) }] }],
      ['too many signatures', { ...good, signatures: Array(17).fill(good.signatures[0]) }],
      ['an unknown signature key', { ...good, signatures: [{ ...good.signatures[0], cert: 'x' }] }],
      ['an envelope over the size limit', `{"payload":"${'A'.repeat(MAX_ENVELOPE_BYTES)}"}`],
    ];
    for (const [what, input] of hostile) {
      assert.equal(
        codeOf(() => verifyEnvelope(input, keys)),
        'ATTESTATION_MALFORMED',
        what,
      );
    }
  });

  it('refuses keys other than Ed25519 and P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    assert.equal(
      codeOf(() => toTrustedKey(pem(rsa))),
      'ATTESTATION_MALFORMED',
    );
    assert.equal(
      codeOf(() => toTrustedKey('not a key')),
      'ATTESTATION_MALFORMED',
    );
  });
});

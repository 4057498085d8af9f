// Attack: getting an attestation accepted that no trusted build key made for this statement — a
// stranger's signature that claims a trusted keyid, a trusted signature moved to another payload or
// payload type, or PAE fields shifted so the signed bytes read differently. Each is refused with a code.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import {
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  makeBuildProvenance,
  readProvenanceAttestation,
  signEnvelope,
  toTrustedKey,
  verifyEnvelope,
} from '../../src/pipeline/provenance/index.ts';
import { buildInput } from '../pipeline/provenance/fixtures.ts';

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
const sha = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('hex');

describe('attestation substitution', () => {
  const builder = generateKeyPairSync('ed25519');
  const stranger = generateKeyPairSync('ed25519');
  const trusted = [toTrustedKey(pem(builder.publicKey))];
  const statementOf = (image: string) =>
    JSON.stringify(
      makeBuildProvenance(
        buildInput({ image: { name: image, sha512: sha('sha512', image), sha256: sha('sha256', image) } }),
      ),
    );

  it("refuses a stranger's signature that names the trusted keyid", () => {
    const forged = signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementOf('evil.raw'), stranger.privateKey);
    forged.signatures[0].keyid = keyIdOf(builder.publicKey);
    assert.equal(
      codeOf(() => readProvenanceAttestation(JSON.stringify(forged), trusted)),
      'ATTESTATION_INVALID',
    );
  });

  it("refuses a trusted signature moved onto another image's statement", () => {
    const genuine = signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementOf('good.raw'), builder.privateKey);
    const moved = { ...genuine, payload: Buffer.from(statementOf('evil.raw')).toString('base64') };
    assert.equal(
      codeOf(() => readProvenanceAttestation(JSON.stringify(moved), trusted)),
      'ATTESTATION_INVALID',
    );
  });

  it('refuses a trusted signature moved to another payload type, and a trusted signature of another type', () => {
    const genuine = signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementOf('good.raw'), builder.privateKey);
    const retyped = { ...genuine, payloadType: 'application/vnd.in-toto+json; charset=utf-8' };
    assert.equal(
      codeOf(() => readProvenanceAttestation(JSON.stringify(retyped), trusted)),
      'ATTESTATION_INVALID',
    );
    // The build key signed this for another protocol: it is not a provenance attestation.
    const otherProtocol = signEnvelope(
      'application/vnd.example.ticket+json',
      statementOf('good.raw'),
      builder.privateKey,
    );
    assert.equal(
      codeOf(() => readProvenanceAttestation(JSON.stringify(otherProtocol), trusted)),
      'ATTESTATION_MALFORMED',
    );
  });

  it('binds the field boundaries: shifting bytes between type and body breaks the signature', () => {
    // Without lengths, "a b" + "c" and "a" + "b c" would sign the same bytes; PAE counts them.
    const genuine = signEnvelope('t y', 'x', builder.privateKey);
    const shifted = { ...genuine, payloadType: 't', payload: Buffer.from('y x').toString('base64') };
    assert.equal(
      codeOf(() => verifyEnvelope(shifted, trusted)),
      'ATTESTATION_INVALID',
    );
  });
});

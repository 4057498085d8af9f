// A provenance attestation as the catalog takes it: a DSSE envelope whose signature verifies with a
// trusted build key and whose payload is an in-toto statement with a SLSA provenance v1 predicate.
import { AttestationError } from '../../errors/index.ts';
import { IN_TOTO_PAYLOAD_TYPE, type TrustedKey, verifyEnvelope } from './dsse.ts';
import {
  type InTotoStatement,
  readStatement,
  SLSA_PROVENANCE_V1,
  type SlsaProvenanceV1,
} from './statement.ts';

export interface ProvenanceAttestation {
  statement: InTotoStatement<SlsaProvenanceV1>;
  /** The trusted key that signed it. */
  keyid: string;
  /** The sha512 of the one subject: the image the build made. */
  subjectSha512: string;
  builderId: string;
}

/**
 * Verifies a provenance envelope (JSON text) against trusted keys and reads its statement. Throws
 * ATTESTATION_MALFORMED, ATTESTATION_UNTRUSTED or ATTESTATION_INVALID.
 */
export function readProvenanceAttestation(
  envelopeJson: string | Uint8Array,
  trustedKeys: readonly TrustedKey[],
): ProvenanceAttestation {
  // The signature is checked before the payload is parsed: nobody's unsigned JSON is read further.
  const { payloadType, payload, keyid } = verifyEnvelope(envelopeJson, trustedKeys);
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new AttestationError(
      'ATTESTATION_MALFORMED',
      `The envelope's payloadType is ${JSON.stringify(payloadType)}; a provenance attestation is ${IN_TOTO_PAYLOAD_TYPE}.`,
    );
  }
  const statement = readStatement(payload);
  if (statement.predicateType !== SLSA_PROVENANCE_V1) {
    throw new AttestationError(
      'ATTESTATION_MALFORMED',
      `The statement's predicateType is ${JSON.stringify(statement.predicateType)}; provenance is ${SLSA_PROVENANCE_V1}.`,
    );
  }
  const withSha512 = statement.subject.filter((s) => s.digest.sha512 !== undefined);
  if (statement.subject.length !== 1 || withSha512.length !== 1) {
    throw new AttestationError(
      'ATTESTATION_MALFORMED',
      'A provenance attestation of an image has exactly one subject, with a sha512 digest.',
    );
  }
  const provenance = statement as InTotoStatement<SlsaProvenanceV1>;
  return {
    statement: provenance,
    keyid,
    subjectSha512: withSha512[0].digest.sha512,
    builderId: (provenance.predicate as SlsaProvenanceV1).runDetails.builder.id,
  };
}

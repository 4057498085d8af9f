// What a streaming verifier needs, as plain data that can cross a worker boundary, and the verifier
// itself: the image bytes are hashed as they pass and the signature is checked once at the end.
import { constants, createVerify, type X509Certificate } from 'node:crypto';
import { ImageTrustError } from '../errors/index.ts';
import { checkPublicKeyForKeyType } from './certificates.ts';
import { signatureFailure, signatureMismatch } from './failures.ts';
import { type DigestAlgorithm, HASH_METHODS, SIGNATURE_KEY_TYPES, type SignaturePlan } from './properties.ts';

/** Everything needed to check a signature over a byte stream; JSON- and structured-clone-safe. */
export interface VerificationSpec {
  algorithm: DigestAlgorithm;
  publicKeyPem: string;
  /** The decoded signature, base64-encoded again in canonical form. */
  signature: string;
  /** RSA only: always RSA_PKCS1_PSS_PADDING, since RSA-PSS is Glance's one RSA scheme. */
  padding?: number;
  /** RSA only: the exact salt length to require. */
  saltLength?: number;
  /** DSA and ECDSA signatures are DER SEQUENCE { r, s }, as openssl writes them (spec §1.5). */
  dsaEncoding: 'der';
}

export interface StreamingVerifier {
  update(chunk: Uint8Array): void;
  /** Whether the signature matches everything passed to update; the first call settles the answer. */
  verify(): boolean;
}

const DIGEST_LENGTHS: Record<DigestAlgorithm, number> = { sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

/**
 * The PSS salt length cursive demands: the maximum for the key and hash, exactly
 * (emLen - hLen - 2 with emLen = ceil((modBits - 1) / 8)), spec §1.4. It must be passed as a number:
 * Node's default (auto-detect) would also accept a digest-length salt, which Glance rejects.
 */
export function maximumPssSaltLength(modulusBits: number, algorithm: DigestAlgorithm): number {
  return Math.ceil((modulusBits - 1) / 8) - DIGEST_LENGTHS[algorithm] - 2;
}

/**
 * Completes a plan with the signing certificate, running cursive's remaining checks in its order:
 * the certificate's key must suit the key type, then the signature must not be empty.
 */
export function toVerificationSpec(plan: SignaturePlan, certificate: X509Certificate): VerificationSpec {
  checkPublicKeyForKeyType(certificate, plan.keyType);
  // cursive refuses to build a verifier for an empty signature (all characters dropped, or "").
  if (plan.signature.length === 0) {
    throw signatureFailure('SIGNATURE_MALFORMED', 'Error occurred while creating the verifier');
  }
  const publicKey = certificate.publicKey;
  const spec: VerificationSpec = {
    algorithm: plan.algorithm,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    signature: plan.signature.toString('base64'),
    dsaEncoding: 'der',
  };
  const kind = SIGNATURE_KEY_TYPES[plan.keyType];
  switch (kind) {
    case 'rsa': {
      const modulusBits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
      // A key too small for the hash has a negative maximum, and Node reads -1 and -2 as "digest
      // length" and "auto-detect". No PSS signature fits such a key (OpenSSL refuses emLen < hLen + 2
      // whatever the salt), so 0 keeps the spec free of special values and the verdict "invalid",
      // whichever executor runs it.
      return {
        ...spec,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: Math.max(0, maximumPssSaltLength(modulusBits, plan.algorithm)),
      };
    }
    case 'dsa':
    case 'ec':
      return spec;
    default: {
      const unreachable: never = kind;
      throw new ImageTrustError('INTERNAL', `Unhandled public key kind ${unreachable}`);
    }
  }
}

/** A spec as it arrives from another module, process or thread: to be checked before it is used. */
export type UncheckedVerificationSpec = { readonly [K in keyof VerificationSpec]?: unknown };

/**
 * The one node:crypto call a checked spec stands for, as plain data: whoever holds the bytes (this
 * thread, a digest worker) runs exactly `createVerify(algorithm).update(...).verify(options,
 * signature)` and reports the raw boolean, which is the verdict.
 */
export interface SignatureCheck {
  algorithm: DigestAlgorithm;
  options: { key: string; padding?: number; saltLength?: number; dsaEncoding: 'der' };
  /** The signature bytes, base64. */
  signature: string;
}

/**
 * Checks a spec and turns it into the node:crypto call to run, or null when no signature can match
 * it. Throws INTERNAL for a spec that did not come from toVerificationSpec (it may have crossed a
 * process boundary). Every verifier, on any thread, goes through here.
 */
export function toSignatureCheck(spec: UncheckedVerificationSpec): SignatureCheck | null {
  const { algorithm, publicKeyPem, signature, padding, saltLength, dsaEncoding } = spec;
  const wellFormed =
    (Object.values(HASH_METHODS) as unknown[]).includes(algorithm) &&
    dsaEncoding === 'der' &&
    typeof publicKeyPem === 'string' &&
    typeof signature === 'string' &&
    (padding === undefined || padding === constants.RSA_PKCS1_PSS_PADDING) &&
    (padding === undefined) === (saltLength === undefined) &&
    (saltLength === undefined || Number.isInteger(saltLength));
  if (!wellFormed) throw new ImageTrustError('INTERNAL', 'Malformed signature verification spec');
  // toVerificationSpec never writes a negative salt; one here was forged on the way, and Node would
  // read -1 and -2 as "digest length" and "auto-detect", so OpenSSL is never asked.
  if (typeof saltLength === 'number' && saltLength < 0) return null;
  const options: SignatureCheck['options'] = { key: publicKeyPem, dsaEncoding: 'der' };
  if (padding !== undefined) {
    options.padding = padding as number;
    options.saltLength = saltLength as number;
  }
  return { algorithm: algorithm as DigestAlgorithm, options, signature };
}

/** Runs a checked signature check over bytes fed in order; null (no signature can match) answers false. */
export function startSignatureCheck(check: SignatureCheck | null): StreamingVerifier {
  const verifier = check ? createVerify(check.algorithm) : null;
  let result: boolean | undefined;
  return {
    update(chunk) {
      if (result !== undefined) throw new ImageTrustError('INTERNAL', 'Signature verifier already finished');
      verifier?.update(chunk);
    },
    verify() {
      if (result !== undefined) return result;
      if (!check || !verifier) {
        result = false;
        return result;
      }
      try {
        result = verifier.verify(check.options, Buffer.from(check.signature, 'base64'));
      } catch {
        // OpenSSL throws on some malformed signatures (bad DER, wrong length) rather than saying no.
        result = false;
      }
      return result;
    },
  };
}

/** A verifier fed with the image bytes in order, in as many chunks as they arrive. */
export function createStreamingVerifier(spec: UncheckedVerificationSpec): StreamingVerifier {
  return startSignatureCheck(toSignatureCheck(spec));
}

/** Ends a verification: throws SIGNATURE_INVALID with Glance's text unless the signature matched. */
export function finishSignatureVerification(verifier: StreamingVerifier): void {
  if (!verifier.verify()) throw signatureMismatch();
}

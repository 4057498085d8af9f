// The simple-signing mechanism the policy evaluator's signedBy requirement uses (the port in
// policy/ports.ts): import the key material into a fresh keyring, verify the message, parse the payload.
// Digest and identity checks stay with the evaluator, which knows the image.
import { createHash } from 'node:crypto';
import { ImageTrustError, PolicyError } from '../../errors/index.ts';
import { readOpenPgpPublicKeys, verifyOpenPgpMessage } from './openpgp.ts';
import { parseSimpleSigningPayload } from './payload.ts';

/** A signature accepted by the mechanism: who signed, and what the signed payload claims. */
export interface SimpleSigningVerification {
  /** The signing key's fingerprint as gpgme reports it (a subkey's own when a subkey signed). */
  fingerprint: string;
  /** The primary key's fingerprint (what HEAD compares against the trusted list). */
  primaryFingerprint: string;
  payload: { dockerManifestDigest: string; dockerReference: string };
}

export interface SimpleSigningMechanism {
  verify(
    signature: Uint8Array,
    keyMaterial: Uint8Array[],
    options: { keyType: 'GPGKeys' },
  ): Promise<SimpleSigningVerification>;
}

export interface SimpleSigningMechanismOptions {
  /** The clock key validity is judged by; injected so the core never reads the time itself. */
  now: () => Date;
}

/** Every refusal becomes the signature's rejection reason (SIGNATURE_REJECTED), with the reference's text. */
export function createSimpleSigningMechanism(options: SimpleSigningMechanismOptions): SimpleSigningMechanism {
  // Parsing OpenPGP keys costs more than checking a signature: a batch of references under one policy
  // reads the same key files again and again, so parsed keyrings are kept by the material's digest.
  // Validity (expiry, revocation) is still judged at each verification, with the injected clock.
  const keyrings = new Map<string, ReturnType<typeof readOpenPgpPublicKeys>>();
  const keyringFor = (material: Uint8Array[]) => {
    const hash = createHash('sha256');
    for (const item of material) hash.update(createHash('sha256').update(item).digest());
    const id = hash.digest('hex');
    let keyring = keyrings.get(id);
    if (!keyring) {
      if (keyrings.size >= 64) keyrings.delete(keyrings.keys().next().value as string);
      keyring = readOpenPgpPublicKeys(material);
      // A material that fails to parse must not poison the cache.
      keyring.catch(() => keyrings.delete(id));
      keyrings.set(id, keyring);
    }
    return keyring;
  };
  return {
    async verify(signature, keyMaterial, verifyOptions) {
      try {
        if (verifyOptions.keyType !== 'GPGKeys') {
          throw new PolicyError(
            'SIGNATURE_REJECTED',
            `Unimplemented "keyType" value "${verifyOptions.keyType}"`,
          );
        }
        const keyring = await keyringFor(keyMaterial);
        const message = await verifyOpenPgpMessage(signature, keyring, options.now());
        // Only imported keys verify, so the signer is always one of the trusted identities (5.23.1).
        const payload = parseSimpleSigningPayload(message.content);
        return {
          fingerprint: message.signerFingerprint,
          primaryFingerprint: message.primaryFingerprint,
          payload: {
            dockerManifestDigest: payload.dockerManifestDigest,
            dockerReference: payload.dockerReference,
          },
        };
      } catch (error) {
        if (error instanceof PolicyError || !(error instanceof ImageTrustError)) throw error;
        throw new PolicyError('SIGNATURE_REJECTED', error.message, { cause: error });
      }
    },
  };
}

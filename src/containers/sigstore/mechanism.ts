// The sigstore mechanism the policy evaluator injects, as c/image HEAD checks sigstoreSigned: public
// keys (optionally proven in Rekor by a SET), or a Fulcio certificate proven in Rekor; then the
// signature over the exact payload and the payload parse.
import type { KeyObject } from 'node:crypto';
import { PolicyError } from '../../errors/index.ts';
import type { SigstoreMechanism } from '../policy/index.ts';
import { verifyFulcioCertificate } from './fulcio.ts';
import {
  SIGSTORE_BUNDLE_ANNOTATION,
  SIGSTORE_CERTIFICATE_ANNOTATION,
  SIGSTORE_CHAIN_ANNOTATION,
  SIGSTORE_SIGNATURE_ANNOTATION,
} from './payload.ts';
import { verifyRekorSet } from './rekor.ts';
import { readSigstorePublicKey, verifySigstoreSignature } from './verify.ts';

const rejected = (message: string) => new PolicyError('SIGNATURE_REJECTED', message);

function annotation(annotations: Record<string, string>, key: string): string {
  const value = annotations[key];
  if (value === undefined) throw rejected(`missing ${key} annotation`);
  return value;
}

function readRekorKey(pem: Buffer): KeyObject {
  const key = readSigstorePublicKey(pem);
  if (key.asymmetricKeyType !== 'ec') throw rejected('Rekor public key is not using ECDSA');
  return key;
}

/** Creates the sigstoreSigned mechanism; trust material comes loaded, nothing is fetched from the network. */
export function createSigstoreMechanism(): SigstoreMechanism {
  return {
    async verify(signature, trust) {
      const { annotations, payload } = signature;
      const base64Signature = annotation(annotations, SIGSTORE_SIGNATURE_ANNOTATION);
      const rekorKeys = (trust.rekorPublicKeys ?? []).map(readRekorKey);
      let keys: KeyObject[];
      if (trust.fulcio) {
        if (rekorKeys.length === 0)
          throw rejected('Internal inconsistency: Fulcio CA specified without a Rekor public key');
        const bundle = annotation(annotations, SIGSTORE_BUNDLE_ANNOTATION);
        const certificate = Buffer.from(annotation(annotations, SIGSTORE_CERTIFICATE_ANNOTATION));
        const chain = annotations[SIGSTORE_CHAIN_ANNOTATION];
        const time = verifyRekorSet({
          rekorKeys,
          bundle,
          keyOrCertificatePem: certificate,
          base64Signature,
          payload,
        });
        keys = [
          verifyFulcioCertificate(
            trust.fulcio,
            certificate,
            chain === undefined ? undefined : Buffer.from(chain),
            time,
          ),
        ];
      } else {
        keys = (trust.publicKeys ?? []).map((pem) => readSigstorePublicKey(pem));
        if (rekorKeys.length > 0) {
          const bundle = annotation(annotations, SIGSTORE_BUNDLE_ANNOTATION);
          // A SET names one key: keep the first configured key it proves, as c/image does.
          const failures: string[] = [];
          const proven = keys.find((key) => {
            try {
              const pem = Buffer.from(key.export({ type: 'spki', format: 'pem' }));
              verifyRekorSet({ rekorKeys, bundle, keyOrCertificatePem: pem, base64Signature, payload });
              return true;
            } catch (error) {
              failures.push((error as Error).message);
              return false;
            }
          });
          if (!proven) throw rejected(`No public key verified against the RekorSET: ${failures.join(', ')}`);
          keys = [proven];
        }
      }
      const claims = verifySigstoreSignature(signature, keys);
      return {
        payload: {
          dockerManifestDigest: claims.dockerManifestDigest,
          dockerReference: claims.dockerReference,
        },
      };
    },
  };
}

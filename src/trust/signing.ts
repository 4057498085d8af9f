// The signing side: which digest, padding and salt make a signature that Glance's checks accept,
// and which property values describe it, for a given private key.
import { constants, type KeyObject } from 'node:crypto';
import { ValidationError } from '../errors/index.ts';
import {
  type DigestAlgorithm,
  HASH_METHODS,
  type HashMethod,
  SIGNATURE_KEY_TYPES,
  type SignatureKeyType,
} from './properties.ts';
import { maximumPssSaltLength } from './verification-spec.ts';

/** How to sign (for node:crypto's Sign) and the property values to publish with the signature. */
export interface SigningOptions {
  hashMethod: HashMethod;
  keyType: SignatureKeyType;
  algorithm: DigestAlgorithm;
  /** RSA only: PSS padding with the maximum salt, the one salt length cursive accepts. */
  padding?: number;
  saltLength?: number;
}

function badRequest(message: string): ValidationError {
  return new ValidationError('BAD_REQUEST', message);
}

/** Glance's spelling of a hash method; `sha256` and `SHA256` are accepted on input and published as `SHA-256`. */
function normaliseHashMethod(value: string): HashMethod {
  const spelled = value.toUpperCase().replace(/^SHA-?(\d+)$/, 'SHA-$1');
  if (!Object.hasOwn(HASH_METHODS, spelled)) {
    throw badRequest(
      `Unsupported hash method ${value}: Glance accepts ${Object.keys(HASH_METHODS).join(', ')}.`,
    );
  }
  return spelled as HashMethod;
}

/** The one key type that describes this key; for EC keys the curve must be one Glance accepts. */
function keyTypeOf(privateKey: KeyObject): SignatureKeyType {
  switch (privateKey.asymmetricKeyType) {
    case 'rsa':
      return 'RSA-PSS';
    case 'dsa':
      return 'DSA';
    case 'ec': {
      const curve = privateKey.asymmetricKeyDetails?.namedCurve ?? 'unknown';
      const keyType = `ECC_${curve.toUpperCase()}`;
      if (!Object.hasOwn(SIGNATURE_KEY_TYPES, keyType)) {
        throw badRequest(
          `Glance does not accept signatures on the ${curve} curve; use secp384r1, secp521r1, sect409k1, sect409r1, sect571k1 or sect571r1.`,
        );
      }
      return keyType as SignatureKeyType;
    }
    default:
      throw badRequest(
        `Glance accepts RSA (PSS), DSA and ECDSA signatures, not ${privateKey.asymmetricKeyType ?? 'this'} keys.`,
      );
  }
}

/**
 * The options for signing an image with `privateKey` so that Glance verifies it. A key type given
 * explicitly must be the one that describes the key: cursive would not notice an ECC curve mismatch,
 * but the published property should not lie.
 */
export function signingOptionsFor(
  privateKey: KeyObject,
  hashMethod: string,
  keyType?: string,
): SigningOptions {
  if (privateKey.type !== 'private') throw badRequest('Signing needs a private key.');
  const method = normaliseHashMethod(hashMethod);
  const derived = keyTypeOf(privateKey);
  if (keyType !== undefined && keyType !== derived) {
    throw badRequest(`The key is a ${derived} key, not ${keyType}.`);
  }
  const algorithm = HASH_METHODS[method];
  if (derived !== 'RSA-PSS') return { hashMethod: method, keyType: derived, algorithm };
  const saltLength = maximumPssSaltLength(privateKey.asymmetricKeyDetails?.modulusLength ?? 0, algorithm);
  if (saltLength < 0) throw badRequest(`This RSA key is too small for ${method} with PSS padding.`);
  return {
    hashMethod: method,
    keyType: derived,
    algorithm,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength,
  };
}

// The four img_signature* image properties and the checks cursive runs on them, in cursive's order,
// before a single byte of image data is read.
import { signatureFailure, verbatimFailure } from './failures.ts';

export const SIGNATURE_PROPERTY_NAMES = {
  signature: 'img_signature',
  hashMethod: 'img_signature_hash_method',
  keyType: 'img_signature_key_type',
  certificateUuid: 'img_signature_certificate_uuid',
} as const;

/** The raw property values, present only when all four are set. */
export interface SignatureProperties {
  signature: string;
  hashMethod: string;
  keyType: string;
  certificateUuid: string;
}

/** Glance's hash-method strings (exact, case-sensitive) and the digest each names. */
export const HASH_METHODS = {
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
} as const;
export type HashMethod = keyof typeof HASH_METHODS;
export type DigestAlgorithm = (typeof HASH_METHODS)[HashMethod];

/**
 * Glance's key-type strings and the kind of public key the certificate must carry. Every ECC type
 * only demands "an EC key": cursive does not compare the curve with the string.
 */
export const SIGNATURE_KEY_TYPES = {
  'RSA-PSS': 'rsa',
  DSA: 'dsa',
  ECC_SECT571K1: 'ec',
  ECC_SECT409K1: 'ec',
  ECC_SECT571R1: 'ec',
  ECC_SECT409R1: 'ec',
  ECC_SECP521R1: 'ec',
  ECC_SECP384R1: 'ec',
} as const;
export type SignatureKeyType = keyof typeof SIGNATURE_KEY_TYPES;
export type SignaturePublicKeyKind = (typeof SIGNATURE_KEY_TYPES)[SignatureKeyType];

/** The checked properties: what remains to do is fetch the certificate and stream the data. */
export interface SignaturePlan {
  /** The decoded signature; may be empty, which fails only once the certificate is in hand, as in cursive. */
  signature: Buffer;
  hashMethod: HashMethod;
  algorithm: DigestAlgorithm;
  keyType: SignatureKeyType;
  certificateUuid: string;
}

/**
 * The four properties, or null unless every one is present: Glance then uploads without any check
 * (spec §1.1), so three of four is the same as none. Empty strings count as present.
 */
export function readSignatureProperties(
  properties: Readonly<Record<string, string | undefined>>,
): SignatureProperties | null {
  const signature = properties[SIGNATURE_PROPERTY_NAMES.signature];
  const hashMethod = properties[SIGNATURE_PROPERTY_NAMES.hashMethod];
  const keyType = properties[SIGNATURE_PROPERTY_NAMES.keyType];
  const certificateUuid = properties[SIGNATURE_PROPERTY_NAMES.certificateUuid];
  if (signature === undefined || hashMethod === undefined || keyType === undefined) return null;
  if (certificateUuid === undefined) return null;
  return { signature, hashMethod, keyType, certificateUuid };
}

const BASE64_VALUES = new Map<number, number>(
  [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c.charCodeAt(0), i]),
);
const PAD = 0x3d;

/**
 * Python's `base64.b64decode(text)` without validation, which cursive uses: characters outside the
 * alphabet are skipped, a complete pad sequence ends the input, and a final group that is neither
 * complete nor padded is an error. Returns null for that error.
 */
export function decodeLenientBase64(text: string): Buffer | null {
  const output = Buffer.alloc(Math.ceil((text.length * 3) / 4));
  let length = 0;
  let quadPosition = 0;
  let leftover = 0;
  let pads = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === PAD) {
      // A pad only counts after two data characters of a group, and enough of them end the data.
      if (quadPosition >= 2 && quadPosition + ++pads >= 4) return output.subarray(0, length);
      continue;
    }
    const value = BASE64_VALUES.get(code);
    if (value === undefined) continue;
    pads = 0;
    switch (quadPosition) {
      case 0:
        leftover = value;
        quadPosition = 1;
        break;
      case 1:
        output[length++] = (leftover << 2) | (value >> 4);
        leftover = value & 0x0f;
        quadPosition = 2;
        break;
      case 2:
        output[length++] = (leftover << 4) | (value >> 2);
        leftover = value & 0x03;
        quadPosition = 3;
        break;
      default:
        output[length++] = ((leftover << 6) | value) & 0xff;
        quadPosition = 0;
    }
  }
  return quadPosition === 0 ? output.subarray(0, length) : null;
}

function isHashMethod(value: string): value is HashMethod {
  return Object.hasOwn(HASH_METHODS, value);
}

function isSignatureKeyType(value: string): value is SignatureKeyType {
  return Object.hasOwn(SIGNATURE_KEY_TYPES, value);
}

/**
 * Checks the properties as cursive's get_verifier does, in its order: signature encoding, hash
 * method, key type. Throws VerificationError SIGNATURE_MALFORMED with cursive's text.
 */
export function planSignatureVerification(properties: SignatureProperties): SignaturePlan {
  // Python refuses a str with non-ASCII characters before decoding, with a ValueError that cursive
  // does not catch; Glance then answers 400 with the bare ValueError text.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
  if (/[^\x00-\x7f]/.test(properties.signature)) {
    throw verbatimFailure('SIGNATURE_MALFORMED', 'string argument should contain only ASCII characters');
  }
  const signature = decodeLenientBase64(properties.signature);
  if (signature === null) {
    throw signatureFailure('SIGNATURE_MALFORMED', 'The signature data was not properly encoded using base64');
  }
  const { hashMethod, keyType } = properties;
  if (!isHashMethod(hashMethod)) {
    throw signatureFailure('SIGNATURE_MALFORMED', `Invalid signature hash method: ${hashMethod}`);
  }
  if (!isSignatureKeyType(keyType)) {
    throw signatureFailure('SIGNATURE_MALFORMED', `Invalid signature key type: ${keyType}`);
  }
  return {
    signature,
    hashMethod,
    algorithm: HASH_METHODS[hashMethod],
    keyType,
    certificateUuid: properties.certificateUuid,
  };
}

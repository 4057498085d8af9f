// Writes X.509 v3 certificates for signing keys and their CAs with node:crypto keys, so operators and
// tests get Glance-ready signing identities without shelling out to openssl.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { promisify } from 'node:util';
import { ValidationError } from '../errors/index.ts';
import {
  EXTENSION_OIDS,
  KEY_USAGE_BITS,
  type KeyUsageName,
  readCertificateFields,
} from './certificate-fields.ts';
import {
  encodeBitString,
  encodeBoolean,
  encodeElement,
  encodeExplicit,
  encodeInteger,
  encodeNull,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSet,
  encodeTime,
  encodeUtf8String,
  readBitString,
  readChildren,
  readSingle,
  TAG,
} from './der.ts';
import type { SignatureKeyType } from './properties.ts';

export type CertificateSignatureHash = 'sha256' | 'sha384' | 'sha512';

/** Who signs the certificate: a CA (its key and certificate) or, without a certificate, the subject itself. */
export interface CertificateSigner {
  privateKey: KeyObject;
  certificate?: X509Certificate;
}

export interface CertificateOptions {
  publicKey: KeyObject;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  signer: CertificateSigner;
  /** Positive; a random 127-bit serial when absent. */
  serialNumber?: bigint;
  /** Makes a CA certificate; without pathLength the CA may have any number of intermediates below it. */
  ca?: { pathLength?: number };
  /** Defaults: keyCertSign + cRLSign for a CA, digitalSignature otherwise; an empty list omits the extension. */
  keyUsage?: readonly KeyUsageName[];
  /** The hash of the certificate's own signature; by default matched to the signer's key strength. */
  signatureHash?: CertificateSignatureHash;
}

/** The curves Glance accepts (`ECC_<CURVE>`), all of which Node supports. */
export const SIGNING_CURVES = [
  'secp384r1',
  'secp521r1',
  'sect409k1',
  'sect409r1',
  'sect571k1',
  'sect571r1',
] as const;
export type SigningCurve = (typeof SIGNING_CURVES)[number];

const SIGNATURE_ALGORITHM_OIDS = {
  rsa: { sha256: '1.2.840.113549.1.1.11', sha384: '1.2.840.113549.1.1.12', sha512: '1.2.840.113549.1.1.13' },
  ec: { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' },
  dsa: { sha256: '2.16.840.1.101.3.4.3.2' },
} as const;

function badRequest(message: string): ValidationError {
  return new ValidationError('BAD_REQUEST', message);
}

/** ECDSA certificate signatures use a hash as strong as the curve, as CAs conventionally do. */
function defaultHash(key: KeyObject): CertificateSignatureHash {
  if (key.asymmetricKeyType !== 'ec') return 'sha256';
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  if (/^(secp521r1|sect571)/.test(curve)) return 'sha512';
  if (/^(secp384r1|sect409)/.test(curve)) return 'sha384';
  return 'sha256';
}

function signatureAlgorithm(
  key: KeyObject,
  hash: CertificateSignatureHash,
): { oid: string; withNull: boolean } {
  const kind = key.asymmetricKeyType;
  if (kind !== 'rsa' && kind !== 'ec' && kind !== 'dsa') {
    throw badRequest(`Certificates can be signed with RSA, EC or DSA keys, not ${kind}`);
  }
  const oids: Partial<Record<CertificateSignatureHash, string>> = SIGNATURE_ALGORITHM_OIDS[kind];
  const oid = oids[hash];
  if (!oid) throw badRequest(`A ${kind} key cannot sign certificates with ${hash}`);
  // RFC 4055 wants NULL parameters for RSA; RFC 5758 wants them absent for ECDSA and DSA.
  return { oid, withNull: kind === 'rsa' };
}

/** RFC 5280 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey bits identifies the key. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = readSingle(publicKey.export({ type: 'spki', format: 'der' }), TAG.SEQUENCE);
  const { bytes } = readBitString(readChildren(spki)[1]);
  return createHash('sha1').update(bytes).digest();
}

function encodeName(commonName: string): Buffer {
  return encodeSequence(encodeSet(encodeSequence(encodeOid('2.5.4.3'), encodeUtf8String(commonName))));
}

function encodeExtension(oid: string, critical: boolean, value: Buffer): Buffer {
  return encodeSequence(encodeOid(oid), ...(critical ? [encodeBoolean(true)] : []), encodeOctetString(value));
}

/** KeyUsage as a DER named-bit list: trailing zero bits are dropped and counted as unused. */
function encodeKeyUsage(usages: readonly KeyUsageName[]): Buffer {
  const bits = usages.map((usage) => KEY_USAGE_BITS.indexOf(usage));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return encodeBitString(bytes, 7 - (highest & 7));
}

function randomSerial(): bigint {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40; // positive, and always 16 bytes long
  return BigInt(`0x${bytes.toString('hex')}`);
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

/** Creates and signs an X.509 v3 certificate. */
export function createCertificate(options: CertificateOptions): X509Certificate {
  const { publicKey, signer } = options;
  if (publicKey.type !== 'public') throw badRequest('The subject key must be a public key');
  if (signer.privateKey.type !== 'private') throw badRequest('The signer key must be a private key');
  if (!(options.notBefore < options.notAfter)) throw badRequest('notBefore must come before notAfter');
  const serialNumber = options.serialNumber ?? randomSerial();
  if (serialNumber <= 0n) throw badRequest('The serial number must be positive');
  const signerPublicKey = signer.certificate?.publicKey ?? createPublicKey(signer.privateKey);
  if (signer.certificate && !sameKey(signerPublicKey, createPublicKey(signer.privateKey))) {
    throw badRequest("The signer's private key does not match its certificate");
  }
  if (!signer.certificate && !sameKey(publicKey, signerPublicKey)) {
    throw badRequest('A self-signed certificate must be signed with the key it certifies');
  }
  const pathLength = options.ca?.pathLength;
  if (pathLength !== undefined && !(Number.isInteger(pathLength) && pathLength >= 0)) {
    throw badRequest('pathLength must be a non-negative integer');
  }

  const hash = options.signatureHash ?? defaultHash(signer.privateKey);
  const algorithm = signatureAlgorithm(signer.privateKey, hash);
  const algorithmIdentifier = encodeSequence(
    encodeOid(algorithm.oid),
    ...(algorithm.withNull ? [encodeNull()] : []),
  );
  const subject = encodeName(options.commonName);
  const signerFields = signer.certificate ? readCertificateFields(signer.certificate.raw) : null;
  const issuer = signerFields?.subject.der ?? subject;
  const subjectKeyId = keyIdentifier(publicKey);
  const authorityKeyId = signerFields
    ? (signerFields.subjectKeyIdentifier ?? keyIdentifier(signerPublicKey))
    : subjectKeyId;

  const keyUsage = options.keyUsage ?? (options.ca ? ['keyCertSign', 'cRLSign'] : ['digitalSignature']);
  const basicConstraints = options.ca
    ? encodeSequence(encodeBoolean(true), ...(pathLength !== undefined ? [encodeInteger(pathLength)] : []))
    : encodeSequence();
  const extensions = [
    encodeExtension(EXTENSION_OIDS.basicConstraints, true, basicConstraints),
    ...(keyUsage.length > 0
      ? [encodeExtension(EXTENSION_OIDS.keyUsage, true, encodeKeyUsage(keyUsage))]
      : []),
    encodeExtension(EXTENSION_OIDS.subjectKeyIdentifier, false, encodeOctetString(subjectKeyId)),
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
    encodeExtension(
      EXTENSION_OIDS.authorityKeyIdentifier,
      false,
      encodeSequence(encodeElement(0x80, authorityKeyId)),
    ),
  ];

  const tbs = encodeSequence(
    encodeExplicit(0, encodeInteger(2)), // v3
    encodeInteger(serialNumber),
    algorithmIdentifier,
    issuer,
    encodeSequence(encodeTime(options.notBefore), encodeTime(options.notAfter)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    encodeExplicit(3, encodeSequence(...extensions)),
  );
  // RSA keys sign with PKCS#1 v1.5 here: that is what cursive and openssl verify certificates with.
  const signature = sign(hash, tbs, { key: signer.privateKey, dsaEncoding: 'der' });
  return new X509Certificate(encodeSequence(tbs, algorithmIdentifier, encodeBitString(signature)));
}

export interface SigningIdentityOptions {
  keyType: 'rsa' | 'dsa' | 'ec';
  /** RSA: 2048, 3072 (default) or 4096. DSA: 2048 (default) or 3072. */
  bits?: number;
  /** EC: one of the curves Glance accepts; secp384r1 by default. */
  curve?: SigningCurve;
  commonName: string;
  /** Validity from `now` on. */
  days: number;
  now: Date;
  /** The CA that issues the certificate; self-signed without one. */
  issuer?: { privateKeyPem: string; certificatePem: string };
  /** Makes the identity a CA that can issue further identities. */
  ca?: { pathLength?: number };
}

export interface SigningIdentity {
  privateKeyPem: string;
  certificatePem: string;
  /** The img_signature_key_type value for signatures made with this key. */
  signatureKeyType: SignatureKeyType;
}

const generateKeyPairAsync = promisify(generateKeyPair);

async function generateKeys(
  options: SigningIdentityOptions,
): Promise<{ privateKey: KeyObject; keyType: SignatureKeyType }> {
  switch (options.keyType) {
    case 'rsa': {
      const bits = options.bits ?? 3072;
      if (![2048, 3072, 4096].includes(bits))
        throw badRequest(`RSA keys are 2048, 3072 or 4096 bits, not ${bits}`);
      const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: bits });
      return { privateKey, keyType: 'RSA-PSS' };
    }
    case 'dsa': {
      const bits = options.bits ?? 2048;
      if (![2048, 3072].includes(bits)) throw badRequest(`DSA keys are 2048 or 3072 bits, not ${bits}`);
      // FIPS 186-4 pairs both sizes with a 256-bit q, so SHA-256 and stronger digests are not truncated.
      const { privateKey } = await generateKeyPairAsync('dsa', { modulusLength: bits, divisorLength: 256 });
      return { privateKey, keyType: 'DSA' };
    }
    case 'ec': {
      const curve = options.curve ?? 'secp384r1';
      if (!SIGNING_CURVES.includes(curve)) throw badRequest(`Glance does not accept the curve ${curve}`);
      const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: curve });
      return { privateKey, keyType: `ECC_${curve.toUpperCase()}` as SignatureKeyType };
    }
    default: {
      const unknown: never = options.keyType;
      throw badRequest(`Unknown key type ${unknown}`);
    }
  }
}

/** Generates a key pair and a certificate for it, ready for signing images Glance will verify. */
export async function generateSigningIdentity(options: SigningIdentityOptions): Promise<SigningIdentity> {
  if (!(Number.isInteger(options.days) && options.days > 0))
    throw badRequest('days must be a positive integer');
  const { privateKey, keyType } = await generateKeys(options);
  const signer: CertificateSigner = options.issuer
    ? {
        privateKey: createPrivateKey(options.issuer.privateKeyPem),
        certificate: new X509Certificate(options.issuer.certificatePem),
      }
    : { privateKey };
  const certificate = createCertificate({
    publicKey: createPublicKey(privateKey),
    commonName: options.commonName,
    notBefore: options.now,
    notAfter: new Date(options.now.getTime() + options.days * 86_400_000),
    signer,
    ca: options.ca,
  });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: certificate.toString(),
    signatureKeyType: keyType,
  };
}

// Reads the X.509 fields certificate-chain rules need straight from the DER, since Node's
// X509Certificate exposes neither the pathLenConstraint, the KeyUsage bits nor the signed bytes.
import {
  type DerElement,
  DerError,
  expectTag,
  readBitString,
  readBoolean,
  readChildren,
  readInteger,
  readOid,
  readSingle,
  readString,
  readTime,
  TAG,
} from './der.ts';

export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number];

export const EXTENSION_OIDS = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

export interface DistinguishedName {
  /** The Name exactly as encoded, for copying into an issued certificate. */
  der: Buffer;
  /**
   * A comparison key: attribute types and decoded values per RDN, ignoring the string type. Two names
   * match when their keys are equal, as in pyca/cryptography's Name equality that cursive uses.
   */
  key: string;
}

export interface BasicConstraints {
  ca: boolean;
  /** null when the CA sets no pathLenConstraint, which RFC 5280 reads as unlimited. */
  pathLength: number | null;
}

export interface CertificateFields {
  /** The DER of tbsCertificate: the bytes the issuer signed. */
  tbs: Buffer;
  signatureAlgorithm: string;
  signature: Buffer;
  issuer: DistinguishedName;
  subject: DistinguishedName;
  notBefore: Date;
  notAfter: Date;
  basicConstraints: BasicConstraints | null;
  keyUsage: ReadonlySet<KeyUsageName> | null;
  subjectKeyIdentifier: Buffer | null;
}

function readName(element: DerElement | undefined): DistinguishedName {
  const name = expectTag(element, TAG.SEQUENCE);
  const rdns = readChildren(name).map((rdn) => {
    expectTag(rdn, TAG.SET);
    const attributes = readChildren(rdn).map((attribute) => {
      const [type, value] = readChildren(expectTag(attribute, TAG.SEQUENCE));
      if (!value) throw new DerError('attribute without a value');
      return [readOid(type), readString(value)];
    });
    // A multi-valued RDN is a SET: its order carries no meaning.
    return attributes.sort((a, b) => (a.join('=') < b.join('=') ? -1 : 1));
  });
  return { der: name.bytes, key: JSON.stringify(rdns) };
}

function readAlgorithm(element: DerElement | undefined): string {
  const [oid] = readChildren(expectTag(element, TAG.SEQUENCE));
  return readOid(oid);
}

function readBasicConstraints(value: Buffer): BasicConstraints {
  const fields = readChildren(readSingle(value, TAG.SEQUENCE));
  let ca = false;
  let pathLength: number | null = null;
  for (const field of fields) {
    if (field.tag === TAG.BOOLEAN) ca = readBoolean(field);
    else if (field.tag === TAG.INTEGER) {
      const length = readInteger(field);
      if (length < 0n) throw new DerError('negative pathLenConstraint');
      pathLength = length > 1_000_000n ? 1_000_000 : Number(length);
    } else throw new DerError('unexpected field in BasicConstraints');
  }
  return { ca, pathLength };
}

function readKeyUsage(value: Buffer): Set<KeyUsageName> {
  const { bytes } = readBitString(readSingle(value));
  const usages = new Set<KeyUsageName>();
  KEY_USAGE_BITS.forEach((name, bit) => {
    const byte = bytes[bit >> 3] ?? 0;
    if (byte & (0x80 >> (bit & 7))) usages.add(name);
  });
  return usages;
}

/** Parses a DER certificate; throws DerError when it is not a well-formed X.509 certificate. */
export function readCertificateFields(der: Buffer): CertificateFields {
  const [tbsElement, outerAlgorithm, signatureElement, ...extra] = readChildren(
    readSingle(der, TAG.SEQUENCE),
  );
  if (!signatureElement || extra.length > 0) throw new DerError('a certificate has exactly three parts');
  const tbsFields = readChildren(expectTag(tbsElement, TAG.SEQUENCE));
  let index = tbsFields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  index += 1; // serialNumber
  const innerAlgorithm = readAlgorithm(tbsFields[index++]);
  const issuer = readName(tbsFields[index++]);
  const validity = readChildren(expectTag(tbsFields[index++], TAG.SEQUENCE));
  if (validity.length !== 2) throw new DerError('validity has exactly two times');
  const [notBefore, notAfter] = validity.map(readTime);
  const subject = readName(tbsFields[index++]);
  expectTag(tbsFields[index++], TAG.SEQUENCE); // subjectPublicKeyInfo: Node reads the key itself

  const signatureAlgorithm = readAlgorithm(outerAlgorithm);
  // RFC 5280 4.1.1.2: the two algorithm fields must agree; a mismatch smells of substitution.
  if (signatureAlgorithm !== innerAlgorithm) throw new DerError('signature algorithm fields disagree');
  const { bytes: signature, unusedBits } = readBitString(signatureElement);
  if (unusedBits !== 0) throw new DerError('certificate signature is not a whole number of bytes');

  const fields: CertificateFields = {
    tbs: tbsElement.bytes,
    signatureAlgorithm,
    signature,
    issuer,
    subject,
    notBefore,
    notAfter,
    basicConstraints: null,
    keyUsage: null,
    subjectKeyIdentifier: null,
  };
  const extensionsElement = tbsFields.slice(index).find((element) => element.tag === 0xa3);
  if (!extensionsElement) return fields;
  const seen = new Set<string>();
  const [extensionList] = readChildren(extensionsElement);
  for (const extension of readChildren(expectTag(extensionList, TAG.SEQUENCE))) {
    const parts = readChildren(expectTag(extension, TAG.SEQUENCE));
    const oid = readOid(parts[0]);
    // Duplicate extensions make a certificate unparseable for pyca/cryptography, so for us too.
    if (seen.has(oid)) throw new DerError(`duplicate extension ${oid}`);
    seen.add(oid);
    const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING).contents;
    if (oid === EXTENSION_OIDS.basicConstraints) fields.basicConstraints = readBasicConstraints(value);
    else if (oid === EXTENSION_OIDS.keyUsage) fields.keyUsage = readKeyUsage(value);
    else if (oid === EXTENSION_OIDS.subjectKeyIdentifier) {
      fields.subjectKeyIdentifier = readSingle(value, TAG.OCTET_STRING).contents;
    }
  }
  return fields;
}

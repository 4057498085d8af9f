// Fulcio certificates for keyless sigstore signatures: the leaf must chain to the configured CA at the
// Rekor-proven time, allow code signing, name the OIDC issuer and carry the subject email.
import { type KeyObject, X509Certificate } from 'node:crypto';
import { PolicyError } from '../../errors/index.ts';

const rejected = (message: string) => new PolicyError('SIGNATURE_REJECTED', message);

/** Fulcio trust from the policy: CA certificates (PEM) and the identity they must attest. */
export interface FulcioTrustRoot {
  caCertificates: Buffer;
  oidcIssuer: string;
  subjectEmail: string;
}

const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
// 1.3.6.1.4.1.57264.1.1 (issuer, raw bytes) and .1.8 (issuer v2, a DER UTF8String), DER-encoded.
const OIDC_ISSUER_V1 = Buffer.from('2b0601040183bf300101', 'hex');
const OIDC_ISSUER_V2 = Buffer.from('2b0601040183bf300108', 'hex');

/** Every PEM CERTIFICATE block of a bundle. */
export function readPemCertificates(pem: Buffer, what: string): X509Certificate[] {
  const blocks =
    pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch (error) {
    throw rejected(`${what}: ${(error as Error).message}`);
  }
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(der: Buffer, offset: number): Tlv {
  const tag = der[offset];
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i];
    start += count;
  }
  if (start + length > der.length) throw new RangeError('truncated DER');
  return { tag, start, end: start + length };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const result: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = readTlv(der, at);
    result.push(child);
    at = child.end;
  }
  return result;
}

/** The extension values of a certificate by encoded OID (hex). */
function extensionsOf(certificate: X509Certificate): Map<string, Buffer[]> {
  const der = certificate.raw;
  const tbs = children(der, readTlv(der, 0))[0];
  const result = new Map<string, Buffer[]>();
  const wrapper = children(der, tbs).find((element) => element.tag === 0xa3);
  if (!wrapper) return result;
  for (const extension of children(der, children(der, wrapper)[0])) {
    const parts = children(der, extension);
    const oid = der.subarray(parts[0].start, parts[0].end).toString('hex');
    const value = parts[parts.length - 1];
    result.set(oid, [...(result.get(oid) ?? []), der.subarray(value.start, value.end)]);
  }
  return result;
}

/** The OIDC issuer the certificate records, v1 and v2 extensions agreeing (c/image's fulcioIssuerInCertificate). */
function oidcIssuerOf(certificate: X509Certificate): string {
  const extensions = extensionsOf(certificate);
  const v1 = extensions.get(OIDC_ISSUER_V1.toString('hex')) ?? [];
  const v2 = extensions.get(OIDC_ISSUER_V2.toString('hex')) ?? [];
  if (v1.length > 1) throw rejected('Fulcio certificate has a duplicate OIDC issuer v1 extension');
  if (v2.length > 1) throw rejected('Fulcio certificate has a duplicate OIDC issuer v2 extension');
  const issuer1 = v1.length === 1 ? v1[0].toString('utf8') : undefined;
  let issuer2: string | undefined;
  if (v2.length === 1) {
    const element = readTlv(v2[0], 0);
    if (element.tag !== 0x0c) throw rejected('invalid ASN.1 in OIDC issuer v2 extension: not a UTF8String');
    if (element.end !== v2[0].length)
      throw rejected('invalid ASN.1 in OIDC issuer v2 extension, trailing data');
    issuer2 = v2[0].subarray(element.start, element.end).toString('utf8');
  }
  if (issuer1 !== undefined && issuer2 !== undefined && issuer1 !== issuer2) {
    throw rejected(
      `inconsistent OIDC issuer extension values: v1 ${JSON.stringify(issuer1)}, v2 ${JSON.stringify(issuer2)}`,
    );
  }
  const issuer = issuer1 ?? issuer2;
  if (issuer === undefined) throw rejected('Fulcio certificate is missing the issuer extension');
  return issuer;
}

function validAt(certificate: X509Certificate, time: Date): boolean {
  return new Date(certificate.validFrom) <= time && time <= new Date(certificate.validTo);
}

/** Builds a path from the leaf through the intermediates to a root, every link valid at `time`. */
function chainsToRoot(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  roots: X509Certificate[],
  time: Date,
): string | undefined {
  if (!validAt(leaf, time))
    return `x509: certificate has expired or is not yet valid: current time ${time.toISOString()} is outside ${leaf.validFrom} – ${leaf.validTo}`;
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    const issuedBy = (candidate: X509Certificate) =>
      candidate.ca &&
      validAt(candidate, time) &&
      current.checkIssued(candidate) &&
      current.verify(candidate.publicKey);
    if (roots.some(issuedBy)) return undefined;
    const next = intermediates.find(issuedBy);
    if (!next) break;
    current = next;
  }
  return 'x509: certificate signed by unknown authority';
}

/**
 * Verifies a Fulcio leaf certificate (PEM) at `time` (the Rekor integrated time) and returns its public
 * key; `chain` is the optional intermediate chain annotation (its last certificate, the root, is ignored).
 */
export function verifyFulcioCertificate(
  trust: FulcioTrustRoot,
  certificatePem: Buffer,
  chainPem: Buffer | undefined,
  time: Date,
): KeyObject {
  const chain =
    chainPem && chainPem.length > 0 ? readPemCertificates(chainPem, 'loading certificate chain') : [];
  const intermediates = chain.slice(0, -1);
  const leaves = readPemCertificates(certificatePem, 'parsing leaf certificate');
  if (leaves.length === 0) throw rejected('no certificate found in signature certificate data');
  if (leaves.length > 1)
    throw rejected('unexpected multiple certificates present in signature certificate data');
  const leaf = leaves[0];
  const roots = readPemCertificates(trust.caCertificates, 'loading Fulcio CA certificates');
  const failure = chainsToRoot(leaf, intermediates, roots, time);
  if (failure) throw rejected(`veryfing leaf certificate failed: ${failure}`);
  // Go's KeyUsages check: a leaf without extended key usage allows any.
  const usages = leaf.keyUsage;
  if (usages && usages.length > 0 && !usages.includes(CODE_SIGNING)) {
    throw rejected('veryfing leaf certificate failed: x509: certificate specifies an incompatible key usage');
  }
  const issuer = oidcIssuerOf(leaf);
  if (issuer !== trust.oidcIssuer) throw rejected(`Unexpected Fulcio OIDC issuer ${JSON.stringify(issuer)}`);
  const emails = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((name) => name.startsWith('email:'))
    .map((name) => name.slice('email:'.length));
  if (!emails.includes(trust.subjectEmail)) {
    throw rejected(
      `Required email ${JSON.stringify(trust.subjectEmail)} not found (got [${emails.map((e) => JSON.stringify(e)).join(' ')}])`,
    );
  }
  return leaf.publicKey;
}

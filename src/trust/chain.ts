// Validates a signing certificate against trusted certificates with the rules cursive applies for
// Nova (spec §2.4): dates, a chain built only from the trusted list, CA flags and path lengths.
import { constants, verify, type X509Certificate } from 'node:crypto';
import { VerificationError } from '../errors/index.ts';
import { type CertificateFields, readCertificateFields } from './certificate-fields.ts';

/** A trusted certificate, optionally with the key-manager ID that failure texts name. */
export type TrustedCertificate = X509Certificate | { id: string; certificate: X509Certificate };

export interface CertificateValidationInput {
  certificate: X509Certificate;
  trusted: readonly TrustedCertificate[];
  /** The time to judge validity at; never read from the clock here. */
  now: Date;
}

/**
 * Longest chain we follow. cursive has no limit (and loops forever on a cycle); real chains have a
 * handful of links, so anything longer is an attack or a mistake.
 */
const MAX_CHAIN_LENGTH = 16;

/**
 * Certificate signature algorithms a trusted certificate may have used to sign the next link.
 * MD5 and SHA-1 are left out on purpose (collisions are practical); cursive would accept them.
 */
const SIGNATURE_ALGORITHMS: Record<string, { hash: string; keyKind: 'rsa' | 'ec' | 'dsa' }> = {
  '1.2.840.113549.1.1.14': { hash: 'sha224', keyKind: 'rsa' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', keyKind: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', keyKind: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', keyKind: 'rsa' },
  '1.2.840.10045.4.3.1': { hash: 'sha224', keyKind: 'ec' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', keyKind: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', keyKind: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', keyKind: 'ec' },
  '2.16.840.1.101.3.4.3.1': { hash: 'sha224', keyKind: 'dsa' },
  '2.16.840.1.101.3.4.3.2': { hash: 'sha256', keyKind: 'dsa' },
};

interface Link {
  /** What failure texts call this certificate: `base` for the signing certificate, as in cursive. */
  label: string;
  certificate: X509Certificate;
  fields: CertificateFields;
}

function untrusted(message: string): VerificationError {
  return new VerificationError('CERTIFICATE_UNTRUSTED', message);
}

function isWithinValidDates(fields: CertificateFields, now: Date): boolean {
  return now >= fields.notBefore && now <= fields.notAfter;
}

function canSignCertificates(fields: CertificateFields): boolean {
  return fields.basicConstraints?.ca === true && fields.keyUsage?.has('keyCertSign') === true;
}

/**
 * cursive's is_issuer: the issuer's subject names the child's issuer and the issuer's key verifies
 * the child's signature (RSA with PKCS#1 v1.5, as cursive does). Any doubt counts as "not the issuer".
 */
function isIssuer(issuer: Link, child: Link): boolean {
  if (issuer.fields.subject.key !== child.fields.issuer.key) return false;
  const algorithm = SIGNATURE_ALGORITHMS[child.fields.signatureAlgorithm];
  if (!algorithm) return false;
  try {
    const key = issuer.certificate.publicKey;
    if (key.asymmetricKeyType !== algorithm.keyKind) return false;
    const padding = algorithm.keyKind === 'rsa' ? constants.RSA_PKCS1_PADDING : undefined;
    return verify(
      algorithm.hash,
      child.fields.tbs,
      { key, padding, dsaEncoding: 'der' },
      child.fields.signature,
    );
  } catch {
    return false;
  }
}

function toLink(entry: TrustedCertificate): Link | null {
  const certificate = 'certificate' in entry ? entry.certificate : entry;
  const label = 'certificate' in entry ? entry.id : certificate.subject.replaceAll('\n', ', ');
  try {
    return { label, certificate, fields: readCertificateFields(certificate.raw) };
  } catch {
    // cursive skips trusted certificates it cannot load; so do we.
    return null;
  }
}

/**
 * Validates `certificate` against the trusted list and returns the chain, from the certificate to the
 * self-signed trusted certificate that ends it. Throws VerificationError CERTIFICATE_EXPIRED when the
 * certificate is outside its dates, CERTIFICATE_UNTRUSTED when no acceptable chain exists.
 *
 * One deliberate difference from cursive 0.2.3: a CA without pathLenConstraint is unlimited (RFC 5280)
 * where cursive crashes comparing None with an int.
 */
export function validateCertificate({
  certificate,
  trusted,
  now,
}: CertificateValidationInput): X509Certificate[] {
  let fields: CertificateFields;
  try {
    fields = readCertificateFields(certificate.raw);
  } catch (cause) {
    throw new VerificationError('CERTIFICATE_INVALID', 'The certificate could not be parsed as X.509.', {
      cause,
    });
  }
  if (!isWithinValidDates(fields, now)) {
    throw new VerificationError('CERTIFICATE_EXPIRED', 'The certificate is outside its valid date range.');
  }

  // Only trusted certificates that are in date and marked to sign certificates may be links.
  const signers = trusted
    .map(toLink)
    .filter((link): link is Link => link !== null && isWithinValidDates(link.fields, now))
    .filter((link) => canSignCertificates(link.fields));

  const chain: Link[] = [{ label: 'base', certificate, fields }];
  for (;;) {
    const current = chain[chain.length - 1];
    const signer = signers.find((candidate) => isIssuer(candidate, current));
    if (!signer) {
      // cursive's text. For a link above the signing certificate cursive, through an operator-precedence
      // slip, says only "certificate '<id>'"; we give the sentence it meant to write.
      const subject = current.label === 'base' ? 'the base certificate' : `certificate '${current.label}'`;
      throw untrusted(
        `Certificate chain building failed. Could not locate the signing certificate for ${subject} in the set of trusted certificates.`,
      );
    }
    // A self-signed trusted certificate ends the chain; the certificate itself may be one.
    if (signer.certificate.raw.equals(current.certificate.raw)) break;
    if (chain.some((link) => link.certificate.raw.equals(signer.certificate.raw))) {
      throw untrusted('Certificate chain building failed. The trusted certificates form a loop.');
    }
    if (chain.length >= MAX_CHAIN_LENGTH) {
      throw untrusted(
        `Certificate chain building failed. The chain is longer than ${MAX_CHAIN_LENGTH} certificates.`,
      );
    }
    chain.push(signer);
  }

  // Each issuer must allow the intermediates below it (the signing certificate does not count).
  for (let index = 1; index < chain.length; index++) {
    const pathLength = chain[index].fields.basicConstraints?.pathLength ?? null;
    const intermediatesBelow = index - 1;
    if (pathLength !== null && pathLength < intermediatesBelow) {
      throw untrusted(
        `Certificate validation failed. The signing certificate '${chain[index].label}' is not configured to support certificate chains of sufficient length.`,
      );
    }
  }
  return chain.map((link) => link.certificate);
}

// Turns a key-manager secret into the signing certificate as castellan and cursive do (spec §1.7),
// and checks that its public key suits the signature key type.
import { X509Certificate } from 'node:crypto';
import { signatureFailure, verbatimFailure } from './failures.ts';
import { SIGNATURE_KEY_TYPES, type SignatureKeyType } from './properties.ts';

/** A secret as the key manager (Barbican semantics) hands it over. */
export interface CertificateSecret {
  secretType: string;
  payload: Buffer;
  contentType: string;
  /** The user who stored the secret, when the key manager knows it: the signer of what it verifies. */
  creatorId?: string | null;
  /** The project that owns it, when the key manager knows it. */
  projectId?: string;
}

/**
 * castellan wraps each Barbican secret type in an object whose `format` cursive reports when it is
 * not X.509; unknown types become opaque data. (castellan first parses `public` and `private` payloads
 * as PEM keys and fails with pyca's raw error when they are not; we skip that and report the format.)
 */
const CASTELLAN_FORMATS: Record<string, string> = {
  certificate: 'X.509',
  symmetric: 'RAW',
  passphrase: 'RAW',
  public: 'SubjectPublicKeyInfo',
  private: 'PKCS8',
  opaque: 'Opaque',
};

// pyca/cryptography's texts for PEM it cannot use; Glance shows them verbatim (a ValueError).
const PEM_HELP =
  'Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details.';
const NO_CERTIFICATE_BLOCK =
  'Valid PEM but no BEGIN CERTIFICATE/END CERTIFICATE delimiters. Are you sure this is a certificate?';

interface PemBlock {
  label: string;
  der: Buffer;
}

/**
 * Every PEM block in the payload, as pyca/cryptography's PEM reader finds them: any malformed block
 * fails the whole payload, even when a good certificate block follows.
 */
function readPemBlocks(payload: Buffer): PemBlock[] {
  const text = payload.toString('latin1');
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(
    /-----BEGIN ([\s\S]*?)-----[ \t\r\n]*([\s\S]*?)-----END ([\s\S]*?)-----/g,
  )) {
    const [, begin, body, end] = match;
    if (begin !== end) throw verbatimFailure('CERTIFICATE_INVALID', `${PEM_HELP} MismatchedTags`);
    const base64 = body.replace(/[ \t\r\n]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
      // cryptography appends the base64 decoder's own error (position, byte) that we do not mimic.
      throw verbatimFailure('CERTIFICATE_INVALID', `${PEM_HELP} InvalidData`);
    }
    blocks.push({ label: begin, der: Buffer.from(base64, 'base64') });
  }
  return blocks;
}

/**
 * Loads the signing certificate from its key-manager secret. The secret must be of type
 * `certificate` with a PEM payload: castellan parses the PEM and hands cursive the DER.
 *
 * The content type is deliberately ignored. Glance 25.1 answers 500 when the certificate secret was
 * stored as `text/plain` (castellan receives text and crashes); no client depends on that 500, and
 * PEM is text, so we accept the certificate whatever the declared content type.
 */
export function loadSigningCertificate(secret: CertificateSecret): X509Certificate {
  if (secret.secretType !== 'certificate') {
    const format = CASTELLAN_FORMATS[secret.secretType] ?? 'Opaque';
    throw signatureFailure('CERTIFICATE_INVALID', `Invalid certificate format: ${format}`);
  }
  const blocks = readPemBlocks(secret.payload);
  // A DER payload (or any text without PEM framing) ends here, as measured on Glance 25.1.
  if (blocks.length === 0) throw verbatimFailure('CERTIFICATE_INVALID', `${PEM_HELP} MalformedFraming`);
  const block = blocks.find(({ label }) => label === 'CERTIFICATE' || label === 'X509 CERTIFICATE');
  if (!block) throw verbatimFailure('CERTIFICATE_INVALID', NO_CERTIFICATE_BLOCK);
  try {
    return new X509Certificate(block.der);
  } catch (cause) {
    // cryptography says "error parsing asn1 value: <parser state>"; we keep its opening only.
    throw verbatimFailure('CERTIFICATE_INVALID', 'error parsing asn1 value: not an X.509 certificate', cause);
  }
}

/** The kind of key a certificate carries (`rsa`, `dsa`, `ec`, `ed25519`, ...), or null if unreadable. */
function publicKeyKind(certificate: X509Certificate): string | null {
  try {
    return certificate.publicKey.asymmetricKeyType ?? null;
  } catch {
    return null;
  }
}

/**
 * cursive's public-key check: RSA for RSA-PSS, DSA for DSA, any EC key for every ECC_* type (the curve
 * is not compared, spec §1.2). An RSASSA-PSS-only key (`rsa-pss`) is not an RSA key to pyca either.
 */
export function checkPublicKeyForKeyType(certificate: X509Certificate, keyType: SignatureKeyType): void {
  if (publicKeyKind(certificate) !== SIGNATURE_KEY_TYPES[keyType]) {
    throw signatureFailure(
      'CERTIFICATE_INVALID',
      `Invalid public key type for signature key type: ${keyType}`,
    );
  }
}

/**
 * The trusted certificates named by `ids`, for the upload check and the boot gate alike. `read` gives
 * a certificate secret or null; what it cannot give (null), or gives unusable, is skipped.
 */
export async function loadTrustedCertificates(
  ids: readonly string[],
  read: (id: string) => Promise<CertificateSecret | null>,
): Promise<X509Certificate[]> {
  const trusted: X509Certificate[] = [];
  for (const id of ids) {
    const material = await read(id);
    // Like Nova, a trusted certificate that cannot be fetched is skipped, not fatal.
    if (!material) continue;
    try {
      trusted.push(loadSigningCertificate(material));
    } catch {
      // An unusable entry in the trust list cannot vouch for anything.
    }
  }
  return trusted;
}

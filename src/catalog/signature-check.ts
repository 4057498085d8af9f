// Decides, before an upload reads its first byte, whether and how its data must be verified: Glance's
// rule (all four img_signature* properties), the certificate from the key manager, and what Glance
// leaves out: a trust store with validity dates and chains, and projects that require signatures.
import { ImageTrustError, ValidationError, VerificationError } from '../errors/index.ts';
import type { Credentials } from '../identity/index.ts';
import {
  type CertificateSecret,
  certificateNotFound,
  certificateUnavailable,
  checkPublicKeyForKeyType,
  loadSigningCertificate,
  loadTrustedCertificates,
  planSignatureVerification,
  readSignatureProperties,
  toVerificationSpec,
  validateCertificate,
} from '../trust/index.ts';
import type { ImageRecord } from './model.ts';
import type { StreamVerifierSpec } from './ports.ts';

/** Where certificates come from: the key manager, as the uploader sees it, and with the service's own authority. */
export interface CertificateSource {
  /**
   * The secret the caller may read, or null when there is none with this id (castellan uses the caller's
   * token); throws FORBIDDEN when it exists but the caller may not read it, as Barbican answers 403.
   */
  forCaller(credentials: Credentials, id: string): Promise<CertificateSecret | null>;
  /** A trusted CA certificate named in the configuration, read with the service's authority. */
  trusted(id: string): Promise<CertificateSecret | null>;
}

export interface SignatureCheckOptions {
  certificates: CertificateSource;
  trustedCertificateIds: readonly string[];
  requireTrustedCertificate: boolean;
  /** Whether the project must sign every upload. */
  signaturesRequired(projectId: string | null): Promise<boolean> | boolean;
  /** The time certificates are validated at: the composition root's clock. */
  now: () => Date;
}

/**
 * Returns the streaming verification to run over the upload, and who signed (the owner of the
 * certificate secret), or null when the image is not signed.
 */
export type UploadSignatureCheck = (
  credentials: Credentials,
  image: ImageRecord,
) => Promise<{ spec: StreamVerifierSpec; signerId: string | null } | null>;

export function createUploadSignatureCheck(options: SignatureCheckOptions): UploadSignatureCheck {
  const { now } = options;
  return async (credentials, image) => {
    const properties = readSignatureProperties(image.properties);
    if (!properties) {
      if (await options.signaturesRequired(image.owner)) {
        throw new VerificationError(
          'SIGNATURE_REQUIRED',
          `Project ${image.owner} requires signed images: set img_signature, img_signature_hash_method, ` +
            'img_signature_key_type and img_signature_certificate_uuid before uploading data.',
        );
      }
      return null;
    }
    // The same order as cursive: properties, then the certificate, then its key.
    const plan = planSignatureVerification(properties);
    const secret = await fetchCertificate(options.certificates, credentials, plan.certificateUuid);
    const certificate = loadSigningCertificate(secret);
    checkPublicKeyForKeyType(certificate, plan.keyType);
    if (options.requireTrustedCertificate) {
      const trusted = await loadTrustedCertificates(options.trustedCertificateIds, (id) =>
        options.certificates.trusted(id),
      );
      validateCertificate({ certificate, trusted, now: now() });
    }
    return { spec: toVerificationSpec(plan, certificate), signerId: secret.creatorId ?? null };
  };
}

/**
 * Fetches the signing certificate failing as castellan and barbicanclient do under cursive: an empty ID
 * is castellan's own KeyManagerError and a 403 any other Barbican error, both "Unable to retrieve
 * certificate"; only a 404 is "Certificate not found".
 */
async function fetchCertificate(
  source: CertificateSource,
  credentials: Credentials,
  id: string,
): Promise<CertificateSecret> {
  if (id === '') throw certificateUnavailable(id);
  // barbicanclient checks the reference before any request; its ValueError escapes cursive and
  // Glance returns it as a bare 400 with the text as it stands.
  if (!isBarbicanSecretReference(id))
    throw new ValidationError('BAD_REQUEST', 'Secret incorrectly specified.');
  let secret: CertificateSecret | null;
  try {
    secret = await source.forCaller(credentials, id);
  } catch (error) {
    if (error instanceof ImageTrustError && error.code === 'FORBIDDEN')
      throw certificateUnavailable(id, error);
    throw error;
  }
  if (!secret) throw certificateNotFound(id);
  return secret;
}

/**
 * Whether barbicanclient accepts a secret reference: its last path segment must be what Python's
 * `uuid.UUID()` reads, that is 32 hex digits once `urn:`, `uuid:`, surrounding braces and hyphens are
 * dropped (Python's int() also allows spaces around them, a `+`, a `0x` and underscores between digits).
 * Non-canonical forms pass here and then are not found, as Barbican answers 404 for them.
 */
function isBarbicanSecretReference(reference: string): boolean {
  const last = reference.replace(/\/+$/, '').split('/').pop() ?? '';
  const hex = last
    .replaceAll('urn:', '')
    .replaceAll('uuid:', '')
    .replace(/^[{}]+|[{}]+$/g, '')
    .replaceAll('-', '');
  return hex.length === 32 && /^\s*\+?(?:0x_?)?[0-9a-f]+(?:_[0-9a-f]+)*\s*$/i.test(hex);
}

/**
 * For releases: whether the certificate that signed an image chains, now, to a trusted one. Returns
 * null when it does, otherwise the reason, so a release can say what is missing.
 */
export function createSignerTrustCheck(
  options: Pick<SignatureCheckOptions, 'certificates' | 'trustedCertificateIds' | 'now'>,
): (image: ImageRecord) => Promise<string | null> {
  const { now } = options;
  return async (image) => {
    const id = image.properties.img_signature_certificate_uuid;
    if (!id) return 'it carries no signing certificate';
    if (options.trustedCertificateIds.length === 0) {
      return 'its project requires signatures but no trusted certificate is configured (trust.trustedCertificateIds)';
    }
    const secret = await options.certificates.trusted(id);
    if (!secret) return `its signing certificate ${id} is no longer in the key manager`;
    try {
      const certificate = loadSigningCertificate(secret);
      validateCertificate({
        certificate,
        trusted: await loadTrustedCertificates(options.trustedCertificateIds, (id) =>
          options.certificates.trusted(id),
        ),
        now: now(),
      });
      return null;
    } catch (error) {
      return `its signing certificate ${id} is not trusted: ${(error as Error).message}`;
    }
  };
}

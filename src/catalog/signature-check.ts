// Decides, before an upload reads its first byte, whether and how its data must be verified: Glance's
// rule (all four img_signature* properties), the certificate from the key manager, and what Glance
// leaves out: a trust store with validity dates and chains, and projects that require signatures.
import { VerificationError } from '../errors/index.ts';
import type { Credentials } from '../identity/index.ts';
import {
  type CertificateSecret,
  certificateNotFound,
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
  /** The secret the caller may read, or null when there is none with this id (castellan uses the caller's token). */
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
    const secret = await options.certificates.forCaller(credentials, plan.certificateUuid);
    if (!secret) throw certificateNotFound(plan.certificateUuid);
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

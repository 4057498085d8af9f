// Sigstore attachments in the cosign layout (spec 6.3): an OCI manifest tagged `sha256-<hex>.sig` in
// the image's own repository, one layer per attachment, the signature in the layer's annotations.
import { ImageTrustError } from '../../errors/index.ts';
import { OCI_MANIFEST, type RegistryClient } from '../registry/index.ts';
import type { SigstoreSignature } from './verify.ts';

interface AttachmentManifest {
  layers?: { mediaType?: string; digest?: string; annotations?: Record<string, string> }[];
}

/** The attachment tag for a manifest digest: the first `:` becomes `-`, then `.sig`. */
export function sigstoreAttachmentTag(manifestDigest: string): string {
  return `${manifestDigest.replace(':', '-')}.sig`;
}

/**
 * Reads every attachment layer (signatures and anything else, the policy sorts them by MIME type).
 * A missing tag means no attachments; an attachment manifest of another type is an error.
 */
export async function readSigstoreAttachments(
  client: RegistryClient,
  repository: string,
  manifestDigest: string,
): Promise<SigstoreSignature[]> {
  const tag = sigstoreAttachmentTag(manifestDigest);
  const manifest = await client.findManifest(repository, tag);
  if (manifest === null) return [];
  if (manifest.mimeType !== OCI_MANIFEST) {
    throw new ImageTrustError(
      'BAD_REQUEST',
      `unexpected MIME type for sigstore attachment manifest ${tag}: ${JSON.stringify(manifest.mimeType)}`,
    );
  }
  let parsed: AttachmentManifest;
  try {
    parsed = JSON.parse(manifest.bytes.toString('utf8')) as AttachmentManifest;
  } catch (error) {
    throw new ImageTrustError(
      'BAD_REQUEST',
      `parsing sigstore attachment manifest ${tag}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const signatures: SigstoreSignature[] = [];
  for (const layer of parsed.layers ?? []) {
    // getBlob checks the digest syntax and that the payload hashes to it.
    const payload = await client.getBlob(repository, String(layer.digest ?? ''));
    signatures.push({
      mimeType: layer.mediaType ?? '',
      payload,
      annotations: { ...(layer.annotations ?? {}) },
    });
  }
  return signatures;
}

// Manifest media types a registry may answer with, and how c/image tells them apart when the server
// sends no usable Content-Type.

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_V2S2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_V2S1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
export const DOCKER_V2S1 = 'application/vnd.docker.distribution.manifest.v1+json';

/** The Accept list c/image sends (DefaultRequestedManifestMIMETypes), in its order. */
export const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  DOCKER_V2S2,
  DOCKER_V2S1_SIGNED,
  DOCKER_V2S1,
  DOCKER_LIST,
  OCI_INDEX,
] as const;

/** Guesses the MIME type from the manifest itself, as c/image's manifest.GuessMIMEType does. */
export function guessManifestMimeType(bytes: Buffer): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return '';
  }
  if (typeof parsed !== 'object' || parsed === null) return '';
  const manifest = parsed as Record<string, unknown>;
  if (typeof manifest.mediaType === 'string' && manifest.mediaType !== '') return manifest.mediaType;
  if (manifest.schemaVersion === 1) return 'signatures' in manifest ? DOCKER_V2S1_SIGNED : DOCKER_V2S1;
  if (manifest.schemaVersion === 2) {
    // An OCI manifest may omit mediaType; a config object tells a manifest from an index.
    if (typeof manifest.config === 'object' && manifest.config !== null) return OCI_MANIFEST;
    if (Array.isArray(manifest.manifests)) return OCI_INDEX;
  }
  return '';
}

/** Drops parameters (`; charset=utf-8`) the way c/image simplifies Content-Type before comparing. */
export function simplifyContentType(value: string | undefined): string {
  return (value ?? '').split(';')[0].trim().toLowerCase();
}

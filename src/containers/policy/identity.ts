// signedIdentity rules: does the docker reference a signature claims fit the image being checked?
// Neither side gets a default `:latest` here; the image side is already fully expanded by its transport.
import {
  type DockerReference,
  dockerReferenceName,
  dockerReferenceString,
  isNameOnly,
  parseCanonicalDockerReference,
  parseNormalizedDockerReference,
} from '../reference/index.ts';
import type { SignedIdentity } from './types.ts';

function tryParse(s: string): DockerReference | undefined {
  try {
    return parseNormalizedDockerReference(s);
  } catch {
    return undefined;
  }
}

function matchRepoDigestOrExact(intended: DockerReference, signature: DockerReference): boolean {
  if (isNameOnly(signature)) return false;
  // A tag (with or without a digest) needs the exact string; a digest alone needs only the name,
  // because the manifest digest check has already tied the signature to these bytes.
  if (intended.tag !== undefined) return dockerReferenceString(signature) === dockerReferenceString(intended);
  if (intended.digest !== undefined) return dockerReferenceName(signature) === dockerReferenceName(intended);
  return false;
}

function remapPrefix(
  ref: DockerReference,
  prefix: string,
  signedPrefix: string,
): DockerReference | undefined {
  const name = dockerReferenceName(ref);
  const matches =
    name.length === prefix.length ? name === prefix : name.startsWith(prefix) && name[prefix.length] === '/';
  if (!matches) return ref;
  // Upstream replaces the first occurrence in the full string, then re-parses without normalisation.
  try {
    return parseCanonicalDockerReference(dockerReferenceString(ref).replace(prefix, signedPrefix));
  } catch {
    return undefined;
  }
}

/**
 * True if a signature claiming `signatureReference` is acceptable for an image whose docker identity is
 * `image` (undefined for transports without one: dir:, oci:, archives).
 */
export function matchesSignedIdentity(
  rule: SignedIdentity,
  image: DockerReference | undefined,
  signatureReference: string,
): boolean {
  const signature = tryParse(signatureReference);
  if (!signature) return false;
  switch (rule.type) {
    case 'matchExact':
      if (!image || isNameOnly(image) || isNameOnly(signature)) return false;
      return dockerReferenceString(signature) === dockerReferenceString(image);
    case 'matchRepoDigestOrExact':
      return image !== undefined && matchRepoDigestOrExact(image, signature);
    case 'matchRepository':
      return image !== undefined && dockerReferenceName(signature) === dockerReferenceName(image);
    case 'exactReference': {
      const intended = tryParse(rule.dockerReference);
      if (!intended || isNameOnly(intended) || isNameOnly(signature)) return false;
      return dockerReferenceString(signature) === dockerReferenceString(intended);
    }
    case 'exactRepository': {
      const intended = tryParse(rule.dockerRepository);
      return intended !== undefined && dockerReferenceName(signature) === dockerReferenceName(intended);
    }
    case 'remapIdentity': {
      if (!image) return false;
      const intended = remapPrefix(image, rule.prefix, rule.signedPrefix);
      return intended !== undefined && matchRepoDigestOrExact(intended, signature);
    }
  }
}

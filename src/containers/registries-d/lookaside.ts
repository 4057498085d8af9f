// Lookaside URLs: which registries.d section applies to a docker image (policy scope order, falling
// through sections that lack the needed key), and where signature N of a manifest lives under it.
import { PolicyError } from '../../errors/index.ts';
import {
  type DockerReference,
  dockerPolicyIdentity,
  dockerPolicyNamespaces,
  validateDigest,
} from '../reference/index.ts';
import type { RegistriesConfig, RegistryNamespace } from './config.ts';

/** The sections that apply to a docker reference, most specific first, `default-docker` last. */
export function registriesSectionsFor(config: RegistriesConfig, ref: DockerReference): RegistryNamespace[] {
  const sections: RegistryNamespace[] = [];
  for (const key of [dockerPolicyIdentity(ref), ...dockerPolicyNamespaces(ref)]) {
    const section = config.docker.get(key);
    if (section) sections.push(section);
  }
  if (config.defaultDocker) sections.push(config.defaultDocker);
  return sections;
}

function sectionTopLevel(section: RegistryNamespace, write: boolean): string | undefined {
  if (write) {
    if (section.lookasideStaging) return section.lookasideStaging;
    if (section.sigstoreStaging) return section.sigstoreStaging;
  }
  return section.lookaside || section.sigstore || undefined;
}

/** The configured lookaside URL for reading (or writing), or undefined when none applies. */
export function configuredLookaside(
  config: RegistriesConfig,
  ref: DockerReference,
  write = false,
): string | undefined {
  for (const section of registriesSectionsFor(config, ref)) {
    const url = sectionTopLevel(section, write);
    if (url) return url;
  }
  return undefined;
}

/** Whether sigstore attachments are used for this image; false unless some applicable section says so. */
export function usesSigstoreAttachments(config: RegistriesConfig, ref: DockerReference): boolean {
  for (const section of registriesSectionsFor(config, ref)) {
    if (section.useSigstoreAttachments !== undefined) return section.useSigstoreAttachments;
  }
  return false;
}

/** c/image's built-in lookaside when nothing is configured: a system directory for root, else the user's. */
export function builtinLookaside(options: { euid: number; home: string }): string {
  return options.euid === 0
    ? 'file:///var/lib/containers/sigstore'
    : new URL(`file://${options.home}/.local/share/containers/sigstore`).href;
}

export interface LookasideOptions {
  /** Staging location first, for writing. */
  write?: boolean;
  /** Used when no section supplies a URL; see builtinLookaside. */
  fallback: string;
}

// Go appends to URL.Path, which is empty (not '/') for a bare `http://host`; WHATWG URL says '/'.
function appendToPath(url: URL, hadPath: boolean, suffix: string): URL {
  const result = new URL(url.href);
  result.pathname = `${hadPath ? url.pathname : ''}${suffix}`;
  return result;
}

/** The lookaside base for an image's repository: `<configured URL>/<repository path without host>`. */
export function lookasideRepositoryURL(
  config: RegistriesConfig,
  ref: DockerReference,
  options: LookasideOptions,
): URL {
  const topLevel = configuredLookaside(config, ref, options.write) ?? options.fallback;
  if (topLevel.startsWith(':')) {
    throw new PolicyError(
      'POLICY_INVALID',
      `Invalid signature storage URL ${topLevel}: parse ${JSON.stringify(topLevel)}: missing protocol scheme`,
    );
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):(\/\/[^/?#]*)?([^?#]*)/.exec(topLevel);
  if (!scheme) {
    // Go parses a scheme-less string as a bare path and fails only when reading; we fail here, earlier.
    throw new PolicyError(
      'POLICY_INVALID',
      `Unsupported scheme when reading signature from ${topLevel}/${ref.path}`,
    );
  }
  let url: URL;
  try {
    url = new URL(topLevel);
  } catch (error) {
    throw new PolicyError(
      'POLICY_INVALID',
      `Invalid signature storage URL ${topLevel}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return appendToPath(url, scheme[3] !== '', `/${ref.path}`);
}

/** Signature `index` (0-based) of a manifest: `<repository URL>@<algo>=<hex>/signature-<index+1>`. */
export function lookasideSignatureURL(repositoryURL: URL, manifestDigest: string, index: number): URL {
  const problem = validateDigest(manifestDigest);
  if (problem) throw new PolicyError('REFERENCE_INVALID', problem);
  const [algorithm, hex] = manifestDigest.split(':');
  return appendToPath(repositoryURL, true, `@${algorithm}=${hex}/signature-${index + 1}`);
}

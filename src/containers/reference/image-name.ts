// Image names as skopeo writes them (`transport:reference`), with what policy.json needs from each:
// the policy identity, the namespaces searched after it, and the docker identity signatures claim.
import path from 'node:path';
import { PolicyError } from '../../errors/index.ts';
import {
  type DockerReference,
  dockerReferenceName,
  dockerReferenceString,
  familiarDockerReferenceString,
  isNameOnly,
  parseNormalizedDockerReference,
  withDefaultTag,
} from './docker-reference.ts';

/** Transports whose image names this module parses. */
export const IMAGE_TRANSPORTS = [
  'docker',
  'docker-daemon',
  'dir',
  'oci',
  'oci-archive',
  'docker-archive',
] as const;
export type ImageTransport = (typeof IMAGE_TRANSPORTS)[number];

/** A parsed image name: plain data, enough to select policy scopes and match signed identities. */
export interface ImageReference {
  transport: ImageTransport;
  /** The part after `transport:` as c/image prints it (`//busybox:latest`, `/abs/dir`, `/abs/oci:tag`). */
  withinTransport: string;
  /** The docker identity signatures are matched against, fully expanded; absent for dir:, oci: and friends. */
  dockerReference?: DockerReference;
  /** The most specific policy.json scope key; '' when the transport supports only the default scope. */
  policyIdentity: string;
  /** Less specific scope keys, most specific first. */
  policyNamespaces: string[];
}

const invalid = (message: string) => new PolicyError('REFERENCE_INVALID', message);

/** `transport:withinTransport`, the name c/image prints in messages. */
export function formatImageName(ref: ImageReference): string {
  return `${ref.transport}:${ref.withinTransport}`;
}

/** The identity policy.json scopes use for a docker reference: `name:tag` or `name@digest`. */
export function dockerPolicyIdentity(ref: DockerReference): string {
  if (ref.tag !== undefined && ref.digest !== undefined) {
    throw invalid(`Unexpected Docker reference ${dockerReferenceString(ref)} with both a name and a digest`);
  }
  if (isNameOnly(ref)) {
    throw invalid(
      `Unexpected Docker reference ${dockerReferenceString(ref)} with neither a tag nor a digest`,
    );
  }
  return dockerReferenceString(ref);
}

/** The repository, its parents, the host with port, then `*.` wildcards of the port-less host. */
export function dockerPolicyNamespaces(ref: DockerReference): string[] {
  let name = dockerReferenceName(ref);
  const result = [name];
  for (let slash = name.lastIndexOf('/'); slash !== -1; slash = name.lastIndexOf('/')) {
    name = name.slice(0, slash);
    result.push(name);
  }
  name = name.split(':')[0];
  for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.')) {
    name = name.slice(dot + 1);
    result.push(`*.${name}`);
  }
  return result;
}

/** Parent directories of an absolute path, up to but not including `/`. */
export function pathPolicyNamespaces(resolved: string): string[] {
  const result: string[] = [];
  let current = resolved;
  for (let slash = current.lastIndexOf('/'); slash > 0; slash = current.lastIndexOf('/')) {
    current = current.slice(0, slash);
    result.push(current);
  }
  return result;
}

function dockerImage(rest: string): ImageReference {
  if (!rest.startsWith('//')) throw invalid(`docker: image reference ${rest} does not start with //`);
  const ref = withDefaultTag(parseNormalizedDockerReference(rest.slice(2)));
  if (ref.tag !== undefined && ref.digest !== undefined) {
    throw invalid('Docker references with both a tag and digest are currently not supported');
  }
  return {
    transport: 'docker',
    withinTransport: `//${familiarDockerReferenceString(ref)}`,
    dockerReference: ref,
    policyIdentity: dockerPolicyIdentity(ref),
    policyNamespaces: dockerPolicyNamespaces(ref),
  };
}

function daemonImage(rest: string): ImageReference {
  if (/^sha256:/.test(rest)) {
    if (!/^sha256:[a-f0-9]{64}$/.test(rest)) throw invalid('invalid checksum digest format');
    return { transport: 'docker-daemon', withinTransport: rest, policyIdentity: '', policyNamespaces: [] };
  }
  const ref = withDefaultTag(parseNormalizedDockerReference(rest));
  if (ref.tag !== undefined && ref.digest !== undefined) {
    throw invalid('docker-daemon: references with both a tag and digest are currently not supported');
  }
  if (ref.tag === undefined) {
    throw invalid(
      `docker-daemon: reference ${familiarDockerReferenceString(ref)} has neither a tag nor a digest`,
    );
  }
  return {
    transport: 'docker-daemon',
    withinTransport: familiarDockerReferenceString(ref),
    dockerReference: ref,
    policyIdentity: dockerPolicyIdentity(ref),
    policyNamespaces: dockerPolicyNamespaces(ref),
  };
}

// c/image resolves symlinks too (explicitfilepath); the pure core can only make the path absolute and
// clean, so callers that need symlink resolution pass a resolver.
function pathImage(
  transport: 'dir' | 'oci' | 'oci-archive',
  dir: string,
  resolve: PathResolver,
): ImageReference {
  const resolved = resolve(dir);
  return {
    transport,
    withinTransport: dir,
    policyIdentity: resolved,
    policyNamespaces: pathPolicyNamespaces(resolved),
  };
}

function ociImage(transport: 'oci' | 'oci-archive', rest: string, resolve: PathResolver): ImageReference {
  const colon = rest.indexOf(':');
  const dir = colon === -1 ? rest : rest.slice(0, colon);
  const image = colon === -1 ? '' : rest.slice(colon + 1);
  if (dir === '') throw invalid(`${transport}: Invalid empty path`);
  if (image !== '' && !/^[A-Za-z0-9._-]+$/.test(image)) throw invalid(`Invalid image ${image}`);
  return { ...pathImage(transport, dir, resolve), withinTransport: `${dir}:${image}` };
}

function dockerArchiveImage(rest: string): ImageReference {
  const colon = rest.indexOf(':');
  const file = colon === -1 ? rest : rest.slice(0, colon);
  const refPart = colon === -1 ? '' : rest.slice(colon + 1);
  if (file === '') throw invalid('docker-archive reference  does not include a path');
  const result: ImageReference = {
    transport: 'docker-archive',
    withinTransport: file,
    policyIdentity: '',
    policyNamespaces: [],
  };
  if (refPart === '') return result;
  if (refPart.startsWith('@')) return { ...result, withinTransport: rest };
  const ref = withDefaultTag(parseNormalizedDockerReference(refPart));
  if (ref.digest !== undefined) throw invalid("docker-archive doesn't support digest references");
  return {
    ...result,
    withinTransport: `${file}:${familiarDockerReferenceString(ref)}`,
    dockerReference: ref,
  };
}

/** Turns a possibly relative path into the identity policy.json scopes compare against. */
export type PathResolver = (p: string) => string;

export interface ParseImageNameOptions {
  /** Defaults to `path.resolve` (absolute and clean); pass `fs.realpathSync`-based resolution to follow symlinks. */
  resolvePath?: PathResolver;
}

/** Parses `transport:reference` as skopeo and c/image's alltransports do; throws REFERENCE_INVALID. */
export function parseImageName(imageName: string, options: ParseImageNameOptions = {}): ImageReference {
  const colon = imageName.indexOf(':');
  if (colon === -1)
    throw invalid(`Invalid image name "${imageName}", expected colon-separated transport:reference`);
  const transport = imageName.slice(0, colon);
  const rest = imageName.slice(colon + 1);
  const resolve = options.resolvePath ?? ((p: string) => path.resolve(p));
  switch (transport) {
    case 'docker':
      return dockerImage(rest);
    case 'docker-daemon':
      return daemonImage(rest);
    case 'dir':
      if (rest === '') throw invalid('dir: Invalid empty path');
      return pathImage('dir', rest, resolve);
    case 'oci':
    case 'oci-archive':
      return ociImage(transport, rest, resolve);
    case 'docker-archive':
      return dockerArchiveImage(rest);
    default:
      throw invalid(`Invalid image name "${imageName}", unknown transport "${transport}"`);
  }
}

// Docker references as containers/image (and docker/distribution's `reference` package) parse them:
// the grammar, docker.io normalisation, and the familiar and fully expanded string forms.
import { PolicyError } from '../../errors/index.ts';

/** A parsed docker reference: `domain/path[:tag][@digest]`. Normalised references always carry a domain. */
export interface DockerReference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPOSITORY_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar of docker/distribution reference/regexp.go, pieced together the same way.
const alphaNumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]*)';
const nameComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `${domainComponent}(?:\\.${domainComponent})*(?::[0-9]+)?`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const name = `(?:${domain}/)?${nameComponent}(?:/${nameComponent})*`;
const REFERENCE = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);
const ANCHORED_NAME = new RegExp(`^(?:(${domain})/)?(${nameComponent}(?:/${nameComponent})*)$`);
const ANCHORED_DOMAIN = new RegExp(`^${domain}$`);
const ANCHORED_IDENTIFIER = /^[a-f0-9]{64}$/;
const ANCHORED_TAG = new RegExp(`^${tag}$`);

const invalid = (message: string) => new PolicyError('REFERENCE_INVALID', message);

/** True if `s` is a bare `host[:port]` as the reference grammar defines it. */
export function isDomain(s: string): boolean {
  return ANCHORED_DOMAIN.test(s);
}

/** True if `s` is a repository name (`[host[:port]/]a/b`) without tag or digest. */
export function isRepositoryName(s: string): boolean {
  return ANCHORED_NAME.test(s);
}

/** True if `s` is a valid tag. */
export function isTag(s: string): boolean {
  return ANCHORED_TAG.test(s);
}

// go-digest's Parse/Validate: only algorithms it knows are accepted, with their exact hex lengths.
const DIGEST_HEX_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Validates an `algo:hex` digest as go-digest does; returns the error text or undefined. */
export function validateDigest(value: string): string | undefined {
  const colon = value.indexOf(':');
  if (colon < 1 || colon + 1 >= value.length) return 'invalid checksum digest format';
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  const length = DIGEST_HEX_LENGTHS[algorithm];
  if (length === undefined) return 'unsupported digest algorithm';
  if (hex.length !== length) return 'invalid checksum digest length';
  if (!/^[a-f0-9]+$/.test(hex)) return 'invalid checksum digest format';
  return undefined;
}

/** Parses a reference exactly as written (no normalisation); throws REFERENCE_INVALID with the Go text. */
export function parseDockerReference(s: string): DockerReference {
  const match = REFERENCE.exec(s);
  if (!match) {
    if (s === '') throw invalid('repository name must have at least one component');
    if (REFERENCE.test(s.toLowerCase())) {
      throw invalid('invalid reference format: repository name must be lowercase');
    }
    throw invalid('invalid reference format');
  }
  const [, fullName, tagPart, digestPart] = match;
  if (fullName.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const nameMatch = ANCHORED_NAME.exec(fullName)!;
  const result: DockerReference = { domain: nameMatch[1] ?? '', path: nameMatch[2] };
  if (tagPart !== undefined) result.tag = tagPart;
  if (digestPart !== undefined) {
    const problem = validateDigest(digestPart);
    if (problem) throw invalid(problem);
    result.digest = digestPart;
  }
  return result;
}

function splitDockerDomain(s: string): { domain: string; remainder: string } {
  const slash = s.indexOf('/');
  let host: string;
  let remainder: string;
  if (slash === -1 || (!/[.:]/.test(s.slice(0, slash)) && s.slice(0, slash) !== 'localhost')) {
    host = DEFAULT_DOMAIN;
    remainder = s;
  } else {
    host = s.slice(0, slash);
    remainder = s.slice(slash + 1);
  }
  if (host === LEGACY_DEFAULT_DOMAIN) host = DEFAULT_DOMAIN;
  if (host === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPOSITORY_PREFIX + remainder;
  return { domain: host, remainder };
}

/** Parses a user-supplied reference into its fully expanded form (`busybox` → `docker.io/library/busybox`). */
export function parseNormalizedDockerReference(s: string): DockerReference {
  if (ANCHORED_IDENTIFIER.test(s)) {
    throw invalid(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain: host, remainder } = splitDockerDomain(s);
  const tagSep = remainder.search(/[:@]/);
  const remoteName = tagSep === -1 ? remainder : remainder.slice(0, tagSep);
  if (remoteName.toLowerCase() !== remoteName) {
    throw invalid('invalid reference format: repository name must be lowercase');
  }
  return parseDockerReference(`${host}/${remainder}`);
}

/** Parses a reference that must already be in fully expanded form (Go's `reference.ParseNamed`). */
export function parseCanonicalDockerReference(s: string): DockerReference {
  const ref = parseNormalizedDockerReference(s);
  if (dockerReferenceString(ref) !== s) throw invalid('repository name must be canonical');
  return ref;
}

/** `domain/path`, the repository name without tag or digest. */
export function dockerReferenceName(ref: DockerReference): string {
  return ref.domain === '' ? ref.path : `${ref.domain}/${ref.path}`;
}

function withTagAndDigest(base: string, ref: DockerReference): string {
  return `${base}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The full string, as Go's `Named.String()` prints it. */
export function dockerReferenceString(ref: DockerReference): string {
  return withTagAndDigest(dockerReferenceName(ref), ref);
}

/** The short form people type: `busybox:latest` rather than `docker.io/library/busybox:latest`. */
export function familiarDockerReferenceString(ref: DockerReference): string {
  let base = dockerReferenceName(ref);
  if (ref.domain === DEFAULT_DOMAIN) {
    base = ref.path;
    if (
      base.startsWith(OFFICIAL_REPOSITORY_PREFIX) &&
      !base.slice(OFFICIAL_REPOSITORY_PREFIX.length).includes('/')
    ) {
      base = base.slice(OFFICIAL_REPOSITORY_PREFIX.length);
    }
  }
  return withTagAndDigest(base, ref);
}

/** True if the reference carries neither a tag nor a digest. */
export function isNameOnly(ref: DockerReference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}

/** Adds `:latest` to a name-only reference, as `reference.TagNameOnly` does. */
export function withDefaultTag(ref: DockerReference): DockerReference {
  return isNameOnly(ref) ? { ...ref, tag: 'latest' } : ref;
}

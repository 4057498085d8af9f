// Reviewer checks for a policy.json beyond what c/image rejects: defaults that accept anything, scopes
// that can never match an image, and key files that cannot be read. Pure: file checks are injected.
import type { SourcePosition } from '../../errors/index.ts';
import { PolicyError } from '../../errors/index.ts';
import {
  dockerReferenceString,
  isDomain,
  parseDockerReference,
  parseNormalizedDockerReference,
} from '../reference/index.ts';
import { type PolicyLocation, parsePolicyDocument } from './parse.ts';
import type { PolicyRequirement } from './types.ts';

/** One finding of `containers lint`. */
export interface LintFinding {
  rule: string;
  severity: 'error' | 'warning';
  message: string;
  file: string;
  position?: SourcePosition;
}

/**
 * Transports c/image 5.23.1 knows; scopes under any other name (`atomic` too: 5.23.1 has no such transport)
 * are accepted and never match.
 */
export const KNOWN_POLICY_TRANSPORTS = [
  'containers-storage',
  'dir',
  'docker',
  'docker-archive',
  'docker-daemon',
  'oci',
  'oci-archive',
  'sif',
  'tarball',
];

/** Why a docker scope can never match an image, or undefined when it can. */
export function dockerScopeProblem(scope: string): string | undefined {
  if (scope.startsWith('*.')) {
    const domain = scope.slice(2);
    if (!isDomain(domain) || domain.includes(':')) {
      return 'a wildcard scope matches only "*.<domain>", without port or path';
    }
    return undefined;
  }
  if (scope.includes('*')) return 'only a leading "*." is a wildcard';
  if (isDomain(scope)) {
    if (!/[.:]/.test(scope) && scope !== 'localhost') {
      return `a host without a dot or port is never an image's registry; did you mean docker.io/library/${scope}?`;
    }
    return undefined;
  }
  try {
    const raw = parseDockerReference(scope);
    if (raw.tag !== undefined && raw.digest !== undefined) return 'a scope with both a tag and a digest';
    const expanded = dockerReferenceString(parseNormalizedDockerReference(scope));
    if (expanded !== scope) return `images are matched by their fully expanded name; write "${expanded}"`;
  } catch (error) {
    return `not a docker reference: ${(error as Error).message}`;
  }
  return undefined;
}

function keyFiles(requirement: PolicyRequirement): string[] {
  switch (requirement.type) {
    case 'signedBy':
      return [requirement.keyPath, ...(requirement.keyPaths ?? [])].filter((p): p is string => !!p);
    case 'sigstoreSigned':
      return [
        requirement.keyPath,
        ...(requirement.keyPaths ?? []),
        requirement.fulcio?.caPath,
        requirement.rekorPublicKeyPath,
        ...(requirement.rekorPublicKeyPaths ?? []),
      ].filter((p): p is string => !!p);
    case 'insecureAcceptAnything':
    case 'reject':
    case 'signedBaseLayer':
      return [];
  }
}

function where(location: PolicyLocation): string {
  return location.transport === undefined
    ? 'default'
    : `transports.${location.transport}["${location.scope}"]`;
}

export interface PolicyLintOptions {
  /** Shown in findings. */
  file: string;
  /** Returns why a key file cannot be read (Go's wording), or undefined when it can. */
  checkKeyFile(path: string): string | undefined;
}

/** Parses policy text and applies the reviewer rules; a parse failure is the single error finding. */
export function lintPolicy(text: string, options: PolicyLintOptions): LintFinding[] {
  const { file } = options;
  let locations: PolicyLocation[];
  try {
    locations = parsePolicyDocument(text).locations;
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    // A scope a transport refuses is reported by c/image as an unknown key; say why as well.
    const why = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    const finding: LintFinding = {
      rule: 'policy-invalid',
      severity: 'error',
      message: error.message + why,
      file,
    };
    if (error.position) finding.position = error.position;
    return [finding];
  }
  const findings: LintFinding[] = [];
  const warn = (rule: string, message: string, position: SourcePosition) =>
    findings.push({ rule, severity: 'warning', message, file, position });
  const checked = new Map<string, string | undefined>();
  for (const location of locations) {
    const isDefault = location.transport === undefined || location.scope === '';
    if (isDefault && location.requirements.some((r) => r.type === 'insecureAcceptAnything')) {
      warn(
        'default-accepts-anything',
        `${where(location)} accepts any image without checking signatures (insecureAcceptAnything)`,
        location.position,
      );
    }
    if (location.transport !== undefined && !KNOWN_POLICY_TRANSPORTS.includes(location.transport)) {
      warn(
        'scope-never-matches',
        `unknown transport "${location.transport}": its scopes never match any image`,
        location.position,
      );
    } else if (location.transport === 'docker' && location.scope) {
      const problem = dockerScopeProblem(location.scope);
      if (problem)
        warn('scope-never-matches', `${where(location)} never matches: ${problem}`, location.position);
    }
    for (const requirement of location.requirements) {
      for (const keyFile of keyFiles(requirement)) {
        if (!checked.has(keyFile)) checked.set(keyFile, options.checkKeyFile(keyFile));
        const problem = checked.get(keyFile);
        if (problem) warn('key-file-unreadable', `${where(location)}: ${problem}`, location.position);
      }
      if (requirement.type === 'signedBy' && requirement.keyType !== 'GPGKeys') {
        warn(
          'requirement-always-rejects',
          `${where(location)}: keyType "${requirement.keyType}" is not implemented and rejects every image`,
          location.position,
        );
      }
      if (requirement.type === 'signedBaseLayer') {
        warn(
          'requirement-always-rejects',
          `${where(location)}: signedBaseLayer rejects every image`,
          location.position,
        );
      }
    }
  }
  return findings;
}

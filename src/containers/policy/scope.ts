// Which policy.json scope keys each transport accepts, and which requirement list applies to an image:
// identity, then namespaces in order, then the transport's "" entry, then the global default.
import path from 'node:path';
import type { ImageReference } from '../reference/index.ts';
import { validateDigest } from '../reference/index.ts';
import type { Policy, PolicyRequirement } from './types.ts';

function validatePathScope(scope: string, ociWording: boolean): string | undefined {
  if (!scope.startsWith('/'))
    return `Invalid scope ${scope}: ${ociWording ? 'must' : 'Must'} be an absolute path`;
  if (scope === '/') return 'Invalid scope "/": Use the generic default scope ""';
  const cleaned = path.posix.normalize(scope).replace(/(.)\/$/, '$1');
  if (cleaned !== scope) {
    return ociWording
      ? `Invalid scope ${scope}: Uses non-canonical path format, perhaps try with path ${cleaned}`
      : `Invalid scope ${scope}: Uses non-canonical format, perhaps try ${cleaned}`;
  }
  return undefined;
}

function validateStorageScope(scope: string): string | undefined {
  if (scope[0] !== '[') return 'invalid reference';
  const close = scope.indexOf(']');
  if (close < 1) return 'invalid reference';
  const storeSpec = scope.slice(1, close);
  const rest = scope.slice(close + 1);
  const at = storeSpec.indexOf('@');
  if (at !== -1 && at > 0 && at < storeSpec.length - 1) {
    if (!storeSpec.slice(at + 1).startsWith('/')) return 'path name is not absolute';
  } else if (at === -1 && storeSpec !== '') {
    if (!storeSpec.startsWith('/')) return 'path name is not absolute';
  } else {
    return 'invalid reference';
  }
  if (rest === '') return undefined;
  const fields = rest.split('@');
  if (fields.length === 2) {
    if (validateDigest(`sha256:${fields[1]}`) && validateDigest(fields[1])) {
      return `${fields[1]} is neither a valid digest(${validateDigest(fields[1])}) nor a valid ID(${validateDigest(`sha256:${fields[1]}`)})`;
    }
  } else if (fields.length >= 3) {
    return validateDigest(fields[1]) ?? validateDigest(`sha256:${fields.slice(2).join('@')}`);
  }
  return undefined;
}

/**
 * Why a non-empty scope key is invalid for a transport, or undefined when it is acceptable. c/image
 * reports any such key only as `Unknown key "<scope>"`; the reason is for humans (lint).
 */
export function validatePolicyScope(transport: string, scope: string): string | undefined {
  switch (transport) {
    case 'docker':
      return undefined;
    case 'dir':
    case 'sif':
      return validatePathScope(scope, false);
    case 'oci':
    case 'oci-archive':
      return validatePathScope(scope, true);
    case 'docker-archive':
      return 'docker-archive: does not support any scopes except the default "" one';
    case 'tarball':
      return 'tarball: does not support any scopes except the default "" one';
    case 'docker-daemon':
      return validateDigest(scope) === undefined
        ? `docker-daemon: can not use algo:digest value ${scope} as a namespace`
        : undefined;
    case 'containers-storage':
      return validateStorageScope(scope);
    default:
      // Unknown transports are accepted and simply never match anything. That includes `atomic`:
      // 5.23.1 no longer has that transport, so its scopes are not validated either.
      return undefined;
  }
}

/** Which entry of policy.json supplied the requirements. */
export interface PolicyScopeMatch {
  /** `undefined` for the global `default`. */
  transport?: string;
  /** The scope key that matched ('' for the transport default). */
  scope?: string;
  requirements: PolicyRequirement[];
}

/** Finds the requirements for an image: the first hit wins, and more general entries are ignored. */
export function resolvePolicyScope(policy: Policy, image: ImageReference): PolicyScopeMatch {
  const scopes = policy.transports.get(image.transport);
  if (scopes) {
    for (const key of [image.policyIdentity, ...image.policyNamespaces, '']) {
      const requirements = scopes.get(key);
      if (requirements) return { transport: image.transport, scope: key, requirements };
    }
  }
  return { requirements: policy.default };
}

// Secret ACLs as Barbican v1 models them: per operation (only `read` exists), a list of users who may
// perform it whatever their project, and a project-access flag that, when false, keeps the secret from
// the other members of its project. Reading the request, planning a change and the JSON view are pure.
import { ValidationError } from '../errors/index.ts';
import { toBarbicanTime } from './model.ts';
import { pythonRepr, stripStrings } from './requests.ts';

/** The operations an ACL may name: Barbican's ACL schema admits `read` alone. */
export const ACL_OPERATIONS = ['read'] as const;
export type AclOperation = (typeof ACL_OPERATIONS)[number];

/** One operation's ACL on a secret. Timestamps are ISO 8601 UTC with milliseconds. */
export interface SecretAcl {
  operation: AclOperation;
  projectAccess: boolean;
  /** User ids, each once, in the order they were first given. */
  users: string[];
  createdAt: string;
  updatedAt: string;
}

/** What a request says about one operation; a field it leaves out is undefined. */
export interface AclEntryRequest {
  users?: string[];
  projectAccess?: boolean;
}

/** The operations a request names with a non-empty object (Barbican ignores `{}` and acts as if absent). */
export type AclRequest = Partial<Record<AclOperation, AclEntryRequest>>;

/** PUT replaces every ACL, PATCH changes only the fields given, DELETE goes back to the default. */
export type AclChange =
  | { kind: 'replace'; request: AclRequest }
  | { kind: 'update'; request: AclRequest }
  | { kind: 'delete' };

/** Barbican's limit on a user id in an ACL (its schema's maxLength). */
const MAX_USER_ID_LENGTH = 255;

function invalidAcl(reason: string, property: string | null): ValidationError {
  return new ValidationError(
    'BAD_REQUEST',
    `Provided object does not match schema 'ACL': ${reason}. Invalid property: '${property ?? 'None'}'`,
  );
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function unexpected(keys: string[]): string {
  const quoted = keys.map((key) => pythonRepr(key)).join(', ');
  return `Additional properties are not allowed (${quoted} ${keys.length === 1 ? 'was' : 'were'} unexpected)`;
}

/**
 * Reads a PUT or PATCH body against Barbican's ACL schema, after stripping whitespace from strings as
 * Barbican does. The first violation is reported the way jsonschema's best match words it: the
 * shallowest first. One deliberate difference: every user id must be a string (Barbican's schema checks
 * only the first item of the list and stores whatever follows).
 */
export function readAclRequest(raw: unknown): AclRequest {
  const body = stripStrings(raw);
  if (!isObject(body)) throw invalidAcl(`${pythonRepr(body)} is not of type 'object'`, null);
  const unknown = Object.keys(body).filter((key) => !(ACL_OPERATIONS as readonly string[]).includes(key));
  if (unknown.length > 0) throw invalidAcl(unexpected(unknown), null);
  const request: AclRequest = {};
  for (const operation of ACL_OPERATIONS) {
    if (!(operation in body)) continue;
    const entry = body[operation];
    if (!isObject(entry)) throw invalidAcl(`${pythonRepr(entry)} is not of type 'object'`, operation);
    const extra = Object.keys(entry).filter((key) => key !== 'users' && key !== 'project-access');
    if (extra.length > 0) throw invalidAcl(unexpected(extra), operation);
    const { users, 'project-access': projectAccess } = entry;
    if (users !== undefined && !Array.isArray(users)) {
      throw invalidAcl(`${pythonRepr(users)} is not of type 'array'`, operation);
    }
    if (projectAccess !== undefined && typeof projectAccess !== 'boolean') {
      throw invalidAcl(`${pythonRepr(projectAccess)} is not of type 'boolean'`, operation);
    }
    for (const user of users ?? []) {
      if (typeof user !== 'string')
        throw invalidAcl(`${pythonRepr(user)} is not of type 'string'`, operation);
      if ([...user].length > MAX_USER_ID_LENGTH)
        throw invalidAcl(`${pythonRepr(user)} is too long`, operation);
    }
    // Barbican skips an operation given as `{}`: PUT then drops it, PATCH leaves it as it was.
    if (Object.keys(entry).length === 0) continue;
    request[operation] = {
      ...(users !== undefined && { users: [...new Set(users as string[])] }),
      ...(projectAccess !== undefined && { projectAccess }),
    };
  }
  return request;
}

/**
 * The ACLs a secret has after `change`, given those it has: an operation kept or changed keeps its
 * creation time; every operation the request names is stamped `now`, as Barbican stamps it.
 */
export function planAclChange(existing: readonly SecretAcl[], change: AclChange, now: string): SecretAcl[] {
  switch (change.kind) {
    case 'delete':
      return [];
    case 'replace':
    case 'update': {
      const byOperation = new Map(existing.map((acl) => [acl.operation, acl]));
      const next: SecretAcl[] = [];
      for (const operation of ACL_OPERATIONS) {
        const given = change.request[operation];
        const current = byOperation.get(operation);
        if (!given) {
          // PUT drops what it does not name; PATCH leaves it alone.
          if (current && change.kind === 'update') next.push(current);
          continue;
        }
        const keep = change.kind === 'update' ? current : undefined;
        next.push({
          operation,
          projectAccess: given.projectAccess ?? keep?.projectAccess ?? true,
          users: given.users ?? keep?.users ?? [],
          createdAt: current?.createdAt ?? now,
          updatedAt: now,
        });
      }
      return next;
    }
  }
}

/** `GET /v1/secrets/{id}/acl`: each operation's ACL, or Barbican's implicit default when there is none. */
export function toAclView(acls: readonly SecretAcl[]): Record<string, unknown> {
  if (acls.length === 0) return { read: { 'project-access': true } };
  return Object.fromEntries(
    acls.map((acl) => [
      acl.operation,
      {
        'project-access': acl.projectAccess,
        users: [...acl.users],
        created: toBarbicanTime(acl.createdAt),
        updated: toBarbicanTime(acl.updatedAt),
      },
    ]),
  );
}

/** What the ACLs say about one caller, for the secret rules: open to its project? caller listed? */
export interface AclAccess {
  /** False when a read ACL turned project access off; true with no read ACL. */
  readProjectAccess: boolean;
  /** True when the caller is among the read ACL's users. */
  listedForRead: boolean;
}

export function aclAccessFor(acls: readonly SecretAcl[], userId: string): AclAccess {
  const read = acls.find((acl) => acl.operation === 'read');
  return {
    readProjectAccess: read?.projectAccess ?? true,
    listedForRead: read?.users.includes(userId) ?? false,
  };
}

// Reads Keystone request bodies as Keystone does: first their JSON schema (keystone/auth/schema.py,
// identity/schema.py, resource/schema.py, assignment/schema.py: every field its JSON type, 400
// otherwise), then the rules a schema cannot say (a user or project names itself by id or name).
// Pure: no lookups, so nothing of the wrong type reaches a query or a password hash.
import { AuthError, ValidationError } from '../errors/index.ts';
import type { ProjectInput, UserInput } from './directory.ts';
import type { AuthRequest, NamedRef } from './service.ts';

type JsonType = 'object' | 'string' | 'array' | 'boolean' | "'string', 'null'";

const typeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

/** Keystone's jsonschema message: `Invalid input for field 'a/b': 1 is not of type 'string'`. */
function invalidField(field: string, value: unknown, type: JsonType): ValidationError {
  const shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return new ValidationError(
    'BAD_REQUEST',
    `Invalid input for field '${field}': ${shown} is not of type '${type}'`,
  );
}

function missing(attribute: string, target: string): ValidationError {
  return new ValidationError(
    'BAD_REQUEST',
    `Expecting to find ${attribute} in ${target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`,
  );
}

function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (typeOf(value) !== 'object') throw invalidField(field, value, 'object');
  return value as Record<string, unknown>;
}

/** An optional string property; absent stays undefined. */
function stringAt(parent: Record<string, unknown>, key: string, field: string): string | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidField(`${field}/${key}`, value, 'string');
  return value;
}

/** `{id?, name?, domain?: {id?, name?}}`, with Keystone's "id or name must be present" rules. */
function readNamedRef(value: unknown, field: string): NamedRef {
  const ref = objectAt(value, field);
  const out: NamedRef = { id: stringAt(ref, 'id', field), name: stringAt(ref, 'name', field) };
  if (ref.domain !== undefined) {
    const domain = objectAt(ref.domain, `${field}/domain`);
    out.domain = {
      id: stringAt(domain, 'id', `${field}/domain`),
      name: stringAt(domain, 'name', `${field}/domain`),
    };
    if (out.domain.id === undefined && out.domain.name === undefined) {
      throw new ValidationError(
        'BAD_REQUEST',
        `Invalid input for field '${field}/domain': id or name must be present.`,
      );
    }
  }
  if (out.id === undefined && out.name === undefined) {
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field '${field}': id or name must be present.`,
    );
  }
  return out;
}

/** Parses `{"auth": {...}}`; throws 400 for a malformed body and 401 for an unsupported method or scope. */
export function readAuthRequest(body: unknown): AuthRequest {
  const auth = (body as Record<string, unknown> | undefined)?.auth;
  if (typeOf(auth) !== 'object') throw missing('auth', 'request body');
  const { identity, scope } = auth as Record<string, unknown>;
  if (identity === undefined) throw missing('identity', 'auth');
  const identityPart = objectAt(identity, 'identity');
  const { methods } = identityPart;
  if (methods === undefined) {
    throw new ValidationError(
      'BAD_REQUEST',
      "Expecting to find identity in auth. 'methods' is a required property.",
    );
  }
  if (!Array.isArray(methods)) throw invalidField('identity/methods', methods, 'array');
  methods.forEach((method, i) => {
    if (typeof method !== 'string') throw invalidField(`identity/methods/${i}`, method, 'string');
  });

  const request: AuthRequest = {};
  if (methods.includes('password')) {
    if (identityPart.password === undefined) throw missing('password', 'identity');
    const password = objectAt(identityPart.password, 'identity/password');
    if (password.user === undefined) throw missing('user', 'password');
    const user = objectAt(password.user, 'identity/password/user');
    request.password = {
      user: {
        ...readNamedRef(user, 'identity/password/user'),
        password: stringAt(user, 'password', 'identity/password/user'),
      },
    };
  } else if (methods.includes('token')) {
    if (identityPart.token === undefined) throw missing('token', 'identity');
    const token = objectAt(identityPart.token, 'identity/token');
    const id = stringAt(token, 'id', 'identity/token');
    if (id === undefined) {
      throw new ValidationError(
        'BAD_REQUEST',
        "Invalid input for field 'identity/token': 'id' is a required property",
      );
    }
    request.token = { id };
  } else {
    throw new AuthError('UNAUTHENTICATED', 'Attempted to authenticate with an unsupported method.');
  }

  // The schema allows a string scope only for explicit unscoped tokens; a project must be an object.
  if (scope === undefined) return request;
  if (scope === 'unscoped') {
    request.scope = 'unscoped';
    return request;
  }
  const scopePart = objectAt(scope, 'scope');
  if (scopePart.project !== undefined) {
    request.scope = { project: readNamedRef(scopePart.project, 'scope/project') };
    return request;
  }
  if ('unscoped' in scopePart) {
    request.scope = 'unscoped';
    return request;
  }
  if (scopePart.system !== undefined) {
    const system = objectAt(scopePart.system, 'scope/system');
    const all = booleanAt(system, 'all', 'scope/system/all');
    request.scope = all === true ? { system: true } : 'unscoped';
    return request;
  }
  if (scopePart.domain !== undefined) {
    const domain = objectAt(scopePart.domain, 'scope/domain');
    const ref = {
      id: stringAt(domain, 'id', 'scope/domain'),
      name: stringAt(domain, 'name', 'scope/domain'),
    };
    if (ref.id === undefined && ref.name === undefined) {
      throw new ValidationError(
        'BAD_REQUEST',
        "Invalid input for field 'scope/domain': id or name must be present.",
      );
    }
    request.scope = { domain: ref };
    return request;
  }
  if ('OS-TRUST:trust' in scopePart) {
    throw new AuthError('UNAUTHENTICATED', 'Trusts are not supported.');
  }
  // Keystone wants exactly one of project, domain, system, trust or unscoped in a scope object.
  throw missing('project, domain, OS-TRUST:trust or unscoped', 'scope');
}

/** `{"<key>": {...}}`, Keystone's wrapper around every resource body. */
function resourceOf(body: unknown, key: string, update: boolean): Record<string, unknown> {
  const value = (body as Record<string, unknown> | undefined)?.[key];
  if (typeOf(value) !== 'object') throw missing(key, 'request body');
  const resource = value as Record<string, unknown>;
  if (update && Object.keys(resource).length === 0) {
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field '${key}': {} does not have enough properties`,
    );
  }
  return resource;
}

/** Keystone's name schemas: users, groups and roles 255 characters, projects and domains 64, never only spaces. */
export const NAME_LIMITS = { user: 255, group: 255, role: 255, project: 64, domain: 64 } as const;

export function checkName(name: unknown, what: keyof typeof NAME_LIMITS): void {
  if (typeof name !== 'string') {
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field 'name': ${JSON.stringify(name)} is not of type 'string'`,
    );
  }
  if (name.length === 0) {
    throw new ValidationError('BAD_REQUEST', "Invalid input for field 'name': '' is too short");
  }
  if (name.length > NAME_LIMITS[what]) {
    throw new ValidationError('BAD_REQUEST', `Invalid input for field 'name': '${name}' is too long`);
  }
  if (name.trim() === '') {
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field 'name': '${name}' does not match '[\\S]+'`,
    );
  }
}

/** A resource's name within its limit, not only spaces (Keystone's `[\S]+` pattern). */
function nameAt(parent: Record<string, unknown>, what: keyof typeof NAME_LIMITS): string | undefined {
  const name = stringAt(parent, 'name', what);
  if (name !== undefined) checkName(name, what);
  return name;
}

/** An optional string that may also be null; absent stays undefined. */
function nullableStringAt(parent: Record<string, unknown>, key: string): string | null | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw invalidField(key, value, "'string', 'null'");
  return value;
}

function booleanAt(parent: Record<string, unknown>, key: string, field = key): boolean | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidField(field, value, 'boolean');
  return value;
}

/** Keystone's id_string: 1 to 64 letters, digits and dashes. */
function idAt(parent: Record<string, unknown>, key: string, nullable: boolean): string | null | undefined {
  const value = parent[key];
  if (value === undefined || (nullable && value === null)) return value as undefined | null;
  if (typeof value !== 'string') throw invalidField(key, value, nullable ? "'string', 'null'" : 'string');
  if (!/^[a-zA-Z0-9-]{1,64}$/.test(value)) {
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field '${key}': '${value}' is not a valid id.`,
    );
  }
  return value;
}

/** The body of POST /v3/users (`update`: PATCH /v3/users/{id}, at least one property). */
/** The properties of a user Keystone knows; any other is kept as an extra attribute. */
const USER_PROPERTIES = new Set([
  'id',
  'links',
  'name',
  'password',
  'enabled',
  'email',
  'description',
  'default_project_id',
  'domain_id',
  'options',
  'federated',
  'password_expires_at',
]);
const MAX_EXTRA_BYTES = 16 * 1024;

/** Extra attributes within a bound (16 KiB of JSON), so a user record stays small. */
export function checkExtra(extra: Record<string, unknown>): Record<string, unknown> {
  if (Buffer.byteLength(JSON.stringify(extra)) > MAX_EXTRA_BYTES) {
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field 'user': the extra attributes exceed ${MAX_EXTRA_BYTES} bytes.`,
    );
  }
  return extra;
}

export function readUserInput(body: unknown, update = false): UserInput {
  const user = resourceOf(body, 'user', update);
  const extra = Object.fromEntries(Object.entries(user).filter(([key]) => !USER_PROPERTIES.has(key)));
  const input: UserInput = {
    extra: Object.keys(extra).length > 0 ? checkExtra(extra) : undefined,
    name: nameAt(user, 'user'),
    password: nullableStringAt(user, 'password') ?? undefined,
    enabled: booleanAt(user, 'enabled'),
    // Keystone keeps email among a user's extra attributes; here it is a column, so it is a string.
    email: nullableStringAt(user, 'email'),
    description: nullableStringAt(user, 'description'),
    defaultProjectId: idAt(user, 'default_project_id', true),
    domainId: idAt(user, 'domain_id', false) ?? undefined,
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as UserInput;
}

/** The body of POST /v3/projects (`update`: PATCH /v3/projects/{id}, at least one property). */
export function readProjectInput(body: unknown, update = false): ProjectInput {
  const project = resourceOf(body, 'project', update);
  const description = nullableStringAt(project, 'description');
  const input: ProjectInput = {
    name: nameAt(project, 'project'),
    description: description === null ? '' : description,
    enabled: booleanAt(project, 'enabled'),
    domainId: idAt(project, 'domain_id', true) ?? undefined,
    tags: project.tags === undefined ? undefined : readTagList(project.tags, 'tags'),
    parentId: idAt(project, 'parent_id', true) ?? undefined,
    isDomain: booleanAt(project, 'is_domain'),
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as ProjectInput;
}

const MAX_TAGS = 80;

/** One project tag: 1 to 255 characters, no '/' nor ',' (the API-WG tag guideline Keystone follows). */
export function readTag(value: unknown, field = 'tag'): string {
  if (typeof value !== 'string') throw invalidField(field, value, 'string');
  if (value.length === 0)
    throw new ValidationError('BAD_REQUEST', `Invalid input for field '${field}': '' is too short`);
  if (value.length > 255)
    throw new ValidationError('BAD_REQUEST', `Invalid input for field '${field}': '${value}' is too long`);
  if (/[,/]/.test(value))
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field '${field}': '${value}' does not match '^[^,/]*$'`,
    );
  return value;
}

/** A list of at most 80 distinct tags. */
export function readTagList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw invalidField(field, value, 'array');
  const tags = value.map((tag, i) => readTag(tag, `${field}/${i}`));
  if (tags.length > MAX_TAGS)
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field '${field}': ${JSON.stringify(tags)} is too long`,
    );
  if (new Set(tags).size !== tags.length)
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field '${field}': ${JSON.stringify(tags)} has non-unique elements`,
    );
  return tags;
}

/** The body of PUT /v3/projects/{id}/tags: `{"tags": [...]}`. */
export function readTagsBody(body: unknown): string[] {
  const tags = (body as Record<string, unknown> | undefined)?.tags;
  if (tags === undefined) throw missing('tags', 'request body');
  return readTagList(tags, 'tags');
}

export interface DomainInput {
  name?: string;
  description?: string;
  enabled?: boolean;
}

/** The body of POST /v3/domains (`update`: PATCH /v3/domains/{id}, at least one property). */
export function readDomainInput(body: unknown, update = false): DomainInput {
  const domain = resourceOf(body, 'domain', update);
  const description = nullableStringAt(domain, 'description');
  const input: DomainInput = {
    name: nameAt(domain, 'domain'),
    description: description === null ? '' : description,
    enabled: booleanAt(domain, 'enabled'),
  };
  if (!update && input.name === undefined)
    throw new ValidationError(
      'BAD_REQUEST',
      "Invalid input for field 'domain': 'name' is a required property",
    );
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as DomainInput;
}

/** Keystone's boolean query values (the enum of its query schemas); anything else is 400. */
const QUERY_BOOLEANS = new Set(
  'True TRUE true False FALSE false 1 0 y Y n N on ON off OFF yes no'.split(' ').concat(['']),
);
const FALSE_STRINGS = new Set(['0', 'f', 'false', 'off', 'n', 'no']);

/**
 * A boolean query filter as Keystone reads it (oslo's bool_from_string with default true): 'false',
 * '0', 'no', 'off', 'n' (any case) are false, every other accepted value true; absent stays undefined.
 */
export function readQueryBoolean(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (!QUERY_BOOLEANS.has(value)) {
    throw new ValidationError(
      'BAD_REQUEST',
      `Invalid input for field '${field}': '${value}' is not one of the accepted values`,
    );
  }
  return !FALSE_STRINGS.has(value.toLowerCase());
}

/** The body of POST /v3/roles (a domain-specific role names its `domain_id`; null or absent: global). */
export function readRoleInput(body: unknown, update = false): { name?: string; domainId?: string } {
  const role = resourceOf(body, 'role', update);
  nullableStringAt(role, 'description');
  const domainId = idAt(role, 'domain_id', true) ?? undefined;
  return domainId === undefined ? { name: nameAt(role, 'role') } : { name: nameAt(role, 'role'), domainId };
}

export interface GroupInput {
  name?: string;
  description?: string;
  domainId?: string;
}

/** The body of POST /v3/groups (`update`: PATCH /v3/groups/{id}); other properties are ignored. */
export function readGroupInput(body: unknown, update = false): GroupInput {
  const group = resourceOf(body, 'group', update);
  const description = nullableStringAt(group, 'description');
  const input: GroupInput = {
    name: nameAt(group, 'group'),
    description: description === null ? '' : description,
    domainId: idAt(group, 'domain_id', false) ?? undefined,
  };
  if (!update && input.name === undefined)
    throw new ValidationError(
      'BAD_REQUEST',
      "Invalid input for field 'group': 'name' is a required property",
    );
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as GroupInput;
}

/** The body of POST /v3/users/{id}/password: both passwords, as strings. */
export function readPasswordChange(body: unknown): { originalPassword: string; password: string } {
  const user = resourceOf(body, 'user', false);
  const originalPassword = stringAt(user, 'original_password', 'user');
  const password = stringAt(user, 'password', 'user');
  if (originalPassword === undefined || password === undefined) {
    throw new ValidationError(
      'BAD_REQUEST',
      "Invalid input for field 'user': 'password' and 'original_password' are required strings.",
    );
  }
  return { originalPassword, password };
}

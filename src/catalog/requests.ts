// Reads Glance v2 request bodies and query strings into checked values, with Glance's status codes
// and messages. Pure functions: no I/O, no clock.
import { AuthError, ConflictError, ValidationError } from '../errors/index.ts';
import {
  type ImageRecord,
  isReservedAttribute,
  MEMBER_STATUSES,
  type MemberStatus,
  READ_ONLY_ATTRIBUTES,
  VISIBILITIES,
  type Visibility,
} from './model.ts';
import type { ComparisonOperator, ImageListQuery, SortKey, SortOrder } from './ports.ts';
import { imageSchema } from './schemas.ts';
import { TASK_STATUSES, type TaskStatus } from './tasks.ts';

function schemaError(reason: string): ValidationError {
  return new ValidationError('SCHEMA_VIOLATION', `Provided object does not match schema 'image': ${reason}`);
}

/** A JSON value as Python's repr shows it, for jsonschema's messages as Glance prints them. */
function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const escaped = value
      .replaceAll('\\', '\\\\')
      .replaceAll('\n', '\\n')
      .replaceAll('\r', '\\r')
      .replaceAll('\t', '\\t');
    return quote + (quote === "'" ? escaped.replaceAll("'", "\\'") : escaped) + quote;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  return String(value);
}

/** A JSON value as Python's str() formats it into a message (strings bare, the rest as repr). */
const pyStr = (value: unknown) => (typeof value === 'string' ? value : pyRepr(value));

type JsonSchema = Record<string, unknown>;

/** One jsonschema error: where it is, its text, and whether the value missed the schema's type. */
interface SchemaFault {
  depth: number;
  message: string;
  typeMismatch: boolean;
}

function isOfType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return false;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => isOfType(value, 'object');

/**
 * Yields jsonschema's errors for the subset of keywords the image schema uses, in jsonschema's order:
 * the schema's keywords as written, `properties` in the schema's order, then the additional ones.
 */
function* schemaFaults(value: unknown, schema: JsonSchema, depth: number): Generator<SchemaFault> {
  const types = schema.type === undefined ? undefined : ([] as string[]).concat(schema.type as string);
  // jsonschema ranks an error whose value does not even have the schema's type above the others.
  const typeMismatch = types === undefined || !types.some((t) => isOfType(value, t));
  const fault = (message: string): SchemaFault => ({ depth, message, typeMismatch });
  for (const [keyword, rule] of Object.entries(schema)) {
    switch (keyword) {
      case 'type':
        if (typeMismatch)
          yield fault(`${pyRepr(value)} is not of type ${(types ?? []).map((t) => pyRepr(t)).join(', ')}`);
        break;
      case 'enum':
        if (!(rule as unknown[]).some((allowed) => allowed === value))
          yield fault(`${pyRepr(value)} is not one of ${pyRepr(rule)}`);
        break;
      case 'pattern':
        if (typeof value === 'string' && !new RegExp(rule as string, 'u').test(value))
          yield fault(`${pyRepr(value)} does not match ${pyRepr(rule)}`);
        break;
      case 'maxLength':
        // Python counts code points, not UTF-16 units.
        if (typeof value === 'string' && [...value].length > (rule as number))
          yield fault(`${pyRepr(value)} is too long`);
        break;
      case 'minLength':
        if (typeof value === 'string' && [...value].length < (rule as number))
          yield fault(`${pyRepr(value)} is too short`);
        break;
      case 'items':
        if (Array.isArray(value))
          for (const item of value) yield* schemaFaults(item, rule as JsonSchema, depth + 1);
        break;
      case 'required':
        if (isObject(value))
          for (const name of rule as string[])
            if (!(name in value)) yield fault(`${pyRepr(name)} is a required property`);
        break;
      case 'properties':
        if (isObject(value))
          for (const [name, sub] of Object.entries(rule as Record<string, JsonSchema>))
            if (Object.hasOwn(value, name)) yield* schemaFaults(value[name], sub, depth + 1);
        break;
      case 'additionalProperties': {
        if (!isObject(value)) break;
        const known = (schema.properties ?? {}) as Record<string, unknown>;
        const extras = Object.keys(value).filter((name) => !Object.hasOwn(known, name));
        if (rule === false && extras.length > 0) {
          const verb = extras.length === 1 ? 'was' : 'were';
          yield fault(
            `Additional properties are not allowed (${extras.map(pyRepr).join(', ')} ${verb} unexpected)`,
          );
        } else if (isObject(rule)) {
          for (const name of extras) yield* schemaFaults(value[name], rule, depth + 1);
        }
        break;
      }
    }
  }
}

/**
 * Throws the error jsonschema's best_match would pick (Glance raises only that one): the shallowest,
 * then one whose value misses the schema's type, then the first found.
 */
function validateImageSchema(value: unknown): void {
  let best: SchemaFault | undefined;
  for (const fault of schemaFaults(value, imageSchema(), 0)) {
    if (
      !best ||
      fault.depth < best.depth ||
      (fault.depth === best.depth && fault.typeMismatch && !best.typeMismatch)
    )
      best = fault;
  }
  if (best) throw schemaError(best.message);
}

/** Glance's domain checks on a value the schema let through: whole numbers within range, short keys. */
function checkDomainValue(key: string, value: unknown): void {
  if ((key === 'min_ram' || key === 'min_disk') && typeof value === 'number') {
    if (value < 0) {
      throw new ValidationError(
        'BAD_REQUEST',
        `Invalid value '${value}' for parameter '${key}': Cannot be a negative value`,
      );
    }
    if (value > 2 ** 31 - 1) {
      throw new ValidationError('BAD_REQUEST', `'${key}' value out of range, must not exceed 2147483647.`);
    }
  }
}

function checkCustomKey(key: string): void {
  if (key.length > 255) {
    throw new ValidationError('BAD_REQUEST', 'Custom property should not be greater than 255 characters.');
  }
}

/** Checks one attribute's value against the image schema we serve, then Glance's domain rules. */
export function checkAttributeValue(key: string, value: unknown): void {
  validateImageSchema({ [key]: value });
  if (!BASE_KEYS.has(key)) checkCustomKey(key);
  checkDomainValue(key, value);
}

export interface ImageCreateRequest {
  id?: string;
  base: Partial<
    Pick<
      ImageRecord,
      | 'name'
      | 'visibility'
      | 'protected'
      | 'os_hidden'
      | 'owner'
      | 'container_format'
      | 'disk_format'
      | 'min_ram'
      | 'min_disk'
    >
  >;
  tags: string[];
  properties: Record<string, string>;
}

const CREATE_BASE_KEYS = new Set([
  'name',
  'visibility',
  'protected',
  'os_hidden',
  'owner',
  'container_format',
  'disk_format',
  'min_ram',
  'min_disk',
]);

/** Glance's deserializer takes these as image attributes; every other key is an extra property. */
const BASE_KEYS = new Set([
  ...CREATE_BASE_KEYS,
  'checksum',
  'created_at',
  'id',
  'size',
  'virtual_size',
  'status',
  'tags',
  'updated_at',
]);

/** The read-only keys Glance's image factory refuses on create, in the order it looks for them. */
const FACTORY_READ_ONLY = [
  'created_at',
  'updated_at',
  'status',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'size',
  'virtual_size',
];

const readOnly = (key: string) =>
  new ValidationError('READ_ONLY_ATTRIBUTE', `Attribute '${key}' is read-only.`);
const reserved = (key: string) =>
  new ValidationError('RESERVED_ATTRIBUTE', `Attribute '${key}' is reserved.`, { detail: true });

/** Parses the body of POST /v2/images, with Glance's checks in Glance's order. */
export function readImageCreateRequest(body: unknown): ImageCreateRequest {
  if (body === undefined) throw new ValidationError('BAD_REQUEST', 'Body expected in request.');
  // Glance's schema has no top-level type and it fails with a 500 on a list; say what is wrong instead.
  if (Array.isArray(body)) throw schemaError(`${pyRepr(body)} is not of type 'object'`);
  if (!isObject(body)) throw new ValidationError('BAD_REQUEST', 'Unexpected body type. Expected list/dict.');
  // The deserializer refuses the API-level read-only keys, validates the schema, then checks extra keys.
  for (const key of ['direct_url', 'self', 'file', 'schema', 'stores']) {
    if (key in body) throw readOnly(key);
  }
  validateImageSchema(body);
  for (const key of Object.keys(body)) {
    if (BASE_KEYS.has(key)) continue;
    checkCustomKey(key);
    if (isReservedAttribute(key)) throw reserved(key);
  }
  // Then the image factory: read-only attributes in its order, locations, and the domain's value rules.
  for (const key of FACTORY_READ_ONLY) if (key in body) throw readOnly(key);
  for (const key of Object.keys(body)) if (READ_ONLY_ATTRIBUTES.has(key)) throw readOnly(key);
  if ('locations' in body)
    throw new ValidationError('RESERVED_ATTRIBUTE', "Attribute 'locations' is reserved.");
  const request: ImageCreateRequest = { base: {}, tags: [], properties: {} };
  for (const [key, value] of Object.entries(body)) {
    checkDomainValue(key, value);
    if (key === 'id') request.id = (value as string).toLowerCase();
    else if (key === 'tags') request.tags = dedupe(value as string[]);
    else if (CREATE_BASE_KEYS.has(key)) (request.base as Record<string, unknown>)[key] = value;
    // Properties are strings; one the schema lets be null (kernel_id, ramdisk_id) is left unset.
    else if (value !== null) request.properties[key] = value as string;
  }
  return request;
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
}

/** The two JSON-patch media types Glance accepts: draft 10 (`{"op","path"}`) and draft 4 (`{"add": path}`). */
const PATCH_MEDIA_TYPES = {
  v21: 'application/openstack-images-v2.1-json-patch',
  v20: 'application/openstack-images-v2.0-json-patch',
} as const;

export type PatchOperation =
  | {
      op: 'add';
      path: string;
      value: unknown;
      /** The location index (`/locations/<n>` or `-`). */
      position?: string;
      /** v2.0 patches refuse to add an attribute or property that is already there. */
      mustBeAbsent?: boolean;
    }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string; position?: string };

const OPERATIONS = ['add', 'remove', 'replace'];

/** Glance's deserializer allows two segments for adding or removing a location, one elsewhere. */
const pathDepth = (op: string, root: string) => (root === 'locations' && op !== 'replace' ? 2 : 1);

/** Glance's deserializer refuses these keys in a patch before looking at the value. */
const PATCH_READ_ONLY = new Set(['id', ...READ_ONLY_ATTRIBUTES]);

/**
 * Parses a JSON-patch body as Glance's deserializer does: the dialect is the media type's (v2.1 when
 * not given), each change is checked for read-only and reserved keys and against the schema.
 */
export function readImagePatch(body: unknown, mediaType: string = PATCH_MEDIA_TYPES.v21): PatchOperation[] {
  const draft4 = mediaType === PATCH_MEDIA_TYPES.v20;
  if (!Array.isArray(body)) {
    throw new ValidationError('INVALID_PATCH', 'Request body must be a JSON array of operation objects.');
  }
  return body.map((raw) => {
    if (!isObject(raw)) throw new ValidationError('INVALID_PATCH', 'Operations must be JSON objects.');
    const { op, path: rawPath } = draft4 ? readDraft4Operation(raw) : readDraft10Operation(raw);
    if (typeof rawPath !== 'string') {
      // Glance fails with a 500 on a path that is not a string; refuse it as a pointer instead.
      throw new ValidationError('INVALID_PATCH', `Pointer \`${pyStr(rawPath)}\` does not start with "/".`);
    }
    const segments = decodePointer(rawPath);
    if (segments.length !== pathDepth(op, segments[0]) || segments[0] === '') {
      throw new ValidationError(
        'INVALID_PATCH',
        `Invalid JSON pointer for this resource: '/${segments.join('/')}'`,
      );
    }
    const [key, position] = segments;
    if (op !== 'remove' && !('value' in raw))
      throw new ValidationError('INVALID_PATCH', `Operation "${op}" requires a member named "value".`);
    if (PATCH_READ_ONLY.has(key)) throw readOnly(key);
    if (isReservedAttribute(key)) throw reserved(key);
    if (op === 'remove') return position === undefined ? { op, path: key } : { op, path: key, position };
    // One segment: the value is the key's; two (a location): the value is one item of the list.
    validateImageSchema({ [key]: position === undefined ? raw.value : [raw.value] });
    if (op === 'replace') return { op, path: key, value: raw.value };
    return {
      op: 'add',
      path: key,
      value: raw.value,
      ...(position === undefined ? {} : { position }),
      ...(draft4 ? { mustBeAbsent: true } : {}),
    };
  });
}

function readDraft10Operation(raw: Record<string, unknown>): { op: PatchOperation['op']; path: unknown } {
  if (raw.op === undefined || raw.op === null) {
    throw new ValidationError(
      'INVALID_PATCH',
      `Unable to find \`op\` in JSON Schema change. It must be one of the following: ${OPERATIONS.join(', ')}.`,
    );
  }
  if (typeof raw.op !== 'string' || !OPERATIONS.includes(raw.op)) {
    throw new ValidationError(
      'INVALID_PATCH',
      `Invalid operation: \`${pyStr(raw.op)}\`. It must be one of the following: ${OPERATIONS.join(', ')}.`,
    );
  }
  if (!('path' in raw))
    throw new ValidationError('INVALID_PATCH', "Unable to find 'path' in JSON Schema change");
  return { op: raw.op as PatchOperation['op'], path: raw.path };
}

function readDraft4Operation(raw: Record<string, unknown>): { op: PatchOperation['op']; path: unknown } {
  const ops = OPERATIONS.filter((name) => name in raw);
  if (ops.length > 1) {
    throw new ValidationError(
      'INVALID_PATCH',
      'Operation objects must contain only one member named "add", "remove", or "replace".',
    );
  }
  if (ops.length === 0) {
    throw new ValidationError(
      'INVALID_PATCH',
      'Operation objects must contain exactly one member named "add", "remove", or "replace".',
    );
  }
  return { op: ops[0] as PatchOperation['op'], path: raw[ops[0]] };
}

/** Checks a JSON pointer as Glance does, then splits, unescapes and trims its segments. */
function decodePointer(path: string): string[] {
  const bad = (what: string) => new ValidationError('INVALID_PATCH', `Pointer \`${path}\` ${what}`);
  if (!path.startsWith('/')) throw bad('does not start with "/".');
  if (/\/\s*\//u.test(path.slice(1))) throw bad('contains adjacent "/".');
  if (path.length > 1 && path.endsWith('/')) throw bad('end with "/".');
  if (path.slice(1).trim() === '/') throw bad('does not contains valid token.');
  if (/~[^01]/.test(path) || path.endsWith('~'))
    throw bad('contains "~" not part of a recognized escape sequence.');
  return path
    .replace(/^\/+/, '')
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~').trim());
}

/** Applies parsed patch operations to a copy of the image; the caller checks permissions per key. */
export function applyImagePatch(
  image: ImageRecord,
  operations: PatchOperation[],
): { image: ImageRecord; touched: Set<string> } {
  const next: ImageRecord = { ...image, properties: { ...image.properties }, tags: [...image.tags] };
  const touched = new Set<string>();
  for (const operation of operations) {
    const key = operation.path;
    if (PATCH_READ_ONLY.has(key)) throw readOnly(key);
    if (isReservedAttribute(key)) throw reserved(key);
    // Locations stay hidden (show_multiple_locations is off), so every change to them is refused.
    if (key === 'locations') refuseLocationChange(operation);
    touched.add(key);
    const isBase = BASE_KEYS.has(key);
    if (operation.op === 'remove') {
      if (isBase) throw new AuthError('FORBIDDEN', `Property ${key} may not be removed.`, { detail: true });
      if (!(key in next.properties))
        throw new ConflictError('CONFLICT', `Property ${key} does not exist.`, { detail: true });
      delete next.properties[key];
      continue;
    }
    // Glance validated the value's schema already; the v2.0 conflict comes before the domain's checks.
    if (operation.op === 'add' && operation.mustBeAbsent && (isBase || key in next.properties))
      throw new ConflictError('CONFLICT', `Property ${key} already present.`, { detail: true });
    checkAttributeValue(key, operation.value);
    if (key === 'tags') {
      next.tags = dedupe(operation.value as string[]);
    } else if (isBase) {
      (next as unknown as Record<string, unknown>)[key] = operation.value;
    } else {
      if (operation.op === 'replace' && !(key in next.properties)) {
        throw new ConflictError('CONFLICT', `Property ${key} does not exist.`, { detail: true });
      }
      // A property the schema lets be null (kernel_id, ramdisk_id) is unset by null.
      if (operation.value === null) delete next.properties[key];
      else next.properties[key] = operation.value as string;
    }
  }
  return { image: next, touched };
}

function refuseLocationChange(operation: PatchOperation): never {
  switch (operation.op) {
    case 'replace':
      if (Array.isArray(operation.value) && operation.value.length === 0)
        throw new AuthError('FORBIDDEN', 'Cannot set locations to empty list.', { detail: true });
      throw new AuthError('FORBIDDEN', "It's not allowed to update locations if locations are invisible.");
    case 'add':
      throw new AuthError('FORBIDDEN', "It's not allowed to add locations if locations are invisible.");
    case 'remove':
      throw new AuthError('FORBIDDEN', "It's not allowed to remove locations if locations are invisible.");
  }
}

export const SORT_KEYS: readonly SortKey[] = [
  'name',
  'status',
  'container_format',
  'disk_format',
  'size',
  'id',
  'created_at',
  'updated_at',
];

/** Query parameters as parsed from the URL: repeated keys keep every value. */
export type QueryParams = Record<string, string | string[] | undefined>;

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const one = (params: QueryParams, key: string): string | undefined => list(params[key]).at(-1);

function invalid(message: string): ValidationError {
  return new ValidationError('INVALID_QUERY', message);
}

/** Glance lower-cases os_hidden but not protected before requiring exactly 'true' or 'false'. */
function readBoolean(value: string, name: string, lowerCase: boolean): boolean {
  const v = lowerCase ? value.toLowerCase() : value;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalid(`Invalid value '${value}' for '${name}' filter. Valid values are 'true' or 'false'.`);
}

/** python-iso8601's pattern, which Glance's parse_isotime uses: `2020`, `2020-01-01`, `20200101T10`... */
const ISO8601 =
  /^(?<year>[0-9]{4})(((-(?<monthDash>[0-9]{1,2}))|(?<month>[0-9]{2})(?!$))(((-(?<dayDash>[0-9]{1,2}))|(?<day>[0-9]{2}))(([ T](?<hour>[0-9]{2})(:?(?<minute>[0-9]{2}))?(:?(?<second>[0-9]{1,2})([.,](?<fraction>[0-9]+))?)?(?<zone>Z|((?<sign>[-+])(?<zoneHour>[0-9]{2}):?(?<zoneMinute>[0-9]{2})?))?)?))?)?$/;

/** Parses a time as Glance's parse_isotime does (UTC when no zone is given); undefined when it cannot. */
function parseIsoTime(text: string): Date | undefined {
  const g = ISO8601.exec(text)?.groups;
  if (!g) return undefined;
  const num = (value: string | undefined, fallback: number) =>
    value === undefined ? fallback : Number(value);
  const year = num(g.year, 0);
  const month = num(g.month ?? g.monthDash, 1);
  const day = num(g.day ?? g.dayDash, 1);
  const hour = num(g.hour, 0);
  const minute = num(g.minute, 0);
  const second = num(g.second, 0);
  // Python's datetime refuses what Date would roll over: year 0, month 13, 31 April, 24:00, 60 seconds.
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const sign = g.sign === '-' ? -1 : 1;
  const offset =
    g.zone === undefined || g.zone === 'Z' ? 0 : sign * (num(g.zoneHour, 0) * 60 + num(g.zoneMinute, 0));
  if (Math.abs(offset) >= 24 * 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Math.trunc(Number(`0.${g.fraction ?? 0}`) * 1000));
  return new Date(date.getTime() - offset * 60_000);
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** Glance's split_filter_op: `op:value`, unless the whole text is a time (whose colons are no operator). */
function splitFilterOp(text: string): { op: string; value: string } {
  const colon = text.indexOf(':');
  if (colon < 0 || parseIsoTime(text) !== undefined) return { op: 'eq', value: text };
  return { op: text.slice(0, colon), value: text.slice(colon + 1) };
}

/** Glance's `in:a,b,"c,d"` operator; a value with another `op:` prefix is an unknown operator. */
function readInOperator(value: string): string[] {
  const { op, value: rest } = splitFilterOp(value);
  if (op === 'eq' && rest === value) return [value];
  if (op !== 'in') throw invalid(`Unable to filter by unknown operator '${op}'.`);
  return splitQuotedList(rest);
}

function splitQuotedList(body: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= body.length) {
    if (body[i] === '"') {
      const close = body.indexOf('"', i + 1);
      if (close < 0) throw invalid(`Invalid filter value ${body}. The quote is not closed.`);
      out.push(body.slice(i + 1, close));
      i = close + 1;
      if (i < body.length && body[i] !== ',') {
        throw invalid(`Invalid filter value ${body}. There is no comma after closing quotation mark.`);
      }
      i++;
    } else {
      const comma = body.indexOf(',', i);
      const end = comma < 0 ? body.length : comma;
      const item = body.slice(i, end);
      if (item.includes('"'))
        throw invalid(`Invalid filter value ${body}. There is no comma before opening quotation mark.`);
      out.push(item);
      i = end + 1;
    }
  }
  return out;
}

/**
 * Each tag or property filter is one more condition in the list's SQL, and SQLite refuses an expression
 * more than 1000 terms deep; an image holds at most 128 tags and 128 properties by default anyway.
 */
const MAX_TAG_AND_PROPERTY_FILTERS = 256;

const TIME_OPERATORS = new Set<ComparisonOperator>(['eq', 'neq', 'gt', 'gte', 'lt', 'lte']);

/** Parses GET /v2/images query parameters (everything but the marker lookup, which needs storage). */
export function readImageListQuery(
  params: QueryParams,
  limits: { defaultPageSize: number; maxPageSize: number },
): Omit<ImageListQuery, 'viewer' | 'marker'> & { markerId?: string } {
  const query: Omit<ImageListQuery, 'viewer' | 'marker'> & { markerId?: string } = {
    memberStatus: 'accepted',
    anyOf: {},
    osHidden: false,
    timeFilters: [],
    tags: list(params.tag).map((t) => t.trim()),
    properties: {},
    sort: [],
    limit: limits.defaultPageSize,
  };
  const limit = one(params, 'limit');
  if (limit !== undefined) {
    if (!/^-?\d+$/.test(limit)) throw invalid('limit param must be an integer');
    const n = Number(limit);
    if (n < 0) throw invalid('limit param must be positive');
    query.limit = Math.min(n, limits.maxPageSize);
  }
  query.markerId = one(params, 'marker');

  const sortParam = one(params, 'sort');
  if (sortParam !== undefined && (params.sort_key !== undefined || params.sort_dir !== undefined)) {
    throw invalid('Old and new sorting syntax cannot be combined');
  }
  const checkKey = (key: string): SortKey => {
    if (!(SORT_KEYS as readonly string[]).includes(key)) {
      throw invalid(`Invalid sort key: ${key}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
    }
    return key as SortKey;
  };
  const checkDir = (dir: string): 'asc' | 'desc' => {
    if (dir !== 'asc' && dir !== 'desc') throw invalid(`Invalid sort direction: ${dir}`);
    return dir;
  };
  // As Glance's _get_sorting_params: `sort=k:d,k2` splits on commas and a missing direction is desc;
  // sort_key and sort_dir are taken whole (a comma is part of the key), one dir applying to every key.
  const keys: SortKey[] = [];
  const dirs: ('asc' | 'desc')[] = [];
  if (sortParam !== undefined) {
    for (const part of sortParam.trim().split(',')) {
      const colon = part.indexOf(':');
      const key = colon < 0 ? part : part.slice(0, colon);
      const dir = colon < 0 || colon === part.length - 1 ? 'desc' : part.slice(colon + 1);
      keys.push(checkKey(key.trim()));
      dirs.push(checkDir(dir.trim()));
    }
  } else {
    for (const key of list(params.sort_key)) keys.push(checkKey(key.trim()));
    for (const dir of list(params.sort_dir)) dirs.push(checkDir(dir.trim()));
    if (dirs.length > 1 && dirs.length !== keys.length) {
      throw invalid('Number of sort dirs does not match the number of sort keys');
    }
    if (keys.length === 0) keys.push('created_at');
    if (dirs.length === 0) dirs.push('desc');
  }
  // Glance's database API appends created_at and id as tie-breakers, in the direction given when
  // exactly one was (however many keys), and desc when there were several.
  const tieDir = dirs.length === 1 ? dirs[0] : 'desc';
  let sort: SortOrder[] = keys.map((key, i) => ({ key, dir: dirs.length === 1 ? dirs[0] : dirs[i] }));
  // A key sorted on again changes nothing (ORDER BY a, b, a is ORDER BY a, b): keep its first place,
  // so the ORDER BY stays as short as the list of sort keys however long the query string is.
  sort = sort.filter((s, i) => sort.findIndex((t) => t.key === s.key) === i);
  if (!sort.some((s) => s.key === 'created_at')) sort.push({ key: 'created_at', dir: tieDir });
  if (!sort.some((s) => s.key === 'id')) sort.push({ key: 'id', dir: tieDir });
  query.sort = sort;

  const visibility = one(params, 'visibility');
  if (visibility !== undefined) {
    if (visibility !== 'all' && !(VISIBILITIES as readonly string[]).includes(visibility)) {
      throw invalid(`Invalid visibility value: ${visibility}`);
    }
    query.visibility = visibility as Visibility | 'all';
  }
  const memberStatus = one(params, 'member_status');
  if (memberStatus !== undefined) {
    if (memberStatus !== 'all' && !(MEMBER_STATUSES as readonly string[]).includes(memberStatus)) {
      throw invalid(`Invalid status: ${memberStatus}`);
    }
    query.memberStatus = memberStatus as MemberStatus | 'all';
  }
  if (one(params, 'changes-since') !== undefined)
    throw invalid('The "changes-since" filter is no longer available on v2.');
  const osHidden = one(params, 'os_hidden');
  if (osHidden !== undefined) query.osHidden = readBoolean(osHidden, 'os_hidden', true);
  for (const name of ['size_min', 'size_max'] as const) {
    const value = one(params, name);
    if (value === undefined) continue;
    if (!/^-?\d+$/.test(value.trim())) throw invalid('Unable to filter on a range with a non-numeric value.');
    if (name === 'size_min') query.sizeMin = Number(value);
    else query.sizeMax = Number(value);
  }
  const size = one(params, 'size');
  if (size !== undefined) {
    // Glance compares size as given to the column; a value that is not a whole number matches nothing
    // there (or fails in the database): say so instead.
    if (!/^\d+$/.test(size.trim()))
      throw invalid(`Invalid value for size filter: ${size}. Give a whole number of bytes.`);
    query.size = Number(size);
  }
  for (const column of ['id', 'name', 'status', 'container_format', 'disk_format'] as const) {
    const value = one(params, column);
    if (value !== undefined) query.anyOf[column] = readInOperator(value);
  }
  for (const column of ['owner', 'checksum', 'os_hash_value'] as const) {
    const value = one(params, column);
    if (value !== undefined) query.anyOf[column] = [value];
  }
  for (const column of ['created_at', 'updated_at'] as const) {
    for (const value of list(params[column])) {
      // Glance parses the time before it looks at the operator.
      const { op, value: time } = splitFilterOp(value);
      const threshold = parseIsoTime(time);
      if (threshold === undefined)
        throw invalid(`Bad "${column}" query filter format. Use ISO 8601 DateTime notation.`);
      if (!TIME_OPERATORS.has(op as ComparisonOperator))
        throw invalid('Unable to filter on a unknown operator.');
      query.timeFilters.push({
        column,
        op: op as ComparisonOperator,
        value: threshold.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
    }
  }
  const known = new Set([
    'limit',
    'marker',
    'sort_key',
    'sort_dir',
    'sort',
    'visibility',
    'member_status',
    'os_hidden',
    'size_min',
    'size_max',
    'size',
    'id',
    'name',
    'status',
    'container_format',
    'disk_format',
    'owner',
    'created_at',
    'updated_at',
    'tag',
    'protected',
    'checksum',
    'os_hash_value',
    'changes-since',
  ]);
  for (const [key, value] of Object.entries(params)) {
    if (known.has(key) || value === undefined) continue;
    query.properties[key] = list(value).flatMap(readInOperator);
  }
  const filters = query.tags.length + Object.keys(query.properties).length;
  if (filters > MAX_TAG_AND_PROPERTY_FILTERS) {
    throw invalid(
      `Too many tag and property filters (${filters}); a list may filter on at most ${MAX_TAG_AND_PROPERTY_FILTERS}.`,
    );
  }
  const isProtected = one(params, 'protected');
  if (isProtected !== undefined) query.protected = readBoolean(isProtected, 'protected', false);
  return query;
}

/** The import methods Glance knows; only those in the server's list may be asked for. */
export type ImportMethod = 'glance-direct' | 'web-download';

export interface ImportRequest {
  method: ImportMethod;
  /** web-download's source. */
  uri?: string;
  allStoresMustSucceed: boolean;
  /** The body as given, for the task's input. */
  raw: Record<string, unknown>;
}

/** Reads `POST /v2/images/{id}/import`'s body with Glance's checks and messages, in Glance's order. */
export function readImportRequest(body: unknown, enabled: readonly string[]): ImportRequest {
  const bad = (message: string) => new ValidationError('BAD_REQUEST', message);
  if (body === undefined || body === null) throw bad('Body expected in request.');
  if (typeof body !== 'object' || Array.isArray(body)) throw bad("Import request requires a 'method' field.");
  const raw = body as Record<string, unknown>;
  const method = raw.method;
  if (method === undefined) throw bad("Import request requires a 'method' field.");
  if (typeof method !== 'object' || method === null || Array.isArray(method) || !('name' in method))
    throw bad("Import request requires a 'name' field.");
  const name = (method as Record<string, unknown>).name;
  if (typeof name !== 'string' || !enabled.includes(name))
    throw bad(`Unknown import method name '${String(name)}'.`);
  const allStoresMustSucceed = raw.all_stores_must_succeed ?? true;
  if (typeof allStoresMustSucceed !== 'boolean')
    throw bad("'all_stores_must_succeed' must be boolean value only");
  if (typeof (raw.all_stores ?? false) !== 'boolean') throw bad("'all_stores' must be boolean value only");
  const uri = (method as Record<string, unknown>).uri;
  return {
    method: name as ImportMethod,
    ...(typeof uri === 'string' ? { uri } : {}),
    allStoresMustSucceed,
    raw,
  };
}

/** Parses `GET /v2/tasks`: limit, marker, status, type, sort_dir (tasks are sorted by creation time). */
export function readTaskListQuery(
  params: QueryParams,
  limits: { defaultPageSize: number; maxPageSize: number },
): { limit: number; markerId?: string; status?: TaskStatus; type?: string; sortDir: 'asc' | 'desc' } {
  const query: ReturnType<typeof readTaskListQuery> = { limit: limits.defaultPageSize, sortDir: 'desc' };
  const limit = one(params, 'limit');
  if (limit !== undefined) {
    if (!/^-?\d+$/.test(limit)) throw invalid('limit param must be an integer');
    const n = Number(limit);
    if (n < 0) throw invalid('limit param must be positive');
    query.limit = Math.min(n, limits.maxPageSize);
  }
  const marker = one(params, 'marker');
  if (marker !== undefined) query.markerId = marker;
  const sortKey = one(params, 'sort_key');
  if (
    sortKey !== undefined &&
    sortKey !== 'created_at' &&
    sortKey !== 'updated_at' &&
    sortKey !== 'id' &&
    sortKey !== 'status' &&
    sortKey !== 'type'
  ) {
    throw invalid(`Invalid sort key: ${sortKey}.`);
  }
  const sortDir = one(params, 'sort_dir');
  if (sortDir !== undefined) {
    if (sortDir !== 'asc' && sortDir !== 'desc') throw invalid(`Invalid sort direction: ${sortDir}`);
    query.sortDir = sortDir;
  }
  const status = one(params, 'status');
  if (status !== undefined) {
    if (!(TASK_STATUSES as readonly string[]).includes(status))
      throw invalid(`Invalid status value: ${status}`);
    query.status = status as TaskStatus;
  }
  const type = one(params, 'type');
  if (type !== undefined) query.type = type;
  return query;
}

// Reads Glance v2 request bodies and query strings into checked values, with Glance's status codes
// and messages. Pure functions: no I/O, no clock.
import { AuthError, ConflictError, ValidationError } from '../errors/index.ts';
import {
  CONTAINER_FORMATS,
  DISK_FORMATS,
  type ImageRecord,
  isReservedAttribute,
  MEMBER_STATUSES,
  type MemberStatus,
  READ_ONLY_ATTRIBUTES,
  VISIBILITIES,
  type Visibility,
} from './model.ts';
import type { ComparisonOperator, ImageListQuery, SortKey, SortOrder } from './ports.ts';
import { TASK_STATUSES, type TaskStatus } from './tasks.ts';

const UUID = /^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$/;

function schemaError(reason: string): ValidationError {
  return new ValidationError('SCHEMA_VIOLATION', `Provided object does not match schema 'image': ${reason}`);
}

function readOnlyOrReserved(key: string): void {
  if (READ_ONLY_ATTRIBUTES.has(key)) {
    throw new ValidationError('READ_ONLY_ATTRIBUTE', `Attribute '${key}' is read-only.`);
  }
  if (isReservedAttribute(key)) {
    throw new ValidationError('RESERVED_ATTRIBUTE', `Attribute '${key}' is reserved.`, { detail: true });
  }
}

const repr = (value: unknown) => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value));

/** Checks one attribute's value against Glance's image schema; extra properties must be strings. */
export function checkAttributeValue(key: string, value: unknown): void {
  switch (key) {
    case 'id':
      if (typeof value !== 'string' || !UUID.test(value))
        throw schemaError(`${repr(value)} does not match the UUID pattern`);
      return;
    case 'name':
    case 'owner':
      if (value !== null && typeof value !== 'string')
        throw schemaError(`${repr(value)} is not of type 'null', 'string'`);
      if (typeof value === 'string' && value.length > 255) throw schemaError(`${repr(value)} is too long`);
      return;
    case 'visibility':
      if (!(VISIBILITIES as readonly unknown[]).includes(value)) {
        throw schemaError(`${repr(value)} is not one of ['community', 'public', 'private', 'shared']`);
      }
      return;
    case 'protected':
    case 'os_hidden':
      if (typeof value !== 'boolean') throw schemaError(`${repr(value)} is not of type 'boolean'`);
      return;
    case 'container_format':
      if (value !== null && !(CONTAINER_FORMATS as readonly unknown[]).includes(value)) {
        throw schemaError(
          `${repr(value)} is not one of [None, ${CONTAINER_FORMATS.map((f) => `'${f}'`).join(', ')}]`,
        );
      }
      return;
    case 'disk_format':
      if (value !== null && !(DISK_FORMATS as readonly unknown[]).includes(value)) {
        throw schemaError(
          `${repr(value)} is not one of [None, ${DISK_FORMATS.map((f) => `'${f}'`).join(', ')}]`,
        );
      }
      return;
    case 'min_ram':
    case 'min_disk':
      if (typeof value !== 'number' || !Number.isInteger(value))
        throw schemaError(`${repr(value)} is not of type 'integer'`);
      if (value < 0) {
        throw new ValidationError(
          'BAD_REQUEST',
          `Invalid value '${value}' for parameter '${key}': Cannot be a negative value`,
        );
      }
      if (value > 2 ** 31 - 1) {
        throw new ValidationError('BAD_REQUEST', `'${key}' value out of range, must not exceed 2147483647.`);
      }
      return;
    case 'tags':
      if (!Array.isArray(value)) throw schemaError(`${repr(value)} is not of type 'array'`);
      for (const tag of value) {
        if (typeof tag !== 'string') throw schemaError(`${repr(tag)} is not of type 'string'`);
        if (tag.length > 255) throw schemaError(`${repr(tag)} is too long`);
      }
      return;
    default:
      if (key.length > 255) {
        throw new ValidationError(
          'BAD_REQUEST',
          'Custom property should not be greater than 255 characters.',
        );
      }
      if (typeof value !== 'string') throw schemaError(`${repr(value)} is not of type 'string'`);
  }
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

/** Parses the body of POST /v2/images. */
export function readImageCreateRequest(body: unknown): ImageCreateRequest {
  if (body === undefined) throw new ValidationError('BAD_REQUEST', 'Body expected in request.');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('BAD_REQUEST', 'Unexpected body type. Expected list/dict.');
  }
  // Glance checks the API-level read-only keys first, then the schema, then reserved keys.
  for (const key of ['direct_url', 'self', 'file', 'schema', 'stores']) {
    if (key in body) throw new ValidationError('READ_ONLY_ATTRIBUTE', `Attribute '${key}' is read-only.`);
  }
  const request: ImageCreateRequest = { base: {}, tags: [], properties: {} };
  for (const [key, value] of Object.entries(body)) {
    readOnlyOrReserved(key);
    if (key === 'locations')
      throw new ValidationError('BAD_REQUEST', "Attribute 'locations' cannot be set on create.");
    checkAttributeValue(key, value);
    if (key === 'id') request.id = (value as string).toLowerCase();
    else if (key === 'tags') request.tags = dedupe(value as string[]);
    else if (CREATE_BASE_KEYS.has(key)) (request.base as Record<string, unknown>)[key] = value;
    else request.properties[key] = value as string;
  }
  return request;
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
}

export type PatchOperation =
  | { op: 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** Parses a JSON-patch body in either Glance dialect (v2.1 `{"op","path"}` or v2.0 `{"add": path}`). */
export function readImagePatch(body: unknown): PatchOperation[] {
  if (!Array.isArray(body)) {
    throw new ValidationError('INVALID_PATCH', 'Request body must be a JSON array of operation objects.');
  }
  return body.map((raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ValidationError('INVALID_PATCH', 'Operations must be JSON objects.');
    }
    const entry = raw as Record<string, unknown>;
    let op: string;
    let path: unknown;
    if ('op' in entry) {
      // A JSON value other than a string is shown, not converted: String() would run its toString.
      op = typeof entry.op === 'string' ? entry.op : repr(entry.op);
      path = entry.path;
      if (!['add', 'replace', 'remove'].includes(op)) {
        throw new ValidationError(
          'INVALID_PATCH',
          `Invalid operation: \`${op}\`. It must be one of the following: add, remove, replace.`,
        );
      }
      if (!('path' in entry))
        throw new ValidationError('INVALID_PATCH', "Unable to find 'path' in JSON Schema change");
    } else {
      const ops = ['add', 'replace', 'remove'].filter((name) => name in entry);
      if (ops.length === 0)
        throw new ValidationError(
          'INVALID_PATCH',
          'Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.',
        );
      if (ops.length > 1)
        throw new ValidationError(
          'INVALID_PATCH',
          'Operation objects must contain only one member named "add", "remove", or "replace".',
        );
      op = ops[0];
      path = entry[op];
    }
    if (typeof path !== 'string' || !path.startsWith('/')) {
      const shown = typeof path === 'string' ? path : repr(path);
      throw new ValidationError('INVALID_PATCH', `Pointer \`${shown}\` does not start with "/".`);
    }
    if (path.includes('//'))
      throw new ValidationError('INVALID_PATCH', `Pointer \`${path}\` contains adjacent "/".`);
    if (path.length > 1 && path.endsWith('/'))
      throw new ValidationError('INVALID_PATCH', `Pointer \`${path}\` end with "/".`);
    const segments = path
      .slice(1)
      .split('/')
      .map((segment) => decodePointer(segment, path));
    if (segments.length !== 1 || segments[0] === '') {
      throw new ValidationError('INVALID_PATCH', `Invalid JSON pointer for this resource: '${path}'`);
    }
    if (op === 'remove') return { op, path: segments[0] };
    if (!('value' in entry))
      throw new ValidationError('INVALID_PATCH', `Operation "${op}" requires a member named "value".`);
    return { op: op as 'add' | 'replace', path: segments[0], value: entry.value };
  });
}

function decodePointer(segment: string, path: string): string {
  if (/~[^01]|~$/.test(segment)) {
    throw new ValidationError(
      'INVALID_PATCH',
      `Pointer \`${path}\` contains "~" not part of a recognized escape sequence.`,
    );
  }
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
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
    readOnlyOrReserved(key);
    if (key === 'locations')
      throw new ConflictError('CONFLICT', 'It is not allowed to change locations of images.');
    touched.add(key);
    const isBase = CREATE_BASE_KEYS.has(key) || key === 'tags' || key === 'id';
    if (operation.op === 'remove') {
      if (isBase) throw new AuthError('FORBIDDEN', `Property ${key} may not be removed.`, { detail: true });
      if (!(key in next.properties))
        throw new ConflictError('CONFLICT', `Property ${key} does not exist.`, { detail: true });
      delete next.properties[key];
      continue;
    }
    if (key === 'id') throw new ValidationError('READ_ONLY_ATTRIBUTE', "Attribute 'id' is read-only.");
    checkAttributeValue(key, operation.value);
    if (key === 'tags') {
      next.tags = dedupe(operation.value as string[]);
    } else if (isBase) {
      (next as unknown as Record<string, unknown>)[key] = operation.value;
    } else {
      if (operation.op === 'replace' && !(key in next.properties)) {
        throw new ConflictError('CONFLICT', `Property ${key} does not exist.`, { detail: true });
      }
      next.properties[key] = operation.value as string;
    }
  }
  return { image: next, touched };
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

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Glance's `in:a,b,"c,d"` operator; a value with another `op:` prefix is an unknown operator. */
function readInOperator(value: string): string[] {
  const colon = value.indexOf(':');
  if (colon < 0 || ISO_TIME.test(value)) return [value];
  const op = value.slice(0, colon);
  if (op !== 'in') throw invalid(`Unable to filter by unknown operator '${op}'.`);
  return splitQuotedList(value.slice(colon + 1));
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

  const sortKeys = list(params.sort_key).flatMap((k) => k.split(','));
  const sortDirs = list(params.sort_dir).flatMap((d) => d.split(','));
  const sortParam = one(params, 'sort');
  if (sortParam !== undefined && (sortKeys.length || sortDirs.length)) {
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
  let sort: SortOrder[] = [];
  if (sortParam !== undefined) {
    sort = sortParam.split(',').map((part) => {
      const colon = part.indexOf(':');
      const key = (colon < 0 ? part : part.slice(0, colon)).trim();
      const dir = colon < 0 ? 'desc' : part.slice(colon + 1).trim();
      return { key: checkKey(key), dir: checkDir(dir) };
    });
  } else {
    if (sortDirs.length > 1 && sortDirs.length !== sortKeys.length) {
      throw invalid('Number of sort dirs does not match the number of sort keys');
    }
    const keys = sortKeys.length ? sortKeys : ['created_at'];
    sort = keys.map((key, i) => ({
      key: checkKey(key),
      dir: checkDir(sortDirs[sortDirs.length === 1 ? 0 : i] ?? 'desc'),
    }));
  }
  // A key sorted on again changes nothing (ORDER BY a, b, a is ORDER BY a, b): keep its first place,
  // so the ORDER BY stays as short as the list of sort keys however long the query string is.
  sort = sort.filter((s, i) => sort.findIndex((t) => t.key === s.key) === i);
  // Glance appends created_at and id as tie-breakers, in the single given direction if there was one.
  const dirs = new Set(sort.map((s) => s.dir));
  const tieDir = dirs.size === 1 && (sortParam !== undefined || sortDirs.length) ? [...dirs][0] : 'desc';
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
      const colon = value.indexOf(':');
      const hasOp = colon > 0 && !ISO_TIME.test(value);
      const op = hasOp ? value.slice(0, colon) : 'eq';
      const time = hasOp ? value.slice(colon + 1) : value;
      if (!TIME_OPERATORS.has(op as ComparisonOperator))
        throw invalid('Unable to filter on a unknown operator.');
      if (!ISO_TIME.test(time) || Number.isNaN(Date.parse(time))) {
        throw invalid(`Bad "${column}" query filter format. Use ISO 8601 DateTime notation.`);
      }
      query.timeFilters.push({
        column,
        op: op as ComparisonOperator,
        value: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
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

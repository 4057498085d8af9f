// Reads key-manager requests as Barbican does: the new-secret JSON schema and validator (with its exact
// messages), the list query with its paging and filters, and the two-step payload upload.
import { ImageTrustError, ValidationError } from '../errors/index.ts';
import {
  decodeLenientBase64,
  describeEncodings,
  isEncodingAllowed,
  isSupportedContentType,
  SUPPORTED_CONTENT_TYPES,
  toStoredContentType,
} from './media-types.ts';
import { SECRET_TYPES, type SecretType, type StoredContentType } from './model.ts';

/** Barbican's max_allowed_secret_in_bytes default. */
export const MAX_SECRET_BYTES = 20000;
/** Barbican's paging defaults (default_limit_paging, max_limit_paging). */
export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;

/** A validated new secret: metadata, and the payload bytes when the request carried one. */
export interface SecretCreateRequest {
  name: string | null;
  secretType: SecretType;
  algorithm: string | null;
  bitLength: number | null;
  mode: string | null;
  /** ISO 8601 UTC with milliseconds. */
  expiration: string | null;
  payload: { bytes: Buffer; contentType: StoredContentType } | null;
}

type PropertySchema = {
  type: ('string' | 'null' | 'integer')[];
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: readonly string[];
};

/** NewSecretValidator's schema, in its property order (the first failing property is the one reported). */
const SECRET_SCHEMA: [string, PropertySchema][] = [
  ['name', { type: ['string', 'null'], maxLength: 255 }],
  ['algorithm', { type: ['string'], maxLength: 255 }],
  ['mode', { type: ['string'], maxLength: 255 }],
  ['bit_length', { type: ['integer'], minimum: 1, maximum: 32767 }],
  ['expiration', { type: ['string'], maxLength: 255 }],
  ['payload', { type: ['string'] }],
  ['secret_type', { type: ['string'], maxLength: 80, enum: SECRET_TYPES }],
  ['payload_content_type', { type: ['string', 'null'], maxLength: 255 }],
  ['payload_content_encoding', { type: ['string'], maxLength: 255, enum: ['base64'] }],
  ['transport_key_needed', { type: ['string'], enum: ['true', 'false'] }],
  ['transport_key_id', { type: ['string'] }],
];

/** Python's repr of a JSON value, as jsonschema quotes it in messages. */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const escaped = [...value]
      .map((c) => {
        if (c === '\\') return '\\\\';
        if (c === quote) return `\\${quote}`;
        if (c === '\n') return '\\n';
        if (c === '\r') return '\\r';
        if (c === '\t') return '\\t';
        const code = c.codePointAt(0)!;
        if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
        return c;
      })
      .join('');
    return `${quote}${escaped}${quote}`;
  }
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  return `{${Object.entries(value as object)
    .map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`)
    .join(', ')}}`;
}

function invalidObject(reason: string, property: string | null): ValidationError {
  return new ValidationError(
    'BAD_REQUEST',
    `Provided object does not match schema 'Secret': ${reason}. Invalid property: '${property ?? 'None'}'`,
  );
}

function typeMatches(value: unknown, type: PropertySchema['type'][number]): boolean {
  if (type === 'null') return value === null;
  if (type === 'string') return typeof value === 'string';
  return typeof value === 'number' && Number.isInteger(value);
}

/** The first schema violation, worded as jsonschema words it; null when the body conforms. */
function schemaViolation(body: Record<string, unknown>): ValidationError | null {
  for (const [property, schema] of SECRET_SCHEMA) {
    if (!(property in body)) continue;
    const value = body[property];
    if (!schema.type.some((type) => typeMatches(value, type))) {
      return invalidObject(
        `${pythonRepr(value)} is not of type ${schema.type.map((t) => `'${t}'`).join(', ')}`,
        property,
      );
    }
    if (typeof value === 'string' && schema.maxLength !== undefined && [...value].length > schema.maxLength) {
      return invalidObject(`${pythonRepr(value)} is too long`, property);
    }
    if (typeof value === 'number') {
      if (schema.minimum !== undefined && value < schema.minimum)
        return invalidObject(`${value} is less than the minimum of ${schema.minimum}`, property);
      if (schema.maximum !== undefined && value > schema.maximum)
        return invalidObject(`${value} is greater than the maximum of ${schema.maximum}`, property);
    }
    if (schema.enum && !schema.enum.includes(value as string)) {
      return invalidObject(`${pythonRepr(value)} is not one of ${pythonRepr([...schema.enum])}`, property);
    }
  }
  return null;
}

/** Barbican strips whitespace from every string in the body, at any depth, before validating. */
export function stripStrings(value: unknown): unknown {
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value)) return value.map(stripStrings);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripStrings(v)]));
  }
  return value;
}

const ISO_DATE =
  /^(\d{4})(?:-?(\d{1,2})(?:-?(\d{1,2})(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/;

/**
 * Parses an ISO 8601 date as oslo's parse_isotime does (zone-less means UTC, date-only and compact
 * forms allowed); returns ISO UTC with milliseconds, or null when it is not a valid date.
 */
export function parseIsoTime(text: string): string | null {
  const m = ISO_DATE.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) =>
    m[i] === undefined ? (i === 2 || i === 3 ? 1 : 0) : Number(m[i]),
  );
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(local);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes =
      (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * (zone[0] === '-' ? -1 : 1);
  }
  return new Date(local - offsetMinutes * 60_000).toISOString();
}

/**
 * Validates a `POST /v1/secrets` body as Barbican's NewSecretValidator, with its messages and order;
 * `now` decides whether an expiration is already past.
 */
export function readSecretCreateRequest(raw: unknown, now: Date): SecretCreateRequest {
  const stripped = stripStrings(raw);
  if (typeof stripped !== 'object' || stripped === null || Array.isArray(stripped)) {
    throw invalidObject(`${pythonRepr(stripped)} is not of type 'object'`, null);
  }
  const body = stripped as Record<string, unknown>;
  const violation = schemaViolation(body);
  if (violation) throw violation;

  let expiration: string | null = null;
  const rawExpiration = body.expiration as string | undefined;
  if (rawExpiration) {
    expiration = parseIsoTime(rawExpiration);
    if (expiration === null) throw invalidObject("Invalid date for 'expiration'", 'expiration');
    if (expiration <= now.toISOString())
      throw invalidObject("'expiration' is before current time", 'expiration');
  }

  const contentType = body.payload_content_type as string | null | undefined;
  let payload: SecretCreateRequest['payload'] = null;
  if ('payload' in body) {
    const encoding = body.payload_content_encoding as string | undefined;
    if (contentType === null || contentType === undefined) {
      throw invalidObject(
        "If 'payload' is supplied, 'payload_content_type' must also be supplied.",
        'payload_content_type',
      );
    }
    if (!isSupportedContentType(contentType)) {
      throw invalidObject(
        `payload_content_type is not one of ${pythonRepr([...SUPPORTED_CONTENT_TYPES])}`,
        'payload_content_type',
      );
    }
    if (!isEncodingAllowed(contentType, encoding)) {
      throw invalidObject(
        `payload_content_encoding is not one of ${describeEncodings(contentType)}`,
        'payload_content_encoding',
      );
    }
    const text = body.payload as string;
    if (Buffer.byteLength(text, 'utf8') > MAX_SECRET_BYTES) throw secretTooLarge();
    if (text === '') throw invalidObject("If 'payload' specified, must be non empty", 'payload');
    let bytes: Buffer;
    if (encoding === 'base64') {
      const decoded = decodeLenientBase64(text);
      // Text with no base64 in it ("!!!%%%") decodes to nothing; Barbican refuses it rather than store an empty secret.
      if (decoded === null || decoded.length === 0) {
        throw invalidObject('Invalid payload for payload_content_encoding', 'payload');
      }
      bytes = decoded;
    } else {
      bytes = Buffer.from(text, 'utf8');
    }
    payload = { bytes, contentType: toStoredContentType(contentType) };
  } else if ('payload_content_type' in body) {
    throw invalidObject('payload must be provided when payload_content_type is specified', 'payload');
  }
  if (body.transport_key_needed === 'true') {
    // No transport-key plugin exists here; Barbican's simple_crypto setup fails the same way (500).
    throw new ImageTrustError('INTERNAL', 'Transport keys are not supported by this key manager.');
  }

  return {
    name: typeof body.name === 'string' ? body.name : null,
    secretType: (body.secret_type as SecretType | undefined) ?? 'opaque',
    algorithm: (body.algorithm as string | undefined) ?? null,
    bitLength: (body.bit_length as number | undefined) ?? null,
    mode: (body.mode as string | undefined) ?? null,
    expiration,
    payload,
  };
}

function secretTooLarge(operation?: string): ImageTrustError {
  return new ImageTrustError(
    'SECRET_TOO_LARGE',
    operation
      ? `${operation} issue seen - Provided information too large to process.`
      : 'Provided information too large to process',
  );
}

/**
 * Reads the body of the two-step `PUT /v1/secrets/{id}` as Barbican's on_put: the media type decides
 * text or binary, and binary may arrive base64-encoded (Content-Encoding: base64).
 */
export function readPayloadUpload(
  mediaType: string | undefined,
  contentEncoding: string | undefined,
  body: Buffer,
): { bytes: Buffer; contentType: StoredContentType } {
  const operation = 'Secret update';
  if (mediaType !== 'application/octet-stream' && mediaType !== 'text/plain') {
    throw new ValidationError(
      'UNSUPPORTED_MEDIA_TYPE',
      "Unexpected content type. Expected content types are: ['application/octet-stream', 'text/plain']",
    );
  }
  if (body.length === 0) {
    throw new ValidationError('BAD_REQUEST', `${operation} issue seen - No data supplied to process..`);
  }
  if (body.length > MAX_SECRET_BYTES) throw secretTooLarge(operation);
  if (mediaType === 'text/plain' || !contentEncoding) return { bytes: body, contentType: mediaType };
  if (contentEncoding.toLowerCase() === 'base64') {
    // Barbican stores undecodable base64 as given and fails later, on every read; refuse it up front.
    const bytes = decodeLenientBase64(body.toString('latin1'));
    if (bytes === null) {
      throw new ValidationError('BAD_REQUEST', `${operation} issue seen - Problem decoding payload.`);
    }
    if (bytes.length === 0) {
      throw new ValidationError('BAD_REQUEST', `${operation} issue seen - No data supplied to process..`);
    }
    return { bytes, contentType: mediaType };
  }
  throw new ValidationError(
    'BAD_REQUEST',
    `${operation} issue seen - Text-based binary secret payloads must specify a content-encoding of 'base64'.`,
  );
}

const SORT_KEYS = [
  'algorithm',
  'bit_length',
  'created',
  'expiration',
  'mode',
  'name',
  'secret_type',
  'status',
  'updated',
] as const;
export type SecretSortKey = (typeof SORT_KEYS)[number];
export type DateFilterOp = 'eq' | 'gt' | 'gte' | 'lt' | 'lte';

export interface SecretListRequest {
  offset: number;
  limit: number;
  name?: string;
  algorithm?: string;
  mode?: string;
  bitLength?: number;
  secretType?: string;
  dateFilters: { column: 'created' | 'updated' | 'expiration'; op: DateFilterOp; value: string }[];
  sort: { key: SecretSortKey; dir: 'asc' | 'desc' }[];
  /** `acl_only=true`: the secrets whose ACLs list the caller, from any project, instead of the project's. */
  aclOnly: boolean;
}

export type ListQueryParams = Record<string, string | string[] | undefined>;

function lastValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** Python's int() on a query value: optional sign and surrounding whitespace, digits only. */
function pythonInt(text: string | undefined): number | null {
  if (text === undefined || !/^\s*[+-]?\d+\s*$/.test(text)) return null;
  return Number(text.trim());
}

function badQuery(): ValidationError {
  return new ValidationError('INVALID_QUERY', 'URI provided invalid query string parameters.');
}

/** _is_valid_date_filter: at most one lower and one upper bound, and eq only alone with gt/lt. */
function readDateFilter(
  column: 'created' | 'updated' | 'expiration',
  text: string,
): SecretListRequest['dateFilters'] {
  const seen = new Set<DateFilterOp>();
  const filters: SecretListRequest['dateFilters'] = [];
  for (const part of text.split(',')) {
    const match = /^(gte|gt|lte|lt):/.exec(part);
    const op = (match?.[1] ?? 'eq') as DateFilterOp;
    const conflicts: Record<DateFilterOp, DateFilterOp[]> = {
      gt: ['gt', 'gte'],
      gte: ['gt', 'gte', 'eq'],
      lt: ['lt', 'lte'],
      lte: ['lt', 'lte', 'eq'],
      eq: ['eq', 'gte', 'lte'],
    };
    if (conflicts[op].some((other) => seen.has(other))) throw badQuery();
    const value = parseIsoTime(match ? part.slice(match[0].length) : part);
    if (value === null) throw badQuery();
    seen.add(op);
    filters.push({ column, op, value });
  }
  return filters;
}

/** Reads `GET /v1/secrets` parameters with Barbican's lenient paging and strict date/sort checks. */
export function readSecretListQuery(query: ListQueryParams): SecretListRequest {
  const value = (key: string) => lastValue(query[key]);
  const request: SecretListRequest = {
    offset: 0,
    limit: DEFAULT_PAGE_SIZE,
    dateFilters: [],
    sort: [],
    aclOnly: value('acl_only')?.toLowerCase() === 'true',
  };

  // clean_paging_values: bad offsets become 0, bad limits the default, and limits are clamped.
  const offset = value('offset') ? pythonInt(value('offset')) : 0;
  request.offset = offset === null || offset < 0 || offset > Number.MAX_SAFE_INTEGER ? 0 : offset;
  const limit = value('limit') ? pythonInt(value('limit')) : DEFAULT_PAGE_SIZE;
  request.limit = limit === null ? DEFAULT_PAGE_SIZE : Math.min(Math.max(limit, 1), MAX_PAGE_SIZE);

  const name = value('name');
  if (name) {
    // Barbican unquotes the already-decoded name once more (unquote_plus).
    const plus = name.replaceAll('+', ' ');
    try {
      request.name = decodeURIComponent(plus);
    } catch {
      request.name = plus;
    }
  }
  if (value('alg')) request.algorithm = value('alg');
  if (value('mode')) request.mode = value('mode');
  const bits = pythonInt(value('bits'));
  if (bits !== null && bits > 0) request.bitLength = bits;
  if (value('secret_type')) request.secretType = value('secret_type');

  for (const column of ['created', 'updated', 'expiration'] as const) {
    const filter = value(column);
    if (filter) request.dateFilters.push(...readDateFilter(column, filter));
  }
  const sort = value('sort');
  if (sort) {
    for (const part of sort.split(',')) {
      const pieces = part.split(':');
      if (pieces.length > 2) throw badQuery();
      const [key, dir = 'asc'] = pieces;
      if (!(SORT_KEYS as readonly string[]).includes(key) || (dir !== 'asc' && dir !== 'desc'))
        throw badQuery();
      if (request.sort.some((s) => s.key === key)) throw badQuery();
      request.sort.push({ key: key as SecretSortKey, dir });
    }
  }
  return request;
}

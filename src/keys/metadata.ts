// A secret's user metadata as Barbican v1 models it: string keys (URL-safe, stored lower case) mapped to
// string values. Reading the two request bodies (the whole map, one key) is pure, with Barbican's texts.
import { ValidationError } from '../errors/index.ts';
import { pythonRepr, stripStrings } from './requests.ts';

/** A secret's metadata: key to value, keys lower case. */
export type SecretMetadata = Record<string, string>;

/** One key and its value, as `POST` and `PUT /v1/secrets/{id}/metadata/{key}` carry them. */
export interface SecretMetadatum {
  key: string;
  value: string;
}

/** The limit Barbican's metadatum schema puts on a key and on a value (the whole-map PUT has none). */
const MAX_METADATUM_LENGTH = 255;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function invalidObject(schema: string, reason: string, property: string | null): ValidationError {
  return new ValidationError(
    'BAD_REQUEST',
    `Provided object does not match schema '${schema}': ${reason}. Invalid property: '${property ?? 'None'}'`,
  );
}

const invalidKey = () => new ValidationError('BAD_REQUEST', 'Invalid Key. Key must be URL safe.');

/**
 * Reads `PUT /v1/secrets/{id}/metadata` as Barbican's NewSecretMetadataValidator does: `metadata` must be
 * an object whose keys are URL-safe and whose values are strings, with no length limit. Keys are lowered;
 * when two keys differ only in case, the value of the last one not already lower case wins, because
 * Barbican re-inserts each such key in lower case over whatever was there.
 */
export function readMetadataRequest(raw: unknown): SecretMetadata {
  const body = stripStrings(raw);
  if (!isObject(body))
    throw invalidObject('SecretMetadata', `${pythonRepr(body)} is not of type 'object'`, null);
  if (!('metadata' in body)) {
    throw invalidObject('SecretMetadata', "'metadata' is a required property", 'metadata');
  }
  const given = body.metadata;
  if (!isObject(given)) {
    throw invalidObject('SecretMetadata', `${pythonRepr(given)} is not of type 'object'`, 'metadata');
  }
  // A Map keeps Barbican's dict semantics: a key re-set in place keeps its position, a deleted one goes.
  const metadata = new Map(Object.entries(given));
  for (const key of Object.keys(given)) {
    if (!URL_SAFE.test(key)) throw invalidKey();
    const value = metadata.get(key);
    if (typeof value !== 'string') {
      throw new ValidationError('BAD_REQUEST', 'Invalid Metadata. Keys and Values must be Strings.');
    }
    if (key !== key.toLowerCase()) {
      metadata.delete(key);
      metadata.set(key.toLowerCase(), value);
    }
  }
  return Object.fromEntries(metadata) as SecretMetadata;
}

/**
 * Reads a metadatum body as Barbican's NewSecretMetadatumValidator does: exactly `key` and `value`,
 * strings of at most 255 characters, the key URL-safe; the key comes back lower case.
 */
export function readMetadatumRequest(raw: unknown): SecretMetadatum {
  const body = stripStrings(raw);
  const fail = (reason: string, property: string | null) =>
    invalidObject('SecretMetadatum', reason, property);
  if (!isObject(body)) throw fail(`${pythonRepr(body)} is not of type 'object'`, null);
  const extra = Object.keys(body).filter((name) => name !== 'key' && name !== 'value');
  if (extra.length > 0) {
    const quoted = extra.map((name) => pythonRepr(name)).join(', ');
    throw fail(
      `Additional properties are not allowed (${quoted} ${extra.length === 1 ? 'was' : 'were'} unexpected)`,
      null,
    );
  }
  for (const property of ['key', 'value'] as const) {
    if (!(property in body)) throw fail(`'${property}' is a required property`, property);
    const value = body[property];
    if (typeof value !== 'string') throw fail(`${pythonRepr(value)} is not of type 'string'`, property);
    if ([...value].length > MAX_METADATUM_LENGTH) throw fail(`${pythonRepr(value)} is too long`, property);
  }
  const key = body.key as string;
  if (!URL_SAFE.test(key)) throw invalidKey();
  return { key: key.toLowerCase(), value: body.value as string };
}

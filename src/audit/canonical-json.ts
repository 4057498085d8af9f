// Canonical JSON for audit leaves, so anyone can re-make the exact bytes of a leaf from its fields.
//
// The encoding is RFC 8785 (JCS) restricted to the values an audit event holds:
//   - objects: members sorted by key, comparing keys as strings of UTF-16 code units (JavaScript's
//     default sort); no whitespace anywhere; members whose value is `undefined` are left out;
//   - arrays: elements in order; `undefined` is refused;
//   - strings: as ECMAScript JSON.stringify writes them (", \ and control characters escaped,
//     everything else literal UTF-8; lone surrogates are escaped as \udXXX);
//   - numbers: finite only, as ECMAScript Number#toString writes them (integers without exponent or ".0");
//   - true, false, null.
// The leaf bytes are the UTF-8 encoding of that text.
import { ValidationError } from '../errors/index.ts';

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, at: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw refuse(at, 'a non-finite number');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => write(item, `${at}[${i}]`)).join(',')}]`;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) throw refuse(at, 'a non-plain object');
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${write(record[key], `${at}.${key}`)}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw refuse(at, `a value of type ${typeof value}`);
  }
}

function refuse(at: string, what: string): ValidationError {
  return new ValidationError(
    'BAD_REQUEST',
    `Audit event field ${at} is ${what}; only JSON values are logged.`,
  );
}

// The one gate every JSON request body passes before anything reads it: the bytes must be UTF-8
// (RFC 8259 §8.1; decoding with replacement would store U+FFFD where the client sent something else) and
// nest no deeper than MAX_JSON_DEPTH, so no recursive reader behind it (our parsers, JSON.stringify,
// template strings joining arrays) can overflow the stack, and hold no NUL (`\u0000`), which no API here
// takes and PostgreSQL text cannot store. Keystone, Glance and Barbican all answer 400.
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../errors/index.ts';

/** Largest JSON body accepted; image metadata is small, so anything bigger is a mistake or an attack. */
export const JSON_BODY_LIMIT = 1 << 20;

/** Deeper than any document the APIs take (policy.json needs 6, compliance reports fewer than 10). */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether a media type (without parameters) carries JSON: application/json, +json and the JSON patches. */
export function isJsonMediaType(type: string | undefined): boolean {
  return type !== undefined && /^application\/([\w.+-]*[.+-])?json(-patch)?$/i.test(type);
}

/** `\u0000` after the backslash at `i`: a JSON string escape that decodes to NUL. */
const isNulEscape = (bytes: Uint8Array, i: number) =>
  bytes[i + 1] === 0x75 &&
  bytes[i + 2] === 0x30 &&
  bytes[i + 3] === 0x30 &&
  bytes[i + 4] === 0x30 &&
  bytes[i + 5] === 0x30;

/**
 * Finds what JSON.parse would accept but the APIs must not, without parsing: nesting deeper than
 * `limit` and NUL escapes in strings (a raw NUL byte is not JSON at all and fails the parse).
 */
function findHazard(bytes: Uint8Array, limit: number): 'depth' | 'nul' | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) {
        if (isNulEscape(bytes, i)) return 'nul';
        i++;
      } else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > limit) return 'depth';
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return null;
}

/** Checks a JSON body's bytes and returns its text; throws 400 MALFORMED_JSON or BAD_REQUEST. */
export function readJsonText(bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new ValidationError('MALFORMED_JSON', 'Malformed JSON in request body: it is not UTF-8.', {
      cause: error,
    });
  }
  const hazard = findHazard(bytes, MAX_JSON_DEPTH);
  if (hazard === 'depth') {
    throw new ValidationError(
      'BAD_REQUEST',
      `The JSON in the request body is nested deeper than ${MAX_JSON_DEPTH} levels.`,
    );
  }
  if (hazard === 'nul') {
    throw new ValidationError(
      'BAD_REQUEST',
      'The JSON in the request body has a NUL character (\\u0000) in a string.',
    );
  }
  return text;
}

/** Parses a JSON body after `readJsonText`; an empty body is `undefined`. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  const text = readJsonText(bytes);
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError('MALFORMED_JSON', 'Malformed JSON in request body.', { cause: error });
  }
}

/**
 * The JSON body of a Glance request whatever its Content-Type: Glance's deserializer never looks at the
 * type of a JSON body (measured on Glance 25.1: a create sent as text/plain, as a form or with no type
 * answers 201, as do member and metadef calls), only data uploads and PATCH do. A body the JSON parser
 * took is returned as parsed; one that arrived as a stream (any other type) is read here under the same
 * size limit and through the same gate.
 */
export async function glanceJsonBody(request: FastifyRequest): Promise<unknown> {
  const body = request.body;
  if (body === null || typeof body !== 'object' || typeof (body as { pipe?: unknown }).pipe !== 'function') {
    return body;
  }
  return parseJsonBody(await readLimited(body as Readable, request.headers['content-length']));
}

const tooLarge = () =>
  new ValidationError('BAD_REQUEST', 'The request body is larger than this API accepts.');

/**
 * Reads at most JSON_BODY_LIMIT bytes. Past the limit it stops listening without destroying the stream,
 * as Fastify's own parser does: the answer still goes out, and Node discards the rest of the body.
 */
function readLimited(stream: Readable, declaredLength: string | undefined): Promise<Buffer> {
  if (Number(declaredLength) > JSON_BODY_LIMIT) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > JSON_BODY_LIMIT) {
        stop();
        reject(tooLarge());
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

/**
 * For the APIs that keep bodies as bytes (Barbican, containers, governance) and parse JSON themselves:
 * a body sent as JSON is checked here, once, before any route reads it.
 */
export async function checkRawJsonBody(request: FastifyRequest): Promise<void> {
  if (!Buffer.isBuffer(request.body)) return;
  const type = request.headers['content-type']?.split(';')[0].trim();
  if (isJsonMediaType(type)) readJsonText(request.body);
}

/**
 * A NUL in the path or the query (`%00`) names nothing any API stores and cannot be looked up in
 * PostgreSQL; it is refused before routing, whatever the route.
 */
export async function refuseNulInUrl(request: FastifyRequest): Promise<void> {
  if (/%00/i.test(request.url)) {
    throw new ValidationError('BAD_REQUEST', 'The request URL has a NUL character (%00) in it.');
  }
}

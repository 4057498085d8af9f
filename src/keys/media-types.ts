// Barbican's payload content types: which a client may store, how they normalise, which transfer
// encodings each allows, and how a stored payload is returned for an Accept header.
import { ImageTrustError, ValidationError } from '../errors/index.ts';
import type { StoredContentType } from './model.ts';

/** What clients may give as payload_content_type, exactly as Barbican lists them in its errors. */
export const SUPPORTED_CONTENT_TYPES = [
  'text/plain',
  'text/plain;charset=utf-8',
  'text/plain; charset=utf-8',
  'application/octet-stream',
  'application/pkcs8',
] as const;
const PLAIN_TEXT: readonly string[] = SUPPORTED_CONTENT_TYPES.slice(0, 3);
const BINARY: readonly string[] = ['application/octet-stream', 'application/pkcs8'];

/** The encodings each stored type accepts; null means "no encoding may be given". */
const ENCODINGS: Record<StoredContentType, readonly string[] | null> = {
  'text/plain': null,
  'application/octet-stream': ['base64', 'binary'],
  'application/pkcs8': ['base64', 'binary'],
};

/**
 * Barbican's normalize_content_type: lower-case the type, accept a utf-8 charset, map to the internal
 * type; anything it cannot map comes back unchanged (and is then unsupported).
 */
export function normalizeContentType(mimeType: string): string {
  const parts = mimeType.split(';').map((part) => part.trim());
  const mime = parts[0].toLowerCase();
  if (parts.length > 1) {
    const charset = parts[1].toLowerCase();
    if (!charset.includes('=')) return mimeType;
    if (charset.split('=').map((s) => s.trim())[1] !== 'utf-8') return mimeType;
  }
  return mime === 'text/plain' || BINARY.includes(mime) ? mime : mimeType;
}

export function isSupportedContentType(mimeType: string): boolean {
  return (SUPPORTED_CONTENT_TYPES as readonly string[]).includes(normalizeContentType(mimeType));
}

/** The normalised stored type of a supported content type. */
export function toStoredContentType(mimeType: string): StoredContentType {
  return normalizeContentType(mimeType) as StoredContentType;
}

/** Whether `encoding` (undefined when absent) may go with a supported content type. */
export function isEncodingAllowed(mimeType: string, encoding: string | null | undefined): boolean {
  const allowed = ENCODINGS[toStoredContentType(mimeType)];
  return allowed === null
    ? encoding === null || encoding === undefined
    : allowed.includes(encoding as string);
}

/** Python's repr of the allowed encodings, as Barbican prints them: `['base64', 'binary']` or `None`. */
export function describeEncodings(mimeType: string): string {
  const allowed = ENCODINGS[toStoredContentType(mimeType)];
  return allowed === null ? 'None' : `[${allowed.map((e) => `'${e}'`).join(', ')}]`;
}

/**
 * Barbican's is_json_request_accept: metadata is returned for no Accept, exactly `application/json` or
 * exactly `*\/*`; any other Accept on `GET /v1/secrets/{id}` asks for the payload.
 */
export function isJsonAccept(accept: string | undefined): boolean {
  return accept === undefined || accept === 'application/json' || accept === '*/*';
}

export interface PayloadRepresentation {
  body: Buffer;
  /** The Content-Type to answer with. */
  contentType: string;
}

/**
 * Returns the stored payload for an Accept header as Barbican's get_secret does: no Accept means
 * octet-stream, `*\/*` means the stored type, and the header must otherwise name one supported type.
 * Text is returned only when the bytes are valid UTF-8. `operation` prefixes the error descriptions.
 */
export function negotiatePayload(
  payload: Buffer,
  storedType: StoredContentType,
  accept: string | undefined,
  operation: string,
): PayloadRepresentation {
  let requested = accept === undefined || accept === '' ? 'application/octet-stream' : accept;
  // Barbican answers `*/*` with the stored bytes but echoes the header as the response type.
  const responseType = requested;
  if (requested === '*/*') requested = storedType;
  const notAcceptable = () =>
    new ValidationError('NOT_ACCEPTABLE', `${operation} issue seen - Wrong payload content-type.`);
  if (!isSupportedContentType(requested)) throw notAcceptable();
  if (PLAIN_TEXT.includes(requested)) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(payload);
    } catch {
      throw notAcceptable();
    }
    return {
      body: payload,
      contentType: responseType === 'text/plain' ? 'text/plain; charset=UTF-8' : responseType,
    };
  }
  if (BINARY.includes(requested)) return { body: payload, contentType: responseType };
  // Supported after normalisation but not spelled exactly (e.g. TEXT/PLAIN): Barbican refuses it.
  throw new ImageTrustError(
    'BAD_REQUEST',
    `${operation} issue seen - content-type of '${requested}' not supported.`,
  );
}

/**
 * Python's non-validating base64 decoding (what Barbican's validator and storage use): characters
 * outside the alphabet are dropped, and only the padding must be right. Returns null when it is not.
 */
export function decodeLenientBase64(text: string): Buffer | null {
  const filtered = text.replace(/[^A-Za-z0-9+/=]/g, '');
  const firstPad = filtered.indexOf('=');
  const data = firstPad === -1 ? filtered : filtered.slice(0, firstPad);
  const pads = firstPad === -1 ? 0 : /^=*/.exec(filtered.slice(firstPad))![0].length;
  const leftover = data.length % 4;
  if (leftover === 1) return null;
  if (leftover === 2 && pads < 2) return null;
  if (leftover === 3 && pads < 1) return null;
  return Buffer.from(data, 'base64');
}

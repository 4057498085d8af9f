// AWS Signature Version 4 for S3 requests, written from AWS's published description of the algorithm:
// canonical request -> string to sign -> HMAC-SHA256 chain keyed by the secret -> Authorization header.
import { createHash, createHmac } from 'node:crypto';

/** The payload hash S3 accepts for a body it should not hash (streamed parts carry Content-MD5 instead). */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of nothing: the payload hash of every request without a body. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface RequestToSign {
  method: string;
  /** The path exactly as sent: already URI-encoded (see uriEncodePath). */
  path: string;
  /** Query parameters, unencoded; signed sorted and encoded. */
  query?: readonly (readonly [string, string])[];
  /** Headers to sign and send (host included); names in any case. */
  headers: Record<string, string>;
  /** Hex SHA-256 of the body, EMPTY_SHA256, or UNSIGNED_PAYLOAD. */
  payloadHash: string;
  region: string;
  /** `s3` for S3; the test suite's vectors use `service`. */
  service: string;
  now: Date;
}

export interface SignedRequest {
  /** Every header to send: the given ones, x-amz-date, x-amz-content-sha256 (S3 only), the token, Authorization. */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

/** RFC 3986 encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` as %XX of its UTF-8 bytes. */
export function uriEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const unreserved =
      (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a) ||
      (byte >= 0x30 && byte <= 0x39) ||
      byte === 0x2d ||
      byte === 0x5f ||
      byte === 0x2e ||
      byte === 0x7e;
    out += unreserved ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** An object path: each segment encoded, the slashes kept (S3 signs the path as sent, not encoded twice). */
export function uriEncodePath(path: string): string {
  return path.split('/').map(uriEncode).join('/');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function hmac(key: Buffer | string, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/** `20150830T123600Z` */
export function amzDate(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export function signRequest(request: RequestToSign, credentials: SigningCredentials): SignedRequest {
  const date = amzDate(request.now);
  const day = date.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  headers['x-amz-date'] = date;
  // S3 wants the payload hash as a header too; the generic test-suite services do not.
  if (request.service === 's3') headers['x-amz-content-sha256'] = request.payloadHash;
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;

  const names = Object.keys(headers).sort();
  const canonicalHeaders = names
    .map((name) => `${name}:${headers[name].trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const signedHeaders = names.join(';');
  const canonicalQuery = (request.query ?? [])
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const canonicalRequest = [
    request.method,
    request.path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    request.payloadHash,
  ].join('\n');
  const scope = `${day}/${request.region}/${request.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), request.region), request.service),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers, canonicalRequest, stringToSign, signature };
}

// The digest a simple signature names: sha256 of the exact manifest bytes, except for docker schema1
// manifests carrying JWS signatures, whose digest covers the payload libtrust rebuilds without them.
import { createHash } from 'node:crypto';
import { PolicyError, ValidationError } from '../../errors/index.ts';
import { type JsonNode, parseGoJson } from '../go-json.ts';

// A manifest with one of these media types is never treated as schema1, whatever else it says.
const RECOGNIZED_MEDIA_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
]);

function malformed(message: string): ValidationError {
  return new ValidationError('BAD_REQUEST', message);
}

function tryReadJson(bytes: Uint8Array): JsonNode | undefined {
  try {
    return parseGoJson(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    if (error instanceof PolicyError && error.code === 'POLICY_INVALID') return undefined;
    throw error;
  }
}

/**
 * Go's json.Unmarshal matches struct fields case-insensitively and the last duplicate wins; a type
 * mismatch makes c/image's MIME sniffing give up, which means "not schema1-signed".
 */
function isSignedSchema1(bytes: Uint8Array): boolean {
  const root = tryReadJson(bytes);
  if (root?.kind !== 'object') return false;
  let mediaType = '';
  let schemaVersion = 0;
  let hasSignatures = false;
  for (const { key, value } of root.entries) {
    switch (key.toLowerCase()) {
      case 'mediatype':
        if (value.kind === 'string') mediaType = value.value;
        else if (value.kind !== 'null') return false;
        break;
      case 'schemaversion':
        if (value.kind === 'number' && /^-?\d+$/.test(value.raw)) schemaVersion = value.value;
        else if (value.kind !== 'null') return false;
        break;
      case 'signatures':
        hasSignatures = value.kind !== 'null';
        break;
    }
  }
  return !RECOGNIZED_MEDIA_TYPES.has(mediaType) && schemaVersion === 1 && hasSignatures;
}

/** libtrust's base64url: spaces and newlines dropped, padding restored, a length of 4n+1 refused. */
function joseBase64UrlDecode(text: string, what: string): Buffer {
  const compact = text.replace(/[\n ]/g, '');
  if (compact.length % 4 === 1) throw malformed(`${what}: illegal base64url string`);
  if (!/^[A-Za-z0-9_-]*$/.test(compact)) throw malformed(`${what}: illegal base64 data`);
  return Buffer.from(compact, 'base64url');
}

/** Field lookup as Go's decoder does it for a struct: case-insensitive, last one wins. */
function goField(node: JsonNode, name: string): JsonNode | undefined {
  if (node.kind !== 'object') return undefined;
  let found: JsonNode | undefined;
  for (const { key, value } of node.entries) if (key.toLowerCase() === name) found = value;
  return found;
}

/** The payload libtrust's ParsePrettySignature reconstructs: the first formatLength bytes plus the tail. */
function schema1Payload(bytes: Uint8Array): Buffer {
  const root = tryReadJson(bytes)!;
  let signatures: JsonNode | undefined;
  if (root.kind === 'object')
    for (const { key, value } of root.entries) if (key === 'signatures') signatures = value;
  if (signatures === undefined) throw malformed('missing signature key');
  if (signatures.kind !== 'array' && signatures.kind !== 'null') {
    throw malformed(
      `error unmarshalling signatures: json: cannot unmarshal ${signatures.kind} into Go value of type []libtrust.jsParsedSignature`,
    );
  }
  let formatLength = 0;
  let formatTail: Buffer = Buffer.alloc(0);
  for (const block of signatures.kind === 'array' ? signatures.items : []) {
    const protectedField = goField(block, 'protected');
    const encoded = protectedField?.kind === 'string' ? protectedField.value : '';
    const header = joseBase64UrlDecode(encoded, 'base64 decode error');
    let protectedHeader: JsonNode;
    try {
      protectedHeader = parseGoJson(header.toString('utf8'));
    } catch (error) {
      if (error instanceof PolicyError && error.code === 'POLICY_INVALID') {
        throw malformed(`error unmarshalling protected header: ${error.message}`);
      }
      throw error;
    }
    const lengthNode =
      protectedHeader.kind === 'object' ? goExactKey(protectedHeader, 'formatLength') : undefined;
    if (lengthNode?.kind !== 'number') throw malformed('missing formatted length');
    const tailNode =
      protectedHeader.kind === 'object' ? goExactKey(protectedHeader, 'formatTail') : undefined;
    if (tailNode?.kind !== 'string') throw malformed('missing formatted tail');
    const length = Math.trunc(lengthNode.value);
    const tail = joseBase64UrlDecode(tailNode.value, 'base64 decode error on tail');
    // libtrust treats 0 as "not set yet", so a zero length or empty tail never conflicts.
    if (formatLength === 0) formatLength = length;
    else if (formatLength !== length) throw malformed('conflicting format length');
    if (formatTail.length === 0) formatTail = tail;
    else if (!formatTail.equals(tail)) throw malformed('conflicting format tail');
  }
  if (formatLength > bytes.length || formatLength < 0) throw malformed('invalid format length');
  return Buffer.concat([Buffer.from(bytes.subarray(0, formatLength)), formatTail]);
}

/** A map lookup (not a struct field): exact key, last duplicate wins. */
function goExactKey(node: JsonNode & { kind: 'object' }, name: string): JsonNode | undefined {
  let found: JsonNode | undefined;
  for (const { key, value } of node.entries) if (key === name) found = value;
  return found;
}

const DIGEST_ALGORITHMS = new Set(['sha256', 'sha384', 'sha512']);

/**
 * `<algorithm>:<hex>` of the manifest as c/image computes it (schema1 JWS signatures stripped). c/image
 * 5.23 always uses sha256; the others are for callers that must match a digest reference.
 */
export function computeManifestDigest(manifest: Uint8Array, algorithm = 'sha256'): string {
  if (!DIGEST_ALGORITHMS.has(algorithm)) throw malformed('unsupported digest algorithm');
  const payload = isSignedSchema1(manifest) ? schema1Payload(manifest) : manifest;
  return `${algorithm}:${createHash(algorithm).update(payload).digest('hex')}`;
}

/** Exact string equality, as c/image 5.23.1: upper-case hex or another algorithm never matches. */
export function matchesDigest(manifest: Uint8Array, expectedDigest: string): boolean {
  return computeManifestDigest(manifest) === expectedDigest;
}

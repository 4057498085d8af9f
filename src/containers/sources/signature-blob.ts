// Signature blobs as lookasides and dir: layouts store them (spec 5.3): sniffed by the first byte,
// either a bare OpenPGP message (simple signing) or `0x00 <format>\n<body>`.
import { ImageTrustError, PolicyError } from '../../errors/index.ts';
import { decodeGoBase64, goFoldKey, goJsonTypeName, type JsonNode, parseGoJson } from '../go-json.ts';

export type StoredSignature =
  | { format: 'simple-signing'; signature: Buffer }
  | { format: 'sigstore-json'; mimeType: string; payload: Buffer; annotations: Record<string, string> };

// c/image's list, copied as is: 0x3d where 0x93 was probably meant (spec 5.3 says keep it).
const OPENPGP_FIRST_BYTES = new Set([
  0xa0, 0xa1, 0xa2, 0xa3, 0xc8, 0x90, 0x91, 0x92, 0x3d, 0xc4, 0x88, 0x89, 0x8a, 0x8b, 0xc2,
]);

const unrecognized = (message: string) => new ImageTrustError('BAD_REQUEST', message);

/** Parses one stored signature; errors use c/image's texts (callers prefix `parsing signature <where>: `). */
export function parseStoredSignature(blob: Buffer): StoredSignature {
  if (blob.length === 0) throw unrecognized('empty signature blob');
  const first = blob[0];
  if (OPENPGP_FIRST_BYTES.has(first)) return { format: 'simple-signing', signature: blob };
  if (first !== 0x00)
    throw unrecognized(`unrecognized signature format, starting with binary 0x${first.toString(16)}`);
  const newline = blob.indexOf(0x0a, 1);
  if (newline === -1) throw unrecognized('invalid signature format, missing newline');
  const formatBytes = blob.subarray(1, newline);
  for (const byte of formatBytes) {
    if (byte < 32 || byte >= 0x7f)
      throw unrecognized(`invalid signature format, non-ASCII byte 0x${byte.toString(16)}`);
  }
  const format = formatBytes.toString('latin1');
  const body = blob.subarray(newline + 1);
  if (format === 'simple-signing') return { format: 'simple-signing', signature: Buffer.from(body) };
  if (format !== 'sigstore-json')
    throw unrecognized(`unrecognized signature format ${JSON.stringify(format)}`);
  return parseSigstoreJson(body);
}

const SIGSTORE_JSON = 'sigstoreJSONRepresentation';

/**
 * The `sigstore-json` body as Go's plain json.Unmarshal reads it into c/image's
 * sigstoreJSONRepresentation: field names matched case-insensitively, a later duplicate winning, null
 * leaving a field alone (or clearing it), and the first type or base64 error in document order failing
 * the whole blob.
 */
function parseSigstoreJson(body: Buffer): StoredSignature {
  let root: JsonNode;
  try {
    root = parseGoJson(body.toString('utf8'));
  } catch (error) {
    // The shared reader's syntax errors carry encoding/json's texts.
    if (error instanceof PolicyError) throw unrecognized(error.message);
    throw error;
  }
  let firstError: string | undefined;
  const typeError = (node: JsonNode, into: string) => {
    firstError ??= `json: cannot unmarshal ${goJsonTypeName(node)} into ${into}`;
  };
  let mimeType = '';
  let payload: Buffer = Buffer.alloc(0);
  let annotations: Record<string, string> | undefined;
  if (root.kind === 'object') {
    for (const { key, value } of root.entries) {
      const field = goFoldKey(key);
      if (field === 'mimetype') {
        if (value.kind === 'string') mimeType = value.value;
        else if (value.kind !== 'null')
          typeError(value, `Go struct field ${SIGSTORE_JSON}.mimeType of type string`);
      } else if (field === 'payload') {
        if (value.kind === 'string') {
          // Go saves the base64 error and goes on decoding; the first error found is the one reported.
          try {
            payload = decodeGoBase64(value.value, (byte) => {
              throw new Error(`illegal base64 data at input byte ${byte}`);
            });
          } catch (error) {
            firstError ??= (error as Error).message;
          }
        } else if (value.kind === 'null') payload = Buffer.alloc(0);
        else typeError(value, `Go struct field ${SIGSTORE_JSON}.payload of type []uint8`);
      } else if (field === 'annotations') {
        if (value.kind === 'null') annotations = undefined;
        else if (value.kind !== 'object') {
          typeError(value, `Go struct field ${SIGSTORE_JSON}.annotations of type map[string]string`);
        } else {
          // Decoding into an existing map adds to it; a null value stores the empty string.
          annotations ??= {};
          for (const entry of value.entries) {
            if (entry.value.kind === 'string') annotations[entry.key] = entry.value.value;
            else if (entry.value.kind === 'null') annotations[entry.key] = '';
            else typeError(entry.value, `Go struct field ${SIGSTORE_JSON}.annotations of type string`);
          }
        }
      }
    }
  } else if (root.kind !== 'null') {
    typeError(root, `Go value of type signature.${SIGSTORE_JSON}`);
  }
  if (firstError !== undefined) throw unrecognized(firstError);
  return { format: 'sigstore-json', mimeType, payload, annotations: annotations ?? {} };
}

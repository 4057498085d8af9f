// Signature blobs as lookasides and dir: layouts store them (spec 5.3): sniffed by the first byte,
// either a bare OpenPGP message (simple signing) or `0x00 <format>\n<body>`.
import { ImageTrustError } from '../../errors/index.ts';

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
  let parsed: { mimeType?: unknown; payload?: unknown; annotations?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw unrecognized((error as Error).message);
  }
  const annotations: Record<string, string> = {};
  if (typeof parsed.annotations === 'object' && parsed.annotations !== null) {
    for (const [key, value] of Object.entries(parsed.annotations))
      if (typeof value === 'string') annotations[key] = value;
  }
  return {
    format: 'sigstore-json',
    mimeType: typeof parsed.mimeType === 'string' ? parsed.mimeType : '',
    payload: typeof parsed.payload === 'string' ? Buffer.from(parsed.payload, 'base64') : Buffer.alloc(0),
    annotations,
  };
}

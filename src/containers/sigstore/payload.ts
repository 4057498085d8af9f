// The sigstore ("cosign container image signature") payload, read as paranoidly as c/image reads it:
// exact keys in `critical`, no duplicates anywhere, `optional` an object or null.
import { PolicyError } from '../../errors/index.ts';

export const SIGSTORE_PAYLOAD_TYPE = 'cosign container image signature';
/** The layer media type of a cosign signature; other attachment layers are not signatures. */
export const SIGSTORE_SIGNATURE_MIME_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const SIGSTORE_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const SIGSTORE_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const SIGSTORE_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

/** What a sigstore payload claims. */
export interface SigstorePayload {
  dockerManifestDigest: string;
  dockerReference: string;
  creator?: string;
  /** Unix seconds. */
  timestamp?: number;
}

const rejected = (message: string) => new PolicyError('SIGNATURE_REJECTED', message);

/** Finds the first duplicate key of any object in a JSON text (JSON.parse silently keeps the last). */
function firstDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let at = 0; at < text.length; at++) {
    const char = text[at];
    if (char === '"') {
      let end = at + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(at, end + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
      }
      expectKey = false;
      at = end;
    } else if (char === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (char === '[') {
      stack.push(null);
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return undefined;
}

function objectOf(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw rejected(
      `JSON object expected, got "${Array.isArray(value) ? '[' : value === null ? '%!s(<nil>)' : String(value)}"`,
    );
  }
  return value as Record<string, unknown>;
}

/** Exactly `fields`, each once, nothing else; gives the values in the order of `fields`. */
function exactFields(value: unknown, fields: string[]): unknown[] {
  const object = objectOf(value);
  for (const key of Object.keys(object)) if (!fields.includes(key)) throw rejected(`Unknown key "${key}"`);
  return fields.map((key) => {
    if (!Object.hasOwn(object, key)) throw rejected(`Key "${key}" missing in a JSON object`);
    return object[key];
  });
}

function goString(value: unknown): string {
  if (value === null) return '';
  if (typeof value !== 'string') {
    const kind =
      typeof value === 'number'
        ? 'number'
        : typeof value === 'boolean'
          ? 'bool'
          : Array.isArray(value)
            ? 'array'
            : 'object';
    throw rejected(`json: cannot unmarshal ${kind} into Go value of type string`);
  }
  return value;
}

/** Parses payload bytes with c/image's sigstore rules; throws SIGNATURE_REJECTED with its texts. */
export function parseSigstorePayload(bytes: Uint8Array): SigstorePayload {
  const text = Buffer.from(bytes).toString('utf8');
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw rejected(`invalid JSON: ${(error as Error).message}`);
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) throw rejected(`Duplicate key "${duplicate}"`);
  const [critical, optional] = exactFields(root, ['critical', 'optional']);
  const payload: Partial<SigstorePayload> = {};
  // cosign writes `"optional": null`; unknown keys inside optional are ignored.
  if (optional !== null) {
    const fields = objectOf(optional);
    if ('creator' in fields) payload.creator = goString(fields.creator);
    if ('timestamp' in fields && fields.timestamp !== null) {
      if (typeof fields.timestamp !== 'number')
        throw rejected('json: cannot unmarshal string into Go value of type float64');
      if (!Number.isInteger(fields.timestamp))
        throw rejected('Field optional.timestamp is not is not an integer');
      payload.timestamp = fields.timestamp;
    }
  }
  const [type, image, identity] = exactFields(critical, ['type', 'image', 'identity']);
  if (goString(type) !== SIGSTORE_PAYLOAD_TYPE)
    throw rejected(`Unrecognized signature type ${goString(type)}`);
  [payload.dockerManifestDigest] = exactFields(image, ['docker-manifest-digest']).map(goString);
  [payload.dockerReference] = exactFields(identity, ['docker-reference']).map(goString);
  return payload as SigstorePayload;
}

/** The payload c/image writes for a sigstore signature (sorted keys, compact). */
export function createSigstorePayload(options: {
  dockerManifestDigest: string;
  dockerReference: string;
  creator: string;
  now: Date;
}): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': options.dockerReference },
        image: { 'docker-manifest-digest': options.dockerManifestDigest },
        type: SIGSTORE_PAYLOAD_TYPE,
      },
      optional: { creator: options.creator, timestamp: Math.floor(options.now.getTime() / 1000) },
    }),
  );
}

// The simple-signing payload ("atomic container signature"): written the way c/image writes it and
// read as paranoidly as c/image reads it, with the same rejection texts (5.23.1 wording).
import { PolicyError, VerificationError } from '../../errors/index.ts';
import {
  goJsonTypeName,
  type JsonFail,
  type JsonFieldDecoder,
  type JsonNode,
  parseGoJson,
  walkParanoidExactObject,
  walkParanoidObject,
} from '../go-json.ts';

export const SIMPLE_SIGNING_TYPE = 'atomic container signature';

/** What a simple signature claims, once its payload parsed. */
export interface SimpleSigningPayload {
  dockerManifestDigest: string;
  dockerReference: string;
  creator?: string;
  /** Unix seconds. */
  timestamp?: number;
}

export interface CreatePayloadOptions {
  dockerManifestDigest: string;
  /** Stored exactly as given, never normalised (skopeo standalone-sign does the same). */
  dockerReference: string;
  creator: string;
  /** The signing time; passed in, never read here. */
  now: Date;
}

function invalid(message: string): VerificationError {
  return new VerificationError('SIGNATURE_INVALID', message);
}

/** Go's json.Marshal string form: JSON.stringify plus the HTML-safe escapes Go adds by default. */
function goJsonString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => {
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** The payload bytes c/image would sign: sorted keys, compact, integer timestamp. */
export function createSimpleSigningPayload(options: CreatePayloadOptions): Buffer {
  if (options.dockerManifestDigest === '' || options.dockerReference === '') {
    throw invalid('Unexpected empty signature content');
  }
  const timestamp = Math.floor(options.now.getTime() / 1000);
  const json =
    `{"critical":{"identity":{"docker-reference":${goJsonString(options.dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goJsonString(options.dockerManifestDigest)}},` +
    `"type":"${SIMPLE_SIGNING_TYPE}"},` +
    `"optional":{"creator":${goJsonString(options.creator)},"timestamp":${timestamp}}}`;
  return Buffer.from(json, 'utf8');
}

const fail: JsonFail = (message) => {
  throw invalid(message);
};

/** ParanoidUnmarshalJSONObject, failing with SIGNATURE_INVALID. */
function paranoidObject(node: JsonNode, decoderFor: (key: string) => JsonFieldDecoder | undefined): void {
  walkParanoidObject(node, decoderFor, fail);
}

/** Every one of `fields` exactly once, and nothing else. */
function exactFields(node: JsonNode, fields: Record<string, JsonFieldDecoder>): void {
  walkParanoidExactObject(node, fields, fail);
}

/** Decoding into a Go string: null leaves it empty, any other non-string is a type error. */
function goString(node: JsonNode): string {
  if (node.kind === 'null') return '';
  if (node.kind !== 'string') {
    throw invalid(`json: cannot unmarshal ${goJsonTypeName(node)} into Go value of type string`);
  }
  return node.value;
}

function goFloat(node: JsonNode): number {
  if (node.kind === 'null') return 0;
  if (node.kind !== 'number') {
    throw invalid(`json: cannot unmarshal ${goJsonTypeName(node)} into Go value of type float64`);
  }
  return node.value;
}

/**
 * Parses signed payload bytes with c/image's rules: exact keys at every critical level, no duplicates,
 * `optional` an object (unknown keys there ignored), an integral timestamp, and the atomic type.
 */
export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningPayload {
  let root: JsonNode;
  try {
    root = parseGoJson(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    if (isJsonSyntaxError(error)) throw invalid(error.message);
    throw error;
  }
  let critical: JsonNode = { kind: 'null', offset: 0 };
  let optional: JsonNode = { kind: 'null', offset: 0 };
  exactFields(root, {
    critical: (value) => {
      critical = value;
    },
    optional: (value) => {
      optional = value;
    },
  });

  const payload: Partial<SimpleSigningPayload> = {};
  // c/image reads `optional` before `critical`, so its errors win when both are bad.
  paranoidObject(optional, (key) => {
    if (key === 'creator') {
      return (value) => {
        payload.creator = goString(value);
      };
    }
    if (key === 'timestamp') {
      return (value) => {
        payload.timestamp = goFloat(value);
      };
    }
    return () => {};
  });
  // Go converts to int64 and back; anything that does not survive the round trip is refused.
  const timestamp = payload.timestamp;
  if (timestamp !== undefined && (!Number.isInteger(timestamp) || Math.abs(timestamp) >= 2 ** 63)) {
    throw invalid('Field optional.timestamp is not is not an integer');
  }

  let type = '';
  let image: JsonNode = { kind: 'null', offset: 0 };
  let identity: JsonNode = { kind: 'null', offset: 0 };
  exactFields(critical, {
    type: (value) => {
      type = goString(value);
    },
    image: (value) => {
      image = value;
    },
    identity: (value) => {
      identity = value;
    },
  });
  if (type !== SIMPLE_SIGNING_TYPE) throw invalid(`Unrecognized signature type ${type}`);
  exactFields(image, {
    'docker-manifest-digest': (value) => {
      payload.dockerManifestDigest = goString(value);
    },
  });
  exactFields(identity, {
    'docker-reference': (value) => {
      payload.dockerReference = goString(value);
    },
  });
  return payload as SimpleSigningPayload;
}

/** The shared JSON reader reports syntax errors as POLICY_INVALID with Go's text. */
function isJsonSyntaxError(error: unknown): error is PolicyError {
  return error instanceof PolicyError && error.code === 'POLICY_INVALID';
}

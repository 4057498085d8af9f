// Strict reading of containers-policy.json with c/image's rejections and exact Go error texts: unknown
// and duplicate keys, exact field sets, empty requirement lists, scopes each transport refuses. Every
// error carries the position of the offending value so `containers lint` can point at it.
import { PolicyError, type SourcePosition } from '../../errors/index.ts';
import {
  decodeGoBase64,
  goJsonTypeName,
  type JsonEntry,
  type JsonFail,
  type JsonFieldDecoder,
  type JsonNode,
  parseGoJson,
  positionAt,
  walkParanoidExactObject,
  walkParanoidObject,
} from '../go-json.ts';
import {
  isDomain,
  isNameOnly,
  isRepositoryName,
  parseNormalizedDockerReference,
} from '../reference/index.ts';
import { validatePolicyScope } from './scope.ts';
import {
  type FulcioTrustConfig,
  type Policy,
  type PolicyRequirement,
  SIGNED_BY_KEY_TYPES,
  type SignedByKeyType,
  type SignedByRequirement,
  type SignedIdentity,
  type SigstoreSignedRequirement,
} from './types.ts';

/** Where a requirement list or scope sits in the file, for reviewers' warnings. */
export interface PolicyLocation {
  /** `undefined` for `default`. */
  transport?: string;
  scope?: string;
  position: SourcePosition;
  requirements: PolicyRequirement[];
}

/** A parsed policy with the position of every requirement list. */
export interface ParsedPolicyDocument {
  policy: Policy;
  locations: PolicyLocation[];
}

/** The Go string types of the `type` field of requirements and of signedIdentity, as type errors name them. */
const TYPE_IDENTIFIERS = {
  'signature.prCommon': 'signature.prTypeIdentifier',
  'signature.prmCommon': 'signature.prmTypeIdentifier',
} as const;

/** A field decoded before (`type`), whose second decoding cannot fail. */
const ignore: JsonFieldDecoder = () => {};

class Reader {
  readonly text: string;
  readonly locations: PolicyLocation[] = [];

  constructor(text: string) {
    this.text = text;
  }

  fail(message: string, offset: number): never {
    throw new PolicyError('POLICY_INVALID', message, { position: positionAt(this.text, offset) });
  }

  readonly #fail: JsonFail = (message, offset) => this.fail(message, offset);

  /**
   * c/image's paranoidUnmarshalJSONObject: an object, no duplicate keys, only keys with a decoder, and
   * each value decoded as its key is reached, so errors come in Go's order.
   */
  object(node: JsonNode, decoderFor: (key: string, entry: JsonEntry) => JsonFieldDecoder | undefined): void {
    walkParanoidObject(node, decoderFor, this.#fail);
  }

  /** The exact-fields variant: every listed key must be present and no other. */
  exactObject(node: JsonNode, fields: Record<string, JsonFieldDecoder>): void {
    walkParanoidExactObject(node, fields, this.#fail);
  }

  cannotUnmarshal(node: JsonNode, goType: string): never {
    return this.fail(
      `json: cannot unmarshal ${goJsonTypeName(node)} into Go value of type ${goType}`,
      node.offset,
    );
  }

  string(node: JsonNode, goType = 'string'): string {
    if (node.kind === 'null') return '';
    if (node.kind !== 'string') this.cannotUnmarshal(node, goType);
    return node.value;
  }

  stringArray(node: JsonNode): string[] | undefined {
    if (node.kind === 'null') return undefined;
    if (node.kind !== 'array') this.cannotUnmarshal(node, '[]string');
    return node.items.map((item) => this.string(item));
  }

  bytes(node: JsonNode): Buffer | undefined {
    if (node.kind === 'null') return undefined;
    if (node.kind !== 'string') this.cannotUnmarshal(node, '[]uint8');
    return decodeGoBase64(node.value, (byte) =>
      this.fail(`illegal base64 data at input byte ${byte}`, node.offset),
    );
  }

  bytesArray(node: JsonNode): Buffer[] | undefined {
    if (node.kind === 'null') return undefined;
    if (node.kind !== 'array') this.cannotUnmarshal(node, '[][]uint8');
    return node.items.map((item) => this.bytes(item) ?? Buffer.alloc(0));
  }

  // Go decodes `type` with a plain json.Unmarshal into a one-field struct before dispatching on it.
  typeField(node: JsonNode, goStruct: keyof typeof TYPE_IDENTIFIERS): string {
    if (node.kind === 'null') return '';
    if (node.kind !== 'object') this.cannotUnmarshal(node, goStruct);
    let type = '';
    for (const entry of node.entries) {
      // Go's plain json.Unmarshal matches struct fields case-insensitively; the strict pass then names the key.
      if (entry.key.toLowerCase() !== 'type') continue;
      if (entry.value.kind === 'string') type = entry.value.value;
      else if (entry.value.kind !== 'null') {
        this.fail(
          `json: cannot unmarshal ${goJsonTypeName(entry.value)} into Go struct field ${goStruct.replace('signature.', '')}.type of type ${TYPE_IDENTIFIERS[goStruct]}`,
          entry.value.offset,
        );
      }
    }
    return type;
  }

  policy(node: JsonNode): Policy {
    let defaults: PolicyRequirement[] | undefined;
    const transports = new Map<string, Map<string, PolicyRequirement[]>>();
    this.object(node, (key) => {
      if (key === 'default') {
        return (value, entry) => {
          defaults = this.requirements(value);
          this.locations.push({ position: positionAt(this.text, entry.keyOffset), requirements: defaults });
        };
      }
      if (key === 'transports') return (value) => this.transports(value, transports);
      return undefined;
    });
    if (!defaults) this.fail('Default policy is missing', node.offset);
    return { default: defaults, transports };
  }

  transports(node: JsonNode, into: Map<string, Map<string, PolicyRequirement[]>>): void {
    this.object(node, (transport) => (value) => {
      const scopes = new Map<string, PolicyRequirement[]>();
      this.object(value, (scope, scopeEntry) => {
        const invalidScope = scope === '' ? undefined : validatePolicyScope(transport, scope);
        if (invalidScope !== undefined) {
          // c/image says only "Unknown key"; the transport's reason stays as the cause (for lint).
          throw new PolicyError('POLICY_INVALID', `Unknown key "${scope}"`, {
            position: positionAt(this.text, scopeEntry.keyOffset),
            cause: new Error(invalidScope),
          });
        }
        return (requirementsNode, entry) => {
          const requirements = this.requirements(requirementsNode);
          scopes.set(scope, requirements);
          this.locations.push({
            transport,
            scope,
            position: positionAt(this.text, entry.keyOffset),
            requirements,
          });
        };
      });
      into.set(transport, scopes);
    });
  }

  requirements(node: JsonNode): PolicyRequirement[] {
    if (node.kind !== 'null' && node.kind !== 'array') this.cannotUnmarshal(node, '[]json.RawMessage');
    const items = node.kind === 'array' ? node.items : [];
    if (items.length === 0)
      this.fail('List of verification policy requirements must not be empty', node.offset);
    return items.map((item) => this.requirement(item));
  }

  requirement(node: JsonNode): PolicyRequirement {
    const type = this.typeField(node, 'signature.prCommon');
    switch (type) {
      case 'insecureAcceptAnything':
      case 'reject':
        // `type` was decoded already; decoding it again cannot fail.
        this.object(node, (key) => (key === 'type' ? ignore : undefined));
        return { type };
      case 'signedBy':
        return this.signedBy(node);
      case 'sigstoreSigned':
        return this.sigstoreSigned(node);
      case 'signedBaseLayer': {
        // baseLayerIdentity is a json.RawMessage to Go: read only after the whole object.
        let identity: JsonNode = { kind: 'null', offset: node.offset };
        this.exactObject(node, {
          type: ignore,
          baseLayerIdentity: (value) => {
            identity = value;
          },
        });
        return { type, baseLayerIdentity: this.identity(identity) };
      }
      default:
        return this.fail(`Unknown policy requirement type "${type}"`, node.offset);
    }
  }

  signedBy(node: JsonNode): SignedByRequirement {
    const fields = ['type', 'keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity'];
    let keyType = '';
    let keyPath = '';
    let keyPaths: string[] | undefined;
    let keyData: Buffer | undefined;
    let identityNode: JsonNode | undefined;
    const got = new Set<string>();
    this.object(node, (key) => {
      if (!fields.includes(key)) return undefined;
      got.add(key);
      return (v) => {
        if (key === 'keyType') {
          keyType = this.string(v);
          if (!(SIGNED_BY_KEY_TYPES as readonly string[]).includes(keyType)) {
            this.fail(`Unrecognized keyType value "${keyType}"`, v.offset);
          }
        } else if (key === 'keyPath') keyPath = this.string(v);
        else if (key === 'keyPaths') keyPaths = this.stringArray(v);
        else if (key === 'keyData') keyData = this.bytes(v);
        else if (key === 'signedIdentity') identityNode = v;
      };
    });
    const signedIdentity: SignedIdentity =
      // A JSON null is still "present" to Go's json.RawMessage, and then has no valid type.
      identityNode ? this.identity(identityNode) : { type: 'matchRepoDigestOrExact' };
    const present = ['keyPath', 'keyPaths', 'keyData'].filter((k) => got.has(k)).length;
    if (present === 0) {
      this.fail(
        'Exactly one of keyPath, keyPaths and keyData must be specified, none of them present',
        node.offset,
      );
    }
    if (present > 1) {
      this.fail(
        'Exactly one of keyPath, keyPaths and keyData must be specified, more than one present',
        node.offset,
      );
    }
    if (!(SIGNED_BY_KEY_TYPES as readonly string[]).includes(keyType)) {
      this.fail(`invalid keyType "${keyType}"`, node.offset);
    }
    const sources = (keyPath !== '' ? 1 : 0) + (keyPaths ? 1 : 0) + (keyData ? 1 : 0);
    if (sources !== 1)
      this.fail('exactly one of keyPath, keyPaths and keyData must be specified', node.offset);
    const result: SignedByRequirement = {
      type: 'signedBy',
      keyType: keyType as SignedByKeyType,
      signedIdentity,
    };
    if (keyPath !== '') result.keyPath = keyPath;
    if (keyPaths) result.keyPaths = keyPaths;
    if (keyData) result.keyData = keyData;
    return result;
  }

  // HEAD's superset (keyPaths, keyDatas, fulcio, rekor*); `pki` is not supported here and is an unknown key.
  sigstoreSigned(node: JsonNode): SigstoreSignedRequirement {
    const fields = [
      'type',
      'keyPath',
      'keyPaths',
      'keyData',
      'keyDatas',
      'fulcio',
      'rekorPublicKeyPath',
      'rekorPublicKeyPaths',
      'rekorPublicKeyData',
      'rekorPublicKeyDatas',
      'signedIdentity',
    ];
    const r: Partial<SigstoreSignedRequirement> = {};
    let identityNode: JsonNode | undefined;
    const got = new Set<string>();
    let gotFulcio: FulcioTrustConfig | undefined;
    this.object(node, (key) => {
      if (!fields.includes(key)) return undefined;
      got.add(key);
      return (v) => {
        switch (key) {
          case 'keyPath':
          case 'rekorPublicKeyPath':
            r[key] = this.string(v);
            break;
          case 'keyPaths':
          case 'rekorPublicKeyPaths':
            r[key] = this.stringArray(v);
            break;
          case 'keyData':
          case 'rekorPublicKeyData':
            r[key] = this.bytes(v);
            break;
          case 'keyDatas':
          case 'rekorPublicKeyDatas':
            r[key] = this.bytesArray(v);
            break;
          case 'fulcio':
            gotFulcio = this.fulcio(v);
            break;
          case 'signedIdentity':
            identityNode = v;
            break;
        }
      };
    });
    const signedIdentity: SignedIdentity =
      // A JSON null is still "present" to Go's json.RawMessage, and then has no valid type.
      identityNode ? this.identity(identityNode) : { type: 'matchRepoDigestOrExact' };
    // Options are applied in this order upstream; each list option refuses an empty list.
    for (const [key, shown] of [
      ['keyPaths', 'keyPaths'],
      ['keyDatas', 'keyDatas'],
      ['rekorPublicKeyPaths', 'rekorPublickeyPaths'],
      ['rekorPublicKeyDatas', 'rekorPublickeyDatas'],
    ] as const) {
      if (got.has(key) && (r[key]?.length ?? 0) === 0)
        this.fail(`"${shown}" contains no entries`, node.offset);
    }
    const keySources =
      (r.keyPath ? 1 : 0) +
      (r.keyPaths ? 1 : 0) +
      (r.keyData ? 1 : 0) +
      (r.keyDatas ? 1 : 0) +
      (gotFulcio ? 1 : 0);
    if (keySources !== 1) {
      this.fail(
        'exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, and pki must be specified',
        node.offset,
      );
    }
    const rekorSources =
      (r.rekorPublicKeyPath ? 1 : 0) +
      (r.rekorPublicKeyPaths ? 1 : 0) +
      (r.rekorPublicKeyData ? 1 : 0) +
      (r.rekorPublicKeyDatas ? 1 : 0);
    if (rekorSources > 1) {
      this.fail(
        'at most one of rekorPublickeyPath, rekorPublicKeyPaths, rekorPublickeyData and rekorPublicKeyDatas can be used simultaneously',
        node.offset,
      );
    }
    if (gotFulcio && rekorSources === 0) {
      this.fail(
        'At least one of rekorPublickeyPath, rekorPublicKeyPaths, rekorPublickeyData and rekorPublicKeyDatas must be specified if fulcio is used',
        node.offset,
      );
    }
    const result: SigstoreSignedRequirement = { type: 'sigstoreSigned', signedIdentity };
    for (const key of [
      'keyPath',
      'keyPaths',
      'keyData',
      'keyDatas',
      'rekorPublicKeyPath',
      'rekorPublicKeyPaths',
      'rekorPublicKeyData',
      'rekorPublicKeyDatas',
    ] as const) {
      if (r[key]) Object.assign(result, { [key]: r[key] });
    }
    if (gotFulcio) result.fulcio = gotFulcio;
    return result;
  }

  fulcio(node: JsonNode): FulcioTrustConfig {
    let caPath = '';
    let caData: Buffer | undefined;
    let oidcIssuer = '';
    let subjectEmail = '';
    const decoders: Record<string, JsonFieldDecoder> = {
      caPath: (v) => {
        caPath = this.string(v);
      },
      caData: (v) => {
        caData = this.bytes(v);
      },
      oidcIssuer: (v) => {
        oidcIssuer = this.string(v);
      },
      subjectEmail: (v) => {
        subjectEmail = this.string(v);
      },
    };
    this.object(node, (key) => (Object.hasOwn(decoders, key) ? decoders[key] : undefined));
    if (caPath !== '' && caData) this.fail('caPath and caData cannot be used simultaneously', node.offset);
    if (caPath === '' && !caData)
      this.fail('At least one of caPath and caData must be specified', node.offset);
    if (oidcIssuer === '') this.fail('oidcIssuer not specified', node.offset);
    if (subjectEmail === '') this.fail('subjectEmail not specified', node.offset);
    return caPath !== '' ? { caPath, oidcIssuer, subjectEmail } : { caData, oidcIssuer, subjectEmail };
  }

  identity(node: JsonNode): SignedIdentity {
    const type = this.typeField(node, 'signature.prmCommon');
    switch (type) {
      case 'matchExact':
      case 'matchRepoDigestOrExact':
      case 'matchRepository':
        this.exactObject(node, { type: ignore });
        return { type };
      case 'exactReference': {
        let value = '';
        this.exactObject(node, {
          type: ignore,
          dockerReference: (v) => {
            value = this.string(v);
          },
        });
        let ref: ReturnType<typeof parseNormalizedDockerReference>;
        try {
          ref = parseNormalizedDockerReference(value);
        } catch (error) {
          return this.fail(
            `Invalid format of dockerReference ${value}: ${(error as Error).message}`,
            node.offset,
          );
        }
        if (isNameOnly(ref))
          this.fail(`dockerReference ${value} contains neither a tag nor digest`, node.offset);
        return { type, dockerReference: value };
      }
      case 'exactRepository': {
        let value = '';
        this.exactObject(node, {
          type: ignore,
          dockerRepository: (v) => {
            value = this.string(v);
          },
        });
        try {
          parseNormalizedDockerReference(value);
        } catch (error) {
          this.fail(`Invalid format of dockerRepository ${value}: ${(error as Error).message}`, node.offset);
        }
        return { type, dockerRepository: value };
      }
      case 'remapIdentity': {
        let prefix = '';
        let signedPrefix = '';
        this.exactObject(node, {
          type: ignore,
          prefix: (v) => {
            prefix = this.string(v);
          },
          signedPrefix: (v) => {
            signedPrefix = this.string(v);
          },
        });
        for (const value of [prefix, signedPrefix]) {
          if (!isValidRemapPrefix(value))
            this.fail(`prefix ${JSON.stringify(value)} is not valid`, node.offset);
        }
        return { type, prefix, signedPrefix };
      }
      default:
        return this.fail(`Unknown policy reference match type "${type}"`, node.offset);
    }
  }
}

// A bare host[:port], or a name that starts with one; short names slip through, as upstream (FIXME there).
function isValidRemapPrefix(s: string): boolean {
  if (isDomain(s)) return true;
  const slash = s.indexOf('/');
  return isRepositoryName(s) && slash > 0 && isDomain(s.slice(0, slash));
}

/** Parses policy.json text; throws POLICY_INVALID with c/image's message and the position of the problem. */
export function parsePolicy(text: string): Policy {
  return parsePolicyDocument(text).policy;
}

/** Like parsePolicy, and also reports where each requirement list sits in the file. */
export function parsePolicyDocument(text: string): ParsedPolicyDocument {
  const reader = new Reader(text);
  const policy = reader.policy(parseGoJson(text));
  return { policy, locations: reader.locations };
}

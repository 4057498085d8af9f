// The in-toto Statement v1 with a SLSA provenance v1 predicate that records how an image was built:
// made from a build's facts, and read back strictly (types and digests) from an attestation.
import { AttestationError } from '../../errors/index.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** Our buildType: a Debian image built from an Oz TDL template (externalParameters documented in docs/architecture.md). */
export const DEBIAN_BUILD_TYPE = 'https://imagetrust.dev/build/debian/v1';

/** Hex digest lengths of the algorithms in-toto's DigestSet names; other algorithms need only be strings. */
const HEX_LENGTHS: Record<string, number> = {
  sha224: 56,
  sha256: 64,
  sha384: 96,
  sha512: 128,
  sha512_224: 56,
  sha512_256: 64,
  sha3_224: 56,
  sha3_256: 64,
  sha3_384: 96,
  sha3_512: 128,
  sha1: 40,
  md5: 32,
};

export type DigestSet = Record<string, string>;

/** in-toto ResourceDescriptor v1: at least one of uri, digest or content. */
export interface ResourceDescriptor {
  uri?: string;
  digest?: DigestSet;
  name?: string;
  downloadLocation?: string;
  mediaType?: string;
  /** Base64. */
  content?: string;
  annotations?: Record<string, unknown>;
}

export interface SlsaProvenanceV1 {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    internalParameters?: Record<string, unknown>;
    resolvedDependencies?: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string>; builderDependencies?: ResourceDescriptor[] };
    metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string };
    byproducts?: ResourceDescriptor[];
  };
}

export interface InTotoStatement<P = unknown> {
  _type: typeof STATEMENT_TYPE;
  subject: (ResourceDescriptor & { digest: DigestSet })[];
  predicateType: string;
  predicate?: P;
}

/** What a build knows when it finishes; makeBuildProvenance turns it into a statement. */
export interface BuildProvenanceInput {
  /** The built image: its file name and digests. */
  image: { name: string; sha512: string; sha256: string };
  template: { name: string; sha256: string; uri?: string };
  suite: string;
  /** The Debian mirror's base URL. */
  mirror: string;
  /** The mirror's Release or InRelease file the build trusted. */
  mirrorRelease: { uri: string; sha256: string };
  /** Every package installed; digests (e.g. sha256 of the .deb) when known. */
  packages: { name: string; version: string; arch?: string; digest?: DigestSet }[];
  /** Versions of the tools the build ran (debootstrap, qemu-img, imagetrust...). */
  toolVersions?: Record<string, string>;
  /** The cache key of each build stage. */
  stageCacheKeys?: Record<string, string>;
  builder: { id: string; version?: Record<string, string> };
  invocationId: string;
  startedOn: Date;
  finishedOn: Date;
  /** Things the build made besides the image: the scan report, the raw image before conversion. */
  byproducts?: {
    scanReport?: { name: string; sha256: string };
    rawImage?: { name: string; digest: DigestSet };
  };
}

const malformed = (message: string): never => {
  throw new AttestationError('ATTESTATION_MALFORMED', message);
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 3339 in UTC with seconds, as SLSA's Timestamp fields take it. */
function toRfc3339(date: Date, what: string): string {
  if (Number.isNaN(date.getTime())) malformed(`${what} is not a valid time.`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function readDigestSet(value: unknown, what: string): DigestSet {
  if (!isObject(value) || Object.keys(value).length === 0)
    malformed(`${what} must be a non-empty digest set.`);
  const out: DigestSet = {};
  for (const [algorithm, hex] of Object.entries(value as Record<string, unknown>)) {
    if (typeof hex !== 'string' || hex === '') malformed(`${what}.${algorithm} must be a non-empty string.`);
    const length = HEX_LENGTHS[algorithm];
    if (length !== undefined && !new RegExp(`^[0-9a-f]{${length}}$`).test(hex as string))
      malformed(`${what}.${algorithm} must be ${length} lowercase hex digits.`);
    out[algorithm] = hex as string;
  }
  return out;
}

const OPTIONAL_STRINGS = ['uri', 'name', 'downloadLocation', 'mediaType', 'content'] as const;

/** Checks one ResourceDescriptor: known fields of the right types, and one of uri, digest, content. */
export function readResourceDescriptor(value: unknown, what: string): ResourceDescriptor {
  if (!isObject(value)) malformed(`${what} must be an object.`);
  const object = value as Record<string, unknown>;
  const out: ResourceDescriptor = {};
  for (const key of OPTIONAL_STRINGS) {
    if (object[key] === undefined) continue;
    if (typeof object[key] !== 'string') malformed(`${what}.${key} must be a string.`);
    out[key] = object[key] as string;
  }
  if (out.content !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(out.content))
    malformed(`${what}.content must be base64.`);
  if (object.digest !== undefined) out.digest = readDigestSet(object.digest, `${what}.digest`);
  if (object.annotations !== undefined) {
    if (!isObject(object.annotations)) malformed(`${what}.annotations must be an object.`);
    out.annotations = object.annotations as Record<string, unknown>;
  }
  if (out.uri === undefined && out.digest === undefined && out.content === undefined)
    malformed(`${what} must have a uri, a digest or content.`);
  return out;
}

function readDescriptors(value: unknown, what: string): ResourceDescriptor[] {
  if (!Array.isArray(value)) malformed(`${what} must be an array.`);
  return (value as unknown[]).map((item, i) => readResourceDescriptor(item, `${what}[${i}]`));
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks a SLSA provenance v1 predicate: the required fields and the types of every field present. */
export function readSlsaProvenance(value: unknown): SlsaProvenanceV1 {
  if (!isObject(value)) malformed('The SLSA provenance predicate must be an object.');
  const { buildDefinition, runDetails } = value as Record<string, unknown>;
  if (!isObject(buildDefinition)) malformed('predicate.buildDefinition must be an object.');
  if (!isObject(runDetails)) malformed('predicate.runDetails must be an object.');
  const definition = buildDefinition as Record<string, unknown>;
  const run = runDetails as Record<string, unknown>;
  if (typeof definition.buildType !== 'string' || definition.buildType === '')
    malformed('predicate.buildDefinition.buildType must be a URI.');
  if (!isObject(definition.externalParameters))
    malformed('predicate.buildDefinition.externalParameters must be an object.');
  if (definition.internalParameters !== undefined && !isObject(definition.internalParameters))
    malformed('predicate.buildDefinition.internalParameters must be an object.');
  if (definition.resolvedDependencies !== undefined)
    readDescriptors(definition.resolvedDependencies, 'predicate.buildDefinition.resolvedDependencies');
  const builder = run.builder as Record<string, unknown>;
  if (!isObject(builder) || typeof builder.id !== 'string' || builder.id === '')
    malformed('predicate.runDetails.builder.id must be a URI.');
  if (builder.version !== undefined) {
    if (!isObject(builder.version) || !Object.values(builder.version).every((v) => typeof v === 'string'))
      malformed('predicate.runDetails.builder.version must map names to strings.');
  }
  if (builder.builderDependencies !== undefined)
    readDescriptors(builder.builderDependencies, 'predicate.runDetails.builder.builderDependencies');
  if (run.metadata !== undefined) {
    if (!isObject(run.metadata)) malformed('predicate.runDetails.metadata must be an object.');
    const metadata = run.metadata as Record<string, unknown>;
    if (metadata.invocationId !== undefined && typeof metadata.invocationId !== 'string')
      malformed('predicate.runDetails.metadata.invocationId must be a string.');
    for (const key of ['startedOn', 'finishedOn']) {
      const at = metadata[key];
      if (at !== undefined && (typeof at !== 'string' || !RFC3339.test(at)))
        malformed(`predicate.runDetails.metadata.${key} must be an RFC 3339 time.`);
    }
  }
  if (run.byproducts !== undefined) readDescriptors(run.byproducts, 'predicate.runDetails.byproducts');
  return value as unknown as SlsaProvenanceV1;
}

/** Deeper than any statement needs; the server's JSON gate cannot see inside the base64 payload. */
const MAX_STATEMENT_DEPTH = 64;

/** How deep JSON text nests, counted without parsing (brackets inside strings do not count). */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Reads an in-toto Statement v1 (JSON bytes) and, when it is SLSA provenance v1, checks the predicate too. */
export function readStatement(payload: Uint8Array | string): InTotoStatement {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  if (nestingDepth(text) > MAX_STATEMENT_DEPTH)
    malformed(`The statement nests deeper than ${MAX_STATEMENT_DEPTH} levels.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AttestationError('ATTESTATION_MALFORMED', 'The statement is not JSON.', { cause: error });
  }
  if (!isObject(value)) malformed('The statement must be a JSON object.');
  const statement = value as Record<string, unknown>;
  if (statement._type !== STATEMENT_TYPE) malformed(`The statement's _type must be ${STATEMENT_TYPE}.`);
  if (!Array.isArray(statement.subject) || statement.subject.length === 0)
    malformed('The statement must have at least one subject.');
  (statement.subject as unknown[]).forEach((subject, i) => {
    const read = readResourceDescriptor(subject, `subject[${i}]`);
    if (!read.digest) malformed(`subject[${i}] must have a digest.`);
  });
  if (typeof statement.predicateType !== 'string' || statement.predicateType === '')
    malformed('The statement must have a predicateType URI.');
  if (statement.predicate !== undefined && !isObject(statement.predicate))
    malformed('The statement predicate must be an object.');
  if (statement.predicateType === SLSA_PROVENANCE_V1) readSlsaProvenance(statement.predicate);
  return statement as unknown as InTotoStatement;
}

/** The Debian package URL (purl) of an installed package. */
export function debianPackageUrl(name: string, version: string, arch = 'amd64'): string {
  // Percent-encoded as the purl spec asks: an epoch's ':' becomes %3A, a '+' %2B.
  const encode = encodeURIComponent;
  return `pkg:deb/debian/${encode(name)}@${encode(version)}?arch=${encode(arch)}`;
}

/** Builds the provenance statement of an image build; throws ATTESTATION_MALFORMED on a bad digest or time. */
export function makeBuildProvenance(input: BuildProvenanceInput): InTotoStatement<SlsaProvenanceV1> {
  const subjectDigest = readDigestSet({ sha512: input.image.sha512, sha256: input.image.sha256 }, 'image');
  const resolvedDependencies: ResourceDescriptor[] = [
    {
      name: 'template',
      ...(input.template.uri ? { uri: input.template.uri } : {}),
      digest: readDigestSet({ sha256: input.template.sha256 }, 'template'),
    },
    {
      name: 'mirror-release',
      uri: input.mirrorRelease.uri,
      digest: readDigestSet({ sha256: input.mirrorRelease.sha256 }, 'mirrorRelease'),
    },
    ...input.packages.map((p) => ({
      uri: debianPackageUrl(p.name, p.version, p.arch),
      ...(p.digest ? { digest: readDigestSet(p.digest, `package ${p.name}`) } : {}),
    })),
  ];
  const byproducts: ResourceDescriptor[] = [];
  if (input.byproducts?.scanReport) {
    byproducts.push({
      name: input.byproducts.scanReport.name,
      mediaType: 'application/json',
      digest: readDigestSet({ sha256: input.byproducts.scanReport.sha256 }, 'scanReport'),
    });
  }
  if (input.byproducts?.rawImage) {
    byproducts.push({
      name: input.byproducts.rawImage.name,
      digest: readDigestSet(input.byproducts.rawImage.digest, 'rawImage'),
    });
  }
  const startedOn = toRfc3339(input.startedOn, 'startedOn');
  const finishedOn = toRfc3339(input.finishedOn, 'finishedOn');
  if (input.finishedOn < input.startedOn) malformed('finishedOn comes before startedOn.');
  const statement: InTotoStatement<SlsaProvenanceV1> = {
    _type: STATEMENT_TYPE,
    subject: [{ name: input.image.name, digest: subjectDigest }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: DEBIAN_BUILD_TYPE,
        externalParameters: {
          template: { name: input.template.name, digest: { sha256: input.template.sha256 } },
          suite: input.suite,
          mirror: input.mirror,
        },
        internalParameters: {
          toolVersions: { ...(input.toolVersions ?? {}) },
          stageCacheKeys: { ...(input.stageCacheKeys ?? {}) },
        },
        resolvedDependencies,
      },
      runDetails: {
        builder: {
          id: input.builder.id,
          ...(input.builder.version ? { version: input.builder.version } : {}),
        },
        metadata: { invocationId: input.invocationId, startedOn, finishedOn },
        ...(byproducts.length ? { byproducts } : {}),
      },
    },
  };
  // What we make must pass what we accept.
  readStatement(JSON.stringify(statement));
  return statement;
}

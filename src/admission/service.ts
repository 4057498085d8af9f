// The container decision service: each project's policy.json, public keys and registries.d, managed
// through the API, and "may these images run?" answered with them. Key paths in a stored policy name
// stored keys, never server files, and signatures are read only over http(s), so a tenant's policy can
// make the server read nothing of its own filesystem.

import {
  configuredLookaside,
  createDestinationGuard,
  createPolicyMechanisms,
  type DestinationGuard,
  type DockerReference,
  evaluatePolicy,
  lookasideRepositoryURL,
  lookasideSignatureURL,
  openPolicyImage,
  type Policy,
  type PolicyDecision,
  type PolicyMechanisms,
  type PolicyRequirement,
  parseImageName,
  parsePolicy,
  parseRegistriesFile,
  type RegistriesConfig,
  type SignatureStorage,
  usesSigstoreAttachments,
} from '../containers/index.ts';
import {
  type ImageTrustError,
  NotFoundError,
  PolicyError,
  toImageTrustError,
  ValidationError,
} from '../errors/index.ts';
import type { EventRecorder } from '../events/index.ts';
import { type Action, type Authorizer, type Credentials, defaultAuthorizer } from '../identity/index.ts';
import { assertContainerKeyName, isContainerKeyName, readContainerKey } from './keys.ts';
import type { ContainerKeyRecord, ContainerTrustRepository, ProjectDocument } from './ports.ts';

/** Most images one decision request may name. */
export const MAX_DECISION_IMAGES = 1000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_IMAGE_TIMEOUT_MS = 30_000;
const REGISTRIES_FILE = 'registries.d/api.yaml';

export interface ContainerTrustServiceOptions {
  repository: ContainerTrustRepository;
  authorizer?: Authorizer;
  clock: { now(): Date };
  /** Where every decision is recorded (the transparency log reads it from there). */
  events: EventRecorder;
  /** How many images are evaluated at once per request. */
  concurrency?: number;
  /** Per-image budget for registry and lookaside reads. */
  imageTimeoutMs?: number;
  /**
   * Registries (`host:port`) reached without TLS verification, falling back to plain HTTP, as
   * registries.conf's `insecure = true`. Empty by default: every registry must present a valid certificate.
   */
  insecureRegistries?: string[];
  /**
   * Hosts (names or `host:port`) that tenant policies may reach although they resolve to internal
   * addresses; the insecure registries are included. Everything else internal is refused.
   */
  internalHosts?: string[];
}

/** One image's verdict as the API returns it. */
export interface ImageDecision extends PolicyDecision {
  image: string;
  /** Set when the image could not be checked at all (unreachable registry, missing manifest). */
  error?: string;
}

/** A stored key as listed: everything but the material. */
export interface ContainerKeyView {
  name: string;
  type: ContainerKeyRecord['keyType'];
  fingerprints: string[];
  created: string;
  updated: string;
}

export function toContainerKeyView(key: ContainerKeyRecord): ContainerKeyView {
  return {
    name: key.name,
    type: key.keyType,
    fingerprints: key.fingerprints,
    created: key.createdAt,
    updated: key.updatedAt,
  };
}

function projectOf(authorizer: Authorizer, credentials: Credentials, action: Action): string {
  authorizer.enforce(action, credentials, { projectId: credentials.projectId });
  if (credentials.projectId === null) {
    throw new ValidationError('BAD_REQUEST', 'A project-scoped token is required for the containers API.');
  }
  return credentials.projectId;
}

function requirementsOf(policy: Policy): PolicyRequirement[] {
  const all = [...policy.default];
  for (const scopes of policy.transports.values()) for (const list of scopes.values()) all.push(...list);
  return all;
}

/** Every key or CA path a requirement reads; through the API each must be a stored key's name. */
function keyNamesOf(requirement: PolicyRequirement): string[] {
  switch (requirement.type) {
    case 'signedBy':
      return [...(requirement.keyPath ? [requirement.keyPath] : []), ...(requirement.keyPaths ?? [])];
    case 'sigstoreSigned':
      return [
        ...(requirement.keyPath ? [requirement.keyPath] : []),
        ...(requirement.keyPaths ?? []),
        ...(requirement.fulcio?.caPath ? [requirement.fulcio.caPath] : []),
        ...(requirement.rekorPublicKeyPath ? [requirement.rekorPublicKeyPath] : []),
        ...(requirement.rekorPublicKeyPaths ?? []),
      ];
    case 'insecureAcceptAnything':
    case 'reject':
    case 'signedBaseLayer':
      return [];
  }
}

/** Parses a policy for API use: c/image's rules, then key paths restricted to stored key names. */
export function parseApiPolicy(text: string): Policy {
  const policy = parsePolicy(text);
  for (const requirement of requirementsOf(policy)) {
    for (const name of keyNamesOf(requirement)) {
      if (!isContainerKeyName(name)) {
        throw new PolicyError(
          'POLICY_INVALID',
          `Key path ${JSON.stringify(name)} is not a stored key name: policies managed through the API name keys stored with PUT /containers/v1/keys/{name} (or embed them with keyData); server files are never read.`,
        );
      }
    }
  }
  return policy;
}

const READ_FIELDS = ['lookaside', 'sigstore', 'lookasideStaging', 'sigstoreStaging'] as const;

/** Parses a registries.d document for API use: lookaside URLs must be http(s), never server files. */
export function parseApiRegistries(text: string): RegistriesConfig {
  const config = parseRegistriesFile({ path: REGISTRIES_FILE, text });
  const sections = [...(config.defaultDocker ? [config.defaultDocker] : []), ...config.docker.values()];
  for (const section of sections) {
    for (const field of READ_FIELDS) {
      const url = section[field];
      if (url !== undefined && !/^https?:\/\//i.test(url)) {
        throw new PolicyError(
          'POLICY_INVALID',
          `Lookaside URL ${JSON.stringify(url)} is refused: only http:// and https:// lookasides are allowed through the API (file: would read the server's filesystem).`,
          section.source.position ? { position: section.source.position } : {},
        );
      }
    }
  }
  return config;
}

/** Reads a decision request body: `{"images": [...]}` with 1..1000 docker:// names. */
export function readDecisionRequest(body: unknown): string[] {
  const images = (body as { images?: unknown } | null)?.images;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Array.isArray(images)) {
    throw new ValidationError('BAD_REQUEST', 'Expected a JSON object {"images": ["docker://…", …]}.');
  }
  if (images.length === 0 || images.length > MAX_DECISION_IMAGES) {
    throw new ValidationError(
      'BAD_REQUEST',
      `"images" must hold 1 to ${MAX_DECISION_IMAGES} image names, not ${images.length}.`,
    );
  }
  images.forEach((image, index) => {
    if (typeof image !== 'string') {
      throw new ValidationError('BAD_REQUEST', `images[${index}] must be a string.`);
    }
    // Other transports (dir:, oci:, docker-archive:, …) name server paths; the API reads registries only.
    if (!image.startsWith('docker://')) {
      throw new ValidationError(
        'BAD_REQUEST',
        `images[${index}] ${JSON.stringify(image)}: only docker:// image names are accepted by the decision API.`,
      );
    }
    parseImageName(image);
  });
  return images as string[];
}

/** Runs `work` over `items` with at most `limit` in flight; results keep the input order. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class ContainerTrustService {
  readonly #repository: ContainerTrustRepository;
  readonly #clock: { now(): Date };
  readonly #events: EventRecorder;
  readonly #concurrency: number;
  readonly #imageTimeoutMs: number;
  readonly #insecure: Set<string>;
  readonly #guard: DestinationGuard;
  readonly #authorizer: Authorizer;

  constructor(options: ContainerTrustServiceOptions) {
    this.#repository = options.repository;
    this.#authorizer = options.authorizer ?? defaultAuthorizer;
    this.#clock = options.clock;
    this.#events = options.events;
    this.#concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.#imageTimeoutMs = options.imageTimeoutMs ?? DEFAULT_IMAGE_TIMEOUT_MS;
    this.#insecure = new Set(options.insecureRegistries ?? []);
    this.#guard = createDestinationGuard([...(options.internalHosts ?? []), ...this.#insecure]);
  }

  async putPolicy(credentials: Credentials, text: string): Promise<ProjectDocument> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:modify_policy');
    parseApiPolicy(text);
    const document = { projectId, document: text, updatedAt: this.#clock.now().toISOString() };
    await this.#repository.putDocument('policy', document);
    return document;
  }

  async getPolicy(credentials: Credentials): Promise<ProjectDocument> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:get_policy');
    const found = await this.#repository.findDocument('policy', projectId);
    if (!found) throw new NotFoundError('No container policy is set for this project.');
    return found;
  }

  async deletePolicy(credentials: Credentials): Promise<void> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:modify_policy');
    if (!(await this.#repository.deleteDocument('policy', projectId))) {
      throw new NotFoundError('No container policy is set for this project.');
    }
  }

  async putRegistries(credentials: Credentials, text: string): Promise<ProjectDocument> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:modify_policy');
    parseApiRegistries(text);
    const document = { projectId, document: text, updatedAt: this.#clock.now().toISOString() };
    await this.#repository.putDocument('registries', document);
    return document;
  }

  async getRegistries(credentials: Credentials): Promise<ProjectDocument> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:get_policy');
    const found = await this.#repository.findDocument('registries', projectId);
    if (!found) throw new NotFoundError('No registries.d configuration is set for this project.');
    return found;
  }

  async deleteRegistries(credentials: Credentials): Promise<void> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:modify_policy');
    if (!(await this.#repository.deleteDocument('registries', projectId))) {
      throw new NotFoundError('No registries.d configuration is set for this project.');
    }
  }

  /** Stores (or replaces) a public key; `created` tells which. */
  async putKey(
    credentials: Credentials,
    name: string,
    material: Buffer,
  ): Promise<{ key: ContainerKeyRecord; created: boolean }> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:modify_keys');
    assertContainerKeyName(name);
    const { keyType, fingerprints } = await readContainerKey(material);
    const now = this.#clock.now().toISOString();
    const existing = await this.#repository.findKey(projectId, name);
    const key: ContainerKeyRecord = {
      projectId,
      name,
      keyType,
      fingerprints,
      material,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    const created = await this.#repository.putKey(key);
    return { key, created };
  }

  async listKeys(credentials: Credentials): Promise<ContainerKeyRecord[]> {
    return this.#repository.listKeys(projectOf(this.#authorizer, credentials, 'containers:get_keys'));
  }

  async getKey(credentials: Credentials, name: string): Promise<ContainerKeyRecord> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:get_keys');
    const key = isContainerKeyName(name) ? await this.#repository.findKey(projectId, name) : null;
    if (!key) throw new NotFoundError(`No key named ${JSON.stringify(name)} in this project.`);
    return key;
  }

  async deleteKey(credentials: Credentials, name: string): Promise<void> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:modify_keys');
    if (!isContainerKeyName(name) || !(await this.#repository.deleteKey(projectId, name))) {
      throw new NotFoundError(`No key named ${JSON.stringify(name)} in this project.`);
    }
  }

  /**
   * Evaluates each image with the caller's project policy, a few at a time, in request order. An image
   * that could not be checked is a denial with a coded `error`; `onFailure` is told of each, with its cause.
   */
  async decide(
    credentials: Credentials,
    body: unknown,
    options: { onFailure?: (image: string, error: ImageTrustError) => void } = {},
  ): Promise<ImageDecision[]> {
    const projectId = projectOf(this.#authorizer, credentials, 'containers:decide');
    const images = readDecisionRequest(body);
    const stored = await this.#repository.findDocument('policy', projectId);
    if (!stored) throw new NotFoundError('No container policy is set for this project.');
    const policy = parseApiPolicy(stored.document);
    const registries = await this.#repository.findDocument('registries', projectId);
    const config = registries ? parseApiRegistries(registries.document) : { docker: new Map() };
    const keys = new Map((await this.#repository.listKeys(projectId)).map((key) => [key.name, key]));
    const mechanisms = this.#mechanisms(keys);
    const decisions = await mapLimited(images, this.#concurrency, (image) =>
      this.#decideOne(image, policy, config, mechanisms, options.onFailure),
    );
    // Every admission decision is evidence; a decision that cannot be recorded is not handed out.
    await this.#events.record(
      ...decisions.map((decision) => ({
        type: 'container.decided' as const,
        actor: { userId: credentials.userId, userName: credentials.userName, projectId },
        projectId,
        subjectId: decision.image,
        details: { allowed: decision.allowed, error: decision.error ?? null },
      })),
    );
    return decisions;
  }

  #mechanisms(keys: Map<string, ContainerKeyRecord>): PolicyMechanisms {
    return createPolicyMechanisms({
      now: () => this.#clock.now(),
      // Names resolve against the project's stored keys only; the server's files are out of reach.
      async readKeyFile(name) {
        const key = keys.get(name);
        if (!key) {
          throw new PolicyError(
            'SIGNATURE_REJECTED',
            `Key ${JSON.stringify(name)} is not stored in this project; upload it with PUT /containers/v1/keys/${name}`,
          );
        }
        return key.material;
      },
    });
  }

  async #decideOne(
    image: string,
    policy: Policy,
    config: RegistriesConfig,
    mechanisms: PolicyMechanisms,
    onFailure?: (image: string, error: ImageTrustError) => void,
  ): Promise<ImageDecision> {
    const signal = AbortSignal.timeout(this.#imageTimeoutMs);
    try {
      const reference = parseImageName(image);
      const host = reference.dockerReference?.domain ?? '';
      const source = openPolicyImage(image, {
        signatureStorage: (ref) => signatureStorageFor(config, ref),
        tlsVerify: !this.#insecure.has(host),
        manifestDigest: mechanisms.manifestDigest,
        signal,
        guard: this.#guard,
        insecureHint: 'the server reaches it only when it is listed as an insecure registry',
      });
      // As skopeo copy: the manifest is fetched (and checked against a digest reference) first.
      await source.manifest();
      return { image, ...(await evaluatePolicy(policy, source, mechanisms)) };
    } catch (thrown) {
      const error: ImageTrustError = toImageTrustError(thrown);
      onFailure?.(image, error);
      return {
        image,
        allowed: false,
        reason: error.code === 'INTERNAL' ? 'The image could not be checked.' : error.message,
        error: error.code,
        scope: {},
        requirements: [],
      };
    }
  }
}

/** registries.d for one image, with no built-in fallback: c/image's default lookaside is a server directory. */
function signatureStorageFor(config: RegistriesConfig, ref: DockerReference): SignatureStorage {
  const useSigstoreAttachments = usesSigstoreAttachments(config, ref);
  const configured = configuredLookaside(config, ref);
  if (configured === undefined) return { useSigstoreAttachments };
  if (!/^https?:\/\//i.test(configured)) {
    throw new PolicyError('POLICY_INVALID', `Lookaside URL ${JSON.stringify(configured)} is refused.`);
  }
  const repository = lookasideRepositoryURL(config, ref, { fallback: configured });
  return {
    lookaside: (digest, index) => String(lookasideSignatureURL(repository, digest, index)),
    useSigstoreAttachments,
  };
}

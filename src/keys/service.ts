// The secret service: Barbican v1's secret operations over injected ports, in Barbican's order of checks
// (id, existence, policy, content type, body), with payloads sealed before they reach storage.
import { randomUUID } from 'node:crypto';
import { ImageTrustError, NotFoundError, ValidationError } from '../errors/index.ts';
import type { DomainEvent, DomainEventType, EventRecorder } from '../events/index.ts';
import {
  type Action,
  type Authorizer,
  type Credentials,
  defaultAuthorizer,
  type RuleTarget,
} from '../identity/index.ts';
import { type AclChange, aclAccessFor, planAclChange, readAclRequest, type SecretAcl } from './acl.ts';
import { openPayload, sealPayload } from './envelope.ts';
import { negotiatePayload, type PayloadRepresentation } from './media-types.ts';
import {
  readMetadataRequest,
  readMetadatumRequest,
  type SecretMetadata,
  type SecretMetadatum,
} from './metadata.ts';
import { isExpired, type SecretRecord, type SecretType, type StoredContentType } from './model.ts';
import type { Clock, KeyringProvider, SecretRepository } from './ports.ts';
import {
  type ListQueryParams,
  readPayloadUpload,
  readSecretCreateRequest,
  readSecretListQuery,
} from './requests.ts';

export interface SecretServiceOptions {
  secrets: SecretRepository;
  keyring: KeyringProvider;
  clock: Clock;
  newId?: () => string;
  authorizer?: Authorizer;
  /**
   * Where secret creations, payload reads, deletions and ACL changes are recorded, with the change (ids,
   * names and ACL user ids only, never material).
   */
  events: EventRecorder;
}

/** A request body as it arrived: its media type (no parameters, lower case) and its bytes. */
export interface RawBody {
  mediaType: string | undefined;
  body: Buffer;
}

/** A PUT or PATCH of a secret's ACL (its body as it arrived), or a DELETE. */
export type AclChangeInput = { kind: 'replace' | 'update'; input: RawBody } | { kind: 'delete' };

export interface SecretPage {
  secrets: SecretRecord[];
  offset: number;
  limit: number;
  total: number;
}

/** What signature verification gets from the key manager: the stored bytes, exactly as castellan would. */
export interface SecretForVerification {
  secretType: SecretType;
  payload: Buffer;
  contentType: StoredContentType;
  creatorId: string | null;
  /** The project that owns the secret. */
  projectId: string;
}

/** Barbican accepts only the canonical lower-case form of a version-4 UUID as a secret id. */
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Barbican's max_allowed_request_size_in_bytes: load_body reads no more of an ACL or metadata body than this. */
const MAX_ACL_REQUEST_BYTES = 25000;

const notAllowed = (operation: string) =>
  `${operation} attempt not allowed - please review your user/project privileges`;

export class SecretService {
  readonly #secrets: SecretRepository;
  readonly #keyring: KeyringProvider;
  readonly #clock: Clock;
  readonly #newId: () => string;
  readonly #authorizer: Authorizer;
  readonly #events: EventRecorder;

  constructor(options: SecretServiceOptions) {
    this.#secrets = options.secrets;
    this.#keyring = options.keyring;
    this.#clock = options.clock;
    this.#newId = options.newId ?? randomUUID;
    this.#authorizer = options.authorizer ?? defaultAuthorizer;
    this.#events = options.events;
  }

  #event(
    type: DomainEventType,
    credentials: Credentials,
    secret: SecretRecord,
    details: Record<string, unknown> = {},
  ): DomainEvent {
    return {
      type,
      actor: { userId: credentials.userId, userName: credentials.userName, projectId: credentials.projectId },
      projectId: secret.projectId,
      subjectId: secret.id,
      details: { name: secret.name, secret_type: secret.secretType, ...details },
    };
  }

  /** `POST /v1/secrets`: policy, then the JSON content type, then Barbican's validator. */
  async createSecret(credentials: Credentials, input: RawBody): Promise<SecretRecord> {
    this.#authorizer.enforce(
      'secrets:post',
      credentials,
      { projectId: credentials.projectId },
      notAllowed('Secret creation'),
    );
    const parsed = this.#readJson(input);
    const now = this.#clock.now();
    const request = readSecretCreateRequest(parsed, now);
    const projectId = credentials.projectId as string;
    const id = this.#newId();
    const timestamp = now.toISOString();
    const secret: SecretRecord = {
      id,
      projectId,
      creatorId: credentials.userId,
      name: request.name,
      secretType: request.secretType,
      algorithm: request.algorithm,
      bitLength: request.bitLength,
      mode: request.mode,
      expiration: request.expiration,
      status: 'ACTIVE',
      contentType: request.payload?.contentType ?? null,
      sealed: null,
      createdAt: timestamp,
      updatedAt: timestamp,
    };
    if (request.payload) {
      const binding = { secretId: id, projectId, contentType: request.payload.contentType };
      secret.sealed = sealPayload(await this.#keyring.load(), binding, request.payload.bytes);
    }
    await this.#events.withEvents(async (record) => {
      await this.#secrets.createSecret(secret);
      record(this.#event('secret.created', credentials, secret));
    });
    return secret;
  }

  /**
   * `GET /v1/secrets`: the caller's project only (or, with `acl_only=true`, the secrets whose ACLs list
   * the caller), unexpired, with Barbican's paging.
   */
  async listSecrets(credentials: Credentials, query: ListQueryParams): Promise<SecretPage> {
    this.#authorizer.enforce(
      'secrets:get',
      credentials,
      { projectId: credentials.projectId },
      notAllowed('Secret(s) retrieval'),
    );
    const request = readSecretListQuery(query);
    const { secrets, total } = await this.#secrets.listSecrets({
      projectId: credentials.projectId as string,
      ...(request.aclOnly && { aclUserId: credentials.userId }),
      now: this.#clock.now().toISOString(),
      name: request.name,
      algorithm: request.algorithm,
      mode: request.mode,
      bitLength: request.bitLength,
      secretType: request.secretType,
      dateFilters: request.dateFilters,
      sort: request.sort,
      offset: request.offset,
      limit: request.limit,
    });
    return { secrets, offset: request.offset, limit: request.limit, total };
  }

  /** `GET /v1/secrets/{id}` as JSON: the metadata. */
  async getSecret(credentials: Credentials, id: string): Promise<SecretRecord> {
    return this.#findAllowed(credentials, id, 'secret:get', 'Secret retrieval');
  }

  /**
   * The payload for an Accept header: `GET /v1/secrets/{id}/payload`, or `GET /v1/secrets/{id}` with a
   * non-JSON Accept (`viaMetadataUrl`), which Barbican still serves under the decrypt rule.
   */
  async readPayload(
    credentials: Credentials,
    id: string,
    accept: string | undefined,
    viaMetadataUrl = false,
  ): Promise<PayloadRepresentation> {
    const operation = viaMetadataUrl ? 'Secret retrieval' : 'Secret payload retrieval';
    const secret = await this.#findAllowed(credentials, id, 'secret:decrypt', operation);
    if (!secret.sealed || !secret.contentType) {
      throw new NotFoundError('Not Found. Sorry but your secret has no payload.');
    }
    const representation = negotiatePayload(await this.#open(secret), secret.contentType, accept, operation);
    // A read that cannot be recorded is not served.
    await this.#events.record(this.#event('secret.read', credentials, secret));
    return representation;
  }

  /** `PUT /v1/secrets/{id}`: the second step of a two-step creation; a payload is never replaced. */
  async storePayload(
    credentials: Credentials,
    id: string,
    input: RawBody & { contentEncoding: string | undefined },
  ): Promise<void> {
    const secret = await this.#findAllowed(credentials, id, 'secret:put', 'Secret update');
    const upload = readPayloadUpload(input.mediaType, input.contentEncoding, input.body);
    const conflict = () => new ImageTrustError('CONFLICT', 'Secret already has data, cannot modify it.');
    if (secret.sealed) throw conflict();
    const binding = { secretId: id, projectId: secret.projectId, contentType: upload.contentType };
    const sealed = sealPayload(await this.#keyring.load(), binding, upload.bytes);
    const stored = await this.#secrets.storePayload(
      id,
      upload.contentType,
      sealed,
      this.#clock.now().toISOString(),
    );
    if (!stored) throw conflict();
  }

  /** `DELETE /v1/secrets/{id}`: the row and its ciphertext are removed, not soft-deleted. */
  async deleteSecret(credentials: Credentials, id: string): Promise<void> {
    const secret = await this.#findAllowed(credentials, id, 'secret:delete', 'Secret deletion');
    await this.#events.withEvents(async (record) => {
      if (!(await this.#secrets.deleteSecret(id))) throw new NotFoundError('Secret not found.');
      record(this.#event('secret.deleted', credentials, secret));
    });
  }

  /** `GET /v1/secrets/{id}/acl`: the secret's ACLs (none: the implicit default). */
  async getAcl(credentials: Credentials, id: string): Promise<SecretAcl[]> {
    const secret = await this.#find(id);
    this.#authorizer.enforce(
      'secret_acls:get',
      credentials,
      this.#aclTarget(secret),
      notAllowed('SecretACL(s) retrieval'),
    );
    return this.#secrets.findAcls(id);
  }

  /**
   * `PUT`, `PATCH` or `DELETE /v1/secrets/{id}/acl`, in Barbican's order: the secret, policy, then the
   * JSON content type and the ACL schema. The change and its event commit together; a request that
   * changes nothing (a DELETE with no ACL, a PATCH naming no operation) records nothing.
   */
  async changeAcl(credentials: Credentials, id: string, input: AclChangeInput): Promise<void> {
    const secret = await this.#find(id);
    const deleting = input.kind === 'delete';
    const [action, operation] = deleting
      ? (['secret_acls:delete', 'SecretACL(s) deletion'] as const)
      : (['secret_acls:put_patch', 'SecretACL(s) Update'] as const);
    this.#authorizer.enforce(action, credentials, this.#aclTarget(secret), notAllowed(operation));
    const change: AclChange = deleting
      ? { kind: 'delete' }
      : { kind: input.kind, request: readAclRequest(this.#readJson(input.input, MAX_ACL_REQUEST_BYTES)) };
    const now = this.#clock.now().toISOString();
    // Barbican stamps the secret itself whenever PUT or PATCH writes an operation's ACL.
    const writes = change.kind !== 'delete' && Object.keys(change.request).length > 0;
    await this.#events.withEvents(async (record) => {
      const existing = await this.#secrets.findAcls(id);
      const next = planAclChange(existing, change, now);
      // Nothing named and nothing removed (a PATCH of `{}`, a DELETE with no ACL): no change, no event.
      if (!writes && next.length === existing.length) return;
      await this.#secrets.replaceAcls(id, next, writes ? now : null);
      record(
        this.#event('secret.acl_changed', credentials, secret, {
          change: change.kind,
          acl: Object.fromEntries(
            next.map((acl) => [acl.operation, { project_access: acl.projectAccess, users: acl.users }]),
          ),
        }),
      );
    });
  }

  /** `GET /v1/secrets/{id}/metadata`: the secret's user metadata. */
  async getMetadata(credentials: Credentials, id: string): Promise<SecretMetadata> {
    await this.#findAllowed(credentials, id, 'secret_meta:get', 'Secret metadata retrieval');
    return this.#secrets.findMetadata(id);
  }

  /** `PUT /v1/secrets/{id}/metadata`: policy, content type, body; then the metadata is replaced whole. */
  async replaceMetadata(credentials: Credentials, id: string, input: RawBody): Promise<void> {
    await this.#findAllowed(credentials, id, 'secret_meta:put', 'Secret metadata creation');
    const metadata = readMetadataRequest(this.#readJson(input, MAX_ACL_REQUEST_BYTES));
    await this.#secrets.replaceMetadata(id, metadata, this.#clock.now().toISOString());
  }

  /** `POST /v1/secrets/{id}/metadata`: adds one key (lowered); CONFLICT when the secret has it. */
  async addMetadatum(credentials: Credentials, id: string, input: RawBody): Promise<SecretMetadatum> {
    await this.#findAllowed(credentials, id, 'secret_meta:post', 'Secret metadatum creation');
    const { key, value } = readMetadatumRequest(this.#readJson(input, MAX_ACL_REQUEST_BYTES));
    const added = await this.#secrets.addMetadatum(id, key, value, this.#clock.now().toISOString());
    if (!added) {
      throw new ImageTrustError('CONFLICT', 'Conflict. Key in request is already in the secret metadata');
    }
    return { key, value };
  }

  /** `GET /v1/secrets/{id}/metadata/{key}`: the key as given in the URL, not lowered, as Barbican looks it up. */
  async getMetadatum(credentials: Credentials, id: string, key: string): Promise<SecretMetadatum> {
    await this.#findAllowed(credentials, id, 'secret_meta:get', 'Secret metadatum retrieval');
    const metadata = await this.#secrets.findMetadata(id);
    if (!Object.hasOwn(metadata, key)) throw new NotFoundError('Secret metadata not found.');
    return { key, value: metadata[key] };
  }

  /**
   * `PUT /v1/secrets/{id}/metadata/{key}`, in Barbican's order: policy, content type, body; then the URL's
   * key must exist (404) and equal the body's lowered key (409).
   */
  async updateMetadatum(
    credentials: Credentials,
    id: string,
    key: string,
    input: RawBody,
  ): Promise<SecretMetadatum> {
    await this.#findAllowed(credentials, id, 'secret_meta:put', 'Secret metadatum update');
    const metadatum = readMetadatumRequest(this.#readJson(input, MAX_ACL_REQUEST_BYTES));
    const metadata = await this.#secrets.findMetadata(id);
    if (!Object.hasOwn(metadata, key)) throw new NotFoundError('Secret metadata not found.');
    // Barbican's message stops mid-sentence: the rest of it is a separate statement in its source.
    if (metadatum.key !== key) {
      throw new ImageTrustError('CONFLICT', 'Key in request data does not match key in the ');
    }
    await this.#secrets.setMetadatum(id, key, metadatum.value, this.#clock.now().toISOString());
    return metadatum;
  }

  /** `DELETE /v1/secrets/{id}/metadata/{key}`: 204 whether or not the key was there, as in Barbican. */
  async deleteMetadatum(credentials: Credentials, id: string, key: string): Promise<void> {
    await this.#findAllowed(credentials, id, 'secret_meta:delete', 'Secret metadatum removal');
    await this.#secrets.deleteMetadatum(id, key);
  }

  /**
   * The certificate (or key) behind a signature, fetched with the caller's rights as castellan does
   * with the caller's token: null when the secret does not exist, has expired or has no payload (Barbican's
   * 404). A secret the caller may not read throws FORBIDDEN (Barbican's 403, which cursive reports
   * differently); a payload that fails decryption throws SECRET_CORRUPT.
   */
  async getSecretForVerification(
    credentials: Credentials,
    id: string,
  ): Promise<SecretForVerification | null> {
    let secret: SecretRecord;
    try {
      secret = await this.#findAllowed(credentials, id, 'secret:get', 'Secret retrieval');
      this.#authorizer.enforce('secret:decrypt', credentials, await this.#secretTarget(secret, credentials));
    } catch (error) {
      if (error instanceof ImageTrustError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
    if (!secret.sealed || !secret.contentType) return null;
    return {
      secretType: secret.secretType,
      payload: await this.#open(secret),
      contentType: secret.contentType,
      creatorId: secret.creatorId,
      projectId: secret.projectId,
    };
  }

  /**
   * A secret read with the service's own authority, for trust anchors named in the configuration
   * (trust.trustedCertificateIds): no caller policy applies. Null when absent, expired or payload-less.
   */
  async getTrustedSecret(id: string): Promise<SecretForVerification | null> {
    let secret: SecretRecord;
    try {
      secret = await this.#find(id);
    } catch (error) {
      if (error instanceof ImageTrustError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
    if (!secret.sealed || !secret.contentType) return null;
    return {
      secretType: secret.secretType,
      payload: await this.#open(secret),
      contentType: secret.contentType,
      creatorId: secret.creatorId,
      projectId: secret.projectId,
    };
  }

  /** Resolves a secret id as Barbican's router does before it looks at the method: 404 unless it exists. */
  async checkSecretExists(id: string): Promise<void> {
    await this.#find(id);
  }

  async #find(id: string): Promise<SecretRecord> {
    if (!UUID4.test(id)) throw new NotFoundError('Not Found. Provided secret id is invalid.');
    const secret = await this.#secrets.findSecret(id);
    if (!secret || isExpired(secret, this.#clock.now())) throw new NotFoundError('Secret not found.');
    return secret;
  }

  async #findAllowed(
    credentials: Credentials,
    id: string,
    action: Action,
    operation: string,
  ): Promise<SecretRecord> {
    const secret = await this.#find(id);
    // Barbican looks the secret up before policy, so another project's secret is 403, not 404.
    this.#authorizer.enforce(
      action,
      credentials,
      await this.#secretTarget(secret, credentials),
      notAllowed(operation),
    );
    return secret;
  }

  /** The secret rules' target: the owning project, the creator, what the ACLs say about this caller. */
  async #secretTarget(secret: SecretRecord, credentials: Credentials): Promise<RuleTarget> {
    const access = aclAccessFor(await this.#secrets.findAcls(secret.id), credentials.userId);
    return {
      projectId: secret.projectId,
      userId: secret.creatorId,
      readProjectAccess: access.readProjectAccess,
      listedForRead: access.listedForRead,
    };
  }

  /** The ACL rules' target: the owning project and the creator only, as Barbican's ACL controller has it. */
  #aclTarget(secret: SecretRecord): RuleTarget {
    return { projectId: secret.projectId, userId: secret.creatorId };
  }

  /**
   * A JSON request body as Barbican's load_body reads it, after its content-type check; with `limit`,
   * only that many bytes are read (the rest cut off, so an over-long body is malformed JSON).
   */
  #readJson(input: RawBody, limit?: number): unknown {
    if (input.mediaType !== 'application/json') {
      throw new ValidationError(
        'UNSUPPORTED_MEDIA_TYPE',
        "Unexpected content type. Expected content types are: ['application/json']",
      );
    }
    try {
      const body = limit === undefined ? input.body : input.body.subarray(0, limit);
      return JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new ValidationError('MALFORMED_JSON', 'Malformed JSON', { cause: error });
    }
  }

  async #open(secret: SecretRecord): Promise<Buffer> {
    const binding = {
      secretId: secret.id,
      projectId: secret.projectId,
      contentType: secret.contentType as string,
    };
    return openPayload(await this.#keyring.load(), binding, secret.sealed!);
  }
}

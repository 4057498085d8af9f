// The image catalog service: Glance v2's image operations over injected ports. Uploads stream once
// through the hashes and into a temporary blob that is committed only when everything passed.
import { randomUUID } from 'node:crypto';
import {
  AuthError,
  ConflictError,
  GovernanceError,
  ImageTrustError,
  IntegrityError,
  NotFoundError,
  SourceError,
  UnavailableError,
  ValidationError,
  VerificationError,
} from '../errors/index.ts';
import type { DomainEvent, DomainEventType, EventRecorder } from '../events/index.ts';
import type { Credentials } from '../identity/index.ts';
import { type Action, type Authorizer, defaultAuthorizer, type RuleTarget } from '../identity/index.ts';
import { type CertificateSecret, formatGlanceSignatureFailure, signatureMismatch } from '../trust/index.ts';
import { DEFAULT_IMPORT_URI_FILTER, type ImportUriFilter, isImportUriAllowed } from './import-uri.ts';
import { assertNotObsolete } from './lifecycle.ts';
import {
  type ImageMember,
  type ImageRecord,
  type ImageStatus,
  isStatusTransitionAllowed,
  MEMBER_STATUSES,
  type MemberStatus,
  NEW_IMAGE_GOVERNANCE,
  statusesThatMayBecome,
  toGlanceTimestamp,
} from './model.ts';
import type {
  BlobData,
  BlobStore,
  ByteRange,
  Clock,
  DigesterFactory,
  Digests,
  ImageRepository,
  ImportSource,
  StreamVerifierSpec,
  TaskRepository,
  TemporaryBlob,
  WebDownloader,
} from './ports.ts';
import {
  applyImagePatch,
  type ImportRequest,
  type PatchOperation,
  type QueryParams,
  readImageCreateRequest,
  readImageListQuery,
  readImportRequest,
  readTaskListQuery,
} from './requests.ts';
import type { UploadSignatureCheck } from './signature-check.ts';
import { stagingKey } from './staging.ts';
import { type ImportTask, TASK_TIME_TO_LIVE_MS } from './tasks.ts';
import { createVirtualSizeInspector } from './virtual-size.ts';

export interface CatalogLimits {
  sizeCap: number;
  maxProperties: number;
  maxTags: number;
  maxMembers: number;
  defaultPageSize: number;
  maxPageSize: number;
}

export interface CatalogServiceOptions {
  images: ImageRepository;
  blobs: BlobStore;
  digester: DigesterFactory;
  limits: CatalogLimits;
  clock: Clock;
  newId?: () => string;
  /** Decides how an upload's signature is verified; without it, uploads are never verified. */
  signatureCheck?: UploadSignatureCheck;
  authorizer?: Authorizer;
  /** Where every change is recorded, in the change's own transaction. */
  events: EventRecorder;
  /**
   * This process's name on the uploads it writes, how often it renews their leases, and how many it
   * takes at once (more are refused with TOO_MANY_UPLOADS).
   */
  upload: { owner: string; renewEveryMs: number; maxConcurrent: number };
  /** Test-only crash points (`IMAGETRUST_FAILPOINTS`); never set in production. */
  failpoint?: (name: string) => void;
  /** Lets a PATCH or create make an image public directly, as plain Glance does; off: only releases publish. */
  allowDirectPublish?: boolean;
  /** Reads a key-manager certificate with the service's authority (for getSigningCertificate). */
  readCertificate?: (id: string) => Promise<CertificateSecret | null>;
  /** Where import tasks are kept; without it, imports are refused. */
  tasks?: TaskRepository;
  /** The interoperable import methods carried out (and advertised); default glance-direct and web-download. */
  importMethods?: readonly string[];
  /** `web-download`: the fetcher, Glance's URI filter and a size cap of its own (under `limits.sizeCap`). */
  webDownload?: { fetch?: WebDownloader; filter?: ImportUriFilter; maxBytes?: number };
}

/** A lease this process holds on an image while it writes its data, and the temporary it writes to. */
interface Lease {
  id: string;
  owner: string;
  temp: TemporaryBlob;
}

/** What one pass over the data found. */
interface Received {
  size: number;
  virtualSize: number | null;
  digests: Digests;
  /** `sha512:<hex>`, the data's digest in events. */
  digest: string;
  /** The verification event, when the data was verified (recorded with the change). */
  verification: DomainEvent | null;
}

/** The import methods this catalog carries out (copy-image needs several stores; there is one). */
export const IMPORT_METHODS = ['glance-direct', 'web-download'] as const;

export interface UploadOptions {
  /** The declared Content-Length, when the client sent one. */
  contentLength?: number;
  signal?: AbortSignal;
}

export interface DownloadResult {
  image: ImageRecord;
  /** null when the image has no data (Glance answers 204). */
  data: BlobData | null;
  range?: ByteRange;
}

/** The hash algorithm reported in os_hash_algo (Glance's `hashing_algorithm` default). */
export const OS_HASH_ALGO = 'sha512';

/** What image rules see of an image: its owner (as project_id and owner) and its visibility. */
function imageTarget(image: ImageRecord): RuleTarget {
  return { projectId: image.owner, visibility: image.visibility };
}

export class CatalogService {
  readonly #images: ImageRepository;
  readonly #blobs: BlobStore;
  readonly #digester: DigesterFactory;
  readonly #limits: CatalogLimits;
  readonly #clock: Clock;
  readonly #newId: () => string;
  readonly #signatureCheck?: UploadSignatureCheck;
  readonly #authorizer: Authorizer;
  readonly #events: EventRecorder;
  readonly #upload: { owner: string; renewEveryMs: number; maxConcurrent: number };
  #uploadsInFlight = 0;
  readonly #failpoint?: (name: string) => void;
  readonly #allowDirectPublish: boolean;
  readonly #readCertificate?: (id: string) => Promise<CertificateSecret | null>;
  readonly #tasks?: TaskRepository;
  readonly #importMethods: readonly string[];
  readonly #webDownload: { fetch?: WebDownloader; filter: ImportUriFilter; maxBytes: number };
  readonly #imports = new Set<Promise<void>>();

  constructor(options: CatalogServiceOptions) {
    this.#images = options.images;
    this.#blobs = options.blobs;
    this.#digester = options.digester;
    this.#limits = options.limits;
    this.#clock = options.clock;
    this.#newId = options.newId ?? randomUUID;
    this.#signatureCheck = options.signatureCheck;
    this.#authorizer = options.authorizer ?? defaultAuthorizer;
    this.#events = options.events;
    this.#upload = options.upload;
    this.#failpoint = options.failpoint;
    this.#allowDirectPublish = options.allowDirectPublish ?? false;
    this.#readCertificate = options.readCertificate;
    this.#tasks = options.tasks;
    this.#importMethods = options.importMethods ?? IMPORT_METHODS;
    this.#webDownload = {
      fetch: options.webDownload?.fetch,
      filter: options.webDownload?.filter ?? DEFAULT_IMPORT_URI_FILTER,
      maxBytes: options.webDownload?.maxBytes ?? options.limits.sizeCap,
    };
  }

  /** The import methods advertised in `/v2/info/import` and `OpenStack-image-import-methods`. */
  get importMethods(): readonly string[] {
    return this.#importMethods;
  }

  #event(
    credentials: Credentials | null,
    type: DomainEventType,
    image: ImageRecord,
    details?: Record<string, unknown>,
    contentDigest?: string | null,
  ): DomainEvent {
    return {
      type,
      actor: credentials
        ? { userId: credentials.userId, userName: credentials.userName, projectId: credentials.projectId }
        : null,
      projectId: image.owner,
      subjectId: image.id,
      contentDigest: contentDigest ?? null,
      ...(details ? { details } : {}),
    };
  }

  #timestamp(): string {
    return toGlanceTimestamp(this.#clock.now());
  }

  /** Returns the image if the caller may see it, else NOT_FOUND (never FORBIDDEN: that would leak its existence). */
  async getImage(
    credentials: Credentials,
    id: string,
    notFound = `No image found with ID ${id}`,
  ): Promise<ImageRecord> {
    const image = await this.#images.findImage(id);
    // As Glance: an image the policy does not let you get is not found, not forbidden.
    if (
      !image ||
      image.status === 'deleted' ||
      !this.#authorizer.isAllowed('get_image', credentials, imageTarget(image)) ||
      !(await this.#isVisible(credentials, image))
    ) {
      throw new NotFoundError(notFound);
    }
    return image;
  }

  async #isVisible(credentials: Credentials, image: ImageRecord): Promise<boolean> {
    if (credentials.isAdmin || image.owner === null) return true;
    if (image.owner === credentials.projectId) return true;
    if (image.visibility === 'public' || image.visibility === 'community') return true;
    if (image.visibility === 'shared' && credentials.projectId) {
      return (await this.#images.findMember(image.id, credentials.projectId)) !== null;
    }
    return false;
  }

  /** Owners (and admins) may change an image; everyone else who can see it gets FORBIDDEN. */
  #enforceOwner(
    action: Action,
    credentials: Credentials,
    image: ImageRecord,
    message = 'You do not own this image',
  ): void {
    if (!this.#authorizer.isAllowed(action, credentials, imageTarget(image)))
      throw new AuthError('NOT_OWNER', message);
  }

  async createImage(credentials: Credentials, body: unknown): Promise<ImageRecord> {
    const request = readImageCreateRequest(body);
    const owner = request.base.owner === undefined ? credentials.projectId : request.base.owner;
    if (owner !== credentials.projectId && !credentials.isAdmin) {
      throw new AuthError('FORBIDDEN', `You are not permitted to create images owned by '${owner}'.`);
    }
    this.#authorizer.enforce('add_image', credentials, { projectId: owner });
    const visibility = request.base.visibility ?? 'shared';
    this.#enforceVisibility(credentials, visibility, owner);
    this.#checkQuotas(request.properties, request.tags);
    const now = this.#timestamp();
    const image: ImageRecord = {
      id: request.id ?? this.#newId(),
      name: request.base.name ?? null,
      status: 'queued',
      visibility,
      protected: request.base.protected ?? false,
      os_hidden: request.base.os_hidden ?? false,
      checksum: null,
      os_hash_algo: null,
      os_hash_value: null,
      owner,
      size: null,
      virtual_size: null,
      container_format: request.base.container_format ?? null,
      disk_format: request.base.disk_format ?? null,
      min_ram: request.base.min_ram ?? 0,
      min_disk: request.base.min_disk ?? 0,
      created_at: now,
      updated_at: now,
      properties: request.properties,
      tags: request.tags,
      blob_key: null,
      ...NEW_IMAGE_GOVERNANCE,
      created_by: credentials.userId,
    };
    await this.#events.withEvents(async (record) => {
      await this.#images.createImage(image);
      record(
        this.#event(credentials, 'image.created', image, { name: image.name, visibility: image.visibility }),
      );
    });
    return image;
  }

  #enforceVisibility(credentials: Credentials, visibility: string, owner: string | null): void {
    if (visibility === 'public' && !this.#allowDirectPublish) {
      throw new GovernanceError(
        'RELEASE_REQUIRED',
        'Images become public only through an approved release: ask with `imagetrust image release request IMAGE --target stock`.',
      );
    }
    if (visibility === 'public')
      this.#authorizer.enforce('publicize_image', credentials, { projectId: owner });
    if (visibility === 'community')
      this.#authorizer.enforce('communitize_image', credentials, { projectId: owner });
  }

  #checkQuotas(properties: Record<string, string>, tags: string[]): void {
    const limit = (what: string, attempted: number, maximum: number) =>
      new ConflictError(
        'QUOTA_EXCEEDED',
        `The limit has been exceeded on the number of allowed ${what}. Attempted: ${attempted}, Maximum: ${maximum}`,
      );
    const count = Object.keys(properties).length;
    if (count > this.#limits.maxProperties)
      throw limit('image properties', count, this.#limits.maxProperties);
    if (tags.length > this.#limits.maxTags) throw limit('image tags', tags.length, this.#limits.maxTags);
  }

  async listImages(
    credentials: Credentials,
    params: QueryParams,
  ): Promise<{ images: ImageRecord[]; next: string | null }> {
    this.#authorizer.enforce('get_images', credentials);
    const { markerId, ...query } = readImageListQuery(params, this.#limits);
    let marker: ImageRecord | undefined;
    if (markerId !== undefined) {
      const found = await this.#images.findImage(markerId);
      if (!found || found.status === 'deleted') {
        throw new ValidationError('INVALID_QUERY', `No image found with ID ${markerId}`);
      }
      if (!(await this.#isVisible(credentials, found))) {
        throw new AuthError('FORBIDDEN', `Forbidding request, image ${markerId} not visible`);
      }
      marker = found;
    }
    const viewer = { projectId: credentials.projectId, isAdmin: credentials.isAdmin };
    const images =
      query.limit === 0
        ? []
        : await this.#images.listImages({ ...query, viewer, marker, now: this.#timestamp() });
    const last = images.at(-1);
    return { images, next: last && images.length === query.limit ? last.id : null };
  }

  async updateImage(
    credentials: Credentials,
    id: string,
    operations: PatchOperation[],
  ): Promise<ImageRecord> {
    // A concurrent upload may change status between read and write; retry on that race.
    for (let attempt = 0; ; attempt++) {
      const image = await this.getImage(credentials, id);
      this.#enforceOwner('modify_image', credentials, image);
      const { image: next, touched } = applyImagePatch(image, operations);
      for (const key of ['disk_format', 'container_format'] as const) {
        if (touched.has(key) && next[key] !== image[key] && !['queued', 'importing'].includes(image.status)) {
          throw new AuthError('FORBIDDEN', `Attribute ${key} can be only replaced for a queued image.`);
        }
      }
      if (
        touched.has('owner') &&
        next.owner !== image.owner &&
        !this.#authorizer.isAllowed('image:set_owner', credentials)
      ) {
        throw new AuthError('FORBIDDEN', "Owner can't be updated by non admin.", { detail: true });
      }
      if (next.visibility !== image.visibility) {
        this.#enforceVisibility(credentials, next.visibility, next.owner);
        if (next.visibility !== 'private')
          assertNotObsolete(image, this.#clock.now(), `made ${next.visibility}`);
      }
      this.#checkQuotas(next.properties, next.tags);
      next.updated_at = this.#timestamp();
      const saved = await this.#events.withEvents(async (record) => {
        if (!(await this.#images.saveImage(next, image.status))) return false;
        record(this.#event(credentials, 'image.updated', next, { changed: [...touched].sort() }));
        if (next.visibility !== image.visibility) {
          record(
            this.#event(credentials, 'image.visibility_changed', next, {
              from: image.visibility,
              to: next.visibility,
            }),
          );
        }
        return true;
      });
      if (saved) return next;
      if (attempt >= 3)
        throw new ConflictError('CONFLICT', `Image ${id} changed while it was being updated; retry.`);
    }
  }

  async deleteImage(credentials: Credentials, id: string): Promise<void> {
    const image = await this.getImage(credentials, id, `Failed to find image ${id} to delete`);
    this.#enforceOwner('delete_image', credentials, image);
    if (image.protected)
      throw new ConflictError('IMAGE_PROTECTED', `Image ${id} is protected and cannot be deleted.`);
    const from = image.status;
    if (!isStatusTransitionAllowed(from, 'deleted')) {
      throw new ConflictError(
        'INVALID_STATUS_TRANSITION',
        `Image status transition from ${from} to deleted is not allowed`,
      );
    }
    // Deleting during an upload is allowed; the upload notices and discards its data.
    const moved = await this.#events.withEvents(async (record) => {
      const done = await this.#images.transitionImage(
        id,
        statusesThatMayBecome('deleted'),
        'deleted',
        {},
        this.#timestamp(),
      );
      if (done) {
        record(
          this.#event(
            credentials,
            'image.deleted',
            image,
            { status: from },
            image.os_hash_value ? `sha512:${image.os_hash_value}` : null,
          ),
        );
      }
      return done;
    });
    if (!moved) throw new NotFoundError(`Failed to find image ${id} to delete`);
    // The data goes only once the deletion (and its event) committed; an image caught in `saving` may
    // already have data under its id that was never activated, and a staged one has its staged copy.
    await this.#blobs.delete(image.blob_key ?? id);
    if (image.status === 'uploading' || image.status === 'importing')
      await this.#blobs.delete(stagingKey(id));
  }

  async setImageActivation(credentials: Credentials, id: string, activate: boolean): Promise<void> {
    const image = await this.getImage(credentials, id);
    const action = activate ? 'reactivate' : 'deactivate';
    this.#enforceOwner(action, credentials, image);
    const target: ImageStatus = activate ? 'active' : 'deactivated';
    if (image.status === target) return;
    const source: ImageStatus = activate ? 'deactivated' : 'active';
    if (image.status !== source) {
      throw new AuthError('FORBIDDEN', `Not allowed to ${action} image in status '${image.status}'`);
    }
    const sources = statusesThatMayBecome(target, [source]);
    if (!(await this.#images.transitionImage(id, sources, target, {}, this.#timestamp()))) {
      throw new ConflictError(
        'INVALID_STATUS_TRANSITION',
        `Image ${id} changed status during ${action}; retry.`,
      );
    }
  }

  async addTag(credentials: Credentials, id: string, tag: string): Promise<void> {
    const image = await this.getImage(credentials, id, `Image ${id} not found.`);
    this.#enforceOwner('modify_image', credentials, image, `Not allowed to update tags for image ${id}.`);
    if (tag.length > 255) {
      throw new ValidationError(
        'SCHEMA_VIOLATION',
        `Provided object does not match schema 'image': '${tag}' is too long`,
      );
    }
    if (image.tags.includes(tag)) return;
    if (image.tags.length + 1 > this.#limits.maxTags) {
      throw new ConflictError(
        'QUOTA_EXCEEDED',
        `Image tag limit exceeded for image ${id}: The limit has been exceeded on the number of allowed image tags. Attempted: ${image.tags.length + 1}, Maximum: ${this.#limits.maxTags}:`,
      );
    }
    await this.updateImage(credentials, id, [{ op: 'add', path: 'tags', value: [...image.tags, tag] }]);
  }

  async removeTag(credentials: Credentials, id: string, tag: string): Promise<void> {
    const image = await this.getImage(credentials, id, `Image ${id} not found.`);
    this.#enforceOwner('modify_image', credentials, image, `Not allowed to delete tags for image ${id}.`);
    if (!image.tags.includes(tag)) throw new NotFoundError('The resource could not be found.');
    await this.updateImage(credentials, id, [
      { op: 'add', path: 'tags', value: image.tags.filter((t) => t !== tag) },
    ]);
  }

  /**
   * Streams data into the image: queued → saving → active. Size, md5 and sha512 are computed in the same
   * pass that writes the temporary blob; on any failure the blob is deleted and the image is queued again.
   */
  async uploadImageData(
    credentials: Credentials,
    id: string,
    body: AsyncIterable<Uint8Array>,
    options: UploadOptions = {},
  ): Promise<ImageRecord> {
    return this.#counted(() => this.#uploadImageData(credentials, id, body, options));
  }

  /**
   * Stages data for a later `glance-direct` import: queued → uploading. The data goes through the same
   * one-pass writer as an upload, into a blob of its own (`stagingKey`); on any failure it is deleted and
   * the image queued again. The signature is checked at import, over the data as it is imported.
   */
  async stageImageData(
    credentials: Credentials,
    id: string,
    body: AsyncIterable<Uint8Array>,
    options: UploadOptions = {},
  ): Promise<ImageRecord> {
    return this.#counted(() => this.#stageImageData(credentials, id, body, options));
  }

  /**
   * Each upload, stage or import holds buffers, a file and a lease: past the limit, say so at once
   * rather than slow all. Returns the function that gives the place back.
   */
  #takeUploadPlace(): () => void {
    if (this.#uploadsInFlight >= this.#upload.maxConcurrent) {
      throw new UnavailableError(
        'TOO_MANY_UPLOADS',
        `This server is taking ${this.#upload.maxConcurrent} uploads already; retry in a few seconds.`,
        { headers: { 'Retry-After': '10' } },
      );
    }
    this.#uploadsInFlight++;
    let given = false;
    return () => {
      if (!given) this.#uploadsInFlight--;
      given = true;
    };
  }

  async #counted<T>(work: () => Promise<T>): Promise<T> {
    const giveBack = this.#takeUploadPlace();
    try {
      return await work();
    } finally {
      giveBack();
    }
  }

  async #uploadImageData(
    credentials: Credentials,
    id: string,
    body: AsyncIterable<Uint8Array>,
    options: UploadOptions,
  ): Promise<ImageRecord> {
    const image = await this.getImage(credentials, id);
    this.#enforceOwner(
      'upload_image',
      credentials,
      image,
      `Not allowed to upload image data for image ${id}`,
    );
    const uploadable = statusesThatMayBecome('saving');
    if (!uploadable.includes(image.status)) {
      throw new ConflictError(
        'INVALID_STATUS_TRANSITION',
        `Image status transition from ${image.status} to saving is not allowed`,
      );
    }
    assertFormatsSet(image);
    const cap = this.#limits.sizeCap;
    if (options.contentLength !== undefined && options.contentLength > cap) {
      throw tooLarge(cap);
    }
    const plan = await this.#planVerification(credentials, image);
    const lease = await this.#takeLease(id, uploadable, 'saving');
    return this.#writeData(credentials, image, lease, body, {
      ...options,
      cap,
      verify: plan.verify,
      key: id,
      finish: this.#activation(credentials, lease, plan),
    });
  }

  async #stageImageData(
    credentials: Credentials,
    id: string,
    body: AsyncIterable<Uint8Array>,
    options: UploadOptions,
  ): Promise<ImageRecord> {
    const image = await this.getImage(credentials, id);
    // Glance's stage has no rule of its own: it asks modify_image.
    this.#enforceOwner('modify_image', credentials, image, `Not allowed to stage data for image ${id}`);
    const from = statusesThatMayBecome('uploading', ['queued']);
    if (!from.includes(image.status)) {
      throw new ConflictError(
        'INVALID_STATUS_TRANSITION',
        `Image status transition from ${image.status} to uploading is not allowed`,
      );
    }
    const cap = this.#limits.sizeCap;
    if (options.contentLength !== undefined && options.contentLength > cap) throw tooLarge(cap);
    const lease = await this.#takeLease(id, from, 'uploading');
    const key = stagingKey(id);
    return this.#writeData(credentials, image, lease, body, {
      ...options,
      cap,
      verify: null,
      key,
      finish: async ({ size, digest }, record) => {
        if (!(await this.#images.finishStage(id, lease.owner, { size }, this.#timestamp()))) return null;
        const stored = (await this.#images.findImage(id))!;
        record(this.#event(credentials, 'image.staged', stored, { size }, digest));
        return stored;
      },
    });
  }

  /**
   * Like Glance, every signature check that needs no data runs before the first byte is read; a refusal
   * is recorded and thrown in Glance's words.
   */
  async #planVerification(
    credentials: Credentials,
    image: ImageRecord,
  ): Promise<{ verify: StreamVerifierSpec | null; signerId: string | null }> {
    try {
      const planned = (await this.#signatureCheck?.(credentials, image)) ?? null;
      return { verify: planned?.spec ?? null, signerId: planned?.signerId ?? null };
    } catch (error) {
      await this.#events.record(
        this.#event(credentials, 'image.verification', image, {
          result: 'refused',
          code: (error as ImageTrustError).code ?? null,
        }),
      );
      throw toSignatureError(error, image.id);
    }
  }

  /**
   * Moves the image into `to` under this process's lease. The temporary comes first, so the lease names
   * it: whoever finds the writer gone can delete its data.
   */
  async #takeLease(
    id: string,
    from: readonly ImageStatus[],
    to: 'saving' | 'uploading' | 'importing',
    conflict?: () => ImageTrustError,
  ): Promise<Lease> {
    const temp = await this.#blobs.createTemporary();
    const owner = this.#upload.owner;
    const lease = { owner, heartbeat: this.#timestamp(), temp: temp.id };
    if (!(await this.#images.beginUpload(id, from, lease, this.#timestamp(), to))) {
      await temp.discard();
      const now = await this.#images.findImage(id);
      throw (
        conflict?.() ??
        new ConflictError(
          'INVALID_STATUS_TRANSITION',
          `Image status transition from ${now?.status ?? 'deleted'} to ${to} is not allowed`,
        )
      );
    }
    return { id, owner, temp };
  }

  /**
   * The `finish` of a write that makes the image active: the signer is the certificate's owner the plan
   * found, else the caller, and nobody when there was no signature to check.
   */
  #activation(
    credentials: Credentials,
    lease: Lease,
    plan: { verify: StreamVerifierSpec | null; signerId: string | null },
  ): (received: Received, record: (event: DomainEvent) => void) => Promise<ImageRecord | null> {
    const signedBy = plan.verify ? (plan.signerId ?? credentials.userId) : null;
    return (received, record) =>
      this.#activate(credentials, lease.id, lease.owner, received, signedBy, record);
  }

  /** saving or importing → active with what was received, and its events, in one transaction. */
  async #activate(
    credentials: Credentials,
    id: string,
    owner: string,
    received: Received,
    signedBy: string | null,
    record: (event: DomainEvent) => void,
  ): Promise<ImageRecord | null> {
    const activated = await this.#images.finishUpload(
      id,
      owner,
      {
        size: received.size,
        virtual_size: received.virtualSize,
        checksum: received.digests.md5,
        os_hash_algo: OS_HASH_ALGO,
        os_hash_value: received.digests[OS_HASH_ALGO],
        blob_key: id,
        uploaded_by: credentials.userId,
        signed_by: signedBy,
      },
      this.#timestamp(),
    );
    if (!activated) return null;
    const stored = (await this.#images.findImage(id))!;
    if (received.verification) record(received.verification);
    record(
      this.#event(
        credentials,
        'image.uploaded',
        stored,
        { size: received.size, signed: received.verification !== null },
        received.digest,
      ),
    );
    return stored;
  }

  /**
   * The one data path of uploads, stages and imports, under a lease the caller took: every block is
   * hashed (md5, sha512, and the signature when there is one) and written to the lease's temporary in
   * one pass; the size cap and the declared length are held; the data is committed under `key` only
   * after every check passed, and `finish` records the result with its events. On any failure the data
   * is deleted and the image goes back to queued (while the lease is still ours).
   */
  async #writeData(
    credentials: Credentials,
    image: ImageRecord,
    lease: Lease,
    body: AsyncIterable<Uint8Array>,
    options: UploadOptions & {
      cap: number;
      verify: StreamVerifierSpec | null;
      key: string;
      finish: (received: Received, record: (event: DomainEvent) => void) => Promise<ImageRecord | null>;
    },
  ): Promise<ImageRecord> {
    const { id, owner, temp } = lease;
    const { cap, verify } = options;
    // The lease is renewed while data flows; once it is lost (recovered by another process, or the
    // image deleted) the upload stops instead of writing data nobody will keep.
    const lost = new AbortController();
    const heartbeat = setInterval(() => {
      this.#images.renewUploadLease(id, owner, this.#timestamp()).then(
        (held) => {
          if (!held)
            lost.abort(new IntegrityError('IMAGE_GONE', `Image ${id} is no longer being uploaded here.`));
        },
        () => undefined,
      );
    }, this.#upload.renewEveryMs);
    heartbeat.unref();
    // The digester hands every block to the temporary blob while hashing it: one pass over the data.
    const digester = this.#digester(['md5', OS_HASH_ALGO], {
      sink: (block) => temp.write(block),
      ...(verify ? { verify } : {}),
    });
    const inspector = createVirtualSizeInspector(image);
    let size = 0;
    let committed = false;
    try {
      if (options.contentLength !== undefined && options.contentLength > cap) throw tooLarge(cap);
      for await (const chunk of body) {
        options.signal?.throwIfAborted();
        lost.signal.throwIfAborted();
        size += chunk.length;
        if (size > cap) throw tooLarge(cap);
        inspector.update(chunk);
        await digester.update(chunk);
      }
      options.signal?.throwIfAborted();
      if (options.contentLength !== undefined && size !== options.contentLength) {
        throw new IntegrityError(
          'UPLOAD_INCOMPLETE',
          `Upload of image ${id} ended after ${size} of ${options.contentLength} bytes; the image is queued again.`,
        );
      }
      const { digests, signatureValid } = await digester.finish();
      const digest = `sha512:${digests[OS_HASH_ALGO]}`;
      const verification = verify
        ? this.#event(
            credentials,
            'image.verification',
            image,
            {
              result: signatureValid === true ? 'valid' : 'invalid',
              certificate: image.properties.img_signature_certificate_uuid ?? null,
            },
            digest,
          )
        : null;
      if (verification && signatureValid !== true) {
        await this.#events.record(verification);
        throw signatureMismatch();
      }
      await this.#commitUpload(temp, id, owner, options.key);
      committed = true;
      this.#failpoint?.('upload-blob-committed');
      const received: Received = {
        size,
        virtualSize: inspector.result(size),
        digests,
        digest,
        verification,
      };
      // The new status, and the verification and upload events, commit together or not at all.
      const stored = await this.#events.withEvents((record) => options.finish(received, record));
      if (!stored) {
        throw new IntegrityError(
          'IMAGE_GONE',
          `Image ${id} could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded.`,
        );
      }
      return stored;
    } catch (error) {
      // Stop the workers and the sink before deleting the file they may still be writing.
      await digester.abort();
      await temp.discard();
      // Data committed for an image that did not take it belongs to nobody.
      if (committed) await this.#blobs.delete(options.key).catch(() => undefined);
      // Only while the lease is still ours: a recovered image may already be another upload's.
      await this.#images.releaseUpload(id, owner, this.#timestamp());
      throw error instanceof VerificationError ? toSignatureError(error, id) : toUploadError(error, id);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Publishes the data under `key`. Data already there can only be a previous attempt's that a crash
   * left behind: this writer holds the image's lease, and an image being written has no data of its
   * own under that key. That stale copy is replaced.
   */
  async #commitUpload(temp: TemporaryBlob, id: string, owner: string, key: string): Promise<void> {
    const gone = () =>
      new IntegrityError(
        'IMAGE_GONE',
        `Image ${id} was taken back from this upload (it stalled past its lease).`,
      );
    if (!(await this.#images.renewUploadLease(id, owner, this.#timestamp()))) throw gone();
    try {
      await temp.commit(key);
    } catch (error) {
      // Recovery removed the temporary between the renewal and the commit.
      if ((error as ImageTrustError).code === 'NOT_FOUND') throw gone();
      if ((error as ImageTrustError).code !== 'CONFLICT') throw error;
      await this.#blobs.delete(key);
      await temp.commit(key);
    }
  }

  /**
   * `POST /v2/images/{id}/import` as Glance 25 checks it; then the image goes to `importing` under this
   * process's lease and an `api_image_import` task is recorded. The import itself runs in the background
   * (`done`), tracked so a shutdown can abort it and wait for it; it ends with the image `active` and the
   * task `success`, or the image `queued` again with no data and the task `failure` saying why.
   */
  async importImage(
    credentials: Credentials,
    id: string,
    body: unknown,
    options: { signal?: AbortSignal; requestId?: string } = {},
  ): Promise<{ task: ImportTask; done: Promise<void> }> {
    const request = readImportRequest(body, this.#importMethods);
    const image = await this.getImage(credentials, id);
    const conflict = (message: string) => new ConflictError('INVALID_STATUS_TRANSITION', message);
    if (image.status === 'active') throw conflict('Image with status active cannot be target for import');
    if (request.method === 'web-download' && image.status !== 'queued')
      throw conflict("Image needs to be in 'queued' state to use 'web-download' method");
    if (request.method === 'glance-direct' && image.status !== 'uploading')
      throw conflict("Image needs to be staged before 'glance-direct' method can be used");
    for (const key of ['container_format', 'disk_format'] as const) {
      if (!image[key]) throw new ConflictError('CONFLICT', `'${key}' needs to be set before import`);
    }
    this.#enforceOwner('modify_image', credentials, image);
    if (!request.allStoresMustSucceed) {
      throw new ValidationError(
        'BAD_REQUEST',
        `All_stores_must_succeed can only be set with enabled_backends ${request.uri ?? 'None'}`,
      );
    }
    if (request.method === 'web-download' && !isImportUriAllowed(request.uri, this.#webDownload.filter)) {
      throw new ValidationError(
        'BAD_REQUEST',
        `URI for web-download does not pass filtering: ${request.uri ?? 'None'}`,
      );
    }
    if (!this.#tasks) throw new ImageTrustError('INTERNAL', 'Imports need a task repository.');
    const now = this.#timestamp();
    const task: ImportTask = {
      id: this.#newId(),
      type: 'api_image_import',
      status: 'pending',
      input: { image_id: id, import_req: request.raw, backend: [null] },
      result: null,
      message: '',
      owner: credentials.projectId,
      image_id: id,
      request_id: options.requestId ?? `req-${randomUUID()}`,
      user_id: credentials.userId,
      created_at: now,
      updated_at: now,
      expires_at: null,
    };
    const from = statusesThatMayBecome('importing', [
      request.method === 'glance-direct' ? 'uploading' : 'queued',
    ]);
    // An import running in the background counts among the uploads this process takes at once.
    const giveBack = this.#takeUploadPlace();
    let lease: Lease;
    try {
      lease = await this.#takeLease(id, from, 'importing', () =>
        conflict(
          request.method === 'glance-direct'
            ? "Image needs to be staged before 'glance-direct' method can be used"
            : "Image needs to be in 'queued' state to use 'web-download' method",
        ),
      );
    } catch (error) {
      giveBack();
      throw error;
    }
    try {
      // Glance without several stores lists no store name in either property, but sets both.
      await this.#events.withEvents(async (record) => {
        await this.#tasks!.createTask(task);
        await this.#images.setImageProperties(id, {
          os_glance_importing_to_stores: '',
          os_glance_failed_import: '',
        });
        record(
          this.#event(credentials, 'image.import_started', image, { method: request.method, task: task.id }),
        );
      });
    } catch (error) {
      await this.#releaseImport(lease, id);
      giveBack();
      throw error;
    }
    const done = this.#runImport(credentials, image, task, lease, request, options.signal).finally(() => {
      giveBack();
      this.#imports.delete(done);
    });
    this.#imports.add(done);
    return { task, done };
  }

  /** Resolves when every import this service started has ended (tests; an orderly stop). */
  async settleImports(): Promise<void> {
    while (this.#imports.size) await Promise.allSettled([...this.#imports]);
  }

  async #runImport(
    credentials: Credentials,
    image: ImageRecord,
    task: ImportTask,
    lease: Lease,
    request: ImportRequest,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const id = image.id;
    const tasks = this.#tasks!;
    let current: ImportTask = { ...task, status: 'processing', updated_at: this.#timestamp() };
    await tasks.updateTask(current, 'pending').catch(() => undefined);
    const downloads = new AbortController();
    const stop = () => downloads.abort(signal?.reason);
    signal?.addEventListener('abort', stop, { once: true });
    let source: ImportSource | null = null;
    try {
      // The image as it is now: properties (the signature's among them) may have changed since staging.
      const fresh = (await this.#images.findImage(id)) ?? image;
      const plan = await this.#planVerification(credentials, fresh);
      const cap =
        request.method === 'web-download'
          ? Math.min(this.#limits.sizeCap, this.#webDownload.maxBytes)
          : this.#limits.sizeCap;
      source =
        request.method === 'glance-direct'
          ? await this.#readStaged(id, fresh)
          : await this.#openDownload(request.uri!, downloads.signal, cap);
      await this.#writeData(credentials, fresh, lease, source.body, {
        contentLength: source.contentLength,
        signal: downloads.signal,
        cap,
        verify: plan.verify,
        key: id,
        finish: this.#activation(credentials, lease, plan),
      });
      // The staged copy has been imported; if this process dies first, recovery finds it held by nobody.
      await this.#blobs.delete(stagingKey(id)).catch(() => undefined);
      current = {
        ...current,
        status: 'success',
        result: { image_id: id },
        message: '',
        updated_at: this.#timestamp(),
        expires_at: this.#expiry(),
      };
      await tasks.updateTask(current, 'processing');
    } catch (error) {
      await this.#releaseImport(lease, id);
      const message = importFailureMessage(error);
      await this.#events
        .withEvents(async (record) => {
          await tasks.updateTask(
            {
              ...current,
              status: 'failure',
              message,
              updated_at: this.#timestamp(),
              expires_at: this.#expiry(),
            },
            'processing',
          );
          record(
            this.#event(credentials, 'image.import_failed', image, {
              method: request.method,
              task: task.id,
              code: (error as ImageTrustError).code ?? 'INTERNAL',
            }),
          );
        })
        .catch(() => undefined);
    } finally {
      signal?.removeEventListener('abort', stop);
      // A source refused before it was read to the end (over the cap, a bad signature) lets go of its file or socket.
      await source?.close?.();
    }
  }

  /** The staged data, read back for its import. */
  async #readStaged(id: string, image: ImageRecord): Promise<ImportSource> {
    const data = await this.#blobs.read(stagingKey(id));
    return { body: data, contentLength: image.size ?? undefined, close: () => data.close() };
  }

  async #openDownload(uri: string, signal: AbortSignal, maxBytes: number): Promise<ImportSource> {
    if (!this.#webDownload.fetch) {
      throw new SourceError('SOURCE_DOWNLOAD_FAILED', 'web-download is not configured on this server.');
    }
    return this.#webDownload.fetch(uri, { signal, maxBytes });
  }

  /**
   * A failed import leaves nothing behind: the image queued again without data (while the lease is
   * still ours), its temporary and any staged copy deleted.
   */
  async #releaseImport(lease: Lease, id: string): Promise<void> {
    await lease.temp.discard().catch(() => undefined);
    await this.#images.releaseUpload(id, lease.owner, this.#timestamp()).catch(() => undefined);
    const now = await this.#images.findImage(id).catch(() => null);
    // Staged data belongs to the image only while it is uploading or importing; anything else has let go.
    if (!now || (now.status !== 'uploading' && now.status !== 'importing'))
      await this.#blobs.delete(stagingKey(id)).catch(() => undefined);
  }

  #expiry(): string {
    return toGlanceTimestamp(new Date(this.#clock.now().getTime() + TASK_TIME_TO_LIVE_MS));
  }

  /** An import task the caller may see: its project's (or any, for admins, under tasks_api_access). */
  async getTask(credentials: Credentials, id: string): Promise<ImportTask> {
    this.#authorizer.enforce('get_task', credentials);
    this.#authorizer.enforce('tasks_api_access', credentials);
    const task = await this.#tasks?.findTask(id);
    if (!task || (!credentials.isAdmin && task.owner !== credentials.projectId)) {
      throw new NotFoundError(`Failed to find task ${id}`);
    }
    return task;
  }

  async listTasks(
    credentials: Credentials,
    params: QueryParams,
  ): Promise<{ tasks: ImportTask[]; next: string | null }> {
    this.#authorizer.enforce('get_tasks', credentials);
    this.#authorizer.enforce('tasks_api_access', credentials);
    const query = readTaskListQuery(params, this.#limits);
    if (!this.#tasks) return { tasks: [], next: null };
    let marker: ImportTask | undefined;
    if (query.markerId !== undefined) {
      const found = await this.#tasks.findTask(query.markerId);
      if (!found || (!credentials.isAdmin && found.owner !== credentials.projectId)) {
        throw new ValidationError('INVALID_QUERY', `Task with identifier ${query.markerId} not found`);
      }
      marker = found;
    }
    const tasks = await this.#tasks.listTasks({
      owner: credentials.isAdmin ? null : credentials.projectId,
      status: query.status,
      type: query.type,
      sortDir: query.sortDir,
      marker,
      limit: query.limit,
    });
    const last = tasks.at(-1);
    return { tasks, next: last && tasks.length === query.limit ? last.id : null };
  }

  /** `GET /v2/images/{id}/tasks`: whoever may see the image sees its import tasks (as in Glance). */
  async listImageTasks(credentials: Credentials, id: string): Promise<ImportTask[]> {
    const image = await this.getImage(credentials, id);
    return (await this.#tasks?.listImageTasks(image.id)) ?? [];
  }

  /**
   * The certificate an active image was signed with, for anyone who may see the image. Certificates are
   * public, but the key manager lets only the signer's project read them; this lets consumers in other
   * projects verify a public image. Only a certificate-type secret of the image owner's own project is
   * served, so an image cannot be used to read any other secret.
   */
  async getSigningCertificate(credentials: Credentials, id: string): Promise<CertificateSecret> {
    const image = await this.getImage(credentials, id);
    this.#authorizer.enforce('image:get_signing_certificate', credentials, imageTarget(image));
    const uuid = image.properties.img_signature_certificate_uuid;
    const none = () => new NotFoundError(`Image ${id} has no signing certificate to show.`);
    if (!uuid || image.status !== 'active' || !image.signed_by || !this.#readCertificate) throw none();
    const secret = await this.#readCertificate(uuid);
    if (secret?.secretType !== 'certificate' || secret.projectId !== image.owner) throw none();
    return secret;
  }

  async downloadImageData(
    credentials: Credentials,
    id: string,
    range?: { start?: number; end?: number },
  ): Promise<DownloadResult> {
    const image = await this.getImage(credentials, id);
    this.#authorizer.enforce('download_image', credentials, imageTarget(image));
    if (image.status === 'deactivated' && !credentials.isAdmin) {
      throw new ConflictError(
        'IMAGE_DEACTIVATED',
        'The requested image has been deactivated. Image data download is forbidden.',
      );
    }
    if (!credentials.isAdmin) assertNotObsolete(image, this.#clock.now(), 'downloaded');
    if (
      !image.blob_key ||
      image.size === null ||
      (image.status !== 'active' && image.status !== 'deactivated')
    ) {
      return { image, data: null };
    }
    let byteRange: ByteRange | undefined;
    if (range) {
      const size = image.size;
      const start = range.start ?? Math.max(0, size - (range.end ?? 0));
      const end = range.start === undefined ? size - 1 : Math.min(range.end ?? size - 1, size - 1);
      if (start >= size || start > end || size === 0) {
        throw new ValidationError(
          'RANGE_NOT_SATISFIABLE',
          `Requested range not satisfiable for image ${id} of ${size} bytes.`,
        );
      }
      byteRange = { start, end };
    }
    return { image, data: await this.#blobs.read(image.blob_key, byteRange), range: byteRange };
  }

  async listMembers(credentials: Credentials, id: string): Promise<ImageMember[]> {
    const image = await this.getImage(credentials, id, `Image ${id} not found.`);
    this.#authorizer.enforce('get_members', credentials);
    if (image.visibility !== 'shared') {
      throw new AuthError(
        'FORBIDDEN',
        `Not allowed to list members for image ${id}: Only shared images have members.`,
      );
    }
    const members = await this.#images.listMembers(id);
    if (credentials.isAdmin || image.owner === credentials.projectId) return members;
    // A consumer sees only its own membership.
    return members.filter((m) => m.member_id === credentials.projectId);
  }

  async getMember(credentials: Credentials, id: string, memberId: string): Promise<ImageMember> {
    const image = await this.getImage(credentials, id, `Image ${id} not found.`);
    this.#authorizer.enforce('get_member', credentials);
    if (image.visibility !== 'shared') throw new NotFoundError('Only shared images have members.');
    const member = await this.#images.findMember(id, memberId);
    const mine =
      credentials.isAdmin || image.owner === credentials.projectId || memberId === credentials.projectId;
    if (!member || !mine)
      throw new NotFoundError(`${memberId} not found in the member list of the image ${id}.`);
    return member;
  }

  async addMember(credentials: Credentials, id: string, body: unknown): Promise<ImageMember> {
    const memberId = readBodyField(
      body,
      'member',
      'Member to be added not specified',
      'Expected a member in the form: {"member": "image_id"}',
    );
    if (!memberId) throw new ValidationError('BAD_REQUEST', "Member can't be empty");
    const image = await this.getImage(credentials, id, `Image ${id} not found.`);
    if (
      image.visibility !== 'shared' ||
      !this.#authorizer.isAllowed('add_member', credentials, imageTarget(image))
    ) {
      throw new AuthError('FORBIDDEN', `Not allowed to create members for image ${id}.`);
    }
    assertNotObsolete(image, this.#clock.now(), 'shared');
    if ((await this.#images.countMembers(id)) >= this.#limits.maxMembers) {
      throw new ConflictError(
        'QUOTA_EXCEEDED',
        `Image member limit exceeded for image ${id}: The limit has been exceeded on the number of allowed image members for this image. Attempted: ${this.#limits.maxMembers + 1}, Maximum: ${this.#limits.maxMembers}:`,
      );
    }
    const now = this.#timestamp();
    const member: ImageMember = {
      image_id: id,
      member_id: memberId,
      status: 'pending',
      created_at: now,
      updated_at: now,
    };
    try {
      await this.#images.addMember(member);
    } catch (error) {
      if (error instanceof ConflictError)
        throw new ConflictError('CONFLICT', `Member ${memberId} is duplicated for image ${id}`);
      throw error;
    }
    return member;
  }

  async updateMember(
    credentials: Credentials,
    id: string,
    memberId: string,
    body: unknown,
  ): Promise<ImageMember> {
    const status = readBodyField(
      body,
      'status',
      'Status not specified',
      'Expected a status in the form: {"status": "status"}',
    );
    const image = await this.getImage(credentials, id, `Image ${id} not found.`);
    if (!(MEMBER_STATUSES as readonly string[]).includes(status)) {
      throw new ValidationError(
        'BAD_REQUEST',
        'Incorrect request: Status must be "pending", "accepted" or "rejected".',
      );
    }
    // Only the consumer decides whether to accept a share; the owner cannot do it for them.
    if (image.visibility !== 'shared' || (!credentials.isAdmin && image.owner === credentials.projectId)) {
      throw new AuthError('FORBIDDEN', `Not allowed to update members for image ${id}.`);
    }
    const member = await this.#images.findMember(id, memberId);
    const notFound = () => new NotFoundError(`${memberId} not found in the member list of the image ${id}.`);
    if (!member) throw notFound();
    if (!this.#authorizer.isAllowed('modify_member', credentials, { memberId })) {
      // The member project itself, short of the role (a reader), is told so, as Glance's policy check does;
      // anyone else is not shown the membership at all.
      if (memberId === credentials.projectId)
        this.#authorizer.enforce('modify_member', credentials, { memberId });
      throw notFound();
    }
    const updated: ImageMember = { ...member, status: status as MemberStatus, updated_at: this.#timestamp() };
    await this.#images.updateMember(updated);
    return updated;
  }

  async removeMember(credentials: Credentials, id: string, memberId: string): Promise<void> {
    const image = await this.getImage(credentials, id, `Image ${id} not found.`);
    if (
      image.visibility !== 'shared' ||
      !this.#authorizer.isAllowed('delete_member', credentials, imageTarget(image))
    ) {
      throw new AuthError('FORBIDDEN', `Not allowed to delete members for image ${id}.`);
    }
    if (!(await this.#images.removeMember(id, memberId))) {
      throw new NotFoundError(`${memberId} not found in the member list of the image ${id}.`);
    }
  }
}

/** Reads one string field of a small JSON body with Glance's messages for a missing key and a non-object body. */
function readBodyField(body: unknown, key: string, missing: string, wrongShape: string): string {
  if (body === undefined) throw new ValidationError('BAD_REQUEST', 'Body expected in request.');
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ValidationError('BAD_REQUEST', wrongShape);
  if (!(key in body)) throw new ValidationError('BAD_REQUEST', missing);
  const value = (body as Record<string, unknown>)[key];
  if (typeof value !== 'string') throw new ValidationError('BAD_REQUEST', wrongShape);
  return value;
}

/** Glance's 400 body for a failed signature check: `Signature verification failed for image <id>: <reason>`. */
function toSignatureError(error: unknown, id: string): unknown {
  if (!(error instanceof VerificationError)) return error;
  return new VerificationError(error.code, formatGlanceSignatureFailure(id, error), { cause: error });
}

/** Glance refuses data for an image without both formats: 400, naming what is missing. */
function assertFormatsSet(image: ImageRecord): void {
  const missing = (['disk_format', 'container_format'] as const).filter((k) => image[k] === null);
  if (missing.length) {
    throw new ValidationError(
      'FORMATS_NOT_SET',
      missing.length === 2
        ? 'Properties disk_format, container_format must be set prior to saving data.'
        : `Property ${missing[0]} must be set prior to saving data.`,
    );
  }
}

/** The task's message for a failed import: the coded error's own words, anything else as Glance says it. */
function importFailureMessage(error: unknown): string {
  if (error instanceof ImageTrustError) return error.message;
  return 'Task failed due to Internal Error';
}

function tooLarge(cap: number): IntegrityError {
  return new IntegrityError(
    'IMAGE_TOO_LARGE',
    `The incoming image is too large: The provided image is too large. The limit (image_size_cap) is ${cap} bytes.`,
  );
}

/** Client disconnects and aborts surface as UPLOAD_INCOMPLETE; our own coded errors pass through. */
function toUploadError(error: unknown, id: string): ImageTrustError {
  if (error instanceof ImageTrustError) return error;
  const e = error as NodeJS.ErrnoException;
  if (
    e?.name === 'AbortError' ||
    e?.code === 'ECONNRESET' ||
    e?.code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    e?.message === 'aborted'
  ) {
    return new IntegrityError(
      'UPLOAD_INCOMPLETE',
      `Upload of image ${id} was interrupted before all data arrived; the image is queued again.`,
      { cause: error },
    );
  }
  return new ImageTrustError('INTERNAL', `Upload of image ${id} failed: ${e?.message ?? String(error)}`, {
    cause: error,
  });
}

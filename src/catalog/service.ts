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
  UnavailableError,
  ValidationError,
  VerificationError,
} from '../errors/index.ts';
import type { DomainEvent, DomainEventType, EventRecorder } from '../events/index.ts';
import type { Credentials } from '../identity/index.ts';
import { type Action, type Authorizer, defaultAuthorizer, type RuleTarget } from '../identity/index.ts';
import { type CertificateSecret, formatGlanceSignatureFailure, signatureMismatch } from '../trust/index.ts';
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
  ImageRepository,
  StreamVerifierSpec,
  TemporaryBlob,
} from './ports.ts';
import {
  applyImagePatch,
  type PatchOperation,
  type QueryParams,
  readImageCreateRequest,
  readImageListQuery,
} from './requests.ts';
import type { UploadSignatureCheck } from './signature-check.ts';
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
}

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
    // already have data under its id that was never activated.
    await this.#blobs.delete(image.blob_key ?? id);
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
    // Each upload holds buffers, a file and a lease: past the limit, say so at once rather than slow all.
    if (this.#uploadsInFlight >= this.#upload.maxConcurrent) {
      throw new UnavailableError(
        'TOO_MANY_UPLOADS',
        `This server is taking ${this.#upload.maxConcurrent} uploads already; retry in a few seconds.`,
        { headers: { 'Retry-After': '10' } },
      );
    }
    this.#uploadsInFlight++;
    try {
      return await this.#uploadImageData(credentials, id, body, options);
    } finally {
      this.#uploadsInFlight--;
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
    const missing = (['disk_format', 'container_format'] as const).filter((k) => image[k] === null);
    if (missing.length) {
      throw new ValidationError(
        'FORMATS_NOT_SET',
        missing.length === 2
          ? 'Properties disk_format, container_format must be set prior to saving data.'
          : `Property ${missing[0]} must be set prior to saving data.`,
      );
    }
    const cap = this.#limits.sizeCap;
    if (options.contentLength !== undefined && options.contentLength > cap) {
      throw tooLarge(cap);
    }
    // Like Glance, every signature check that needs no data runs before the first byte is read.
    let verify: StreamVerifierSpec | null = null;
    let signerId: string | null = null;
    try {
      const planned = (await this.#signatureCheck?.(credentials, image)) ?? null;
      verify = planned?.spec ?? null;
      signerId = planned?.signerId ?? null;
    } catch (error) {
      await this.#events.record(
        this.#event(credentials, 'image.verification', image, {
          result: 'refused',
          code: (error as ImageTrustError).code ?? null,
        }),
      );
      throw toSignatureError(error, id);
    }
    // The temporary first, so the lease names it: whoever finds this upload abandoned can delete its data.
    const temp = await this.#blobs.createTemporary();
    const owner = this.#upload.owner;
    const lease = { owner, heartbeat: this.#timestamp(), temp: temp.id };
    if (!(await this.#images.beginUpload(id, uploadable, lease, this.#timestamp()))) {
      await temp.discard();
      const now = await this.#images.findImage(id);
      throw new ConflictError(
        'INVALID_STATUS_TRANSITION',
        `Image status transition from ${now?.status ?? 'deleted'} to saving is not allowed`,
      );
    }
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
    const inspector = createVirtualSizeInspector(image.disk_format);
    let size = 0;
    let committed = false;
    try {
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
      await this.#commitUpload(temp, id, owner);
      committed = true;
      this.#failpoint?.('upload-blob-committed');
      // Active, and the verification and upload events, commit together or not at all.
      const uploaded = await this.#events.withEvents(async (record) => {
        const activated = await this.#images.finishUpload(
          id,
          owner,
          {
            size,
            virtual_size: inspector.result(size),
            checksum: digests.md5,
            os_hash_algo: OS_HASH_ALGO,
            os_hash_value: digests[OS_HASH_ALGO],
            blob_key: id,
            uploaded_by: credentials.userId,
            signed_by: verify ? (signerId ?? credentials.userId) : null,
          },
          this.#timestamp(),
        );
        if (!activated) return null;
        const stored = (await this.#images.findImage(id))!;
        if (verification) record(verification);
        record(this.#event(credentials, 'image.uploaded', stored, { size, signed: verify !== null }, digest));
        return stored;
      });
      if (!uploaded) {
        throw new IntegrityError(
          'IMAGE_GONE',
          `Image ${id} could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded.`,
        );
      }
      return uploaded;
    } catch (error) {
      // Stop the workers and the sink before deleting the file they may still be writing.
      await digester.abort();
      await temp.discard();
      // Data committed for an image that did not become active belongs to nobody.
      if (committed) await this.#blobs.delete(id).catch(() => undefined);
      // Only while the lease is still ours: a recovered image may already be another upload's.
      await this.#images.releaseUpload(id, owner, this.#timestamp());
      throw error instanceof VerificationError ? toSignatureError(error, id) : toUploadError(error, id);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Publishes the upload's data under the image id. Data already there can only be a previous attempt's
   * that a crash left behind: this upload holds the image's lease, and an image in `saving` has no data
   * of its own. That stale copy is replaced.
   */
  async #commitUpload(temp: TemporaryBlob, id: string, owner: string): Promise<void> {
    const gone = () =>
      new IntegrityError(
        'IMAGE_GONE',
        `Image ${id} was taken back from this upload (it stalled past its lease).`,
      );
    if (!(await this.#images.renewUploadLease(id, owner, this.#timestamp()))) throw gone();
    try {
      await temp.commit(id);
    } catch (error) {
      // Recovery removed the temporary between the renewal and the commit.
      if ((error as ImageTrustError).code === 'NOT_FOUND') throw gone();
      if ((error as ImageTrustError).code !== 'CONFLICT') throw error;
      await this.#blobs.delete(id);
      await temp.commit(id);
    }
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
    if (!secret || secret.secretType !== 'certificate' || secret.projectId !== image.owner) throw none();
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
    if (!member || !this.#authorizer.isAllowed('modify_member', credentials, { memberId })) {
      throw new NotFoundError(`${memberId} not found in the member list of the image ${id}.`);
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

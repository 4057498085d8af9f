// What the catalog needs from the outside world: metadata, blobs and digests. Adapters live in storage/.
import type {
  ImageMember,
  ImageRecord,
  ImageStatus,
  LifecycleState,
  MemberStatus,
  Visibility,
} from './model.ts';
import type { ImageReport, ReleaseRequest, ReleaseStatus, ReportKind } from './releases.ts';
import type { ImportTask, TaskListQuery } from './tasks.ts';

/** Who is looking: decides which images a list or get may return. */
export interface Viewer {
  projectId: string | null;
  isAdmin: boolean;
}

export type SortKey =
  | 'name'
  | 'status'
  | 'container_format'
  | 'disk_format'
  | 'size'
  | 'id'
  | 'created_at'
  | 'updated_at'
  | 'visibility'
  | 'owner'
  | 'min_ram'
  | 'min_disk';

export interface SortOrder {
  key: SortKey;
  dir: 'asc' | 'desc';
}

export type ComparisonOperator = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte';

export interface ImageListQuery {
  viewer: Viewer;
  /** undefined lists what Glance lists by default; 'all' lifts the visibility filter. */
  visibility?: Visibility | 'all';
  memberStatus: MemberStatus | 'all';
  /** `in:` lists for the base columns; an empty object means no filter. */
  anyOf: Partial<
    Record<
      'id' | 'name' | 'status' | 'container_format' | 'disk_format' | 'owner' | 'checksum' | 'os_hash_value',
      string[]
    >
  >;
  osHidden?: boolean;
  protected?: boolean;
  /** Exactly this size (Glance's `size` filter). */
  size?: number;
  sizeMin?: number;
  sizeMax?: number;
  timeFilters: { column: 'created_at' | 'updated_at'; op: ComparisonOperator; value: string }[];
  /** Every tag must be present. */
  tags: string[];
  /** Extra properties that must match exactly (any of the given values). */
  properties: Record<string, string[]>;
  /**
   * The time lifecycle filters are evaluated at (Glance-style timestamp): `lifecycle_state` matches the
   * effective state, schedules already due included. Defaults to the stored state.
   */
  now?: string;
  sort: SortOrder[];
  /** The last image of the previous page; the page starts after it in sort order. */
  marker?: ImageRecord;
  limit: number;
}

export interface ImageRepository {
  /** Inserts a new image; throws a CONFLICT error when the id exists. */
  createImage(image: ImageRecord): Promise<void>;
  /** Any image with this id, whatever its status (deleted ones included). */
  findImage(id: string): Promise<ImageRecord | null>;
  listImages(query: ImageListQuery): Promise<ImageRecord[]>;
  /** Writes the whole record (base fields, properties, tags) if its status is still `expectedStatus`. */
  saveImage(image: ImageRecord, expectedStatus: ImageStatus): Promise<boolean>;
  /** Moves the image to `to` only if its status is one of `from`; merges `fields`. Returns false if it was not. */
  transitionImage(
    id: string,
    from: readonly ImageStatus[],
    to: ImageStatus,
    fields?: Partial<
      Pick<
        ImageRecord,
        | 'checksum'
        | 'os_hash_algo'
        | 'os_hash_value'
        | 'size'
        | 'virtual_size'
        | 'blob_key'
        | 'uploaded_by'
        | 'signed_by'
      >
    >,
    updatedAt?: string,
  ): Promise<boolean>;
  /**
   * Moves the image from one of `from` to `to` (default `saving`; `uploading` for a stage, `importing` for
   * an import) under `lease`; false when it was not in one of them. An image in `uploading` is taken only
   * once its stage finished (no lease on it): data still being staged cannot be imported.
   */
  beginUpload(
    id: string,
    from: readonly ImageStatus[],
    lease: UploadLease,
    updatedAt: string,
    to?: 'saving' | 'uploading' | 'importing',
  ): Promise<boolean>;
  /**
   * Ends a stage: the image stays `uploading` with the staged size, and its lease is dropped, only while
   * `owner` holds the lease. The staged data's key is `stagingKey(id)`, never recorded: a concurrent
   * PATCH (which writes the record it read) cannot make the image lose it.
   */
  finishStage(id: string, owner: string, fields: { size: number }, updatedAt: string): Promise<boolean>;
  /** Sets (string) or removes (null) extra properties the service itself manages (`os_glance_*`). */
  setImageProperties(id: string, changes: Record<string, string | null>): Promise<void>;
  /** Records that `owner` is still writing; false once it no longer holds the lease (recovered, deleted). */
  renewUploadLease(id: string, owner: string, heartbeat: string): Promise<boolean>;
  /** saving or importing → active with the upload's results, only while `owner` holds the lease. */
  finishUpload(
    id: string,
    owner: string,
    fields: Parameters<ImageRepository['transitionImage']>[3],
    updatedAt: string,
  ): Promise<boolean>;
  /**
   * saving, uploading or importing → queued (size and any staged data's key forgotten), only while
   * `owner` holds the lease, and, when `heartbeat` is given,
   * has not renewed it since (so a recoverer never takes an upload that proved itself alive).
   */
  releaseUpload(id: string, owner: string, updatedAt: string, heartbeat?: string): Promise<boolean>;
  /** Every image whose data is being written: `saving`, `importing`, and `uploading` while it stages. */
  listUploads(): Promise<UploadInFlight[]>;
  /** Every image not deleted that holds, or is about to hold, data in the blob store. */
  listBlobHolders(): Promise<BlobHolder[]>;
  /** Writes governance fields only if the stored lifecycle state is still `expected` (and the image not deleted). */
  updateGovernance(
    id: string,
    expected: LifecycleState,
    fields: Partial<GovernanceFields>,
    updatedAt: string,
  ): Promise<boolean>;
  /** Images whose deprecation or obsolescence time has passed but whose stored state lags behind. */
  listDueLifecycle(now: string, limit: number): Promise<ImageRecord[]>;
  /** Whether `projectId` is a member of the image, and how. */
  findMember(imageId: string, projectId: string): Promise<ImageMember | null>;
  listMembers(imageId: string): Promise<ImageMember[]>;
  /** Inserts a member; throws a CONFLICT error when it exists. */
  addMember(member: ImageMember): Promise<void>;
  updateMember(member: ImageMember): Promise<boolean>;
  removeMember(imageId: string, projectId: string): Promise<boolean>;
  countMembers(imageId: string): Promise<number>;
}

/**
 * Who is writing an image's data: the process (`owner`), when it last said it is alive (`heartbeat`,
 * a Glance-style timestamp), and the temporary its data goes to, so anyone can clean up after it.
 */
export interface UploadLease {
  owner: string;
  heartbeat: string;
  temp: string | null;
}

/** An image whose data is being written (upload, stage or import), with the lease of the writer. */
export interface UploadInFlight extends UploadLease {
  id: string;
  status: ImageStatus;
}

/** Import tasks (Glance's `api_image_import`), kept with the image they import into. */
export interface TaskRepository {
  createTask(task: ImportTask): Promise<void>;
  findTask(id: string): Promise<ImportTask | null>;
  listTasks(query: TaskListQuery): Promise<ImportTask[]>;
  /** Every task of an image, oldest first. */
  listImageTasks(imageId: string): Promise<ImportTask[]>;
  /** Writes the task's status, result, message and times if its status is still `expected`. */
  updateTask(task: ImportTask, expected: ImportTask['status']): Promise<boolean>;
}

/** What holds data in the blob store: an image's committed key, or the key an upload will commit to. */
export interface BlobHolder {
  id: string;
  status: ImageStatus;
  blobKey: string | null;
}

export type GovernanceFields = Pick<
  ImageRecord,
  'lifecycle_state' | 'deprecation_at' | 'obsolescence_at' | 'replacement' | 'image_class' | 'visibility'
>;

/** Release requests and the reports attached to images (one current report per image and kind). */
export interface ReleaseRepository {
  createRelease(request: ReleaseRequest): Promise<void>;
  findRelease(id: string): Promise<ReleaseRequest | null>;
  listReleases(filter: { imageId?: string; status?: ReleaseStatus }): Promise<ReleaseRequest[]>;
  /** Records a decision only while the request is still pending; false when someone decided first. */
  decideRelease(
    id: string,
    decision: Pick<ReleaseRequest, 'status' | 'decided_by' | 'decided_at' | 'decision_reason'>,
  ): Promise<boolean>;
  /**
   * Approves a pending request and publishes its image in one transaction: the image must still be
   * active with the expected lifecycle state. Nothing changes unless both hold.
   */
  approveAndPublish(
    id: string,
    decision: Pick<ReleaseRequest, 'decided_by' | 'decided_at' | 'decision_reason'>,
    publish: { imageId: string; expectedLifecycle: LifecycleState; imageClass: ReleaseRequest['target'] },
  ): Promise<'approved' | 'already-decided' | 'image-changed'>;
  /** Replaces the image's report of the report's kind. */
  saveReport(report: ImageReport): Promise<void>;
  findReport(imageId: string, kind: ReportKind): Promise<ImageReport | null>;
}

export interface ByteRange {
  start: number;
  /** Inclusive, as in HTTP Range. */
  end: number;
}

/**
 * A blob being written: invisible (to `read` and `list`) until committed under its key. Adapters pass
 * the contract suite in test/storage/blob-store.contract.ts.
 */
export interface TemporaryBlob {
  /** Names the temporary in the store, so another process (or a restart) can discard it. */
  readonly id: string;
  /** Appends a chunk; refused (INTERNAL) after commit or discard. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Makes the data visible under `key` atomically; refuses (CONFLICT) if data already exists there, which
   * stays untouched. An unsafe key (see `BlobStore`) is refused (INTERNAL) before anything is written.
   * NOT_FOUND when the temporary itself was removed meanwhile (`discardTemporary`, by recovery).
   */
  commit(key: string): Promise<void>;
  /** Deletes the partial data; safe to call twice, after a failed commit, or after a commit (a no-op then). */
  discard(): Promise<void>;
}

/**
 * Committed image data under keys. A key is 1 to 200 characters of `A-Z a-z 0-9 . _ -`, and neither `.`
 * nor `..`; keys come from our own ids, so any other key is a bug in the caller and every method refuses
 * it (INTERNAL) without touching storage, whatever the adapter could have stored.
 */
/**
 * A blob's bytes, read once, in blocks. A block stays valid while the consumer asks for the next one and
 * only until it asks for the one after that: stores read into a few buffers they reuse, so a download
 * allocates nothing per block, and a consumer may keep one block in flight (a socket write) while it
 * takes the next (copy a block to keep it longer). Reading to the end, leaving the loop early or
 * `close()` releases what the store holds open.
 */
export interface BlobData extends AsyncIterable<Uint8Array> {
  /** How many bytes the blocks add up to. */
  readonly length: number;
  /** Releases the data without reading it (idempotent; harmless after the end). */
  close(): Promise<void>;
}

export interface BlobStore {
  createTemporary(): Promise<TemporaryBlob>;
  /**
   * Opens the data under `key`, or the inclusive `range` of it (as in HTTP Range), to be read once, block
   * by block. A missing key rejects with NOT_FOUND before any block. Aborting `signal` ends the reading
   * with an AbortError.
   */
  read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<BlobData>;
  /** Removes the data under `key`; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Every committed key, in no particular order; temporaries never appear. */
  list(): AsyncIterable<string>;
  /**
   * How many temporaries are neither committed nor discarded, written by any process sharing the store
   * (a crashed writer's until they are swept): zero when no upload is in flight means nothing leaked.
   */
  countTemporaries(): Promise<number>;
  /** Every temporary not yet committed or discarded, with when it was last written. */
  listTemporaries(): AsyncIterable<{ id: string; modifiedAt: Date }>;
  /** Removes a temporary by id, whoever created it; a missing one is not an error. */
  discardTemporary(id: string): Promise<void>;
}

/** Hex digests by algorithm name (as node:crypto names them: md5, sha256, sha512...). */
export type Digests = Record<string, string>;

/**
 * A signature check over the same bytes (trust's VerificationSpec, serialisable). The digester hands it
 * to trust's toSignatureCheck, which refuses a malformed one, before any worker runs it.
 */
export interface StreamVerifierSpec {
  algorithm: string;
  publicKeyPem: string;
  /** Base64 of the raw signature bytes. */
  signature: string;
  padding?: number;
  saltLength?: number;
  /** DER is the only encoding Glance's signatures use; trust refuses anything else. */
  dsaEncoding?: 'der';
}

export interface DigestOptions {
  /** Receives the data in order, in blocks of up to 1 MiB, while the same blocks are hashed. */
  sink?: (block: Uint8Array) => Promise<void>;
  /** Also verify this signature over the bytes. */
  verify?: StreamVerifierSpec;
}

export interface DigestResult {
  digests: Digests;
  /** Present when a signature was verified: whether it matched. */
  signatureValid?: boolean;
}

/** Passes one stream, once, to a sink and to several hashes (and a signature verifier). */
export interface Digester {
  /** Feeds one chunk; resolves when the caller may send more. */
  update(chunk: Uint8Array): Promise<void>;
  /** Flushes, waits for the sink, and returns every result; the digester cannot be used afterwards. */
  finish(): Promise<DigestResult>;
  /** Abandons the work and frees what it holds; resolves when nothing touches the data any more. */
  abort(): Promise<void>;
}

/** Makes one-pass digesters (md5 + sha512 for uploads); injected so the core never starts threads itself. */
export type DigesterFactory = (algorithms: readonly string[], options?: DigestOptions) => Digester;

/** Image data fetched for `web-download`: the body as it arrives, and its length when the server said. */
export interface ImportSource {
  body: AsyncIterable<Uint8Array>;
  contentLength?: number;
  /** Lets go of the file or connection (safe to call after the body was read to the end, and twice). */
  close?(): Promise<void> | void;
}

/**
 * Opens `uri` for `web-download`: refuses (SOURCE_DOWNLOAD_FAILED) what may not be fetched (internal
 * addresses, redirects the filter refuses, an error status, a declared length over `maxBytes`), and
 * stops when `signal` aborts. The body is streamed, never buffered.
 */
export type WebDownloader = (
  uri: string,
  options: { signal: AbortSignal; maxBytes: number },
) => Promise<ImportSource>;

export interface Clock {
  now(): Date;
}

export type IdGenerator = () => string;

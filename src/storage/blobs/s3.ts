// Blob store on an S3-compatible object store (Swift + s3api, Ceph RGW, AWS). Layout under `prefix`:
//   data/<temporary id>   the bytes: a multipart upload while written, an object once committed
//   images/<key>          a small pointer object naming the data object the key shows
// A multipart upload's key is fixed when it starts, and S3 cannot rename, so a temporary is written
// where it will stay and commit publishes it by creating the key's pointer (conditionally: never over
// an existing key). The pointer is claimed before the data object is completed, so data exists only
// under a claimed key: a crash leaves at most an open multipart upload (a temporary, swept by
// recovery) or a pointer to nothing (a key whose read is NOT_FOUND and whose delete removes it).
// Parts are staged in local files (s3-staging.ts), so an upload's memory is a few blocks, whatever the
// part size.
import { createHash, randomUUID } from 'node:crypto';
import type { BlobData, BlobStore, ByteRange, TemporaryBlob } from '../../catalog/index.ts';
import {
  ConfigError,
  ImageTrustError,
  IntegrityError,
  NotFoundError,
  UnavailableError,
} from '../../errors/index.ts';
import type { DataResponse } from '../../http/index.ts';
import { type PartHash, PartHasher } from './part-hash.ts';
import {
  loadS3Credentials,
  S3Client,
  type S3ClientOptions,
  S3Error,
  type S3Response,
  toS3Error,
} from './s3-client.ts';
import { UNSIGNED_PAYLOAD } from './s3-signing.ts';
import { PartStaging, type StagedPart, type StagingUsage } from './s3-staging.ts';
import { childrenNamed, childText, parseXml, type XmlElement, XmlError } from './s3-xml.ts';

export interface S3BlobStoreOptions extends S3ClientOptions {
  /** Begins every object name, so several stores (or tests) can share a bucket; `[A-Za-z0-9._/-]*`. */
  prefix?: string;
  /** Bytes per multipart part (5 MiB to 5 GiB); an upload stages at most `partsInFlight + 1` parts on disk. */
  partSize?: number;
  /** Parts of one upload sent at once (1 to 16): the store's per-request latency overlaps the next parts. */
  partsInFlight?: number;
  /**
   * A local directory for parts on their way to the store (created 0700; its staged parts are removed
   * at open). Each upload keeps at most `partsInFlight + 1` part files there: the one being written and
   * those being sent.
   */
  stagingDir: string;
  /** Begins the id of every temporary (the process's upload owner), as for the filesystem store. */
  tempPrefix?: string;
}

const MiB = 1024 * 1024;
/** Content-MD5 of no bytes. */
const EMPTY_MD5 = createHash('md5').digest('base64');
export const DEFAULT_PART_SIZE = 64 * MiB;
export const DEFAULT_PARTS_IN_FLIGHT = 2;

const TEMP_ID = /^(?:[A-Za-z0-9_-]{1,120}\.)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SAFE_KEY = /^[A-Za-z0-9._-]{1,200}$/;
const POINTER_MAGIC = 'imagetrust-blob-v1 ';

function checkKey(key: string): string {
  if (typeof key !== 'string' || !SAFE_KEY.test(key) || key === '.' || key === '..') {
    throw new ImageTrustError('INTERNAL', `Refusing unsafe blob key '${key}'.`);
  }
  return key;
}

function checkTempId(id: string): string {
  if (typeof id !== 'string' || !TEMP_ID.test(id)) {
    throw new ImageTrustError('INTERNAL', `Refusing unsafe temporary blob id '${id}'.`);
  }
  return id;
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

function isUnavailable(error: unknown): boolean {
  if (error instanceof S3Error) {
    return (error.status >= 500 && error.s3Code !== 'NotImplemented') || error.s3Code === 'SlowDown';
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  if (error instanceof AggregateError) return error.errors.some(isUnavailable);
  return false;
}

/** The port's error for a failed S3 call: NOT_FOUND, BLOB_STORE_UNAVAILABLE (503), or INTERNAL saying what. */
function toBlobError(error: unknown, what: string): Error {
  if (error instanceof ImageTrustError) return error;
  if ((error as Error)?.name === 'AbortError') return error as Error;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new IntegrityError(
      'STORAGE_FULL',
      `The S3 staging directory has no space left (${what}): ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (isUnavailable(error)) {
    return new UnavailableError(
      'BLOB_STORE_UNAVAILABLE',
      `The object store is unavailable (${what}): ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (error instanceof S3Error && error.s3Code === 'NoSuchBucket') {
    return new ImageTrustError(
      'INTERNAL',
      `The object store has no such bucket (${what}): ${error.message}`,
      {
        cause: error,
      },
    );
  }
  return new ImageTrustError('INTERNAL', `Object store error (${what}): ${(error as Error)?.message}`, {
    cause: error,
  });
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3Error && (error.status === 404 || error.s3Code === 'NoSuchKey');
}

function isNoSuchUpload(error: unknown): boolean {
  return error instanceof S3Error && error.s3Code === 'NoSuchUpload';
}

function xml(body: Buffer, expectedRoot: string): XmlElement {
  let root: XmlElement;
  try {
    root = parseXml(body.toString('utf8'));
  } catch (error) {
    if (error instanceof XmlError) {
      throw new ImageTrustError('INTERNAL', `The object store sent unreadable XML: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
  // CompleteMultipartUpload may answer 200 with an error inside.
  if (root.name === 'Error') {
    throw new S3Error(200, childText(root, 'Code') || 'InternalError', childText(root, 'Message') || '');
  }
  if (root.name !== expectedRoot) {
    throw new ImageTrustError('INTERNAL', `The object store answered <${root.name}>, not <${expectedRoot}>.`);
  }
  return root;
}

export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #partsInFlight: number;
  readonly #tempPrefix: string;
  readonly #staging: PartStaging;
  readonly #hasher = new PartHasher();
  /** Commits to one key in this process take turns (S3's conditional PUT is not atomic on every store). */
  readonly #claims = new Map<string, Promise<unknown>>();
  /** Whether the store honours `If-None-Match: *` on PUT (Swift's s3api answers 501); learnt on first use. */
  #conditionalPut = true;

  constructor(options: S3BlobStoreOptions) {
    const prefix = options.prefix ?? '';
    if (!/^[A-Za-z0-9._/-]{0,200}$/.test(prefix) || prefix.startsWith('/') || prefix.includes('..')) {
      throw new ImageTrustError('INTERNAL', `Refusing object name prefix '${prefix}'.`);
    }
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isInteger(partSize) || partSize < 5 * MiB || partSize > 5120 * MiB) {
      throw new ImageTrustError(
        'INTERNAL',
        `The S3 part size must be 5 MiB to 5 GiB, not ${partSize} bytes.`,
      );
    }
    const partsInFlight = options.partsInFlight ?? DEFAULT_PARTS_IN_FLIGHT;
    if (!Number.isInteger(partsInFlight) || partsInFlight < 1 || partsInFlight > 16) {
      throw new ImageTrustError('INTERNAL', `Parts in flight must be 1 to 16, not ${partsInFlight}.`);
    }
    if (options.tempPrefix !== undefined && !/^[A-Za-z0-9_-]{1,120}$/.test(options.tempPrefix)) {
      throw new ImageTrustError('INTERNAL', `Refusing temporary prefix '${options.tempPrefix}'.`);
    }
    this.#client = new S3Client(options);
    this.#prefix = prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix;
    this.#partSize = partSize;
    this.#partsInFlight = partsInFlight;
    this.#tempPrefix = options.tempPrefix ? `${options.tempPrefix}.` : '';
    if (typeof options.stagingDir !== 'string' || options.stagingDir === '') {
      throw new ImageTrustError('INTERNAL', 'The S3 blob store needs a staging directory.');
    }
    this.#staging = new PartStaging(options.stagingDir);
  }

  /**
   * Prepares the staging directory, removing the parts a crashed run left there, then checks that the
   * bucket answers (a one-key listing); BLOB_STORE_UNAVAILABLE when it does not.
   */
  async open(): Promise<this> {
    try {
      await this.#staging.open();
    } catch (error) {
      throw new ConfigError(
        `The S3 staging directory ${this.#staging.dir} cannot be used: ${(error as Error).message}`,
        { cause: error },
      );
    }
    await this.#listPage(`${this.#prefix}images/`, undefined, 1);
    return this;
  }

  get stagingDir(): string {
    return this.#staging.dir;
  }

  /** Staging files open and bytes of send blocks held, now and at most (for tests and metrics). */
  stagingUsage(): StagingUsage {
    return this.#staging.usage();
  }

  resetStagingPeaks(): void {
    this.#staging.resetPeaks();
  }

  /** Closes pooled connections. */
  close(): void {
    this.#client.close();
    void this.#hasher.close();
  }

  get partSize(): number {
    return this.#partSize;
  }

  dataName(id: string): string {
    return `${this.#prefix}data/${checkTempId(id)}`;
  }

  pointerName(key: string): string {
    return `${this.#prefix}images/${checkKey(key)}`;
  }

  async createTemporary(): Promise<TemporaryBlob> {
    const id = `${this.#tempPrefix}${randomUUID()}`;
    const name = this.dataName(id);
    let uploadId: string;
    try {
      const answer = await this.#client.send({ method: 'POST', key: name, query: [['uploads', '']] });
      uploadId = childText(xml(answer.body, 'InitiateMultipartUploadResult'), 'UploadId') ?? '';
    } catch (error) {
      throw toBlobError(error, 'starting a multipart upload');
    }
    if (!uploadId) throw new ImageTrustError('INTERNAL', 'The object store gave no multipart upload id.');
    return new S3Temporary(this, this.#client, this.#staging, this.#hasher, id, name, uploadId, {
      partSize: this.#partSize,
      partsInFlight: this.#partsInFlight,
    });
  }

  /** The data object `key` points at; NOT_FOUND when the key has no pointer. */
  async #resolve(key: string, signal?: AbortSignal): Promise<string> {
    let body: Buffer;
    try {
      body = (await this.#client.send({ method: 'GET', key: this.pointerName(key), signal })).body;
    } catch (error) {
      if (isNotFound(error)) {
        throw new NotFoundError(`Image data ${key} is missing from the blob store.`, { cause: error });
      }
      throw toBlobError(error, `reading the pointer of ${key}`);
    }
    const text = body.toString('utf8');
    const id = text.startsWith(POINTER_MAGIC) ? text.slice(POINTER_MAGIC.length).trim() : '';
    if (!TEMP_ID.test(id)) {
      throw new ImageTrustError('INTERNAL', `The pointer object of ${key} is not one this store wrote.`);
    }
    return id;
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<BlobData> {
    checkKey(key);
    signal?.throwIfAborted();
    const id = await this.#resolve(key, signal);
    let response: DataResponse;
    try {
      response = await this.#client.openData({
        key: this.dataName(id),
        headers: range ? { range: `bytes=${range.start}-${range.end}` } : {},
        signal,
      });
    } catch (error) {
      throw toBlobError(fromReader(error), `reading ${key}`);
    }
    const status = response.status;
    if (status === 416) {
      // A range past the end (an empty blob has no byte 0): nothing, as the filesystem store clamps it.
      response.close();
      return new S3Blocks(null, 0, signal);
    }
    if (status !== 200 && status !== 206) {
      const body = Buffer.from(await response.text());
      response.close();
      const error = toS3Error(status, body, response.headers);
      if (isNotFound(error)) {
        throw new NotFoundError(`Image data ${key} is missing from the blob store.`, { cause: error });
      }
      throw toBlobError(error, `reading ${key}`);
    }
    const length = response.length;
    if (length === null || !Number.isSafeInteger(length) || length < 0) {
      response.close();
      throw new ImageTrustError('INTERNAL', `The object store sent no length for ${key}.`);
    }
    return new S3Blocks(response, length, signal);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    let id: string;
    try {
      id = await this.#resolve(key);
    } catch (error) {
      if ((error as ImageTrustError).code === 'NOT_FOUND') return;
      throw error;
    }
    try {
      // Data first: dying in between leaves a pointer to nothing, which a later delete removes.
      await this.#client.send({ method: 'DELETE', key: this.dataName(id) }, [200, 204, 404]);
      await this.#client.send({ method: 'DELETE', key: this.pointerName(key) }, [200, 204, 404]);
    } catch (error) {
      throw toBlobError(error, `deleting ${key}`);
    }
  }

  async #listPage(
    prefix: string,
    token: string | undefined,
    maxKeys = 1000,
  ): Promise<{ keys: string[]; next: string | undefined }> {
    const query: [string, string][] = [
      ['list-type', '2'],
      ['prefix', prefix],
      ['max-keys', String(maxKeys)],
    ];
    if (token) query.push(['continuation-token', token]);
    let root: XmlElement;
    try {
      root = xml((await this.#client.send({ method: 'GET', query })).body, 'ListBucketResult');
    } catch (error) {
      throw toBlobError(error, 'listing objects');
    }
    const keys = childrenNamed(root, 'Contents').map((entry) => childText(entry, 'Key') ?? '');
    const truncated = childText(root, 'IsTruncated') === 'true';
    const next = truncated ? childText(root, 'NextContinuationToken') : undefined;
    if (truncated && !next)
      throw new ImageTrustError('INTERNAL', 'A truncated listing gave no continuation.');
    return { keys, next };
  }

  async *list(): AsyncIterable<string> {
    const prefix = `${this.#prefix}images/`;
    let token: string | undefined;
    do {
      const page = await this.#listPage(prefix, token);
      for (const name of page.keys) {
        const key = name.slice(prefix.length);
        if (name.startsWith(prefix) && SAFE_KEY.test(key) && key !== '.' && key !== '..') yield key;
      }
      token = page.next;
    } while (token);
  }

  /** Open multipart uploads whose object name starts with `namePrefix`. */
  async *#uploads(namePrefix: string): AsyncIterable<{ name: string; uploadId: string; initiated: Date }> {
    let keyMarker = '';
    let uploadIdMarker = '';
    for (;;) {
      const query: [string, string][] = [
        ['uploads', ''],
        ['prefix', namePrefix],
      ];
      if (keyMarker) query.push(['key-marker', keyMarker]);
      if (uploadIdMarker) query.push(['upload-id-marker', uploadIdMarker]);
      let root: XmlElement;
      try {
        root = xml((await this.#client.send({ method: 'GET', query })).body, 'ListMultipartUploadsResult');
      } catch (error) {
        throw toBlobError(error, 'listing multipart uploads');
      }
      for (const upload of childrenNamed(root, 'Upload')) {
        const name = childText(upload, 'Key') ?? '';
        const uploadId = childText(upload, 'UploadId') ?? '';
        const initiated = new Date(childText(upload, 'Initiated') ?? '');
        if (name.startsWith(namePrefix) && uploadId) yield { name, uploadId, initiated };
      }
      if (childText(root, 'IsTruncated') !== 'true') return;
      const nextKey = childText(root, 'NextKeyMarker') ?? '';
      const nextId = childText(root, 'NextUploadIdMarker') ?? '';
      if (!nextKey || (nextKey === keyMarker && nextId === uploadIdMarker)) {
        throw new ImageTrustError('INTERNAL', 'A truncated upload listing gave no next marker.');
      }
      keyMarker = nextKey;
      uploadIdMarker = nextId;
    }
  }

  async countTemporaries(): Promise<number> {
    let count = 0;
    for await (const _temp of this.listTemporaries()) count++;
    return count;
  }

  async *listTemporaries(): AsyncIterable<{ id: string; modifiedAt: Date }> {
    const prefix = `${this.#prefix}data/`;
    const seen = new Set<string>();
    for await (const upload of this.#uploads(prefix)) {
      const id = upload.name.slice(prefix.length);
      if (!TEMP_ID.test(id) || seen.has(id)) continue;
      seen.add(id);
      // S3 tells when an upload began, not when it was last written: recovery's cutoff errs towards keeping.
      yield { id, modifiedAt: Number.isNaN(upload.initiated.getTime()) ? new Date(0) : upload.initiated };
    }
  }

  async discardTemporary(id: string): Promise<void> {
    const name = this.dataName(id);
    for await (const upload of this.#uploads(name)) {
      if (upload.name === name) await this.abortUpload(name, upload.uploadId);
    }
    // Staged parts of a writer that died, should it have shared this directory (best effort).
    await this.#staging.removeAll(id).catch(() => undefined);
  }

  /** Aborts a multipart upload; one already gone is fine. */
  async abortUpload(name: string, uploadId: string): Promise<void> {
    try {
      await this.#client.send({ method: 'DELETE', key: name, query: [['uploadId', uploadId]] }, [200, 204]);
    } catch (error) {
      if (isNoSuchUpload(error) || isNotFound(error)) return;
      throw toBlobError(error, 'aborting a multipart upload');
    }
  }

  /**
   * Makes `key` point at temporary `id`, unless the key exists (CONFLICT). Claims in this process take
   * turns per key; across processes the conditional PUT decides where the store supports it, and the
   * catalog's upload lease already keeps two processes from committing one image.
   */
  async claim(key: string, id: string): Promise<void> {
    const name = this.pointerName(key);
    const previous = this.#claims.get(key) ?? Promise.resolve();
    const mine = previous.then(async () => {
      const conflict = () =>
        new ImageTrustError('CONFLICT', 'Image data already exists under this key; it is never replaced.');
      try {
        const head = await this.#client.send({ method: 'HEAD', key: name }, [200, 404]);
        if (head.status === 200) throw conflict();
        const body = Buffer.from(`${POINTER_MAGIC}${id}\n`);
        const headers: Record<string, string> = {
          'content-type': 'text/plain',
          'content-md5': createHash('md5').update(body).digest('base64'),
        };
        const put = (conditional: boolean) =>
          this.#client.send({
            method: 'PUT',
            key: name,
            body,
            headers: conditional ? { ...headers, 'if-none-match': '*' } : headers,
          });
        // What this PUT asked, not the flag now: a parallel commit may have learnt the answer meanwhile.
        const conditional = this.#conditionalPut;
        try {
          await put(conditional);
        } catch (error) {
          if (!(conditional && error instanceof S3Error && error.s3Code === 'NotImplemented')) throw error;
          // The HEAD above is then the only check: in-process turns and the catalog's lease keep it safe.
          this.#conditionalPut = false;
          await put(false);
        }
      } catch (error) {
        if (error instanceof S3Error && error.status === 412) throw conflict();
        throw toBlobError(error, `publishing ${key}`);
      }
    });
    const settled = mine.catch(() => undefined);
    this.#claims.set(key, settled);
    try {
      await mine;
    } finally {
      if (this.#claims.get(key) === settled) this.#claims.delete(key);
    }
  }

  /** Takes back a claim of `key` by `id` after its data could not be published (best effort). */
  async unclaim(key: string, id: string): Promise<void> {
    try {
      if ((await this.#resolve(key)) === id) {
        await this.#client.send({ method: 'DELETE', key: this.pointerName(key) }, [200, 204, 404]);
      }
    } catch {
      // Left behind, the pointer names no data: reads say NOT_FOUND, and a delete removes it.
    }
  }
}

interface Part {
  number: number;
  etag: string;
}

/**
 * A multipart upload being written. Each part is staged in a file of its own while up to `partsInFlight`
 * parts before it are sent from theirs, so the store's per-request latency (authentication, the segment
 * PUT's fsync, the container update) overlaps the next parts. An upload holds at most `partsInFlight + 1`
 * staging files and, per part being sent, two 256 KiB blocks; a writer waits while the store is slower
 * than its source.
 */
class S3Temporary implements TemporaryBlob {
  readonly id: string;
  readonly #store: S3BlobStore;
  readonly #client: S3Client;
  readonly #staging: PartStaging;
  readonly #hasher: PartHasher;
  readonly #name: string;
  readonly #uploadId: string;
  readonly #partSize: number;
  readonly #partsInFlight: number;
  #state: 'open' | 'committing' | 'committed' | 'discarded' = 'open';
  #uploadAborted = false;
  /** The part being written, and the MD5 of the bytes given for it; null until its first byte arrives. */
  #part: StagedPart | null = null;
  #partHash: PartHash | null = null;
  /** Block pairs taken from staging for this upload's sends, and those not sending now. */
  #blockPairs = 0;
  readonly #freeBlocks: [Buffer, Buffer][] = [];
  #smallMd5: string | null = null;
  readonly #parts: Part[] = [];
  /** Parts being sent; each settles (never rejects) once answered and its file is gone. */
  readonly #sending = new Set<Promise<void>>();
  #failure: unknown = null;
  #writes: Promise<void> = Promise.resolve();

  constructor(
    store: S3BlobStore,
    client: S3Client,
    staging: PartStaging,
    hasher: PartHasher,
    id: string,
    name: string,
    uploadId: string,
    limits: { partSize: number; partsInFlight: number },
  ) {
    this.#store = store;
    this.#client = client;
    this.#staging = staging;
    this.#hasher = hasher;
    this.id = id;
    this.#name = name;
    this.#uploadId = uploadId;
    this.#partSize = limits.partSize;
    this.#partsInFlight = limits.partsInFlight;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== 'open') {
      return Promise.reject(new ImageTrustError('INTERNAL', 'Write to a finished temporary blob.'));
    }
    // Writes take turns, so overlapping calls still land in order.
    const next = this.#writes.then(() => this.#append(chunk));
    // A failed write fails the temporary: a later commit must never publish data with a hole in it.
    this.#writes = next.catch((error) => {
      this.#failure ??= error;
    });
    return next;
  }

  /**
   * Writes the caller's bytes straight to the staging file (no copy) while the hasher's worker adds the
   * same bytes to the part's Content-MD5.
   */
  async #append(chunk: Uint8Array): Promise<void> {
    try {
      this.#throwIfFailed();
      let offset = 0;
      while (offset < chunk.length) {
        if (!this.#part) {
          this.#part = await this.#staging.create(this.id, this.#parts.length + 1);
          this.#partHash = this.#hasher.begin();
        }
        const part = this.#part;
        const n = Math.min(this.#partSize - part.size, chunk.length - offset);
        const piece = chunk.subarray(offset, offset + n);
        // Both settle before the caller may reuse its bytes, even when one of them fails.
        const [written, hashed] = await Promise.allSettled([
          writeAt(part, piece),
          (this.#partHash as PartHash).update(piece),
        ]);
        if (written.status === 'rejected') throw written.reason;
        if (hashed.status === 'rejected') throw hashed.reason;
        part.size += n;
        offset += n;
        if (part.size === this.#partSize) await this.#sendPart();
      }
    } catch (error) {
      // The temporary is failed now: its staged part goes at once (on a full disk, so does its space).
      await this.#dropPart();
      throw toBlobError(error, 'staging a part');
    }
  }

  #throwIfFailed(): void {
    if (!this.#failure) return;
    if (isNoSuchUpload(this.#failure)) {
      // The upload was aborted behind this writer's back: recovery took the temporary (the port's NOT_FOUND).
      throw new NotFoundError(`Temporary data ${this.id} no longer exists.`, { cause: this.#failure });
    }
    throw toBlobError(this.#failure, 'uploading a part');
  }

  /**
   * Starts sending the staged part once fewer than `partsInFlight` are on their way (a failure among them
   * stops the upload first); its file goes once it is answered.
   */
  async #sendPart(): Promise<void> {
    while (this.#sending.size >= this.#partsInFlight) await Promise.race(this.#sending);
    this.#throwIfFailed();
    const part = this.#part as StagedPart;
    const hash = this.#partHash as PartHash;
    this.#part = null;
    this.#partHash = null;
    const number = part.number;
    this.#parts.push({ number, etag: '' });
    const query: [string, string][] = [
      ['partNumber', String(number)],
      ['uploadId', this.#uploadId],
    ];
    const sent: Promise<void> = hash
      .digest()
      .then((md5) => this.#putStaged(part, query, md5))
      .then((answer) => {
        const etag = answer.headers.etag;
        if (typeof etag !== 'string' || etag === '')
          throw new Error(`Part ${number} came back without an ETag.`);
        this.#parts[number - 1].etag = etag;
      })
      .catch((error) => {
        // Kept, not thrown here: the next write or the commit reports it.
        this.#failure ??= error;
      })
      .then(() => this.#staging.remove(part).catch(() => undefined))
      .finally(() => this.#sending.delete(sent));
    this.#sending.add(sent);
  }

  /** Waits until no part is on its way (each send settles; failures are kept in #failure). */
  async #drain(): Promise<void> {
    while (this.#sending.size > 0) await Promise.all(this.#sending);
  }

  /** PUTs a staged part's bytes from its file, with their length and Content-MD5. */
  async #putStaged(part: StagedPart, query: [string, string][], md5: string): Promise<S3Response> {
    // The client gives the blocks back only once it stopped filling them, so the next send may take them.
    const blocks = this.#freeBlocks.pop() ?? this.#takeBlocks();
    try {
      return await this.#client.send({
        method: 'PUT',
        key: this.#name,
        query,
        file: { handle: part.handle, length: part.size, blocks },
        payloadHash: UNSIGNED_PAYLOAD,
        headers: { 'content-md5': md5 },
      });
    } finally {
      this.#freeBlocks.push(blocks);
    }
  }

  #takeBlocks(): [Buffer, Buffer] {
    this.#blockPairs++;
    return this.#staging.takeBlocks();
  }

  async commit(key: string): Promise<void> {
    checkKey(key);
    if (this.#state === 'committed' || this.#state === 'discarded') {
      throw new ImageTrustError('INTERNAL', `Commit of a ${this.#state} temporary blob.`);
    }
    if (this.#state === 'committing') throw new ImageTrustError('INTERNAL', 'Commit already under way.');
    this.#state = 'committing';
    try {
      await this.#writes;
      await this.#drain();
      this.#throwIfFailed();
      if (this.#parts.length === 0) await this.#commitSmall(key);
      else await this.#commitMultipart(key);
      this.#state = 'committed';
      await this.#release();
    } finally {
      if (this.#state === 'committing') this.#state = 'open';
    }
  }

  /** Less than one part: the upload is given up and the data sent in one PUT. */
  async #commitSmall(key: string): Promise<void> {
    if (!this.#uploadAborted) {
      // Abort first: an upload already gone means recovery took this temporary back.
      try {
        await this.#client.send(
          { method: 'DELETE', key: this.#name, query: [['uploadId', this.#uploadId]] },
          [200, 204],
        );
      } catch (error) {
        if (isNoSuchUpload(error) || isNotFound(error)) {
          throw new NotFoundError(`Temporary data ${this.id} no longer exists.`, { cause: error });
        }
        throw toBlobError(error, 'publishing a small blob');
      }
      this.#uploadAborted = true;
    }
    const part = this.#part;
    // Kept: a commit that failed may be tried again, and a digest is taken once.
    this.#smallMd5 ??= this.#partHash ? await this.#partHash.digest() : EMPTY_MD5;
    await this.#store.claim(key, this.id);
    try {
      if (part) await this.#putStaged(part, [], this.#smallMd5);
      else {
        await this.#client.send({
          method: 'PUT',
          key: this.#name,
          body: Buffer.alloc(0),
          payloadHash: UNSIGNED_PAYLOAD,
          headers: { 'content-md5': this.#smallMd5 },
        });
      }
    } catch (error) {
      await this.#store.unclaim(key, this.id);
      throw toBlobError(error, `publishing ${key}`);
    }
  }

  async #commitMultipart(key: string): Promise<void> {
    if (this.#part) await this.#sendPart();
    await this.#drain();
    this.#throwIfFailed();
    await this.#store.claim(key, this.id);
    const body = Buffer.from(
      `<CompleteMultipartUpload>${this.#parts
        .map(
          (part) =>
            `<Part><PartNumber>${part.number}</PartNumber><ETag>${escapeXml(part.etag)}</ETag></Part>`,
        )
        .join('')}</CompleteMultipartUpload>`,
    );
    try {
      const answer = await this.#client.send({
        method: 'POST',
        key: this.#name,
        query: [['uploadId', this.#uploadId]],
        body,
        headers: { 'content-type': 'application/xml' },
      });
      xml(answer.body, 'CompleteMultipartUploadResult');
    } catch (error) {
      await this.#store.unclaim(key, this.id);
      if (isNoSuchUpload(error)) {
        throw new NotFoundError(`Temporary data ${this.id} no longer exists.`, { cause: error });
      }
      throw toBlobError(error, `publishing ${key}`);
    }
    this.#uploadAborted = true;
  }

  /** Removes the part being written, if any. Never throws: a name left behind goes at the next open. */
  async #dropPart(): Promise<void> {
    const part = this.#part;
    this.#part = null;
    this.#partHash?.drop();
    this.#partHash = null;
    if (part) await this.#staging.remove(part).catch(() => undefined);
  }

  /** The temporary is finished (committed or discarded, nothing in flight): its part and blocks go. */
  async #release(): Promise<void> {
    for (; this.#blockPairs > 0; this.#blockPairs--) this.#staging.releaseBlocks();
    this.#freeBlocks.length = 0;
    await this.#dropPart();
  }

  /**
   * Removes the staged part and aborts the multipart upload. Never throws: with the store down the
   * upload stays open, listed as a temporary, and recovery aborts it once no live upload holds it.
   */
  async discard(): Promise<void> {
    if (this.#state === 'committed') return;
    this.#state = 'discarded';
    await this.#writes;
    await this.#drain();
    await this.#release();
    if (this.#uploadAborted) return;
    try {
      await this.#store.abortUpload(this.#name, this.#uploadId);
      this.#uploadAborted = true;
    } catch {
      // Left for recovery (see above).
    }
  }
}

/** Writes all of `data` at the end of the part's file. */
async function writeAt(part: StagedPart, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    const { bytesWritten } = await part.handle.write(data, offset, data.length - offset, part.size + offset);
    offset += bytesWritten;
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * An object's bytes as the response delivers them. Reading to the end, leaving early, aborting or
 * close() releases the connection.
 */
/**
 * A GET's body, as the reader gives it: blocks in reused buffers, each valid until the one after next is
 * asked for (the port's contract), so nothing is allocated or left to the collector per chunk.
 */
class S3Blocks implements BlobData {
  readonly length: number;
  readonly #response: DataResponse | null;
  readonly #signal?: AbortSignal;
  #closed = false;
  #started = false;

  constructor(response: DataResponse | null, length: number, signal?: AbortSignal) {
    this.#response = response;
    this.length = length;
    this.#signal = signal;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#response?.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#started) throw new ImageTrustError('INTERNAL', 'Blob data is read once.');
    this.#started = true;
    try {
      if (this.#closed) throw new ImageTrustError('INTERNAL', 'Blob data read after close.');
      if (!this.#response) return;
      let received = 0;
      try {
        for await (const block of this.#response.body) {
          this.#signal?.throwIfAborted();
          received += block.length;
          yield block;
        }
      } catch (error) {
        this.#signal?.throwIfAborted();
        throw toBlobError(fromReader(error), 'reading data');
      }
      this.#signal?.throwIfAborted();
      if (received !== this.length) {
        throw new UnavailableError(
          'BLOB_STORE_UNAVAILABLE',
          `The object store sent ${received} of ${this.length} bytes before the connection ended.`,
        );
      }
    } finally {
      await this.close();
    }
  }
}

/**
 * The reader's own failures (no connection, a body cut short, silence past the timeout, a malformed
 * answer) are the store's unavailability here, not a client's mistake: BLOB_STORE_UNAVAILABLE.
 */
function fromReader(error: unknown): unknown {
  if (
    error instanceof ImageTrustError &&
    (error.code === 'SERVICE_UNREACHABLE' ||
      error.code === 'UPLOAD_INCOMPLETE' ||
      error.code === 'TLS_FAILED')
  ) {
    return new UnavailableError(
      'BLOB_STORE_UNAVAILABLE',
      `The object store is unavailable: ${error.message}`,
      {
        cause: error,
      },
    );
  }
  return error;
}

export interface S3Settings {
  endpoint: string;
  region: string;
  bucket: string;
  pathStyle: boolean;
  prefix: string;
  partSizeMiB: number;
  /** Default DEFAULT_PARTS_IN_FLIGHT. */
  partsInFlight?: number;
  credentialsFile: string;
  profile: string;
}

/**
 * The store the `blobs.s3` settings describe, checked to answer (a wrong bucket, region or credentials
 * stop the start here, with S3's own error). Credentials: the file when configured, else AWS_* variables.
 */
export async function openS3BlobStore(
  settings: S3Settings,
  options: { stagingDir: string; tempPrefix?: string; env?: Record<string, string | undefined> },
): Promise<S3BlobStore> {
  const store = new S3BlobStore({
    endpoint: settings.endpoint,
    region: settings.region,
    bucket: settings.bucket,
    pathStyle: settings.pathStyle,
    prefix: settings.prefix,
    partSize: settings.partSizeMiB * MiB,
    partsInFlight: settings.partsInFlight,
    credentials: loadS3Credentials(settings, options.env),
    tempPrefix: options.tempPrefix,
    stagingDir: options.stagingDir,
  });
  try {
    return await store.open();
  } catch (error) {
    store.close();
    // Refused (not unreachable): the settings are wrong, and no retry will fix them.
    const cause = (error as Error).cause;
    if (cause instanceof S3Error && cause.status >= 400 && cause.status < 500) {
      throw new ConfigError(
        `The S3 store at ${settings.endpoint} refused bucket '${settings.bucket}' (check blobs.s3.region, blobs.s3.bucket and the credentials): ${cause.message}`,
        { cause: error },
      );
    }
    throw error;
  }
}

// Blob store on a local directory: uploads go to tmp/ and are renamed into images/ only when
// complete, so a reader never sees partial data and a crash leaves only removable temp files.
import { randomUUID } from 'node:crypto';
import { type FileHandle, link, mkdir, open, opendir, readdir, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { BlobData, BlobStore, ByteRange, TemporaryBlob } from '../../catalog/index.ts';
import { ImageTrustError, IntegrityError, NotFoundError } from '../../errors/index.ts';

export interface FileBlobStoreOptions {
  /** fsync data before the rename, so an active image survives a power cut (costs upload time). */
  fsync?: boolean;
  /**
   * Begins the id of every temporary this store creates (the process's upload owner), so recovery
   * can tell whose a leftover temporary was. Letters, digits, `_` and `-`.
   */
  tempPrefix?: string;
}

/** A temporary's id: an optional owner prefix and a UUID; never a path. */
const TEMP_ID = /^(?:[A-Za-z0-9_-]{1,120}\.)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkTempId(id: string): string {
  if (!TEMP_ID.test(id)) throw new ImageTrustError('INTERNAL', `Refusing unsafe temporary blob id '${id}'.`);
  return id;
}

const SAFE_KEY = /^[A-Za-z0-9._-]{1,200}$/;
const STALE_TEMP_MS = 60 * 60 * 1000;

function checkKey(key: string): string {
  // Keys come from our own ids, but a path separator here would escape the directory: refuse it.
  if (!SAFE_KEY.test(key) || key === '.' || key === '..') {
    throw new ImageTrustError('INTERNAL', `Refusing unsafe blob key '${key}'.`);
  }
  return key;
}

function toStorageError(error: unknown): ImageTrustError {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'EEXIST') {
    return new ImageTrustError(
      'CONFLICT',
      'Image data already exists under this key; it is never replaced.',
      { cause: error },
    );
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new IntegrityError(
      'STORAGE_FULL',
      'Image storage media is full: the blob directory has no space left.',
      {
        cause: error,
      },
    );
  }
  return error instanceof ImageTrustError
    ? error
    : new ImageTrustError('INTERNAL', `Blob store error: ${(error as Error).message}`, { cause: error });
}

export class FileBlobStore implements BlobStore {
  readonly root: string;
  readonly #fsync: boolean;
  readonly #tmpDir: string;
  readonly #dataDir: string;
  readonly #tempPrefix: string;

  constructor(root: string, options: FileBlobStoreOptions = {}) {
    this.root = path.resolve(root);
    this.#fsync = options.fsync ?? false;
    if (options.tempPrefix !== undefined && !/^[A-Za-z0-9_-]{1,120}$/.test(options.tempPrefix)) {
      throw new ImageTrustError('INTERNAL', `Refusing temporary prefix '${options.tempPrefix}'.`);
    }
    this.#tempPrefix = options.tempPrefix ? `${options.tempPrefix}.` : '';
    this.#tmpDir = path.join(this.root, 'tmp');
    this.#dataDir = path.join(this.root, 'images');
  }

  /**
   * Creates the directories and removes temp files a crashed process left behind. Only files untouched
   * for an hour go: another process sharing the directory may be writing the newer ones.
   */
  async open(now: Date = new Date()): Promise<this> {
    await mkdir(this.#dataDir, { recursive: true, mode: 0o700 });
    await mkdir(this.#tmpDir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.#tmpDir)) {
      if (!name.endsWith('.part')) continue;
      const file = path.join(this.#tmpDir, name);
      const info = await stat(file).catch(() => null);
      if (info && now.getTime() - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
    }
    return this;
  }

  async createTemporary(): Promise<TemporaryBlob> {
    const id = `${this.#tempPrefix}${randomUUID()}`;
    const tempPath = path.join(this.#tmpDir, `${id}.part`);
    let handle: FileHandle | null = await open(tempPath, 'wx', 0o600).catch((error) => {
      throw toStorageError(error);
    });
    const dataDir = this.#dataDir;
    const fsync = this.#fsync;
    let position = 0;
    const closeHandle = async () => {
      const h = handle;
      handle = null;
      await h?.close();
    };
    return {
      id,
      async write(chunk) {
        if (!handle) throw new ImageTrustError('INTERNAL', 'Write to a finished temporary blob.');
        // Positioned writes: the data lands where it belongs even if a caller overlaps two writes.
        const at = position;
        position += chunk.length;
        let offset = 0;
        try {
          while (offset < chunk.length) {
            const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset, at + offset);
            offset += bytesWritten;
          }
        } catch (error) {
          throw toStorageError(error);
        }
      },
      async commit(key) {
        const target = path.join(dataDir, checkKey(key));
        try {
          if (fsync) await handle?.sync();
          await closeHandle();
          // link() publishes atomically and, unlike rename(), never replaces data already committed.
          await link(tempPath, target);
          await unlink(tempPath);
        } catch (error) {
          // The temporary itself is gone: recovery took its upload back (the port's NOT_FOUND).
          if ((error as NodeJS.ErrnoException)?.code === 'ENOENT') {
            throw new NotFoundError(`Temporary data ${id} no longer exists.`, { cause: error });
          }
          throw toStorageError(error);
        }
      },
      async discard() {
        await closeHandle().catch(() => undefined);
        await rm(tempPath, { force: true });
      },
    };
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<BlobData> {
    const file = path.join(this.#dataDir, checkKey(key));
    signal?.throwIfAborted();
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      throw new NotFoundError(`Image data ${key} is missing from the blob store.`, { cause: error });
    }
    try {
      const size = (await handle.stat()).size;
      const start = range?.start ?? 0;
      const end = Math.min(range ? range.end + 1 : size, size);
      return new FileBlocks(handle, start, Math.max(start, end), signal);
    } catch (error) {
      await handle.close();
      throw toStorageError(error);
    }
  }

  async delete(key: string): Promise<void> {
    await rm(path.join(this.#dataDir, checkKey(key)), { force: true });
  }

  async *list(): AsyncIterable<string> {
    // Only link() puts files in images/, but skip anything a person left there that is not a key.
    for await (const entry of await opendir(this.#dataDir)) {
      if (entry.isFile() && SAFE_KEY.test(entry.name)) yield entry.name;
    }
  }

  async countTemporaries(): Promise<number> {
    return (await readdir(this.#tmpDir)).filter((name) => name.endsWith('.part')).length;
  }

  async *listTemporaries(): AsyncIterable<{ id: string; modifiedAt: Date }> {
    for (const name of await readdir(this.#tmpDir)) {
      const id = name.slice(0, -'.part'.length);
      if (!name.endsWith('.part') || !TEMP_ID.test(id)) continue;
      const info = await stat(path.join(this.#tmpDir, name)).catch(() => null);
      // Gone in between: its writer committed or discarded it.
      if (info) yield { id, modifiedAt: info.mtime };
    }
  }

  async discardTemporary(id: string): Promise<void> {
    await rm(path.join(this.#tmpDir, `${checkTempId(id)}.part`), { force: true });
  }
}

/** Bytes per read: large enough that a download costs a few syscalls per MiB, two per reader. */
const READ_BLOCK = 1 << 20;

/**
 * Whole-size read buffers that finished readers gave back, for the next reader. Off-heap memory returns
 * to the system only at a full collection, so three fresh buffers per download raised the resident size
 * by 3 MiB a download until then. Kept: enough for a few downloads at once.
 */
const spareBlocks: Buffer[] = [];
const MAX_SPARE_BLOCKS = 8;

/**
 * A committed file read with one block always in flight ahead of the one being consumed: three buffers,
 * taken in turn (the block being read ahead, the one just handed out, and the one before it, which the
 * consumer may still be sending), so the consumer's send overlaps the next read and nothing is
 * allocated per block. Buffers come from the spares when there are some; at the end of the data the two
 * the consumer can no longer hold go back (the last block stays with it, as the store's contract says).
 */
class FileBlocks implements BlobData {
  readonly length: number;
  readonly #handle: FileHandle;
  readonly #start: number;
  readonly #end: number;
  readonly #signal?: AbortSignal;
  #closing: Promise<void> | null = null;
  #started = false;

  constructor(handle: FileHandle, start: number, end: number, signal?: AbortSignal) {
    this.#handle = handle;
    this.#start = start;
    this.#end = end;
    this.#signal = signal;
    this.length = end - start;
  }

  close(): Promise<void> {
    this.#closing ??= this.#handle.close().catch(() => undefined);
    return this.#closing;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#started) throw new ImageTrustError('INTERNAL', 'Blob data is read once.');
    this.#started = true;
    const handle = this.#handle;
    const end = this.#end;
    const blockSize = Math.min(READ_BLOCK, Math.max(1, this.length));
    const buffers = Array.from({ length: 3 }, () =>
      blockSize === READ_BLOCK
        ? (spareBlocks.pop() ?? Buffer.allocUnsafeSlow(READ_BLOCK))
        : Buffer.allocUnsafeSlow(blockSize),
    );
    let ended = false;
    let position = this.#start;
    let turn = 0;
    const readNext = () => {
      const length = Math.min(blockSize, end - position);
      const at = position;
      position += length;
      return handle.read(buffers[turn], 0, length, at).then(({ bytesRead }) => {
        // Committed blobs never change: a short read means the file was cut behind the store's back.
        if (bytesRead !== length) {
          throw new ImageTrustError(
            'INTERNAL',
            `Stored image data ends at byte ${at + bytesRead}, before byte ${end}: the blob file was cut.`,
          );
        }
        return buffers[turn].subarray(0, length);
      });
    };
    let pending: Promise<Buffer> | null = null;
    try {
      if (this.#closing) throw new ImageTrustError('INTERNAL', 'Blob data read after close.');
      pending = position < end ? readNext() : null;
      while (pending) {
        const block: Buffer = await pending;
        this.#signal?.throwIfAborted();
        turn = (turn + 1) % buffers.length;
        // The next buffer is free: the consumer asked for this block, so it is done with the one two back.
        pending = position < end ? readNext() : null;
        yield block;
      }
      ended = true;
    } finally {
      await pending?.catch(() => undefined);
      await this.close();
      // The consumer asked past the last block (turn - 1): done with every other buffer. Stopped early,
      // it may still hold the last two it was given, so they are left to the collector.
      if (ended && blockSize === READ_BLOCK) {
        const last = (turn + buffers.length - 1) % buffers.length;
        for (let i = 0; i < buffers.length; i++) {
          if (i !== last && spareBlocks.length < MAX_SPARE_BLOCKS) spareBlocks.push(buffers[i]);
        }
      }
    }
  }
}

// Raw disks: MBR or GPT partitions (or a bare filesystem), ext2/3/4 read through the ext2fs WASM library.
// Nothing is mounted by the kernel; the image is only ever a file we read (or, writable, write).
import { type FileHandle, open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { FileDisk } from 'file-disk';
import { getPartitions } from 'partitioninfo';
import { DiskError, toDiskError } from './errors.ts';
import { ResolvingFileSystem, type WritableFsBackend, WritableResolvingFileSystem } from './resolver.ts';
import { type FileStat, fileTypeOfMode, type ImageKind } from './types.ts';

interface ExtStats {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
}

/** The part of the ext2fs `fs.promises` API we use; the package ships no types. */
interface ExtPromises {
  lstat(path: string): Promise<ExtStats>;
  readlink(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  open(path: string, flags: string): Promise<ExtFileHandle>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
}

interface ExtFileHandle {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

interface ExtFs {
  promises: ExtPromises;
}

interface Ext2fsModule {
  mount(disk: FileDisk, offset: number): Promise<ExtFs>;
  umount(fs: ExtFs): Promise<void>;
}

const ext2fs = createRequire(import.meta.url)('ext2fs') as Ext2fsModule;

/** MBR extended-partition containers hold no filesystem of their own. */
const EXTENDED_MBR_TYPES = new Set([0x05, 0x0f, 0x85]);
const EXT_MAGIC_OFFSET = 1024 + 56;

/** Where the chosen filesystem starts inside the raw file, for tools such as `e2fsck 'disk.raw?offset=N'`. */
export interface RawLayout {
  partitionTable: 'mbr' | 'gpt' | 'none';
  offset: number;
  size: number;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

class ExtBackend implements WritableFsBackend {
  readonly #fs: ExtFs;
  readonly #handle: FileHandle;
  readonly #disk: FileDisk;
  readonly #onClose: (committed: boolean) => Promise<void>;

  constructor(fs: ExtFs, handle: FileHandle, disk: FileDisk, onClose: (committed: boolean) => Promise<void>) {
    this.#fs = fs;
    this.#handle = handle;
    this.#disk = disk;
    this.#onClose = onClose;
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toDiskError(error, `The filesystem could not ${what}`);
    }
  }

  async lstat(path: string): Promise<FileStat | undefined> {
    let stats: ExtStats;
    try {
      stats = await this.#fs.promises.lstat(path);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw toDiskError(error, `The filesystem could not stat ${path}`);
    }
    const type = fileTypeOfMode(stats.mode);
    if (!type) throw new DiskError('DISK_CORRUPT', `An inode has an unknown file type: ${path}`);
    return {
      type,
      mode: stats.mode,
      uid: stats.uid,
      gid: stats.gid,
      size: stats.size,
      mtime: Math.floor(stats.mtime.getTime() / 1000),
    };
  }

  readlink(path: string): Promise<string> {
    return this.#call(`read the link ${path}`, () => this.#fs.promises.readlink(path));
  }

  readdir(path: string): Promise<string[]> {
    return this.#call(`list ${path}`, () => this.#fs.promises.readdir(path));
  }

  async readFile(path: string, size: number): Promise<Buffer> {
    // ext2fs's own readFile always decodes to a string, so the bytes are read through a handle; never
    // more than the size already checked against the caller's limit.
    return this.#call(`read ${path}`, async () => {
      const handle = await this.#fs.promises.open(path, 'r');
      try {
        const buffer = Buffer.alloc(size);
        let done = 0;
        while (done < size) {
          const { bytesRead } = await handle.read(buffer, done, size - done, done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buffer.subarray(0, done);
      } finally {
        await handle.close();
      }
    });
  }

  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.#call(`write ${path}`, () => this.#fs.promises.writeFile(path, data));
  }

  unlink(path: string): Promise<void> {
    return this.#call(`remove ${path}`, () => this.#fs.promises.unlink(path));
  }

  rmdir(path: string): Promise<void> {
    return this.#call(`remove directory ${path}`, () => this.#fs.promises.rmdir(path));
  }

  async truncate(path: string, length: number): Promise<void> {
    // ext2fs has no truncate yet: keep the first `length` bytes (zero-padded) and rewrite the file.
    const current = await this.lstat(path);
    const kept = await this.readFile(path, Math.min(length, current?.size ?? 0));
    const data = Buffer.alloc(length);
    kept.copy(data);
    await this.writeFile(path, data);
  }

  async #finish(committed: boolean): Promise<void> {
    try {
      await ext2fs.umount(this.#fs);
      if (!this.#disk.readOnly) await this.#disk.flush();
    } finally {
      try {
        await this.#handle.close();
      } finally {
        await this.#onClose(committed);
      }
    }
  }

  close(): Promise<void> {
    return this.#finish(true);
  }

  discard(): Promise<void> {
    return this.#finish(false);
  }
}

async function hasExtMagic(disk: FileDisk, offset: number): Promise<boolean> {
  const buffer = Buffer.alloc(2);
  const { bytesRead } = await disk.read(buffer, 0, 2, offset + EXT_MAGIC_OFFSET);
  return bytesRead === 2 && buffer.readUInt16LE(0) === 0xef53;
}

async function mountAt(disk: FileDisk, offset: number): Promise<ExtFs> {
  try {
    return await ext2fs.mount(disk, offset);
  } catch (error) {
    throw new DiskError('DISK_CORRUPT', `The ext2/3/4 filesystem at byte ${offset} cannot be opened.`, {
      cause: error,
    });
  }
}

async function looksLikeRoot(fs: ExtFs): Promise<boolean> {
  for (const path of ['/etc/os-release', '/etc/fstab']) {
    try {
      await fs.promises.lstat(path);
      return true;
    } catch {}
  }
  return false;
}

async function listCandidates(
  disk: FileDisk,
  capacity: number,
): Promise<{ table: RawLayout['partitionTable']; parts: { offset: number; size: number }[] }> {
  let found: Awaited<ReturnType<typeof getPartitions>>;
  try {
    found = await getPartitions(disk, { includeExtended: false });
  } catch (error) {
    // No partition table at all may still be a bare filesystem image; a broken one is reported below.
    if (await hasExtMagic(disk, 0)) return { table: 'none', parts: [{ offset: 0, size: capacity }] };
    throw new DiskError('DISK_CORRUPT', 'The partition table cannot be read.', { cause: error });
  }
  const parts = found.partitions
    .filter((p) => !(found.type === 'mbr' && EXTENDED_MBR_TYPES.has(p.type as number)))
    .filter((p) => p.size > 0 && p.offset >= 0 && p.offset + p.size <= capacity)
    .map((p) => ({ offset: p.offset, size: p.size }));
  if (parts.length === 0 && (await hasExtMagic(disk, 0)))
    return { table: 'none', parts: [{ offset: 0, size: capacity }] };
  return { table: found.type, parts };
}

/**
 * Picks the partition that holds /etc/os-release or /etc/fstab, else the largest ext2/3/4 one, and
 * returns it mounted (inside WASM).
 */
async function mountRoot(disk: FileDisk): Promise<{ fs: ExtFs; layout: RawLayout }> {
  const capacity = await disk.getCapacity();
  const { table, parts } = await listCandidates(disk, capacity);
  let fallback: { offset: number; size: number } | undefined;
  let lastError: unknown;
  for (const part of parts) {
    if (!(await hasExtMagic(disk, part.offset))) continue;
    let fs: ExtFs;
    try {
      fs = await mountAt(disk, part.offset);
    } catch (error) {
      lastError = error;
      continue;
    }
    if (await looksLikeRoot(fs)) return { fs, layout: { partitionTable: table, ...part } };
    await ext2fs.umount(fs).catch(() => {});
    if (!fallback || part.size > fallback.size) fallback = part;
  }
  if (fallback)
    return { fs: await mountAt(disk, fallback.offset), layout: { partitionTable: table, ...fallback } };
  if (lastError) throw lastError;
  throw new DiskError('DISK_UNSUPPORTED', 'The disk holds no ext2/3/4 filesystem that can be read.');
}

export interface RawImage {
  /** A WritableResolvingFileSystem when opened writable; read-only opens expose no write methods at all. */
  fs: ResolvingFileSystem;
  layout: RawLayout;
}

/** Opens a raw disk; `onClose` runs after the file is closed (qcow2 uses it to convert back or clean up). */
export async function openRawDisk(
  path: string,
  options: { writable?: boolean; kind?: ImageKind; onClose?: (committed: boolean) => Promise<void> } = {},
): Promise<RawImage> {
  const writable = options.writable ?? false;
  const onClose = options.onClose ?? (async () => {});
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, writable ? 'r+' : 'r');
    const disk = new FileDisk(handle, !writable);
    const { fs, layout } = await mountRoot(disk);
    const backend = new ExtBackend(fs, handle, disk, onClose);
    const kind = options.kind ?? 'raw';
    const view = writable
      ? new WritableResolvingFileSystem(kind, backend)
      : new ResolvingFileSystem(kind, backend);
    return { fs: view, layout };
  } catch (error) {
    await handle?.close().catch(() => {});
    await onClose(false).catch(() => {});
    throw toDiskError(error, 'The raw disk cannot be read');
  }
}

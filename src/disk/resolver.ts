// Resolves paths inside an image the way a chroot would, over a backend that knows only canonical paths.
import { DiskError, notFoundInImage } from './errors.ts';
import {
  DEFAULT_MAX_READ_BYTES,
  type FileStat,
  type ImageFileSystem,
  type ImageKind,
  type ReadFileOptions,
  type WritableImageFileSystem,
} from './types.ts';

/** Linux gives up after 40 links in one lookup; so do we, which also ends loops. */
const MAX_SYMLINKS = 40;
const MAX_LINK_TARGET = 4096;

/**
 * What each image kind provides. Paths handed to a backend are canonical ("/a/b"): no `.`/`..`, and no
 * symlink in any parent component, so a backend never follows a link by itself.
 */
export interface FsBackend {
  lstat(path: string): Promise<FileStat | undefined>;
  readlink(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  /** Reads a regular file already known to be `size` bytes (at most the caller's limit). */
  readFile(path: string, size: number): Promise<Buffer>;
  close(): Promise<void>;
}

export interface WritableFsBackend extends FsBackend {
  writeFile(path: string, data: Uint8Array): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  discard(): Promise<void>;
}

interface Resolved {
  path: string;
  stat: FileStat;
}

function splitRequest(path: string): string[] {
  if (typeof path !== 'string' || path.includes('\0')) {
    throw new DiskError('DISK_PATH_REFUSED', 'A path inside the image must be a string without NUL bytes.');
  }
  // A requested path that climbs above the root is refused rather than clamped: the caller asked for
  // something outside the image.
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0)
        throw new DiskError('DISK_PATH_REFUSED', `The path escapes the image root: ${path}`);
      out.pop();
    } else out.push(part);
  }
  return out;
}

const toPath = (parts: readonly string[]): string => `/${parts.join('/')}`;

export class ResolvingFileSystem implements ImageFileSystem {
  readonly kind: ImageKind;
  protected readonly backend: FsBackend;
  #closed = false;

  constructor(kind: ImageKind, backend: FsBackend) {
    this.kind = kind;
    this.backend = backend;
  }

  /** Walks the path component by component, expanding symlinks inside the image (absolute ones re-rooted). */
  protected async resolve(path: string, followLast: boolean): Promise<Resolved> {
    this.#assertOpen();
    const pending = splitRequest(path);
    const done: string[] = [];
    let stat: FileStat | undefined = {
      type: 'directory',
      mode: 0o040755,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
    };
    const rootStat = await this.backend.lstat('/');
    if (rootStat) stat = rootStat;
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        // Inside a symlink target `..` at the root stays at the root, as in a chroot.
        done.pop();
        stat = await this.backend.lstat(toPath(done));
        continue;
      }
      if (stat?.type !== 'directory') throw notFoundInImage(path);
      const candidate = [...done, part];
      stat = await this.backend.lstat(toPath(candidate));
      if (!stat) throw notFoundInImage(path);
      if (stat.type === 'symlink' && (pending.length > 0 || followLast)) {
        if (++links > MAX_SYMLINKS) {
          throw new DiskError('DISK_PATH_REFUSED', `Too many levels of symbolic links (a loop?): ${path}`);
        }
        const target = await this.backend.readlink(toPath(candidate));
        if (target.length === 0 || target.length > MAX_LINK_TARGET || target.includes('\0')) {
          throw new DiskError('DISK_CORRUPT', `The symlink target is not usable: ${toPath(candidate)}`);
        }
        if (target.startsWith('/')) done.length = 0;
        pending.unshift(...target.split('/'));
        stat = done.length === 0 ? (rootStat ?? stat) : await this.backend.lstat(toPath(done));
        continue;
      }
      done.push(part);
    }
    if (!stat) throw notFoundInImage(path);
    return { path: toPath(done), stat };
  }

  async list(dir: string): Promise<string[]> {
    const { path, stat } = await this.resolve(dir, true);
    if (stat.type !== 'directory') throw notFoundInImage(dir);
    const names = await this.backend.readdir(path);
    return names.filter((n) => n !== '.' && n !== '..').sort();
  }

  async stat(path: string): Promise<FileStat> {
    return (await this.resolve(path, true)).stat;
  }

  async lstat(path: string): Promise<FileStat> {
    return (await this.resolve(path, false)).stat;
  }

  async readlink(path: string): Promise<string> {
    const resolved = await this.resolve(path, false);
    if (resolved.stat.type !== 'symlink') throw notFoundInImage(path);
    return this.backend.readlink(resolved.path);
  }

  async readFile(path: string, options: ReadFileOptions = {}): Promise<Buffer> {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_READ_BYTES;
    const resolved = await this.resolve(path, true);
    if (resolved.stat.type !== 'file') throw notFoundInImage(path);
    if (resolved.stat.size > maxBytes) {
      throw new DiskError(
        'DISK_FILE_TOO_LARGE',
        `${path} is ${resolved.stat.size} bytes, over the read limit of ${maxBytes}; raise maxBytes to read it.`,
      );
    }
    return this.backend.readFile(resolved.path, resolved.stat.size);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.backend.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new DiskError('DISK_UNSUPPORTED', 'The image filesystem is closed.');
  }
}

/** Writes resolve the parent through symlinks and act on the last component itself, never on a link target. */
export class WritableResolvingFileSystem extends ResolvingFileSystem implements WritableImageFileSystem {
  readonly #writable: WritableFsBackend;

  constructor(kind: ImageKind, backend: WritableFsBackend) {
    super(kind, backend);
    this.#writable = backend;
  }

  async #target(path: string): Promise<{ path: string; stat?: FileStat }> {
    const parts = splitRequest(path);
    const name = parts.pop();
    if (!name) throw new DiskError('DISK_PATH_REFUSED', 'The image root cannot be written.');
    const parent = await this.resolve(toPath(parts), true);
    if (parent.stat.type !== 'directory') throw notFoundInImage(path);
    const full = parent.path === '/' ? `/${name}` : `${parent.path}/${name}`;
    return { path: full, stat: await this.#writable.lstat(full) };
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    const target = await this.#target(path);
    if (target.stat && target.stat.type !== 'file') {
      throw new DiskError('DISK_PATH_REFUSED', `Only regular files can be written: ${path}`);
    }
    await this.#writable.writeFile(target.path, typeof data === 'string' ? Buffer.from(data) : data);
  }

  async unlink(path: string): Promise<void> {
    const target = await this.#target(path);
    if (!target.stat) throw notFoundInImage(path);
    if (target.stat.type === 'directory') {
      throw new DiskError('DISK_PATH_REFUSED', `unlink does not remove directories: ${path}`);
    }
    await this.#writable.unlink(target.path);
  }

  async rmdir(path: string): Promise<void> {
    const target = await this.#target(path);
    if (!target.stat) throw notFoundInImage(path);
    if (target.stat.type !== 'directory' || target.path === '/') {
      throw new DiskError(
        'DISK_PATH_REFUSED',
        `rmdir removes only empty directories below the root: ${path}`,
      );
    }
    await this.#writable.rmdir(target.path);
  }

  async truncate(path: string, length = 0): Promise<void> {
    const target = await this.#target(path);
    if (target.stat?.type !== 'file') throw notFoundInImage(path);
    await this.#writable.truncate(target.path, length);
  }

  async discard(): Promise<void> {
    await this.#writable.discard();
  }
}

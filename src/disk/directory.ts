// A directory tree on the host as an image root; every lookup goes through the chroot-style resolver.
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskError } from './errors.ts';
import {
  type FsBackend,
  ResolvingFileSystem,
  type WritableFsBackend,
  WritableResolvingFileSystem,
} from './resolver.ts';
import { type FileStat, fileTypeOfMode } from './types.ts';

export function toFileStat(stats: Pick<Stats, 'mode' | 'uid' | 'gid' | 'size' | 'mtimeMs'>): FileStat {
  const type = fileTypeOfMode(stats.mode);
  if (!type)
    throw new DiskError(
      'DISK_CORRUPT',
      `An entry has an unknown file type (mode ${stats.mode.toString(8)}).`,
    );
  return {
    type,
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: Number(stats.size),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

class DirectoryBackend implements FsBackend {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  // Backend paths are canonical with no symlink in any parent, so joining never leaves the root.
  #host(path: string): string {
    return join(this.#root, path);
  }

  async lstat(path: string): Promise<FileStat | undefined> {
    try {
      return toFileStat(await lstat(this.#host(path)));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  readlink(path: string): Promise<string> {
    return readlink(this.#host(path));
  }

  readdir(path: string): Promise<string[]> {
    return readdir(this.#host(path));
  }

  async readFile(path: string, size: number): Promise<Buffer> {
    // O_NOFOLLOW closes the window where the entry became a symlink after it was resolved.
    const handle = await open(this.#host(path), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const buffer = Buffer.alloc(size);
      let read = 0;
      while (read < size) {
        const { bytesRead } = await handle.read(buffer, read, size - read, read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return buffer.subarray(0, read);
    } finally {
      await handle.close();
    }
  }

  async close(): Promise<void> {}
}

/**
 * Changes act on the tree in place (the build's own image root): the resolver hands over canonical
 * paths whose parents are real directories, and O_NOFOLLOW keeps a last component that turned into a
 * symlink from sending a write outside the root. There is no copy to roll back to, so discard() only
 * stops; callers change trees they can rebuild.
 */
class WritableDirectoryBackend extends DirectoryBackend implements WritableFsBackend {
  readonly #base: string;

  constructor(root: string) {
    super(root);
    this.#base = root;
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const handle = await open(
      join(this.#base, path),
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  }

  unlink(path: string): Promise<void> {
    return unlink(join(this.#base, path));
  }

  rmdir(path: string): Promise<void> {
    return rmdir(join(this.#base, path));
  }

  async truncate(path: string, length: number): Promise<void> {
    const handle = await open(join(this.#base, path), constants.O_WRONLY | constants.O_NOFOLLOW);
    try {
      await handle.truncate(length);
    } finally {
      await handle.close();
    }
  }

  async discard(): Promise<void> {}
}

export function openDirectoryImage(root: string): ResolvingFileSystem {
  return new ResolvingFileSystem('directory', new DirectoryBackend(root));
}

/** A directory tree opened for change in place (see WritableDirectoryBackend). */
export function openWritableDirectoryImage(root: string): WritableResolvingFileSystem {
  return new WritableResolvingFileSystem('directory', new WritableDirectoryBackend(root));
}

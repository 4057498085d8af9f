// The read-only (and, for sysprep, writable) view of a filesystem inside an image, whatever holds it.

/** The kind of a filesystem entry, as the POSIX file type bits of its mode. */
export type FileType = 'file' | 'directory' | 'symlink' | 'char-device' | 'block-device' | 'fifo' | 'socket';

/** POSIX-ish metadata of one entry; `mode` keeps the type bits, `mtime` is in seconds since the epoch. */
export interface FileStat {
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
}

export interface ReadFileOptions {
  /** Refuse files larger than this with DISK_FILE_TOO_LARGE; defaults to 64 MiB. */
  maxBytes?: number;
}

/**
 * A filesystem inside an image. Paths are absolute inside the image; symlinks are resolved inside the
 * image root as a chroot would, never on the host.
 */
export interface ImageFileSystem {
  readonly kind: ImageKind;
  /** Entry names of a directory, sorted, without `.` and `..`. */
  list(dir: string): Promise<string[]>;
  stat(path: string): Promise<FileStat>;
  lstat(path: string): Promise<FileStat>;
  readlink(path: string): Promise<string>;
  readFile(path: string, options?: ReadFileOptions): Promise<Buffer>;
  close(): Promise<void>;
}

/** A raw or qcow2 image opened for change; `close()` commits, `discard()` drops the changes where it can. */
export interface WritableImageFileSystem extends ImageFileSystem {
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  truncate(path: string, length?: number): Promise<void>;
  discard(): Promise<void>;
}

export type ImageKind = 'directory' | 'tar' | 'raw' | 'qcow2';

export const DEFAULT_MAX_READ_BYTES = 64 * 1024 * 1024;

/** The file type encoded in a POSIX mode, or undefined for bits no filesystem should hold. */
export function fileTypeOfMode(mode: number): FileType | undefined {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    case 0o020000:
      return 'char-device';
    case 0o060000:
      return 'block-device';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'socket';
    default:
      return undefined;
  }
}

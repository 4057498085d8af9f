// Detects what an image path holds (directory, tar, gzip, qcow2, raw) and opens the matching reader.
import { open, stat } from 'node:fs/promises';
import { NotFoundError } from '../errors/index.ts';
import { openDirectoryImage, openWritableDirectoryImage } from './directory.ts';
import { DiskError } from './errors.ts';
import { openQcow2Image } from './qcow2.ts';
import { openRawDisk } from './raw.ts';
import { type ResolvingFileSystem, WritableResolvingFileSystem } from './resolver.ts';
import { hasValidTarChecksum, openTarImage } from './tar.ts';
import type { ImageFileSystem, ImageKind, WritableImageFileSystem } from './types.ts';

export interface OpenImageOptions {
  /** Directory for temporary raw copies of qcow2 images and unpacked gzip archives. */
  tempDir?: string;
  /** Raw and qcow2 only: open for change (sysprep). */
  writable?: boolean;
  /** With `writable`, a directory too is opened for change, in place (the builder's own image root). */
  inPlace?: boolean;
}

export type DetectedKind = ImageKind | 'tar.gz';

/** Looks at the first bytes only; a file that is nothing else is treated as a raw disk. */
export async function detectImageKind(path: string): Promise<DetectedKind> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new NotFoundError(`The image does not exist: ${path}`, { cause: error });
  }
  if (info.isDirectory()) return 'directory';
  if (!info.isFile())
    throw new DiskError('DISK_UNSUPPORTED', `The image is neither a file nor a directory: ${path}`);
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (bytesRead >= 4 && head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2';
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
    if (
      bytesRead === 512 &&
      (head.subarray(257, 262).toString('latin1') === 'ustar' || hasValidTarChecksum(head))
    ) {
      return 'tar';
    }
    return 'raw';
  } finally {
    await handle.close();
  }
}

/** Opens any supported image, read-only unless `writable` is set (raw and qcow2 only). */
export async function openImage(
  path: string,
  options: OpenImageOptions & { writable: true },
): Promise<WritableImageFileSystem>;
export async function openImage(path: string, options?: OpenImageOptions): Promise<ImageFileSystem>;
export async function openImage(path: string, options: OpenImageOptions = {}): Promise<ImageFileSystem> {
  if (options.writable) return openWritableImage(path, options);
  const kind = await detectImageKind(path);
  switch (kind) {
    case 'directory':
      return openDirectoryImage(path);
    case 'tar':
      return openTarImage(path, false);
    case 'tar.gz':
      return openTarImage(path, true, options);
    case 'qcow2':
      return (await openQcow2Image(path, { tempDir: options.tempDir })).fs;
    case 'raw':
      return (await openRawDisk(path)).fs;
  }
}

/** Opens a raw or qcow2 image for change (sysprep); close() commits, discard() drops qcow2 changes. */
export async function openWritableImage(
  path: string,
  options: OpenImageOptions = {},
): Promise<WritableImageFileSystem> {
  const kind = await detectImageKind(path);
  switch (kind) {
    case 'qcow2':
      return asWritable((await openQcow2Image(path, { tempDir: options.tempDir, writable: true })).fs);
    case 'raw':
      return asWritable((await openRawDisk(path, { writable: true })).fs);
    case 'directory':
      if (options.inPlace) return openWritableDirectoryImage(path);
      throw new DiskError(
        'DISK_UNSUPPORTED',
        'A directory image is changed only in place by the builder; sysprep takes raw or qcow2.',
      );
    case 'tar':
    case 'tar.gz':
      throw new DiskError(
        'DISK_UNSUPPORTED',
        `A ${kind} image cannot be opened for writing; use raw or qcow2.`,
      );
  }
}

function asWritable(fs: ResolvingFileSystem): WritableResolvingFileSystem {
  if (fs instanceof WritableResolvingFileSystem) return fs;
  throw new DiskError('DISK_UNSUPPORTED', 'The image was not opened for writing.');
}

// Reading (and, for sysprep, changing) files inside images without mounting them.
export { DiskError } from './errors.ts';
export {
  type DetectedKind,
  detectImageKind,
  type OpenImageOptions,
  openImage,
  openWritableImage,
} from './open-image.ts';
export { openRawDisk, type RawImage, type RawLayout } from './raw.ts';
export type {
  FileStat,
  FileType,
  ImageFileSystem,
  ImageKind,
  ReadFileOptions,
  WritableImageFileSystem,
} from './types.ts';
export { DEFAULT_MAX_READ_BYTES } from './types.ts';

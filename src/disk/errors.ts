// Disk reading errors: everything a hostile or broken image can cause ends as one of these codes.
import { ImageTrustError, type ImageTrustErrorOptions, NotFoundError } from '../errors/index.ts';

type DiskCode = 'DISK_CORRUPT' | 'DISK_UNSUPPORTED' | 'DISK_PATH_REFUSED' | 'DISK_FILE_TOO_LARGE';

/** A corrupt, unsupported or hostile image, a path that escapes it, or a file over the read limit. */
export class DiskError extends ImageTrustError<DiskCode> {}

export function notFoundInImage(path: string): NotFoundError {
  return new NotFoundError(`No such file or directory in the image: ${path}`);
}

/** Wraps what foreign disk code (WASM, partition parsing) throws; our own errors pass through. */
export function toDiskError(
  error: unknown,
  what: string,
  options: ImageTrustErrorOptions = {},
): ImageTrustError {
  if (error instanceof ImageTrustError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DiskError('DISK_CORRUPT', `${what}: ${message}`, { ...options, cause: error });
}

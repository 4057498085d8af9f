// A file a command writes where the user said (-o, --out-key, --save-head): written whole, in one rename,
// so an interrupted command leaves the old file or the new, never half of one, and a path that cannot
// be written is OUTPUT_UNWRITABLE (exit 73), not a read error.
import { replaceFile } from '../storage/index.ts';
import { outputUnwritable } from './failure.ts';

export interface OutputFileOptions {
  /** 0644 unless the file holds a secret (0600). */
  mode?: number;
}

export async function writeOutputFile(
  file: string,
  content: string | Uint8Array,
  options: OutputFileOptions = {},
): Promise<void> {
  try {
    await replaceFile(file, content, { mode: options.mode ?? 0o644, parents: false });
  } catch (error) {
    throw outputUnwritable(file, error as NodeJS.ErrnoException);
  }
}

// Reads a file a lint command was given; an unreadable file becomes a finding, not a crash.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.ts';

/** The file's text, or why it could not be read (the errno code, else the message). */
export function readTextOrReason(file: string): { text: string } | { reason: string } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (error) {
    return { reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
}

/** A `--profile` file's text ('' when none is given); unreadable is CONFIG_INVALID naming the file. */
export function readProfileText(file: string | undefined): string {
  if (!file) return '';
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read profile ${file}: ${(error as Error).message}`, { cause: error });
  }
}

// Reads a file a lint command was given; an unreadable file becomes a finding, not a crash.
import { readFileSync } from 'node:fs';

/** The file's text, or why it could not be read (the errno code, else the message). */
export function readTextOrReason(file: string): { text: string } | { reason: string } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (error) {
    return { reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
}

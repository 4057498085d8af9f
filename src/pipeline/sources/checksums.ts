// Checksum lists as distributions publish them: GNU coreutils (`sha256sum`, `SHA256SUMS`) and the BSD
// tagged form (`SHA256 (file) = hex`). Pure: text in, entries out; the caller verifies the list first.
import { SourceError } from '../../errors/index.ts';

/** The digests a checksum list may name; node:crypto accepts these names. */
export type ChecksumAlgorithm = 'sha256' | 'sha512';

/** One line of a checksum list. `name` is the list's text, untrusted as a path: it is only ever compared. */
export interface ChecksumEntry {
  algorithm: ChecksumAlgorithm;
  /** Lower-case hex. */
  hex: string;
  name: string;
  /** 1-based line in the list. */
  line: number;
}

/** A line that is neither blank, a comment nor a checksum; sha256sum -c also skips these with a warning. */
export interface ChecksumListProblem {
  line: number;
  reason: string;
}

export interface ParsedChecksumList {
  entries: ChecksumEntry[];
  problems: ChecksumListProblem[];
}

const HEX_LENGTH: Record<ChecksumAlgorithm, number> = { sha256: 64, sha512: 128 };
const GNU_LINE = /^(\\?)([0-9a-fA-F]+) [ *](.+)$/;
const BSD_LINE = /^(\\?)(SHA256|SHA512|SHA-256|SHA-512) ?\((.+)\) ?= ?([0-9a-fA-F]+)$/;

/** GNU escapes a name holding a backslash or newline and marks the line with a leading backslash. */
function unescapeGnuName(name: string): string {
  return name.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

function algorithmOfLength(length: number): ChecksumAlgorithm | null {
  if (length === HEX_LENGTH.sha256) return 'sha256';
  if (length === HEX_LENGTH.sha512) return 'sha512';
  return null;
}

/** Parses a GNU or BSD-style checksum list (both may be mixed, as `sha256sum -c` accepts). */
export function parseChecksumList(text: string): ParsedChecksumList {
  const entries: ChecksumEntry[] = [];
  const problems: ChecksumListProblem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    const line = i + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const bsd = BSD_LINE.exec(raw);
    if (bsd) {
      const algorithm = bsd[2].replace('-', '').toLowerCase() as ChecksumAlgorithm;
      if (bsd[4].length !== HEX_LENGTH[algorithm]) {
        problems.push({ line, reason: `${bsd[2]} digest of ${bsd[4].length} hex digits` });
        continue;
      }
      const name = bsd[1] ? unescapeGnuName(bsd[3]) : bsd[3];
      entries.push({ algorithm, hex: bsd[4].toLowerCase(), name, line });
      continue;
    }
    const gnu = GNU_LINE.exec(raw);
    const algorithm = gnu ? algorithmOfLength(gnu[2].length) : null;
    if (!gnu || !algorithm) {
      problems.push({ line, reason: 'not a checksum line' });
      continue;
    }
    const name = gnu[1] ? unescapeGnuName(gnu[3]) : gnu[3];
    entries.push({ algorithm, hex: gnu[2].toLowerCase(), name, line });
  }
  return { entries, problems };
}

/** `./name` and `name` are the same file to sha256sum; nothing else is normalised. */
function listedName(name: string): string {
  return name.startsWith('./') ? name.slice(2) : name;
}

/**
 * The line for `fileName` (a bare file name: the URL's last segment or a local file's base name). A name
 * with a path separator never matches, so a hostile line (`../x`, `/etc/x`) cannot be selected. When both
 * sha256 and sha512 lines exist the stronger wins; two different digests for one name are refused.
 */
export function findChecksumEntry(list: ParsedChecksumList, fileName: string): ChecksumEntry {
  if (fileName === '' || fileName.includes('/') || fileName.includes('\\') || fileName.includes('\0')) {
    throw new SourceError('SOURCE_NOT_LISTED', `"${fileName}" is not a plain file name to look up.`);
  }
  const matches = list.entries.filter((entry) => listedName(entry.name) === fileName);
  if (matches.length === 0) {
    throw new SourceError(
      'SOURCE_NOT_LISTED',
      `The signed checksum list has no line for "${fileName}": check the file name or use the list that covers it.`,
    );
  }
  const strongest = matches.some((entry) => entry.algorithm === 'sha512') ? 'sha512' : 'sha256';
  const chosen = matches.filter((entry) => entry.algorithm === strongest);
  if (new Set(chosen.map((entry) => entry.hex)).size > 1) {
    throw new SourceError(
      'SOURCE_NOT_LISTED',
      `The signed checksum list has conflicting ${strongest} lines for "${fileName}" (lines ${chosen.map((e) => e.line).join(', ')}).`,
    );
  }
  return chosen[0];
}

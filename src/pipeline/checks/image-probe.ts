// A recording view of an image for the checks: missing files are `undefined`, every path looked at is
// remembered so a result can say what it was decided from. Other errors (corrupt image) propagate.
import type { FileStat, ImageFileSystem } from '../../disk/index.ts';
import { NotFoundError } from '../../errors/index.ts';

function missing(error: unknown): boolean {
  return error instanceof NotFoundError;
}

export class ImageProbe {
  readonly filesRead = new Set<string>();
  readonly #fs: ImageFileSystem;

  constructor(fs: ImageFileSystem) {
    this.#fs = fs;
  }

  async text(path: string): Promise<string | undefined> {
    this.filesRead.add(path);
    try {
      return (await this.#fs.readFile(path)).toString('utf8');
    } catch (error) {
      if (missing(error) || isDirectoryError(error)) return undefined;
      throw error;
    }
  }

  async lstat(path: string): Promise<FileStat | undefined> {
    this.filesRead.add(path);
    try {
      return await this.#fs.lstat(path);
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
  }

  async stat(path: string): Promise<FileStat | undefined> {
    this.filesRead.add(path);
    try {
      return await this.#fs.stat(path);
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
  }

  async readlink(path: string): Promise<string> {
    this.filesRead.add(path);
    return this.#fs.readlink(path);
  }

  /** Entry names of a directory, or [] when it is missing or not a directory. */
  async list(dir: string): Promise<string[]> {
    const stat = await this.stat(dir);
    if (stat?.type !== 'directory') return [];
    return this.#fs.list(dir);
  }

  /** Texts of the files in `dir` whose names match, in name order. */
  async texts(dir: string, match: RegExp): Promise<Array<{ path: string; text: string }>> {
    const out: Array<{ path: string; text: string }> = [];
    for (const name of await this.list(dir)) {
      if (!match.test(name)) continue;
      const text = await this.text(`${dir}/${name}`);
      if (text !== undefined) out.push({ path: `${dir}/${name}`, text });
    }
    return out;
  }
}

function isDirectoryError(error: unknown): boolean {
  return (error as { code?: string })?.code === 'EISDIR';
}

/** Lines without comments and surrounding blanks, empty ones dropped. */
export function meaningfulLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/^\s*#.*$/, '').trim())
    .filter((line) => line.length > 0);
}

/** Installed packages in a dpkg status file (`Status: install ok installed`). */
export function installedDpkgPackages(status: string): Set<string> {
  const installed = new Set<string>();
  for (const stanza of status.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const state = /^Status:\s*(.+)$/m.exec(stanza)?.[1]?.trim();
    if (name && state?.endsWith(' installed') && !state.endsWith('not-installed')) installed.add(name);
  }
  return installed;
}

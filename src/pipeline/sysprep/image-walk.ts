// Read-only lookups the planners share: listings and stats that treat a missing path as empty.
import type { FileStat, ImageFileSystem } from '../../disk/index.ts';
import { ImageTrustError } from '../../errors/index.ts';

function isMissing(error: unknown): boolean {
  return error instanceof ImageTrustError && error.code === 'NOT_FOUND';
}

export async function lstatOrUndefined(fs: ImageFileSystem, path: string): Promise<FileStat | undefined> {
  try {
    return await fs.lstat(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Entries of a real directory (not one reached through a symlink), or none when it is absent. */
export async function listDir(fs: ImageFileSystem, dir: string): Promise<string[]> {
  const stat = await lstatOrUndefined(fs, dir);
  if (stat?.type !== 'directory') return [];
  return fs.list(dir);
}

export function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Every non-directory entry below `dir`, depth first, sorted; symlinks are reported, never followed. */
export async function walkFiles(
  fs: ImageFileSystem,
  dir: string,
): Promise<{ path: string; stat: FileStat }[]> {
  const found: { path: string; stat: FileStat }[] = [];
  for (const name of await listDir(fs, dir)) {
    const path = join(dir, name);
    const stat = await fs.lstat(path);
    if (stat.type === 'directory') found.push(...(await walkFiles(fs, path)));
    else found.push({ path, stat });
  }
  return found;
}

/** Every directory below `dir` (not `dir` itself), without following symlinks. */
export async function walkDirectories(fs: ImageFileSystem, dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await listDir(fs, dir)) {
    const path = join(dir, name);
    if ((await fs.lstat(path)).type === 'directory') found.push(path, ...(await walkDirectories(fs, path)));
  }
  return found;
}

/** Home directories of root and every user under /home. */
export async function homeDirs(fs: ImageFileSystem): Promise<string[]> {
  const homes = (await listDir(fs, '/home')).map((name) => join('/home', name));
  return ['/root', ...homes];
}

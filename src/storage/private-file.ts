// Small files private to the service (keys, keyrings, heads), written so that no reader ever sees half
// of one: the bytes go to a 0600 temporary file beside the target, and only a whole, synced file is
// linked or renamed into place. Several processes may start at once on one data directory. A process
// killed between the two steps leaves only its temporary, which the next write beside it removes.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface PrivateWriteOptions {
  /** fsync before publishing (default true): a key must survive a crash; a cached head need not. */
  sync?: boolean;
  /** Make a missing parent directory (0700), as for the service's own files. Default true; false for a
   * path a user named, where a missing directory is their mistake to hear about. */
  parents?: boolean;
  /** The file's mode, 0600 unless it is the public half of a key (0644). */
  mode?: number;
  /** The clock that decides whether a leftover temporary is stale (ms since the epoch). */
  now?: () => number;
}

/**
 * Publishes `content` at `file` unless a file is already there. Returns false when another process
 * (or an earlier start) made it first: its file is the one to use. Never leaves a partial file.
 */
export async function createFileOnce(
  file: string,
  content: string | Uint8Array,
  options: PrivateWriteOptions = {},
): Promise<boolean> {
  const temporary = await writeTemporary(file, content, options);
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** Replaces `file` with `content` in one rename: readers see the old file or the new, never a mix. */
export async function replaceFile(
  file: string,
  content: string | Uint8Array,
  options: PrivateWriteOptions = {},
): Promise<void> {
  const temporary = await writeTemporary(file, content, options);
  try {
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** A temporary older than this was left by a process that died: live writes take milliseconds. */
export const STALE_TEMPORARY_MS = 60_000;

async function writeTemporary(
  file: string,
  content: string | Uint8Array,
  options: PrivateWriteOptions,
): Promise<string> {
  if (options.parents !== false) await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await removeStaleTemporaries(file, options.now?.() ?? Date.now());
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    // Made 0600 and only then opened up if asked: the umask can take bits away, chmod makes the mode exact.
    await handle.chmod(options.mode ?? 0o600);
    await handle.writeFile(content);
    if (options.sync !== false) await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return temporary;
}

async function removeStaleTemporaries(file: string, now: number): Promise<void> {
  const base = path.basename(file);
  const names = await readdir(path.dirname(file)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(`${base}.`) || !/^\.[0-9a-f]{12}\.tmp$/.test(name.slice(base.length))) continue;
    const leftover = path.join(path.dirname(file), name);
    const info = await stat(leftover).catch(() => null);
    if (info && now - info.mtimeMs > STALE_TEMPORARY_MS) await unlink(leftover).catch(() => undefined);
  }
}

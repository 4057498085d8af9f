// Part staging for S3 uploads. Each multipart part is written to a private file (0600) in a staging
// directory and sent from there, so an upload's memory does not grow with the part size: writes go
// from the caller's block straight to the file, and a part is sent through two 256 KiB blocks. Files are
// read and written through their descriptors only, never reopened by name: removing a name (recovery in
// another process sharing the directory, an operator) never corrupts an upload in flight.
import { type FileHandle, mkdir, open, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Bytes of each of the two blocks a part is sent through: small, because every part in flight holds two
 * (50 uploads on two processes held 209 MB each with 1 MiB blocks), and large enough that a 64 MiB part
 * is 256 reads and socket writes (128 KiB blocks made a 1 GiB upload through Swift 10% slower).
 */
export const STAGING_BLOCK_BYTES = 256 * 1024;
/** `<temporary id>.<part number>.part`: the only names the sweep removes. */
const STAGED_NAME = /^([A-Za-z0-9_.-]{1,200})\.[0-9]{1,5}\.part$/;

/** One part being written, or sent, from its staging file. */
export interface StagedPart {
  readonly number: number;
  readonly file: string;
  readonly handle: FileHandle;
  size: number;
  removed: boolean;
}

/** What staging holds now and at most since the last reset: files open, bytes of send blocks. */
export interface StagingUsage {
  files: number;
  blockBytes: number;
  peakFiles: number;
  peakBlockBytes: number;
}

export class PartStaging {
  readonly dir: string;
  #files = 0;
  #blockBytes = 0;
  #peakFiles = 0;
  #peakBlockBytes = 0;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  /**
   * Creates the directory and removes every staged part in it, which only a crashed run leaves behind
   * (a live upload sharing the directory keeps its descriptors, so it loses nothing). Resolves with how
   * many were removed.
   */
  async open(): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (!STAGED_NAME.test(name)) continue;
      if (await removeName(path.join(this.dir, name))) removed++;
    }
    return removed;
  }

  /** A new, empty staging file for part `number` of temporary `id`, readable by this user only. */
  async create(id: string, number: number): Promise<StagedPart> {
    const file = path.join(this.dir, `${id}.${number}.part`);
    // Read and write: the part is sent from the same descriptor it was written through.
    const handle = await open(file, 'wx+', 0o600);
    this.#count(1, 0);
    return { number, file, handle, size: 0, removed: false };
  }

  /** Closes and removes a part's file; a second call, or a name already gone, is fine. */
  async remove(part: StagedPart): Promise<void> {
    if (part.removed) return;
    part.removed = true;
    this.#count(-1, 0);
    try {
      await part.handle.close();
    } finally {
      await removeName(part.file);
    }
  }

  /** Removes the staged parts of temporary `id` by name (recovery's discard of an upload by id). */
  async removeAll(id: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (STAGED_NAME.exec(name)?.[1] === id) await removeName(path.join(this.dir, name));
    }
  }

  /** The two blocks one part is sent through; give them back with `release`. */
  takeBlocks(): [Buffer, Buffer] {
    this.#count(0, 2 * STAGING_BLOCK_BYTES);
    return [Buffer.allocUnsafeSlow(STAGING_BLOCK_BYTES), Buffer.allocUnsafeSlow(STAGING_BLOCK_BYTES)];
  }

  releaseBlocks(): void {
    this.#count(0, -2 * STAGING_BLOCK_BYTES);
  }

  usage(): StagingUsage {
    return {
      files: this.#files,
      blockBytes: this.#blockBytes,
      peakFiles: this.#peakFiles,
      peakBlockBytes: this.#peakBlockBytes,
    };
  }

  resetPeaks(): void {
    this.#peakFiles = this.#files;
    this.#peakBlockBytes = this.#blockBytes;
  }

  #count(files: number, blockBytes: number): void {
    this.#files += files;
    this.#blockBytes += blockBytes;
    this.#peakFiles = Math.max(this.#peakFiles, this.#files);
    this.#peakBlockBytes = Math.max(this.#peakBlockBytes, this.#blockBytes);
  }
}

async function removeName(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

// Stage outputs kept by the digest of their inputs: `<cache>/<stage>/<key>/`. A stage is built in a
// temporary directory beside its final place and renamed into it only when complete, so a crash or a
// Ctrl-C never leaves a half-made entry that a later build would trust; temporaries of dead builds are
// swept at the next start.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** sha256 of a canonical JSON of the inputs: keys sorted, so the same inputs give the same key. */
export function stageKey(inputs: unknown): string {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value && typeof value === 'object' && !Buffer.isBuffer(value)
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
          )
        : Buffer.isBuffer(value)
          ? `sha256:${createHash('sha256').update(value).digest('hex')}`
          : value;
  return createHash('sha256')
    .update(JSON.stringify(canonical(inputs)))
    .digest('hex');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class StageCache {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The finished entry's directory, or null when this key was never completed. */
  async find(stage: string, key: string): Promise<string | null> {
    const dir = join(this.root, stage, key);
    try {
      await stat(join(dir, '.complete'));
      return dir;
    } catch {
      return null;
    }
  }

  /**
   * Makes an entry: `make` fills a fresh directory; on success it becomes the entry, on failure it is
   * deleted. Returns the entry's directory.
   */
  async make(stage: string, key: string, make: (dir: string) => Promise<void>): Promise<string> {
    const parent = join(this.root, stage);
    await mkdir(parent, { recursive: true, mode: 0o700 });
    await this.#sweep(parent);
    // The owner's PID is in the name, so there is no moment when a live temporary looks ownerless.
    const temp = join(parent, `.tmp-${process.pid}-${key.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    await mkdir(temp, { mode: 0o700 });
    try {
      await make(temp);
      await writeFile(join(temp, '.complete'), new Date(0).toISOString());
      const final = join(parent, key);
      try {
        await rename(temp, final);
      } catch (error) {
        // A concurrent build finished the same key first: its entry is as good as ours, and someone may
        // be reading it, so ours goes instead of it.
        const code = (error as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await this.find(stage, key))) throw error;
        await rm(temp, { recursive: true, force: true });
      }
      return final;
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }

  /** Removes temporaries whose build process is gone (crashed or killed). */
  async #sweep(parent: string): Promise<void> {
    for (const name of await readdir(parent)) {
      const owner = /^\.tmp-(\d+)-/.exec(name);
      if (!owner) continue;
      if (!alive(Number(owner[1]))) await rm(join(parent, name), { recursive: true, force: true });
    }
  }
}

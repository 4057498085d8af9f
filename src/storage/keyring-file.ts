// The keyring file that holds the key-encryption keys (mode 0600): created with one random KEK on first
// start, re-read whenever another process (rotate-kek) replaced it, and replaced atomically on save.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors/index.ts';
import {
  createKek,
  type Keyring,
  type KeyringProvider,
  type KeyringStore,
  parseKeyring,
  serializeKeyring,
} from '../keys/index.ts';
import { createFileOnce, replaceFile } from './private-file.ts';

export interface FileKeyringOptions {
  /** Create the file with one new KEK when it does not exist (the server's first start). */
  create?: boolean;
  now?: () => Date;
}

export class FileKeyring implements KeyringStore {
  readonly file: string;
  readonly #create: boolean;
  readonly #now: () => Date;
  #cached: { keyring: Keyring; stamp: string } | null = null;

  constructor(file: string, options: FileKeyringOptions = {}) {
    this.file = path.resolve(file);
    this.#create = options.create ?? true;
    this.#now = options.now ?? (() => new Date());
  }

  /** Makes sure the file exists and is valid; returns this for chaining. */
  async open(): Promise<this> {
    await this.load();
    return this;
  }

  async load(): Promise<Keyring> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !this.#create) {
        throw new ConfigError(`Cannot read the keyring ${this.file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      await this.#createFirst();
      info = await stat(this.file);
    }
    if ((info.mode & 0o077) !== 0) {
      throw new ConfigError(
        `The keyring ${this.file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it.`,
      );
    }
    // A rename by rotate-kek changes the inode, so a rotation in another process is noticed here.
    const stamp = `${info.ino}:${info.size}:${info.mtimeMs}`;
    if (this.#cached?.stamp === stamp) return this.#cached.keyring;
    const keyring = parseKeyring(await readFile(this.file, 'utf8'), this.file);
    this.#cached = { keyring, stamp };
    return keyring;
  }

  async save(keyring: Keyring): Promise<void> {
    await replaceFile(this.file, serializeKeyring(keyring)).catch((error: Error) => {
      throw new ConfigError(`Cannot replace the keyring ${this.file}: ${error.message}`, { cause: error });
    });
    this.#cached = null;
  }

  /** Two processes starting at once must not each create a different KEK: only one link wins. */
  async #createFirst(): Promise<void> {
    const kek = createKek(this.#now());
    await createFileOnce(this.file, serializeKeyring({ current: kek.id, keys: [kek] })).catch(
      (error: Error) => {
        throw new ConfigError(`Cannot create the keyring ${this.file}: ${error.message}`, { cause: error });
      },
    );
  }
}

/** A fixed keyring (IMAGETRUST_KEK); it cannot be rotated in place. */
export function staticKeyring(keyring: Keyring): KeyringProvider {
  return { load: async () => keyring };
}

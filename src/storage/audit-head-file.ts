// The largest signed tree head this host has seen, in a JSON file next to the audit signing key (mode
// 0600), so that deleting the log's newest entries together with their heads, which leaves a database
// that agrees with itself, is still noticed. Replaced atomically (temporary file, then rename).
import { readFile } from 'node:fs/promises';
import type { SignedTreeHead, TreeHeadPin } from '../audit/index.ts';
import { ConfigError } from '../errors/index.ts';
import { replaceFile } from './private-file.ts';

export class FileTreeHeadPin implements TreeHeadPin {
  readonly file: string;
  /** Raises in this process run one at a time, so none of them can lower the file. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The largest head asked for in this process, and the largest size known to be in the file. */
  #wanted: SignedTreeHead | null = null;
  #written = 0;

  constructor(file: string) {
    this.file = file;
  }

  async read(): Promise<SignedTreeHead | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ConfigError(`Cannot read the audit head file ${this.file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let head: Partial<SignedTreeHead> | null = null;
    try {
      head = JSON.parse(text);
    } catch {
      // Reported below with the shape check.
    }
    if (
      !head ||
      !Number.isSafeInteger(head.tree_size) ||
      typeof head.root_hash !== 'string' ||
      typeof head.signature !== 'string'
    ) {
      throw new ConfigError(
        `The audit head file ${this.file} holds no signed tree head; restore it from a backup, or move it ` +
          'away once `imagetrust audit verify` passes.',
      );
    }
    return head as SignedTreeHead;
  }

  raise(head: SignedTreeHead): Promise<void> {
    if (!this.#wanted || head.tree_size > this.#wanted.tree_size) this.#wanted = head;
    const next = this.#queue.then(() => this.#raise(head.tree_size));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #raise(size: number): Promise<void> {
    // Heads asked for while a write ran are written together by the next one: under load the file is
    // replaced once per write, not once per head.
    if (this.#written >= size || !this.#wanted) return;
    const head = this.#wanted;
    // Another process on this host may have raised it further: never write a smaller head over it. Two
    // processes racing here can still leave the smaller of two recent heads for a moment; the next
    // signed head raises it again, and the file never holds a head the log did not reach.
    const kept = await this.read();
    if (kept && kept.tree_size >= head.tree_size) {
      this.#written = kept.tree_size;
      return;
    }
    // Synced: a crash must leave the old head or the new one, never an empty file that stops the start.
    await replaceFile(this.file, `${JSON.stringify(head)}\n`).catch((error: Error) => {
      throw new ConfigError(`Cannot write the audit head file ${this.file}: ${error.message}`, {
        cause: error,
      });
    });
    this.#written = head.tree_size;
  }
}

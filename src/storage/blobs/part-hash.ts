// The Content-MD5 of S3 parts, hashed on a worker thread from the bytes the upload hands to the store,
// so the thread that receives uploads does not also spend ~1.5 CPU-seconds per GiB on a third hash (the
// upload's md5 and sha512 are on the digest workers already). The bytes hashed are the caller's, not a
// read-back of the staging file: a part that changed on its way through the disk is refused by the store
// (BadDigest), as it would be with the hash taken inline.
//
// Chunks in shared memory (the digest ring's slots, the upload path) are read in place, and `update`
// settles once the worker is done with them, so the caller may reuse them. Parts that arrive in ordinary
// buffers are hashed inline (see PartHash). One worker per process, started at the first part it hashes
// and kept; it does not keep the process alive, and one that dies fails what it held and is replaced at
// the next part.
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Content-MD5 of no bytes. */
const EMPTY_MD5 = createHash('md5').digest('base64');

type Reply = { seq: number; md5?: string; error?: string };

interface Pending {
  resolve(md5: string | undefined): void;
  reject(error: Error): void;
}

export class PartHasher {
  #worker: Worker | null = null;
  #nextPart = 0;
  #nextSeq = 0;
  readonly #pending = new Map<number, Pending>();

  /** A new part's hash; feed it in order with `update`, then take `digest` once (or `drop` it). */
  begin(): PartHash {
    return new PartHash(this, this.#nextPart++);
  }

  /** Stops the worker; whatever is pending fails now, even an answer already on its way. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    this.#failAll(new Error('The part hasher was closed.'));
    if (worker) await worker.terminate();
  }

  /** Posts a message and resolves with the worker's answer to it. */
  request(message: Record<string, unknown>): Promise<string | undefined> {
    const worker = this.#start();
    const seq = this.#nextSeq++;
    return new Promise<string | undefined>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      worker.postMessage({ ...message, seq });
    });
  }

  post(message: Record<string, unknown>): void {
    this.#worker?.postMessage(message);
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./part-hash-worker.js', import.meta.url), {
      // It only hashes views of shared memory: a small heap, as the digest workers have, keeps RSS down.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      if (this.#worker !== worker) return;
      const pending = this.#pending.get(reply.seq);
      if (!pending) return;
      this.#pending.delete(reply.seq);
      if (reply.error !== undefined) pending.reject(new Error(`Hashing a part failed: ${reply.error}`));
      else pending.resolve(reply.md5);
    });
    const lost = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#failAll(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`The part hash worker stopped (exit code ${code}).`)));
    this.#worker = worker;
    return worker;
  }

  #failAll(error: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }
}

/**
 * One part's MD5. A part whose first bytes come in shared memory (an upload hashed by the digest workers)
 * is hashed on the hasher's worker, in place; any other part is hashed on the calling thread, as its
 * upload's own md5 and sha512 are then (the digest workers are busy with other uploads, or there is one
 * core), so another thread would add memory and no speed.
 */
export class PartHash {
  readonly #hasher: PartHasher;
  readonly #part: number;
  #inline: Hash | null = null;
  #onWorker = false;

  constructor(hasher: PartHasher, part: number) {
    this.#hasher = hasher;
    this.#part = part;
  }

  /** Adds `chunk`; settles once the worker, if it hashes this part, no longer reads it. */
  async update(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    if (!this.#onWorker && !this.#inline) {
      if (chunk.buffer instanceof SharedArrayBuffer) this.#onWorker = true;
      else this.#inline = createHash('md5');
    }
    if (this.#inline) {
      this.#inline.update(chunk);
      return;
    }
    // In shared memory, read in place; otherwise (a mixed source, not the upload path) one copy into it.
    let view = chunk;
    if (!(chunk.buffer instanceof SharedArrayBuffer)) {
      view = new Uint8Array(new SharedArrayBuffer(chunk.length));
      view.set(chunk);
    }
    await this.#hasher.request({
      op: 'update',
      part: this.#part,
      buffer: view.buffer,
      offset: view.byteOffset,
      length: view.length,
    });
  }

  /** The base64 MD5 of everything added. */
  async digest(): Promise<string> {
    if (this.#inline) return this.#inline.digest('base64');
    if (!this.#onWorker) return EMPTY_MD5;
    return (await this.#hasher.request({ op: 'digest', part: this.#part })) as string;
  }

  /** Forgets the part (a failed or discarded upload). */
  drop(): void {
    if (this.#onWorker) this.#hasher.post({ op: 'drop', part: this.#part });
  }
}

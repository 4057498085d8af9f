// The Content-MD5 of S3 parts, hashed on a worker thread from the bytes the upload hands to the store,
// so the thread that receives uploads does not also spend ~1.5 CPU-seconds per GiB on a third hash (the
// upload's md5 and sha512 are on the digest workers already). The bytes hashed are the caller's, not a
// read-back of the staging file: a part that changed on its way through the disk is refused by the store
// (BadDigest), as it would be with the hash taken inline.
//
// Chunks in shared memory (the digest ring's slots, the upload path) are read in place; others are
// gathered into a 512 KiB shared block per part and handed over when it is full. `update` settles once the
// worker no longer needs the caller's bytes, so the caller may reuse them. One worker per process, started at the first chunk and kept; it does not keep the process
// alive, and one that dies fails what it held and is replaced at the next part.
import { Worker } from 'node:worker_threads';

/** Bytes of the shared block other chunks are gathered in before the worker hashes them. */
const GATHER_BYTES = 512 * 1024;
const MAX_FREE_GATHERS = 16;

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
  /** Gather blocks no part holds now, reused so a part does not leave 512 KiB to the collector. */
  readonly #freeGathers: Uint8Array[] = [];

  /** A new part's hash; feed it in order with `update`, then take `digest` once (or `drop` it). */
  begin(): PartHash {
    return new PartHash(this, this.#nextPart++);
  }

  takeGather(): Uint8Array {
    return this.#freeGathers.pop() ?? new Uint8Array(new SharedArrayBuffer(GATHER_BYTES));
  }

  returnGather(gather: Uint8Array): void {
    if (this.#freeGathers.length < MAX_FREE_GATHERS) this.#freeGathers.push(gather);
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
    const worker = new Worker(new URL('./part-hash-worker.js', import.meta.url));
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

/** One part's MD5 on the hasher's worker. */
export class PartHash {
  readonly #hasher: PartHasher;
  readonly #part: number;
  /** Chunks not in shared memory are copied here and handed over a block at a time. */
  #gather: Uint8Array | null = null;
  #gathered = 0;
  #flushing = false;

  constructor(hasher: PartHasher, part: number) {
    this.#hasher = hasher;
    this.#part = part;
  }

  /** Adds `chunk`; settles once the worker no longer reads it (it may be copied and hashed later). */
  async update(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    if (chunk.buffer instanceof SharedArrayBuffer) {
      await this.#flush();
      await this.#send(chunk.buffer, chunk.byteOffset, chunk.length);
      return;
    }
    this.#gather ??= this.#hasher.takeGather();
    for (let offset = 0; offset < chunk.length; ) {
      const take = Math.min(GATHER_BYTES - this.#gathered, chunk.length - offset);
      this.#gather.set(chunk.subarray(offset, offset + take), this.#gathered);
      this.#gathered += take;
      offset += take;
      if (this.#gathered === GATHER_BYTES) await this.#flush();
    }
  }

  /** The base64 MD5 of everything added. */
  async digest(): Promise<string> {
    await this.#flush();
    this.#release();
    return (await this.#hasher.request({ op: 'digest', part: this.#part })) as string;
  }

  /** Forgets the part (a failed or discarded upload). */
  drop(): void {
    this.#release();
    this.#hasher.post({ op: 'drop', part: this.#part });
  }

  async #flush(): Promise<void> {
    if (this.#gathered === 0 || !this.#gather) return;
    const length = this.#gathered;
    this.#gathered = 0;
    this.#flushing = true;
    try {
      await this.#send(this.#gather.buffer as SharedArrayBuffer, 0, length);
    } finally {
      this.#flushing = false;
    }
  }

  /** Gives the gather block back, unless the worker may still be reading it (then it is left to the GC). */
  #release(): void {
    const gather = this.#gather;
    this.#gather = null;
    this.#gathered = 0;
    if (gather && !this.#flushing) this.#hasher.returnGather(gather);
  }

  async #send(buffer: SharedArrayBuffer, offset: number, length: number): Promise<void> {
    await this.#hasher.request({ op: 'update', part: this.#part, buffer, offset, length });
  }
}

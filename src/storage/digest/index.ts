// Passes one stream, once, to a sink (the blob writer) and to several hashes and a signature verifier,
// on every core. The workers only compute: trust/ checks the signature spec and turns it into the one
// node:crypto call to run, and the raw answer of that call is the verdict. The calling thread only copies incoming chunks into a ring of shared 2 MiB slots;
// pooled workers hash each published slot in place and the sink writes it, and a slot is reused only
// when all of them are done with it. Memory is the ring, whatever the stream's size, and no buffer is
// allocated per chunk.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Digester, DigestOptions, DigestResult, Digests } from '../../catalog/index.ts';
import { ImageTrustError } from '../../errors/index.ts';
import { startSignatureCheck, toSignatureCheck } from '../../trust/index.ts';
import { CONTROL, CONTROL_LENGTH, type Consumer, type StartMessage } from './layout.ts';

// Every slot handed over wakes a worker and queues a file write; on a VM a wake-up can cost a fraction
// of a millisecond of this thread's time, so slots are few and large: 1 MiB x 4, a 4 MiB ring. Not
// larger: a 1 GiB upload took 2.39-2.51 s (signed 2.87-2.89 s, server sys 0.45-0.51 s) with 1 MiB
// slots against 2.71-2.74 s (signed 3.28-3.66 s, sys 0.91-0.96 s) with 2 MiB, in alternating runs of
// `npm run bench:images`: a slot the workers hash and the sink writes while it is still in the CPU's
// cache costs less. 512 KiB slots gave 2.56-2.76 s.
const SLOT_SIZE = 1 << 20;
const SLOTS = 4;

/** Relative CPU cost per byte, to spread consumers evenly over the workers (measured with openssl speed). */
const COST: Record<string, number> = {
  md5: 1.3,
  sha1: 0.8,
  sha224: 0.8,
  sha256: 0.8,
  sha384: 1.0,
  sha512: 1.0,
};
const costOf = (consumer: Consumer) =>
  COST[consumer.kind === 'hash' ? consumer.algorithm : consumer.check.algorithm] ?? 1;

type WorkerReply =
  | {
      type: 'done';
      results: ({ kind: 'digest'; name: string; hex: string } | { kind: 'verify'; valid: boolean })[];
    }
  | { type: 'aborted' };

class DigestWorker {
  readonly worker: Worker;
  #waiting: ((reply: WorkerReply) => void) | null = null;
  #failed: ((error: Error) => void) | null = null;

  constructor() {
    this.worker = new Worker(new URL('./digest-worker.js', import.meta.url), {
      // The worker only hashes views of shared memory; a small heap keeps the process's RSS down.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    this.worker.on('message', (reply: WorkerReply) => {
      const resolve = this.#waiting;
      this.#waiting = null;
      this.#failed = null;
      resolve?.(reply);
    });
    this.worker.on('error', (error) => {
      this.broken = true;
      this.#failed?.(error);
    });
    this.worker.unref();
  }

  broken = false;

  run(message: StartMessage): Promise<WorkerReply> {
    // Keep the process alive while a job runs (a CLI has nothing else holding its event loop open);
    // idle pooled workers are unref'd so they never keep a finished process running.
    this.worker.ref();
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#waiting = resolve;
      this.#failed = reject;
      this.worker.postMessage(message);
    }).finally(() => this.worker.unref());
  }
}

const idle: DigestWorker[] = [];
const workerCount = () => Math.max(1, Math.min(availableParallelism(), 4));
/** Workers running a job now. Never more than workerCount(): each is a V8 isolate (~10-20 MB). */
let busy = 0;

function takeWorker(): DigestWorker {
  busy++;
  return idle.pop() ?? new DigestWorker();
}

function returnWorker(worker: DigestWorker): void {
  busy--;
  if (worker.broken || idle.length >= workerCount()) void worker.worker.terminate();
  else idle.push(worker);
}

/**
 * Rings no digester holds, kept for the next one. An upload used to leave its ring (then 8 MiB) to the garbage
 * collector, which frees shared memory only at a full collection: the resident size rose by 8 MiB an
 * upload until then (135 to 170 MB over three 1 GiB uploads). Rings are in use by at most
 * workerCount() digesters at once (more hash inline), so that many are kept.
 */
const freeRings: SharedArrayBuffer[] = [];
let ringsAllocated = 0;

function takeRing(): SharedArrayBuffer {
  const ring = freeRings.pop();
  if (ring) return ring;
  ringsAllocated++;
  return new SharedArrayBuffer(SLOTS * SLOT_SIZE);
}

/** Only once every worker and sink write of its job has settled: nothing reads a returned ring. */
function returnRing(ring: SharedArrayBuffer): void {
  if (freeRings.length < workerCount()) freeRings.push(ring);
}

/** How many rings this process has allocated (tests: a ring is reused, not allocated per upload). */
export function digestRingsAllocated(): number {
  return ringsAllocated;
}

/** Starts the pool ahead of the first upload, so its start-up cost is not paid by a client. */
export function warmDigestWorkers(): void {
  while (idle.length < workerCount()) idle.push(new DigestWorker());
}

/** Stops pooled workers (for orderly shutdown and tests). */
export async function closeDigestWorkers(): Promise<void> {
  await Promise.all(idle.splice(0).map((w) => w.worker.terminate()));
}

/** Spreads consumers over at most `lanes` groups, heaviest first onto the lightest group. */
function assign(consumers: Consumer[], lanes: number): Consumer[][] {
  const groups = Array.from({ length: Math.min(lanes, consumers.length) }, () => ({
    load: 0,
    items: [] as Consumer[],
  }));
  for (const consumer of [...consumers].sort((a, b) => costOf(b) - costOf(a))) {
    const lightest = groups.reduce((a, b) => (b.load < a.load ? b : a));
    lightest.items.push(consumer);
    lightest.load += costOf(consumer);
  }
  return groups.map((g) => g.items);
}

export interface CreateDigesterOptions extends DigestOptions {
  /** false runs every consumer on the calling thread (one core, or tests). Default: workers when there are 2+ cores. */
  parallel?: boolean;
}

/** Creates a one-pass digester over `algorithms` (node:crypto names), with an optional sink and signature check. */
export function createDigester(algorithms: readonly string[], options: CreateDigesterOptions = {}): Digester {
  const consumers: Consumer[] = [...new Set(algorithms)].map((algorithm) => {
    createHash(algorithm); // fails fast on an unknown algorithm
    return { kind: 'hash', algorithm };
  });
  // Checked here, before any thread sees it; a malformed spec throws at once, like an unknown hash.
  const check = options.verify ? toSignatureCheck(options.verify) : undefined;
  if (check) consumers.push({ kind: 'verify', check });
  // Past the cores, more threads add memory and no speed: concurrent streams beyond what the workers
  // can take are hashed on the calling thread, so memory stays flat however many uploads run at once.
  const lanes = Math.min(workerCount(), consumers.length);
  const parallel =
    (options.parallel ?? availableParallelism() > 1) && consumers.length > 0 && busy + lanes <= workerCount();
  const digester = parallel
    ? new ParallelDigester(consumers, options.sink)
    : new InlineDigester(consumers, options.sink);
  return check === null ? withoutMatch(digester) : digester;
}

/** A spec trust/ says no signature can match: the bytes are still hashed and sunk, and the answer is no. */
function withoutMatch(digester: Digester): Digester {
  return {
    update: (chunk) => digester.update(chunk),
    finish: async () => ({ ...(await digester.finish()), signatureValid: false }),
    abort: () => digester.abort(),
  };
}

type ConsumerResult = Extract<WorkerReply, { type: 'done' }>['results'][number];

function collect(results: ConsumerResult[]): DigestResult {
  const digests: Digests = {};
  let signatureValid: boolean | undefined;
  for (const result of results) {
    if (result.kind === 'digest') digests[result.name] = result.hex;
    else signatureValid = result.valid;
  }
  return signatureValid === undefined ? { digests } : { digests, signatureValid };
}

/** Everything on the calling thread; the sink gets the chunks as they come. */
class InlineDigester implements Digester {
  readonly #consumers: { update(v: Uint8Array): void; result(): ConsumerResult }[];
  readonly #sink?: (block: Uint8Array) => Promise<void>;

  constructor(consumers: Consumer[], sink?: (block: Uint8Array) => Promise<void>) {
    this.#consumers = consumers.map(inlineConsumer);
    this.#sink = sink;
  }

  async update(chunk: Uint8Array): Promise<void> {
    for (const consumer of this.#consumers) consumer.update(chunk);
    if (this.#sink) await this.#sink(chunk);
  }

  async finish(): Promise<DigestResult> {
    return collect(this.#consumers.map((c) => c.result()));
  }

  async abort(): Promise<void> {}
}

function inlineConsumer(consumer: Consumer): { update(v: Uint8Array): void; result(): ConsumerResult } {
  if (consumer.kind === 'hash') {
    const hash = createHash(consumer.algorithm);
    return {
      update: (view) => hash.update(view),
      result: () => ({ kind: 'digest', name: consumer.algorithm, hex: hash.digest('hex') }),
    };
  }
  const verifier = startSignatureCheck(consumer.check);
  return {
    update: (view) => verifier.update(view),
    result: () => ({ kind: 'verify', valid: verifier.verify() }),
  };
}

class ParallelDigester implements Digester {
  readonly #control = new Int32Array(new SharedArrayBuffer(CONTROL_LENGTH * 4));
  readonly #lengths = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  readonly #pending = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  readonly #data = takeRing();
  readonly #bytes = new Uint8Array(this.#data);
  readonly #workers: DigestWorker[];
  readonly #replies: Promise<WorkerReply>[];
  readonly #sink?: (block: Uint8Array) => Promise<void>;
  readonly #sinkWrites = new Set<Promise<void>>();
  #sinkTail: Promise<void> = Promise.resolve();
  #sinkError: unknown = null;
  #workerError: unknown = null;
  #slot = 0;
  #fill = 0;
  #published = 0;
  #closed = false;

  constructor(consumers: Consumer[], sink?: (block: Uint8Array) => Promise<void>) {
    this.#sink = sink;
    const groups = assign(consumers, workerCount());
    this.#workers = groups.map(() => takeWorker());
    const base = {
      indexes: CONTROL,
      control: this.#control.buffer as SharedArrayBuffer,
      lengths: this.#lengths.buffer as SharedArrayBuffer,
      pending: this.#pending.buffer as SharedArrayBuffer,
      data: this.#data,
      slots: SLOTS,
      slotSize: SLOT_SIZE,
    };
    this.#replies = this.#workers.map((worker, i) => worker.run({ ...base, consumers: groups[i] }));
    // A dead worker would never free its slots: record the failure and wake anyone waiting for one.
    for (const reply of this.#replies) {
      reply.catch((error) => {
        this.#workerError ??= error;
        for (let slot = 0; slot < SLOTS; slot++) Atomics.notify(this.#pending, slot);
      });
    }
  }

  async update(chunk: Uint8Array): Promise<void> {
    if (this.#closed) throw new ImageTrustError('INTERNAL', 'Digester used after finish or abort.');
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#fill === 0) await this.#slotFree(this.#slot);
      const take = Math.min(chunk.length - offset, SLOT_SIZE - this.#fill);
      this.#bytes.set(chunk.subarray(offset, offset + take), this.#slot * SLOT_SIZE + this.#fill);
      this.#fill += take;
      offset += take;
      if (this.#fill === SLOT_SIZE) this.#publish();
    }
    if (this.#sinkError) throw this.#sinkError;
  }

  async finish(): Promise<DigestResult> {
    if (this.#closed) throw new ImageTrustError('INTERNAL', 'Digester finished twice.');
    if (this.#fill > 0) this.#publish();
    this.#closed = true;
    this.#signal(1);
    let replies: WorkerReply[];
    try {
      replies = await Promise.all(this.#replies);
    } finally {
      this.#workers.forEach(returnWorker);
    }
    await Promise.all(this.#sinkWrites);
    // Every worker answered and every sink write settled: nothing reads the ring any more. (A failed
    // worker leaves it to the garbage collector: the others may still be reading.)
    returnRing(this.#data);
    if (this.#sinkError) throw this.#sinkError;
    return collect(replies.flatMap((reply) => (reply.type === 'done' ? reply.results : [])));
  }

  async abort(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal(2);
    await Promise.allSettled(this.#replies);
    this.#workers.forEach(returnWorker);
    await Promise.allSettled(this.#sinkWrites);
    returnRing(this.#data);
  }

  #signal(state: number): void {
    Atomics.store(this.#control, CONTROL.state, state);
    Atomics.add(this.#control, CONTROL.signal, 1);
    Atomics.notify(this.#control, CONTROL.signal);
  }

  #publish(): void {
    const slot = this.#slot;
    const length = this.#fill;
    this.#lengths[slot] = length;
    Atomics.store(this.#pending, slot, this.#workers.length + (this.#sink ? 1 : 0));
    Atomics.add(this.#control, CONTROL.published, 1);
    Atomics.add(this.#control, CONTROL.signal, 1);
    Atomics.notify(this.#control, CONTROL.signal);
    this.#published++;
    if (this.#sink) {
      // Blocks go to the sink one after another: it writes in order (a file at its current position),
      // while this thread goes on filling the next slots.
      const sink = this.#sink;
      const view = new Uint8Array(this.#data, slot * SLOT_SIZE, length);
      const write = this.#sinkTail
        .then(() => (this.#sinkError ? undefined : sink(view)))
        .catch((error) => {
          this.#sinkError ??= error;
        })
        .finally(() => {
          Atomics.sub(this.#pending, slot, 1);
          Atomics.notify(this.#pending, slot);
          this.#sinkWrites.delete(write);
        });
      this.#sinkWrites.add(write);
      this.#sinkTail = write;
    }
    this.#slot = (slot + 1) % SLOTS;
    this.#fill = 0;
  }

  /** Waits until every worker and the sink are done with a slot, so it can be overwritten. */
  async #slotFree(slot: number): Promise<void> {
    for (;;) {
      const value = Atomics.load(this.#pending, slot);
      if (value === 0) return;
      if (this.#sinkError) throw this.#sinkError;
      if (this.#workerError) throw this.#workerError;
      const wait = Atomics.waitAsync(this.#pending, slot, value, 1000);
      if (wait.async) await wait.value;
    }
  }
}

// Computes several digests of one stream in one pass, on both cores: the first algorithm runs on the
// calling thread, the others in a pooled worker fed with batches of the same chunks. The number of
// bytes in flight to the worker is bounded, so memory stays flat whatever the stream's size.
import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Digester, Digests } from '../../catalog/index.ts';

const BATCH_BYTES = 1 << 20;
const MAX_IN_FLIGHT_BYTES = 8 << 20;

class DigestWorker {
  readonly worker: Worker;
  onMessage: ((message: { type: string; length?: number; digests?: Digests }) => void) | null = null;
  onError: ((error: Error) => void) | null = null;

  constructor() {
    this.worker = new Worker(new URL('./digest-worker.ts', import.meta.url));
    this.worker.on('message', (message) => this.onMessage?.(message));
    this.worker.on('error', (error) => this.onError?.(error));
    this.worker.unref();
  }
}

const idleWorkers: DigestWorker[] = [];

function takeWorker(): DigestWorker {
  return idleWorkers.pop() ?? new DigestWorker();
}

/** Pools an idle worker; one still hashing abandoned batches is stopped instead, so its late acks cannot reach the next user. */
function returnWorker(worker: DigestWorker, busy: boolean): void {
  worker.onMessage = null;
  worker.onError = null;
  if (busy || idleWorkers.length >= availableParallelism()) {
    void worker.worker.terminate();
    return;
  }
  worker.worker.postMessage({ type: 'reset' });
  idleWorkers.push(worker);
}

/** Stops pooled workers (for orderly shutdown and tests). */
export async function closeDigestWorkers(): Promise<void> {
  await Promise.all(idleWorkers.splice(0).map((w) => w.worker.terminate()));
}

/** Creates a one-pass digester; with one algorithm (or `parallel: false`) no worker is used. */
export function createDigester(
  algorithms: readonly string[],
  options: { parallel?: boolean } = {},
): Digester {
  const unique = [...new Set(algorithms)];
  for (const name of unique) createHash(name); // fails fast on an unknown algorithm
  const parallel = options.parallel ?? availableParallelism() > 1;
  const local = parallel ? unique.slice(0, 1) : unique;
  const remote = parallel ? unique.slice(1) : [];
  const localHashes: Hash[] = local.map((name) => createHash(name));
  if (remote.length === 0) {
    return {
      async update(chunk) {
        for (const hash of localHashes) hash.update(chunk);
      },
      async finish() {
        return Object.fromEntries(local.map((name, i) => [name, localHashes[i].digest('hex')]));
      },
      abort() {},
    };
  }

  const worker = takeWorker();
  let inFlight = 0;
  let failure: Error | null = null;
  let waiter: (() => void) | null = null;
  let finisher: ((digests: Digests) => void) | null = null;
  let released = false;
  let batch = new Uint8Array(BATCH_BYTES);
  let batchLength = 0;

  worker.onMessage = (message) => {
    if (message.type === 'ack') {
      inFlight -= message.length ?? 0;
      if (waiter && inFlight <= MAX_IN_FLIGHT_BYTES) {
        const wake = waiter;
        waiter = null;
        wake();
      }
    } else if (message.type === 'digests') {
      finisher?.(message.digests ?? {});
    }
  };
  worker.onError = (error) => {
    failure = error;
    waiter?.();
  };
  worker.worker.postMessage({ type: 'start', algorithms: remote });

  const flush = () => {
    if (batchLength === 0) return;
    const buffer = batch.buffer;
    worker.worker.postMessage({ type: 'data', buffer, length: batchLength }, [buffer as ArrayBuffer]);
    inFlight += batchLength;
    batch = new Uint8Array(BATCH_BYTES);
    batchLength = 0;
  };
  const release = () => {
    if (released) return;
    released = true;
    returnWorker(worker, inFlight > 0 || failure !== null);
  };

  return {
    async update(chunk) {
      if (failure) throw failure;
      for (const hash of localHashes) hash.update(chunk);
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(chunk.length - offset, BATCH_BYTES - batchLength);
        batch.set(chunk.subarray(offset, offset + take), batchLength);
        batchLength += take;
        offset += take;
        if (batchLength === BATCH_BYTES) flush();
      }
      if (inFlight > MAX_IN_FLIGHT_BYTES) {
        await new Promise<void>((resolve) => {
          waiter = resolve;
        });
        if (failure) throw failure;
      }
    },
    async finish() {
      if (failure) throw failure;
      flush();
      const remoteDigests = await new Promise<Digests>((resolve, reject) => {
        finisher = resolve;
        worker.onError = reject;
        worker.worker.postMessage({ type: 'end' });
      });
      release();
      const digests: Digests = {};
      local.forEach((name, i) => {
        digests[name] = localHashes[i].digest('hex');
      });
      return { ...digests, ...remoteDigests };
    },
    abort() {
      release();
    },
  };
}

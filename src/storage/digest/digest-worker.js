// Worker side of the parallel digester: waits on shared memory for published slots, feeds each to its
// hashes (and the signature check trust/ prepared, if it was given one), and marks the slot done. It
// blocks only inside one job; between jobs it is back in its message loop, ready for the next. It
// decides nothing: the raw answer of node:crypto's verify goes back as the verdict.
//
// Plain JavaScript on purpose: every worker isolate that loads a .ts file also loads Node's type
// stripper (~13 MB each), and this file is small enough to check by eye. Its message shapes are
// `StartMessage` and `Consumer` in layout.ts; the control indexes arrive in the message.
import { createHash, createVerify } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/** @param {{kind: 'hash', algorithm: string} | {kind: 'verify', check: {algorithm: string, options: object, signature: string}}} consumer */
function start(consumer) {
  if (consumer.kind === 'hash') {
    const hash = createHash(consumer.algorithm);
    return {
      /** @param {Uint8Array} view */
      update: (view) => hash.update(view),
      result: () => ({ kind: 'digest', name: consumer.algorithm, hex: hash.digest('hex') }),
    };
  }
  if (consumer.kind === 'verify') {
    // trust/'s toSignatureCheck already checked the spec and wrote this call; the raw answer goes back.
    const { check } = consumer;
    const verifier = createVerify(check.algorithm);
    return {
      /** @param {Uint8Array} view */
      update: (view) => verifier.update(view),
      result: () => {
        let valid = false;
        try {
          valid = verifier.verify(check.options, Buffer.from(check.signature, 'base64'));
        } catch {
          // OpenSSL throws on some malformed signatures (bad DER, wrong length) rather than saying no.
        }
        return { kind: 'verify', valid };
      },
    };
  }
  throw new Error(`unknown consumer ${JSON.stringify(consumer)}`);
}

parentPort?.on('message', (message) => {
  const { published: PUBLISHED, state: STATE, signal: SIGNAL } = message.indexes;
  const control = new Int32Array(message.control);
  const lengths = new Int32Array(message.lengths);
  const pending = new Int32Array(message.pending);
  const running = message.consumers.map(start);
  let processed = 0;
  for (;;) {
    // Read the signal first: anything the main thread changes after this bumps it, so no wake-up is lost.
    const seen = Atomics.load(control, SIGNAL);
    const published = Atomics.load(control, PUBLISHED);
    const state = Atomics.load(control, STATE);
    if (state === 2) {
      parentPort?.postMessage({ type: 'aborted' });
      return;
    }
    if (processed < published) {
      const slot = processed % message.slots;
      const view = new Uint8Array(message.data, slot * message.slotSize, lengths[slot]);
      for (const consumer of running) consumer.update(view);
      Atomics.sub(pending, slot, 1);
      Atomics.notify(pending, slot);
      processed++;
      continue;
    }
    // Ended: done once every slot published before the end has been processed (re-read, it may have grown).
    if (state === 1 && processed >= Atomics.load(control, PUBLISHED)) {
      parentPort?.postMessage({ type: 'done', results: running.map((c) => c.result()) });
      return;
    }
    Atomics.wait(control, SIGNAL, seen);
  }
});

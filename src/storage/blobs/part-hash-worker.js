// Worker side of the part hasher (part-hash.ts): keeps one MD5 per part being staged, fed with the very
// bytes the upload handed to the store (shared memory, read in place), and answers
// with the base64 digest a part's Content-MD5 header carries. Messages are handled in the order sent.
//
// Plain JavaScript on purpose, as digest-worker.js: a worker that loads a .ts file also loads Node's type
// stripper. Messages in: { op: 'update', part, seq, buffer, offset, length }, { op: 'digest', part, seq },
// { op: 'drop', part }. Out: { seq } for an update, { seq, md5 } for a digest, { seq, error } on failure.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/** @type {Map<number, import('node:crypto').Hash>} */
const parts = new Map();

parentPort?.on('message', (message) => {
  const { op, part, seq } = message;
  try {
    if (op === 'update') {
      let hash = parts.get(part);
      if (!hash) {
        hash = createHash('md5');
        parts.set(part, hash);
      }
      hash.update(new Uint8Array(message.buffer, message.offset, message.length));
      parentPort?.postMessage({ seq });
    } else if (op === 'digest') {
      const hash = parts.get(part) ?? createHash('md5');
      parts.delete(part);
      parentPort?.postMessage({ seq, md5: hash.digest('base64') });
    } else if (op === 'drop') {
      parts.delete(part);
    }
  } catch (error) {
    parts.delete(part);
    if (seq !== undefined) {
      parentPort?.postMessage({ seq, error: error instanceof Error ? error.message : String(error) });
    }
  }
});

// Worker side of the parallel digester: hashes the batches it is sent and acknowledges each one,
// so the sender can bound how much data is in flight.
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

type Message =
  | { type: 'start'; algorithms: string[] }
  | { type: 'data'; buffer: ArrayBuffer; length: number }
  | { type: 'end' }
  | { type: 'reset' };

let hashes: Hash[] = [];
let names: string[] = [];

parentPort!.on('message', (message: Message) => {
  switch (message.type) {
    case 'start':
      names = message.algorithms;
      hashes = names.map((name) => createHash(name));
      break;
    case 'data': {
      const view = new Uint8Array(message.buffer, 0, message.length);
      for (const hash of hashes) hash.update(view);
      parentPort!.postMessage({ type: 'ack', length: message.length });
      break;
    }
    case 'end': {
      const digests: Record<string, string> = {};
      names.forEach((name, i) => {
        digests[name] = hashes[i].digest('hex');
      });
      hashes = [];
      parentPort!.postMessage({ type: 'digests', digests });
      break;
    }
    case 'reset':
      hashes = [];
      break;
    default: {
      const unexpected: never = message;
      throw new Error(`unknown digest message ${JSON.stringify(unexpected)}`);
    }
  }
});

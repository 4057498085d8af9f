// Sends blob data as a response body with the store's buffers reused: a block is handed to the socket
// while the one before it may still be draining, and the next asked for once that earlier one has gone,
// so the socket never runs dry between blocks (one write at a time left the kernel's buffer empty at
// every block boundary: half the throughput on loopback), a download holds three blocks whatever its
// size, and nothing is allocated per block. Fastify's stream path cannot promise that (it reads
// ahead into fresh buffers), so the reply is taken over once the headers are final; its logging still
// runs when the response finishes.
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { BlobData } from '../catalog/index.ts';

/** Writes the reply's status and headers, then `data`; a client that goes away stops the reading. */
export async function sendBlocks(reply: FastifyReply, data: BlobData): Promise<void> {
  const response = reply.raw;
  reply.hijack();
  response.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string | number | string[]>);
  let gone: Error | null = null;
  const onClose = () => {
    gone ??= new Error('the client closed the connection during the download');
  };
  response.once('close', onClose);
  // The write still draining; at most two are outstanding, as the store's contract allows.
  let draining: Promise<void> | null = null;
  try {
    for await (const block of data) {
      if (gone) break;
      const sent = write(response, block);
      // Awaited below or at the next block; until then a failure must not count as unhandled.
      sent.catch(() => undefined);
      if (draining) await draining;
      draining = sent;
    }
    if (draining) await draining;
    if (!gone) response.end();
  } catch (error) {
    // Headers are out: the only way left to say "this body is wrong" is to cut it short.
    reply.log.warn({ err: error }, 'download stopped before its end');
    response.destroy(error as Error);
  } finally {
    response.off('close', onClose);
    await data.close();
  }
}

/** Resolves once the socket has taken the block (its buffer may then be reused), or the response closed. */
function write(response: ServerResponse, block: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = () => resolve();
    response.once('close', onClose);
    response.write(block, (error) => {
      response.off('close', onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}

// Sends blob data as a response body with the store's buffers reused: each block is handed to the
// socket and the next one asked for only once the socket has taken it, so a download holds two blocks
// whatever its size and allocates nothing per block. Fastify's stream path cannot promise that (it reads
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
  try {
    for await (const block of data) {
      if (gone) break;
      await write(response, block);
    }
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

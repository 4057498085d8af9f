// Frees every chunk of an upload's body as soon as the upload is done with it (see storage's
// releaseBuffer). The catalog reads a chunk once and copies what it keeps (the digester's ring, the
// virtual-size inspector's header) before it asks for the next one, so the previous one is released
// there and then, and the upload's memory is the ring, whatever arrives.
import { releaseBuffer } from '../storage/release-buffer.ts';

/** Yields `body`'s chunks; each is detached (its memory freed) once the consumer asks for the next. */
export async function* releasingChunks(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    yield chunk;
    releaseBuffer(chunk);
  }
}

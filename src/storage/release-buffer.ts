// Frees a chunk's memory at once. Node's HTTP parser (server and client alike) copies every ~64 KiB of a
// body into a fresh off-heap buffer that only the garbage collector frees, and between two young-generation
// collections tens of MB of them pile up (the resident size grew by ~25 MB during a 4 GiB upload). Code
// that is certainly done with a chunk detaches it instead.

/**
 * Detaches `chunk`'s memory when the chunk is the whole of its own buffer (never a slice of Node's shared
 * small-buffer pool, whose other slices belong to others); anything else is left to the collector.
 */
export function releaseBuffer(chunk: Uint8Array): void {
  const { buffer } = chunk;
  if (!(buffer instanceof ArrayBuffer) || chunk.byteOffset !== 0 || chunk.byteLength !== buffer.byteLength)
    return;
  if (buffer.byteLength < 8192) return;
  try {
    buffer.transfer(0);
  } catch {
    // Not detachable: left to the collector.
  }
}

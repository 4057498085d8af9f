// An upload's body chunks are freed as soon as the next one is asked for, and only chunks that own
// their whole buffer: a slice of Node's shared pool, or of a buffer someone else holds, is never touched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { releasingChunks } from '../../src/server/release-chunks.ts';

async function* from(chunks: Uint8Array[]) {
  yield* chunks;
}

describe('releasingChunks', () => {
  it('detaches a chunk that owns its buffer once the next one is requested, not before', async () => {
    const own = [Buffer.alloc(65_536, 1), Buffer.alloc(65_536, 2)];
    const seen: number[] = [];
    const iterator = releasingChunks(from(own))[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.value?.byteLength, 65_536, 'whole while the consumer holds it');
    seen.push(first.value![0]);
    await iterator.next();
    assert.equal(own[0].buffer.byteLength, 0, 'freed once the next chunk was asked for');
    assert.equal(own[1].byteLength, 65_536, 'the current chunk is still whole');
    assert.deepEqual(seen, [1]);
    assert.equal((await iterator.next()).done, true);
    assert.equal(own[1].buffer.byteLength, 0);
  });

  it('leaves slices of a shared buffer and small pooled buffers alone', async () => {
    const shared = Buffer.alloc(3 * 65_536, 7);
    const slices = [shared.subarray(0, 65_536), shared.subarray(65_536)];
    const pooled = Buffer.from('small chunks come from the shared pool');
    for await (const _chunk of releasingChunks(from([...slices, pooled]))) {
      // consumed
    }
    assert.equal(shared.byteLength, 3 * 65_536);
    assert.equal(shared[70_000], 7);
    assert.equal(pooled.toString(), 'small chunks come from the shared pool');
  });
});

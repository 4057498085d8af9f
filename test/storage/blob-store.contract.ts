// The contract every BlobStore adapter passes (the filesystem store today, S3 next): temporaries stay
// invisible until an atomic, never-replacing commit; reads are whole or inclusive ranges, abortable and
// streamed; deletes and discards are idempotent; unsafe keys are refused before any storage is touched.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BlobData, BlobStore } from '../../src/catalog/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';

export interface OpenedBlobStore {
  store: BlobStore;
  /** Releases the store and removes everything it stored. */
  dispose(): Promise<void>;
}

/** Copies every block: a store may reuse a block's buffer once the one after next is asked for. */
export async function readAll(data: BlobData): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const block of data) chunks.push(Buffer.from(block));
  const all = Buffer.concat(chunks);
  assert.equal(all.length, data.length, 'the blocks add up to the announced length');
  return all;
}

async function listAll(store: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list()) keys.push(key);
  return keys.sort();
}

async function assertCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageTrustError, `expected an ImageTrustError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

async function commitBytes(store: BlobStore, key: string, data: Uint8Array): Promise<void> {
  const temp = await store.createTemporary();
  await temp.write(data);
  await temp.commit(key);
}

/** Deterministic pseudo-random 1 MiB blocks, so a large blob never has to exist in memory whole. */
function* blocks(count: number): Generator<Buffer> {
  const seed = randomBytes(1024 * 1024);
  for (let i = 0; i < count; i++) {
    const block = Buffer.from(seed);
    block.writeUInt32BE(i, 0);
    yield block;
  }
}

export function blobStoreContract(name: string, open: () => Promise<OpenedBlobStore>): void {
  describe(name, () => {
    let opened: OpenedBlobStore;
    let store: BlobStore;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.dispose();
    });

    describe('temporaries and commit', () => {
      it('keeps written data invisible until commit, then shows it whole under its key', async () => {
        const data = randomBytes(3 * 1024 * 1024 + 17);
        const temp = await store.createTemporary();
        await temp.write(data.subarray(0, 1000));
        await temp.write(new Uint8Array(0));
        await temp.write(data.subarray(1000));
        assert.deepEqual(await listAll(store), []);
        await assertCode(store.read('image-1'), 'NOT_FOUND');
        assert.equal(await store.countTemporaries(), 1);

        await temp.commit('image-1');
        assert.deepEqual(await listAll(store), ['image-1']);
        assert.deepEqual(await readAll(await store.read('image-1')), data);
        assert.equal(await store.countTemporaries(), 0);
      });

      it('commits an empty blob', async () => {
        const temp = await store.createTemporary();
        await temp.commit('empty');
        assert.equal((await readAll(await store.read('empty'))).length, 0);
      });

      it('refuses (CONFLICT) to commit over existing data and leaves that data untouched', async () => {
        await commitBytes(store, 'same-key', Buffer.from('first'));
        const second = await store.createTemporary();
        await second.write(Buffer.from('second, and longer'));
        await assertCode(second.commit('same-key'), 'CONFLICT');
        await second.discard();
        assert.equal((await readAll(await store.read('same-key'))).toString(), 'first');
        assert.deepEqual(await listAll(store), ['same-key']);
        assert.equal(await store.countTemporaries(), 0);
      });

      it('lets exactly one of two racing commits to one key win', async () => {
        const [one, two] = await Promise.all([store.createTemporary(), store.createTemporary()]);
        await one.write(Buffer.from('one'));
        await two.write(Buffer.from('two'));
        const results = await Promise.allSettled([one.commit('raced'), two.commit('raced')]);
        const won = results.findIndex((r) => r.status === 'fulfilled');
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        const lost = results[1 - won] as PromiseRejectedResult;
        assert.equal((lost.reason as ImageTrustError).code, 'CONFLICT');
        await Promise.all([one.discard(), two.discard()]);
        assert.equal((await readAll(await store.read('raced'))).toString(), won === 0 ? 'one' : 'two');
      });

      it('keeps many temporaries written in parallel apart', async () => {
        const count = 16;
        const payloads = Array.from({ length: count }, () => randomBytes(64 * 1024 + 3));
        const temps = await Promise.all(payloads.map(() => store.createTemporary()));
        assert.equal(await store.countTemporaries(), count);
        // Interleave the writes: each temporary gets its payload in 4 chunks, all in flight at once.
        const quarter = (data: Buffer, i: number) =>
          data.subarray(Math.floor((i * data.length) / 4), Math.floor(((i + 1) * data.length) / 4));
        for (let i = 0; i < 4; i++) {
          await Promise.all(temps.map((temp, t) => temp.write(quarter(payloads[t], i))));
        }
        await Promise.all(temps.map((temp, t) => temp.commit(`blob-${t}`)));
        for (let t = 0; t < count; t++) {
          assert.deepEqual(await readAll(await store.read(`blob-${t}`)), payloads[t]);
        }
        assert.equal((await listAll(store)).length, count);
        assert.equal(await store.countTemporaries(), 0);
      });

      it('refuses (INTERNAL) writes after commit or discard', async () => {
        const committed = await store.createTemporary();
        await committed.commit('done');
        await assertCode(committed.write(Buffer.from('late')), 'INTERNAL');
        const discarded = await store.createTemporary();
        await discarded.discard();
        await assertCode(discarded.write(Buffer.from('late')), 'INTERNAL');
        assert.equal((await readAll(await store.read('done'))).length, 0);
      });
    });

    describe('discard', () => {
      it('removes the data, and discarding twice is harmless', async () => {
        const temp = await store.createTemporary();
        await temp.write(randomBytes(4096));
        await temp.discard();
        assert.equal(await store.countTemporaries(), 0);
        await temp.discard();
        assert.deepEqual(await listAll(store), []);
      });

      it('is safe after a failed commit and frees the temporary', async () => {
        await commitBytes(store, 'taken', Buffer.from('kept'));
        const temp = await store.createTemporary();
        await temp.write(Buffer.from('refused'));
        await assertCode(temp.commit('taken'), 'CONFLICT');
        await temp.discard();
        await temp.discard();
        assert.equal(await store.countTemporaries(), 0);
        assert.equal((await readAll(await store.read('taken'))).toString(), 'kept');
      });

      it('leaves committed data alone when called after commit', async () => {
        const temp = await store.createTemporary();
        await temp.write(Buffer.from('kept'));
        await temp.commit('kept');
        await temp.discard();
        assert.equal((await readAll(await store.read('kept'))).toString(), 'kept');
      });
    });

    describe('read', () => {
      const data = randomBytes(2 * 1024 * 1024 + 5);
      beforeEach(() => commitBytes(store, 'ranged', data));

      it('returns everything without a range', async () => {
        assert.deepEqual(await readAll(await store.read('ranged')), data);
      });

      it('keeps a block intact while the next one is taken (a send still draining may hold it)', async () => {
        const big = Buffer.concat([...blocks(5)]);
        await commitBytes(store, 'held', big);
        let offset = 0;
        let held: { block: Uint8Array; at: number } | null = null;
        for await (const block of await store.read('held')) {
          // The previous block, not copied, still shows its own bytes now that this one has arrived.
          if (held)
            assert.ok(Buffer.from(held.block).equals(big.subarray(held.at, held.at + held.block.length)));
          assert.ok(Buffer.from(block).equals(big.subarray(offset, offset + block.length)));
          held = { block, at: offset };
          offset += block.length;
        }
        assert.equal(offset, big.length);
      });

      for (const [label, start, end] of [
        ['the first byte', 0, 0],
        ['the last byte', data.length - 1, data.length - 1],
        ['a middle byte', 100, 100],
        ['the first 100 bytes', 0, 99],
        ['a range across the 1 MiB mark', 1024 * 1024 - 1, 1024 * 1024 + 1],
        ['everything from byte 5', 5, data.length - 1],
        ['the whole blob as a range', 0, data.length - 1],
      ] as const) {
        it(`returns exactly ${label} (${start}-${end}, end inclusive)`, async () => {
          const got = await readAll(await store.read('ranged', { start, end }));
          assert.deepEqual(got, data.subarray(start, end + 1));
        });
      }

      it('delivers an empty range-free read of an empty blob as no blocks', async () => {
        await commitBytes(store, 'empty-read', new Uint8Array(0));
        const blocks = await store.read('empty-read');
        assert.equal(blocks.length, 0);
        assert.equal((await readAll(blocks)).length, 0);
      });

      it('reads once: a second loop over the same data is refused, and close is idempotent', async () => {
        const blocks = await store.read('ranged');
        assert.deepEqual(await readAll(blocks), data);
        await assert.rejects(readAll(blocks));
        await blocks.close();
        await blocks.close();
      });

      it('rejects a missing key with NOT_FOUND', async () => {
        await assertCode(store.read('nothing-here'), 'NOT_FOUND');
        await assertCode(store.read('nothing-here', { start: 0, end: 0 }), 'NOT_FOUND');
      });

      it('ends the stream with an AbortError when the signal aborts mid-read', async () => {
        const controller = new AbortController();
        const stream = await store.read('ranged', undefined, controller.signal);
        await assert.rejects(
          (async () => {
            for await (const _chunk of stream) controller.abort();
          })(),
          { name: 'AbortError' },
        );
      });

      it('does not deliver data for a signal aborted before the read', async () => {
        const controller = new AbortController();
        controller.abort();
        await assert.rejects(
          (async () => readAll(await store.read('ranged', undefined, controller.signal)))(),
          { name: 'AbortError' },
        );
      });
    });

    describe('delete', () => {
      it('removes committed data and frees the key for a new commit', async () => {
        await commitBytes(store, 'gone', Buffer.from('bye'));
        await store.delete('gone');
        await assertCode(store.read('gone'), 'NOT_FOUND');
        assert.deepEqual(await listAll(store), []);
        await commitBytes(store, 'gone', Buffer.from('again'));
        assert.equal((await readAll(await store.read('gone'))).toString(), 'again');
      });

      it('is idempotent: a missing key is deleted quietly', async () => {
        await store.delete('nothing-here');
        await commitBytes(store, 'twice', Buffer.from('x'));
        await store.delete('twice');
        await store.delete('twice');
        assert.deepEqual(await listAll(store), []);
      });
    });

    describe('unsafe keys', () => {
      const unsafe = [
        '../x',
        '../../etc/passwd',
        'a/b',
        'a/../b',
        '..',
        '.',
        '',
        'a\\b',
        '/etc/passwd',
        '/tmp/x',
        'x'.repeat(201),
        'a\0b',
        '\0',
        'a b',
        'a\nb',
      ];

      for (const key of unsafe) {
        const label = JSON.stringify(key.length > 20 ? `${key.slice(0, 8)}…` : key);
        it(`refuses (INTERNAL) to commit, read or delete ${label} and stores nothing`, async () => {
          await commitBytes(store, 'x', Buffer.from('a neighbour that must survive'));
          const temp = await store.createTemporary();
          await temp.write(Buffer.from('payload'));
          await assertCode(temp.commit(key), 'INTERNAL');
          await assertCode(store.read(key), 'INTERNAL');
          await assertCode(store.read(key, { start: 0, end: 0 }), 'INTERNAL');
          await assertCode(store.delete(key), 'INTERNAL');
          // A refused commit can still be discarded, and nothing was published anywhere.
          await temp.discard();
          assert.equal(await store.countTemporaries(), 0);
          assert.deepEqual(await listAll(store), ['x']);
          assert.equal((await readAll(await store.read('x'))).toString(), 'a neighbour that must survive');
        });
      }

      it('accepts the longest and most varied safe key', async () => {
        const keys = ['A-z_0.9', 'x'.repeat(200), '...', '.hidden', '-leading-dash'];
        for (const key of keys) await commitBytes(store, key, Buffer.from(key));
        assert.deepEqual(await listAll(store), [...keys].sort());
        for (const key of keys) assert.equal((await readAll(await store.read(key))).toString(), key);
      });
    });

    it('round-trips 64 MiB written and read as streams, bytes unchanged', async () => {
      const size = 64;
      const written = createHash('sha256');
      const temp = await store.createTemporary();
      for (const block of blocks(size)) {
        written.update(block);
        await temp.write(block);
      }
      await temp.commit('large');

      const read = createHash('sha256');
      let length = 0;
      let largestChunk = 0;
      for await (const chunk of await store.read('large')) {
        read.update(chunk as Buffer);
        length += (chunk as Buffer).length;
        largestChunk = Math.max(largestChunk, (chunk as Buffer).length);
      }
      assert.equal(length, size * 1024 * 1024);
      assert.equal(read.digest('hex'), written.digest('hex'));
      // A store that buffered the blob would hand it over in one piece; a streaming one in small chunks.
      assert.ok(largestChunk <= 8 * 1024 * 1024, `largest chunk was ${largestChunk} bytes`);
    });
  });
}

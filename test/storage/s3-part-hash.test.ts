// The part hasher: the Content-MD5 of S3 parts, hashed on a worker thread from the caller's bytes. Its
// answers must equal node:crypto's one-shot MD5 whatever the chunks look like, keep parts apart when
// several are fed at once, and fail (never hang) when its worker goes away.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { PartHasher } from '../../src/storage/blobs/part-hash.ts';

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('base64');

function shared(data: Uint8Array): Uint8Array {
  // At an offset inside a larger shared buffer, as a digest ring slot is.
  const view = new Uint8Array(new SharedArrayBuffer(data.length + 4096), 1000, data.length);
  view.set(data);
  return view;
}

describe('PartHasher', () => {
  const hasher = new PartHasher();
  after(() => hasher.close());

  it('equals one-shot MD5 over chunks of every size, shared or ordinary, whichever kind comes first', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 777);
    const sizes = [1, 511 * 1024, 512 * 1024, 512 * 1024 + 1, 65536, 2 * 1024 * 1024, 13];
    // Shared first (hashed on the worker) and ordinary first (inline), each then mixed with the other kind.
    for (const first of [0, 1]) {
      const part = hasher.begin();
      for (let at = 0, i = 0; at < data.length; i++) {
        const n = Math.min(sizes[i % sizes.length], data.length - at);
        const chunk = data.subarray(at, at + n);
        await part.update(i % 3 === first ? shared(chunk) : chunk);
        at += n;
      }
      assert.equal(await part.digest(), md5(data), `first chunk ${first ? 'ordinary' : 'shared'}`);
    }
  });

  it('gives the MD5 of no bytes for an empty part, and ignores empty chunks', async () => {
    const part = hasher.begin();
    await part.update(new Uint8Array(0));
    await part.update(shared(new Uint8Array(0)));
    assert.equal(await part.digest(), md5(new Uint8Array(0)));
  });

  it('keeps parts fed at the same time apart', async () => {
    const inputs = Array.from({ length: 6 }, (_, i) => randomBytes(700_000 + i * 99_999));
    const digests = await Promise.all(
      inputs.map(async (data, i) => {
        const part = hasher.begin();
        for (let at = 0; at < data.length; at += 100_000) {
          const chunk = data.subarray(at, at + 100_000);
          await part.update(i % 2 ? shared(chunk) : chunk);
        }
        return part.digest();
      }),
    );
    assert.deepEqual(digests, inputs.map(md5));
  });

  it('lets the caller reuse a chunk once update settles: what was hashed is what was given then', async () => {
    for (const block of [Buffer.alloc(300_000), shared(Buffer.alloc(300_000))]) {
      const given = createHash('md5');
      const part = hasher.begin();
      for (let i = 0; i < 8; i++) {
        block.fill(i);
        given.update(block);
        await part.update(block);
      }
      assert.equal(await part.digest(), given.digest('base64'));
    }
  });

  it('fails what is pending when its worker stops, and starts a new worker for the next part', async () => {
    const own = new PartHasher();
    const part = own.begin();
    await part.update(shared(randomBytes(1000)));
    const digest = assert.rejects(part.digest(), /closed/);
    await own.close();
    await digest;
    const next = own.begin();
    const data = randomBytes(5000);
    await next.update(shared(data));
    assert.equal(await next.digest(), md5(data));
    await own.close();
  });
});

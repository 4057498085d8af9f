// The one-pass digester: whatever the chunking, on one thread or with a pooled worker, its digests
// equal node:crypto's over the whole data, and pooled workers are reused rather than piling up.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { closeDigestWorkers, createDigester, digestRingsAllocated } from '../../src/storage/index.ts';

const MiB = 1024 * 1024;

/** Chunks of awkward sizes around the 1 and 2 MiB boundaries (blocks, ring slots), empty ones included. */
function awkwardChunks(): Buffer[] {
  const sizes = [
    0,
    1,
    17,
    65_536,
    MiB - 1,
    MiB,
    MiB + 1,
    0,
    3 * MiB + 5,
    12_345,
    2 * MiB,
    2 * MiB - 1,
    2 * MiB + 1,
    7,
    9 * MiB,
    0,
    333,
  ];
  return sizes.map((size) => randomBytes(size));
}

function oneShot(algorithms: string[], data: Buffer): Record<string, string> {
  return Object.fromEntries(algorithms.map((name) => [name, createHash(name).update(data).digest('hex')]));
}

async function digestAll(chunks: Uint8Array[], algorithms: string[], parallel: boolean) {
  const digester = createDigester(algorithms, { parallel });
  for (const chunk of chunks) await digester.update(chunk);
  return (await digester.finish()).digests;
}

/** OS threads of this process; each leaked worker would add at least one. */
function threadCount(): number | null {
  return existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : null;
}

describe('createDigester', () => {
  after(() => closeDigestWorkers());

  for (const parallel of [false, true]) {
    describe(`with parallel ${parallel}`, () => {
      it('equals one-shot md5 and sha512 over chunks of every size, > 1 MiB and empty ones included', async () => {
        const chunks = awkwardChunks();
        const digests = await digestAll(chunks, ['md5', 'sha512'], parallel);
        assert.deepEqual(digests, oneShot(['md5', 'sha512'], Buffer.concat(chunks)));
      });

      it('digests empty input', async () => {
        assert.deepEqual(
          await digestAll([], ['md5', 'sha512'], parallel),
          oneShot(['md5', 'sha512'], Buffer.alloc(0)),
        );
        assert.deepEqual(
          await digestAll([new Uint8Array(0)], ['md5', 'sha512'], parallel),
          oneShot(['md5', 'sha512'], Buffer.alloc(0)),
        );
      });

      it('digests chunks that are views into a larger buffer', async () => {
        const backing = randomBytes(4 * MiB);
        const chunks = [
          backing.subarray(3, MiB + 10),
          backing.subarray(MiB + 10, 3 * MiB),
          backing.subarray(3 * MiB + 1),
        ];
        assert.deepEqual(
          await digestAll(chunks, ['md5', 'sha512'], parallel),
          oneShot(['md5', 'sha512'], Buffer.concat(chunks)),
        );
      });

      it('is not disturbed when the caller reuses its chunk buffer after update resolves', async () => {
        const buffer = Buffer.alloc(MiB / 2);
        const copies: Buffer[] = [];
        const digester = createDigester(['md5', 'sha512'], { parallel });
        for (let i = 0; i < 5; i++) {
          buffer.fill(i + 1);
          copies.push(Buffer.from(buffer));
          await digester.update(buffer);
        }
        assert.deepEqual(
          (await digester.finish()).digests,
          oneShot(['md5', 'sha512'], Buffer.concat(copies)),
        );
      });

      it('returns each algorithm once when one is named twice, and handles three algorithms', async () => {
        const data = randomBytes(MiB + 3);
        assert.deepEqual(
          await digestAll([data], ['md5', 'md5', 'sha512'], parallel),
          oneShot(['md5', 'sha512'], data),
        );
        assert.deepEqual(
          await digestAll([data], ['sha256', 'md5', 'sha512'], parallel),
          oneShot(['sha256', 'md5', 'sha512'], data),
        );
      });

      it('hands the sink every byte in order while hashing the same bytes', async () => {
        const chunks = awkwardChunks();
        const received: Buffer[] = [];
        const digester = createDigester(['md5'], {
          parallel,
          // Copy: the block is a view of a slot that is reused once the sink resolves.
          // Uneven delays: a digester that let sink calls overlap would see them finish out of order.
          sink: async (block) => {
            const copy = Buffer.from(block);
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
            received.push(copy);
          },
        });
        for (const chunk of chunks) await digester.update(chunk);
        const { digests } = await digester.finish();
        assert.ok(Buffer.concat(received).equals(Buffer.concat(chunks)));
        assert.equal(digests.md5, oneShot(['md5'], Buffer.concat(chunks)).md5);
      });

      it('calls the sink one block at a time, in order, so a file written at its current position is exact', async () => {
        // Regression: overlapping FileHandle.write calls at the current position land out of order.
        const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-sink-'));
        const target = path.join(dir, 'out.bin');
        const handle = await open(target, 'w');
        try {
          const data = randomBytes(40 * MiB + 7);
          const digester = createDigester(['md5'], {
            parallel,
            sink: async (block) => {
              let offset = 0;
              while (offset < block.length)
                offset += (await handle.write(block, offset, block.length - offset)).bytesWritten;
            },
          });
          for (let offset = 0; offset < data.length; offset += 64 * 1024)
            await digester.update(data.subarray(offset, offset + 64 * 1024));
          await digester.finish();
          await handle.close();
          assert.ok(readFileSync(target).equals(data));
        } finally {
          await handle.close().catch(() => undefined);
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('fails the stream when the sink fails', async () => {
        const digester = createDigester(['md5'], {
          parallel,
          sink: async () => {
            throw new Error('disk on fire');
          },
        });
        await assert.rejects(async () => {
          for (let i = 0; i < 20; i++) await digester.update(randomBytes(MiB));
          await digester.finish();
        }, /disk on fire/);
        await digester.abort();
      });

      it('verifies a signature over the same bytes, and rejects it over other bytes', async () => {
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
        const data = randomBytes(3 * MiB + 5);
        const spec = {
          algorithm: 'sha384',
          publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          signature: sign('sha384', data, privateKey).toString('base64'),
          dsaEncoding: 'der' as const,
        };
        const check = async (bytes: Buffer) => {
          const digester = createDigester(['md5', 'sha512'], { parallel, verify: spec });
          await digester.update(bytes.subarray(0, 1000));
          await digester.update(bytes.subarray(1000));
          return digester.finish();
        };
        const good = await check(data);
        assert.equal(good.signatureValid, true);
        assert.equal(good.digests.md5, oneShot(['md5'], data).md5);
        const tampered = Buffer.from(data);
        tampered[tampered.length - 1] ^= 1;
        assert.equal((await check(tampered)).signatureValid, false);
      });

      it('throws at once for an unknown algorithm', () => {
        assert.throws(() => createDigester(['md5', 'no-such-digest'], { parallel }));
        assert.throws(() => createDigester(['no-such-digest'], { parallel }));
      });
    });
  }

  it('gives correct digests to many digesters running at once', async () => {
    const inputs = Array.from({ length: 6 }, (_, i) => [randomBytes(i * MiB + 11), randomBytes(MiB / 3)]);
    const results = await Promise.all(inputs.map((chunks) => digestAll(chunks, ['md5', 'sha512'], true)));
    results.forEach((digests, i) => {
      assert.deepEqual(digests, oneShot(['md5', 'sha512'], Buffer.concat(inputs[i])));
    });
  });

  it('gives a reused worker’s next digester correct digests after an abort mid-stream', async () => {
    const aborted = createDigester(['md5', 'sha512'], { parallel: true });
    await aborted.update(randomBytes(5 * MiB));
    await aborted.abort();
    const data = [randomBytes(2 * MiB + 1), randomBytes(100)];
    assert.deepEqual(
      await digestAll(data, ['md5', 'sha512'], true),
      oneShot(['md5', 'sha512'], Buffer.concat(data)),
    );
  });

  it('reuses pooled workers across many sequential digesters instead of starting new threads', async () => {
    const data = [randomBytes(MiB + 1)];
    const expected = oneShot(['md5', 'sha512'], data[0]);
    // Warm up, so lazily started runtime threads are already counted.
    for (let i = 0; i < 3; i++) await digestAll(data, ['md5', 'sha512'], true);
    const before = threadCount();
    for (let i = 0; i < 40; i++) assert.deepEqual(await digestAll(data, ['md5', 'sha512'], true), expected);
    const grown = threadCount();
    if (before !== null && grown !== null) {
      // A leaked worker brings several threads of its own; allow a couple of runtime helpers.
      assert.ok(grown - before <= 2, `threads grew from ${before} to ${grown} over 40 digesters`);
    }
  });
  it('reuses its shared ring across sequential digesters, after aborts too, with no stale bytes', async () => {
    await digestAll([randomBytes(MiB)], ['md5', 'sha512'], true);
    const before = digestRingsAllocated();
    for (let i = 0; i < 8; i++) {
      if (i % 3 === 1) {
        const aborted = createDigester(['md5', 'sha512'], { parallel: true });
        await aborted.update(randomBytes(3 * MiB));
        await aborted.abort();
      }
      // Shorter and longer than a slot, after a ring full of other bytes.
      const data = [randomBytes(i % 2 === 0 ? 5 * MiB + 3 : 1000 + i)];
      assert.deepEqual(await digestAll(data, ['md5', 'sha512'], true), oneShot(['md5', 'sha512'], data[0]));
    }
    assert.equal(digestRingsAllocated() - before, 0, 'a sequential digester allocated a ring of its own');
  });

  it('hashes streams beyond the cores on the calling thread: 50 at once start no extra workers', async () => {
    const data = [randomBytes(2 * MiB + 3), randomBytes(MiB)];
    const expected = oneShot(['md5', 'sha512'], Buffer.concat(data));
    for (let i = 0; i < 3; i++) await digestAll(data, ['md5', 'sha512'], true);
    const before = threadCount();
    const digesters = Array.from({ length: 50 }, () => createDigester(['md5', 'sha512'], { parallel: true }));
    const during = threadCount();
    const results = await Promise.all(
      digesters.map(async (digester) => {
        for (const chunk of data) await digester.update(chunk);
        return (await digester.finish()).digests;
      }),
    );
    for (const digests of results) assert.deepEqual(digests, expected);
    if (before !== null && during !== null) {
      // 50 parallel digesters with a worker pair each would add dozens of threads.
      assert.ok(during - before <= 2, `threads grew from ${before} to ${during} with 50 digesters open`);
    }
  });
});

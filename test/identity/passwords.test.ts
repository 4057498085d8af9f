// Password hashing: scrypt with its parameters stored, constant-time comparison, and a bound on how many
// derivations (32 MiB and a threadpool thread each) run at once, however many logins arrive together.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { hashPassword, passwordDerivations, verifyPassword } from '../../src/identity/index.ts';

describe('passwords', () => {
  it('verifies the right password and refuses a wrong one or a malformed hash', async () => {
    const stored = await hashPassword('correct horse');
    assert.match(stored, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.equal(await verifyPassword('correct horse', stored), true);
    assert.equal(await verifyPassword('correct hors', stored), false);
    assert.equal(await verifyPassword('correct horse', 'scrypt$x$8$1$AA$AA'), false);
    assert.equal(await verifyPassword('correct horse', null), false);
  });

  it('runs at most one derivation per core (and leaves threadpool threads free); the rest queue in order', async () => {
    const stored = await hashPassword('burst');
    const { max } = passwordDerivations();
    assert.ok(max >= 1 && max <= Math.max(1, availableParallelism()), `limit ${max}`);
    const burst = 3 * max + 2;
    const finished: number[] = [];
    const results = Array.from({ length: burst }, (_, i) =>
      verifyPassword(i % 2 === 0 ? 'burst' : 'wrong', stored).then((ok) => {
        finished.push(i);
        return ok;
      }),
    );
    // Taken synchronously: right after the calls, the limit runs and everything else waits.
    assert.deepEqual(passwordDerivations(), { running: max, waiting: burst - max, max });
    let peak = 0;
    const sampling = (async () => {
      while (finished.length < burst) {
        peak = Math.max(peak, passwordDerivations().running);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    assert.deepEqual(
      await Promise.all(results),
      Array.from({ length: burst }, (_, i) => i % 2 === 0),
    );
    await sampling;
    assert.ok(peak <= max, `${peak} derivations ran at once; the limit is ${max}`);
    assert.deepEqual(passwordDerivations(), { running: 0, waiting: 0, max });
  });
});

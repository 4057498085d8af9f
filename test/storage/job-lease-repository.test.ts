// Background-job leases on both metadata backends: one holder at a time, renewal by the holder, takeover
// when the lease lapses or the holder is known dead, release on stop, and many claimants racing for one
// free lease with exactly one winner.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { type SqlDatabase, SqlJobLeases } from '../../src/storage/index.ts';
import { databaseBackends } from './database-backends.ts';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

for (const backend of databaseBackends()) {
  describe(`SqlJobLeases on ${backend.name}`, () => {
    let db: SqlDatabase;
    let leases: SqlJobLeases;
    before(() => backend.ready());
    after(() => backend.dispose());
    beforeEach(async () => {
      db = await backend.open();
      leases = new SqlJobLeases(db);
    });
    afterEach(() => db.close());

    it('grants a free lease, renews it for its holder and refuses it to another until it lapses', async () => {
      assert.deepEqual(await leases.claim('job', 'a', T0, 1000), { held: true, holder: 'a' });
      assert.deepEqual(await leases.claim('job', 'b', at(500), 1000), { held: false, holder: 'a' });
      // The holder renews: the lease now runs to 1600, so b is still refused at 1200.
      assert.deepEqual(await leases.claim('job', 'a', at(600), 1000), { held: true, holder: 'a' });
      assert.deepEqual(await leases.claim('job', 'b', at(1200), 1000), { held: false, holder: 'a' });
      // Lapsed: b takes it, and a, late, is refused.
      assert.deepEqual(await leases.claim('job', 'b', at(1600), 1000), { held: true, holder: 'b' });
      assert.deepEqual(await leases.claim('job', 'a', at(1700), 1000), { held: false, holder: 'b' });
      assert.deepEqual(await leases.list(), [{ job: 'job', holder: 'b', expiresAt: at(2600).toISOString() }]);
    });

    it('keeps jobs apart: each has its own lease', async () => {
      assert.equal((await leases.claim('one', 'a', T0, 1000)).held, true);
      assert.equal((await leases.claim('two', 'b', T0, 1000)).held, true);
      assert.deepEqual(
        (await leases.list()).map((l) => [l.job, l.holder]),
        [
          ['one', 'a'],
          ['two', 'b'],
        ],
      );
    });

    it('takes a live lease from a holder known to be dead, and only from that holder', async () => {
      await leases.claim('job', 'dead', T0, 60_000);
      const asked: string[] = [];
      const claim = await leases.claim('job', 'b', at(1), 60_000, (holder) => {
        asked.push(holder);
        return holder !== 'dead';
      });
      assert.deepEqual(claim, { held: true, holder: 'b' });
      assert.deepEqual(asked, ['dead']);
      // b is alive: c is refused however it is asked.
      assert.deepEqual(await leases.claim('job', 'c', at(2), 60_000, (h) => h !== 'dead'), {
        held: false,
        holder: 'b',
      });
    });

    it('hands a released lease to the next claimant at once, and releases only its own', async () => {
      await leases.claim('job', 'a', T0, 60_000);
      assert.equal(await leases.release('job', 'b'), false);
      assert.equal((await leases.claim('job', 'b', at(1), 60_000)).held, false);
      assert.equal(await leases.release('job', 'a'), true);
      assert.deepEqual(await leases.claim('job', 'b', at(2), 60_000), { held: true, holder: 'b' });
    });

    it('gives a free lease to exactly one of many racing claimants', async () => {
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => leases.claim('race', `p${i}`, T0, 1000)),
      );
      const winners = claims.filter((c) => c.held);
      assert.equal(winners.length, 1);
      for (const c of claims) assert.equal(c.holder, winners[0].holder);
      // And of a lapsed one, likewise.
      const late = await Promise.all(
        Array.from({ length: 20 }, (_, i) => leases.claim('race', `q${i}`, at(5000), 1000)),
      );
      assert.equal(late.filter((c) => c.held).length, 1);
    });
  });
}

// The AuditRepository contract on both metadata backends: appends are all-or-none at the next free
// positions, reads page and filter in order, and a tree head is stored once per size.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  type AuditEntry,
  createTreeHeadSigner,
  signTreeHead,
  toAuditEntry,
  toAuditLeaf,
} from '../../src/audit/index.ts';
import { SqlAuditRepository, type SqlDatabase } from '../../src/storage/index.ts';
import { databaseBackends } from '../storage/database-backends.ts';

const AT = new Date('2024-03-01T10:00:00.000Z');
const signer = createTreeHeadSigner(generateKeyPairSync('ed25519').privateKey);

const entriesFrom = (first: number, count: number, subject = (i: number) => `image-${i % 2}`) =>
  Array.from({ length: count }, (_, i) =>
    toAuditEntry(
      toAuditLeaf(
        { type: 'image.updated', actor: null, subjectId: subject(first + i), details: { i: first + i } },
        first + i,
        AT,
      ),
    ),
  );

for (const backend of databaseBackends()) {
  describe(`SqlAuditRepository on ${backend.name}`, () => {
    let db: SqlDatabase;
    let repo: SqlAuditRepository;
    before(() => backend.ready());
    after(() => backend.dispose());
    beforeEach(async () => {
      db = await backend.open();
      repo = new SqlAuditRepository(db);
    });
    afterEach(async () => {
      await db.close();
    });

    it('appends at the next free positions and reads the rows back exactly', async () => {
      const first = await repo.appendEntries((seq) => entriesFrom(seq, 3));
      const second = await repo.appendEntries((seq) => entriesFrom(seq, 250));
      assert.deepEqual([first[0].seq, second[0].seq, second[249].seq], [0, 3, 252]);
      assert.deepEqual(await repo.listEntries(0, 3), first);
      assert.deepEqual(await repo.listEntries(250, 1000), second.slice(247));
      assert.deepEqual(await repo.scanEntries(100, 5), second.slice(97, 102));
      assert.deepEqual(
        (await repo.listLeafHashes(251, 10)).map((r) => [r.seq, r.leafHash]),
        second.slice(248).map((e) => [e.seq, e.leafHash]),
      );
      const subject = await repo.listEntriesBySubject('image-1');
      assert.equal(subject.length, 126);
      assert.ok(
        subject.every((e, i) => e.subjectId === 'image-1' && (i === 0 || e.seq > subject[i - 1].seq)),
      );
    });

    it('writes nothing when building or inserting a batch fails', async () => {
      await repo.appendEntries((seq) => entriesFrom(seq, 2));
      await assert.rejects(
        repo.appendEntries((seq) => {
          const entries: AuditEntry[] = entriesFrom(seq, 3);
          entries[2] = { ...entries[2], seq: entries[0].seq };
          return entries;
        }),
      );
      assert.equal((await repo.scanEntries(0, 100)).length, 2);
    });

    it('stores one tree head per size and returns the latest', async () => {
      assert.equal(await repo.latestTreeHead(), null);
      const root = Buffer.alloc(32, 7);
      const small = signTreeHead(signer, 2, root, AT);
      const large = signTreeHead(signer, 9, root, new Date(AT.getTime() + 1000));
      assert.equal(await repo.saveTreeHead(large), true);
      assert.equal(await repo.saveTreeHead(small), true);
      assert.equal(await repo.saveTreeHead({ ...small, signature: 'other' }), false);
      assert.deepEqual(await repo.latestTreeHead(), large);
      assert.deepEqual(await repo.findTreeHead(2), small);
      assert.equal(await repo.findTreeHead(3), null);
      assert.deepEqual(await repo.listTreeHeads(), [small, large]);
    });
  });
}

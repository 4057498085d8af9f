// A verifier that pinned a tree head earlier accepts a later history only with a consistency proof that
// the log grew by appending: a rewritten past, a fork or a rollback is refused.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/app/clock.ts';
import {
  type AuditEvent,
  AuditLog,
  auditPublicKeyFromPem,
  createTreeHeadSigner,
  verifyAuditProofBundle,
} from '../../src/audit/index.ts';
import { SqlAuditRepository, type SqlDatabase } from '../../src/storage/index.ts';
import { sqliteBackend } from '../storage/database-backends.ts';

const signer = createTreeHeadSigner(generateKeyPairSync('ed25519').privateKey);
const key = auditPublicKeyFromPem(signer.publicKeyPem);
const event = (i: number, subject = 'image-1', salt = ''): AuditEvent => ({
  type: 'image.updated',
  actor: { userId: 'alice' },
  projectId: 'p',
  subjectId: subject,
  details: { n: i, salt },
});

describe('pinned tree heads', () => {
  const backend = sqliteBackend();
  const dbs: SqlDatabase[] = [];
  const openLog = async () => {
    const db = await backend.open();
    dbs.push(db);
    return new AuditLog({ clock: systemClock, repository: new SqlAuditRepository(db), signer });
  };
  before(() => backend.ready());
  after(async () => {
    await Promise.all(dbs.map((db) => db.close()));
    await backend.dispose();
  });

  /** The history now, with a consistency proof from `pinned`, as `audit proof --since-head` builds it. */
  const historySince = async (log: AuditLog, pinned: { tree_size: number }) => {
    const bundle = await log.historyOf('image-1');
    const proof = await log.consistencyProof(pinned.tree_size, bundle.tree_head.tree_size);
    return { ...bundle, consistency: { from: pinned, path: proof.consistency_path } };
  };

  it('accepts a history that extends the pinned head, and refuses one without the proof', async () => {
    const log = await openLog();
    for (let i = 0; i < 5; i++) await log.append(event(i));
    const pinned = await log.latestTreeHead();
    for (let i = 5; i < 13; i++) await log.append(event(i, i % 2 ? 'image-1' : 'image-2'));
    const later = await historySince(log, pinned);
    assert.deepEqual(verifyAuditProofBundle(later, key, { previousHead: pinned }), {
      ok: true,
      treeSize: 13,
      entries: 9,
    });
    const { consistency: _dropped, ...bare } = later;
    const missing = verifyAuditProofBundle(bare, key, { previousHead: pinned });
    assert.equal(missing.ok, false);
    assert.equal(!missing.ok && missing.problem, 'inconsistent');
    // Pinning the same head again is consistent with itself.
    assert.equal(
      verifyAuditProofBundle(await historySince(log, later.tree_head), key, { previousHead: later.tree_head })
        .ok,
      true,
    );
  });

  it('refuses a fork: a log with another past, signed by the same key', async () => {
    const original = await openLog();
    const fork = await openLog();
    for (let i = 0; i < 6; i++) {
      await original.append(event(i));
      await fork.append(event(i, 'image-1', i === 2 ? 'rewritten' : ''));
    }
    const pinned = await original.latestTreeHead();
    for (let i = 6; i < 9; i++) await fork.append(event(i));
    const forked = await historySince(fork, pinned);
    // Every proof inside the forked file is valid on its own...
    assert.equal(verifyAuditProofBundle(forked, key).ok, true);
    // ...but it does not extend what the verifier saw before.
    const check = verifyAuditProofBundle(forked, key, { previousHead: pinned });
    assert.equal(check.ok, false);
    assert.match(!check.ok ? check.message : '', /rewritten or forked/);
  });

  it('refuses a rollback and a pinned head that the key did not sign', async () => {
    const log = await openLog();
    for (let i = 0; i < 4; i++) await log.append(event(i));
    const small = await log.historyOf('image-1');
    for (let i = 4; i < 8; i++) await log.append(event(i));
    const big = await log.latestTreeHead();
    const rolledBack = verifyAuditProofBundle(small, key, { previousHead: big });
    assert.match(!rolledBack.ok ? rolledBack.message : '', /rolled back/);
    const forged = { ...big, root_hash: 'ab'.repeat(32) };
    const unsigned = verifyAuditProofBundle(await historySince(log, forged), key, { previousHead: forged });
    assert.match(!unsigned.ok ? unsigned.message : '', /pinned tree head is not signed/);
  });
});

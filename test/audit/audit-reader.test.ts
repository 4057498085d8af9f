// The audit:* rules inside AuditReader, without a server: who may read heads, entries and an image's
// history, and that a refused history is indistinguishable from a missing one.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/app/index.ts';
import { AuditLog, AuditReader, createTreeHeadSigner } from '../../src/audit/index.ts';
import { defaultAuthorizer } from '../../src/identity/index.ts';
import { SqlAuditRepository } from '../../src/storage/index.ts';
import { sqliteBackend } from '../storage/database-backends.ts';
import { testCredentials } from '../support/credentials.ts';

const admin = testCredentials('admin', 'admin-project', ['admin', 'member', 'reader']);
const auditor = testCredentials('carol', 'audit-project', ['auditor']);
const alice = testCredentials('alice', 'project-a', ['member', 'reader']);
const bob = testCredentials('bob', 'project-b', ['member', 'reader']);

const unread = (): never => {
  throw new Error('the parameters were read before the caller was authorized');
};

describe('AuditReader', () => {
  const backend = sqliteBackend();
  let log: AuditLog;
  let reader: AuditReader;

  before(async () => {
    const db = await backend.open();
    log = new AuditLog({
      clock: systemClock,
      repository: new SqlAuditRepository(db),
      signer: createTreeHeadSigner(generateKeyPairSync('ed25519').privateKey),
    });
    for (let i = 0; i < 4; i++) {
      const mine = i % 2 === 1;
      await log.append({
        type: i < 2 ? 'image.created' : 'image.updated',
        actor: { userId: mine ? 'alice' : 'bob', projectId: mine ? 'project-a' : 'project-b' },
        projectId: mine ? 'project-a' : 'project-b',
        subjectId: mine ? 'image-a' : 'image-b',
        details: { step: i },
      });
    }
    reader = new AuditReader({ log, authorizer: defaultAuthorizer });
  });
  after(async () => backend.dispose());

  it('gives any caller the signed tree head, its key, and proofs', async () => {
    const { head, publicKeyPem } = await reader.treeHead(bob);
    assert.equal(head.tree_size, 4);
    assert.equal(publicKeyPem, log.publicKeyPem);
    const proof = await reader.inclusionProof(bob, () => ({ seq: 1, treeSize: 4 }));
    assert.equal(proof.leaf_hash.length, 64);
  });

  it('refuses entries to a project member with FORBIDDEN before reading the range', async () => {
    await assert.rejects(reader.entries(alice, unread), { code: 'FORBIDDEN' });
    const page = await reader.entries(auditor, () => ({ start: 1, end: 3 }));
    assert.deepEqual(
      page.entries.map((e) => e.seq),
      [1, 2],
    );
    assert.equal((await reader.entries(admin, () => ({ start: 0, end: 10 }))).entries.length, 4);
  });

  it("gives an image's history to its project, auditors and admins, and NOT_FOUND to anyone else", async () => {
    assert.equal((await reader.imageHistory(alice, 'image-a')).entries.length, 2);
    assert.equal((await reader.imageHistory(auditor, 'image-a')).entries.length, 2);
    assert.equal((await reader.imageHistory(admin, 'image-b')).entries.length, 2);
    await assert.rejects(reader.imageHistory(bob, 'image-a'), { code: 'NOT_FOUND' });
    await assert.rejects(reader.imageHistory(admin, 'no-such-image'), { code: 'NOT_FOUND' });
  });

  it("judges history by the project it is told owns the image (the catalog's, once it moved)", async () => {
    const moved = new AuditReader({
      log,
      authorizer: defaultAuthorizer,
      projectOfImage: async (_caller, id) => (id === 'image-a' ? 'project-b' : null),
    });
    assert.equal((await moved.imageHistory(bob, 'image-a')).entries.length, 2);
    await assert.rejects(moved.imageHistory(alice, 'image-a'), { code: 'NOT_FOUND' });
  });
});

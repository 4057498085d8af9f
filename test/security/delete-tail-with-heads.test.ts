// Attack: delete the newest entries of the transparency log together with every signed head that covers
// them, leaving a shorter log that agrees with its remaining heads. The database cannot tell; the highest
// head this host signed is also kept outside it (next to the signing key), so `audit verify` fails and
// the service refuses to start.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import { FIRST_BATCH, tailBackends } from '../support/audit-tail.ts';

for (const backend of tailBackends()) {
  describe(`deleting the newest audit entries with their heads (${backend.name})`, () => {
    before(() => backend.ready());
    after(() => backend.dispose());

    it('is reported by audit verify and refused at start', async () => {
      const log = await backend.createLog();
      assert.equal((await log.verify()).code, 0, 'the untouched log verifies');
      await log.tamper(async (db) => {
        assert.ok((await db.run('DELETE FROM audit_entries WHERE seq >= ?', [FIRST_BATCH])) > 0);
        await db.run('DELETE FROM audit_tree_heads WHERE tree_size > ?', [FIRST_BATCH]);
        // What is left is a sound shorter log: the first batch under its own head.
        const heads = await db.query<{ tree_size: number }>('SELECT tree_size FROM audit_tree_heads');
        assert.ok(heads.some((head) => Number(head.tree_size) === FIRST_BATCH));
      });
      // Exit 1: the log was checked and found bad (not a crash).
      const verified = await log.verify();
      assert.equal(verified.code, 1, verified.stderr);
      const error = await log.startError();
      assert.ok(error instanceof ImageTrustError, String(error));
      assert.equal(error.code, 'LOG_TAMPERED');
    });
  });
}

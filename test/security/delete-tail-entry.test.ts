// Attack: delete the newest entry of the transparency log from the database. Every append batch ends
// with a signed head covering it, so the log is now shorter than a signed head: `audit verify` fails and
// the service refuses to start.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import { LOG_SIZE, tailBackends } from '../support/audit-tail.ts';

for (const backend of tailBackends()) {
  describe(`deleting the newest audit entry (${backend.name})`, () => {
    before(() => backend.ready());
    after(() => backend.dispose());

    it('is reported by audit verify and refused at start', async () => {
      const log = await backend.createLog();
      assert.equal((await log.verify()).code, 0, 'the untouched log verifies');
      await log.tamper(async (db) => {
        assert.equal(await db.run('DELETE FROM audit_entries WHERE seq = ?', [LOG_SIZE - 1]), 1);
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

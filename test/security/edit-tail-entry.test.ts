// Attack: edit the newest entry of the transparency log in the database, recomputing its leaf hash so
// the row is self-consistent. Every append batch ends with a signed head, so the edited entry no longer
// hashes to the root signed over it: `audit verify` fails and the service refuses to start.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { leafHashOf } from '../../src/audit/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { LOG_SIZE, tailBackends } from '../support/audit-tail.ts';

for (const backend of tailBackends()) {
  describe(`editing the newest audit entry (${backend.name})`, () => {
    before(() => backend.ready());
    after(() => backend.dispose());

    it('is reported by audit verify and refused at start', async () => {
      const log = await backend.createLog();
      assert.equal((await log.verify()).code, 0, 'the untouched log verifies');
      await log.tamper(async (db) => {
        const [row] = await db.query<{ event: string }>('SELECT event FROM audit_entries WHERE seq = ?', [
          LOG_SIZE - 1,
        ]);
        const forged = row.event.replace(`"step":${LOG_SIZE - 1}`, '"step":700');
        assert.notEqual(forged, row.event);
        await db.run('UPDATE audit_entries SET event = ?, leaf_hash = ? WHERE seq = ?', [
          forged,
          leafHashOf(forged),
          LOG_SIZE - 1,
        ]);
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

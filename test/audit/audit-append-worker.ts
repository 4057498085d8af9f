// One API process's share of appends, for the multi-process test: opens the database and the shared
// signing key (making it if no process has yet), appends COUNT events in waves, and exits.
import { systemClock } from '../../src/app/clock.ts';
import { AuditLog } from '../../src/audit/index.ts';
import { openAuditSigningKey, openDatabase, SqlAuditRepository } from '../../src/storage/index.ts';

const [url, keyFile, tag, count] = process.argv.slice(2);
const db = await openDatabase(url);
try {
  const log = new AuditLog({
    clock: systemClock,
    repository: new SqlAuditRepository(db),
    signer: await openAuditSigningKey(keyFile),
  });
  for (let done = 0; done < Number(count); done += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, Number(count) - done) }, (_, i) =>
        log.append({ type: 'image.updated', actor: null, subjectId: `${tag}-${done + i}` }),
      ),
    );
  }
  await log.latestTreeHead();
} finally {
  await db.close();
}

// The real domain-event stream over a test's own database, for tests that build one service by hand.
import type { Clock } from '../../src/app/index.ts';
import { DomainEventStream } from '../../src/events/index.ts';
import { type SqlDatabase, SqlEventOutbox } from '../../src/storage/index.ts';

export function eventStreamFor(db: SqlDatabase, clock: Clock): DomainEventStream {
  return new DomainEventStream({
    outbox: new SqlEventOutbox(db),
    transactions: { run: (work) => db.transaction(() => work()) },
    clock,
  });
}

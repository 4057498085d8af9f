// The domain-event outbox on SQL: events are inserted with the change they record (the statement joins
// the caller's ambient transaction), and the transparency log takes them out in id order.
import type { DomainEvent, EventOutbox, RecordedEvent } from '../../events/index.ts';
import type { SqlDatabase, SqlValue } from './database.ts';

/** Rows per INSERT: 3 parameters each. */
const ROWS_PER_INSERT = 200;

export interface OutboxRow {
  id: number;
  recorded: RecordedEvent;
}

export class SqlEventOutbox implements EventOutbox {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async add(events: RecordedEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
      const chunk = events.slice(i, i + ROWS_PER_INSERT);
      const params: SqlValue[] = [];
      for (const { event, occurredAt } of chunk) params.push(occurredAt.toISOString(), JSON.stringify(event));
      await this.#db.run(
        `INSERT INTO event_outbox (occurred_at, event) VALUES ${chunk.map(() => '(?, ?)').join(', ')}`,
        params,
      );
    }
  }

  /** How many events wait for the log (operators and tests). */
  async pending(): Promise<number> {
    const [row] = await this.#db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM event_outbox');
    return Number(row?.n ?? 0);
  }
}

export function toRecordedEvent(row: { occurred_at: unknown; event: unknown }): RecordedEvent {
  return {
    event: JSON.parse(String(row.event)) as DomainEvent,
    occurredAt: new Date(String(row.occurred_at)),
  };
}

// The domain-event stream: services change state and record what happened in one transaction (the
// outbox pattern), then subscribers are told. If the event cannot be stored, the change rolls back; if
// the change fails, no event is stored. A subscriber that fails later loses nothing: the events wait in
// the outbox for its next delivery.
import type { DomainEvent, RecordedEvent } from './events.ts';
import type { Clock, EventOutbox, EventRecorder, EventSubscriber, TransactionRunner } from './ports.ts';

export interface DomainEventStreamOptions {
  outbox: EventOutbox;
  transactions: TransactionRunner;
  clock: Clock;
  /** Refuses a malformed event in the caller's stack (e.g. details that look like secrets). */
  validate?: (event: DomainEvent) => void;
  /** Told when a subscriber could not take delivery; the events stay in the outbox. */
  onDeliveryError?: (subscriber: string, error: Error) => void;
}

/** Records events for one change; they are stored when the change commits. */
export type RecordEvent = (event: DomainEvent) => void;

export class DomainEventStream implements EventRecorder {
  readonly #o: DomainEventStreamOptions;
  readonly #subscribers: EventSubscriber[] = [];

  constructor(options: DomainEventStreamOptions) {
    this.#o = options;
  }

  subscribe(subscriber: EventSubscriber): void {
    this.#subscribers.push(subscriber);
  }

  /**
   * Runs `change` in one transaction with the events it records: both commit, or neither does. After
   * the commit every subscriber is told (and awaited, so a caller reading the log next sees its events).
   */
  async withEvents<T>(change: (record: RecordEvent) => Promise<T>): Promise<T> {
    let recorded = false;
    const result = await this.#o.transactions.run(async () => {
      const events: RecordedEvent[] = [];
      const value = await change((event) => {
        this.#o.validate?.(event);
        events.push({ event, occurredAt: this.#o.clock.now() });
      });
      if (events.length > 0) {
        await this.#o.outbox.add(events);
        recorded = true;
      }
      return value;
    });
    if (recorded) await this.deliver();
    return result;
  }

  /** Records events that accompany no other change (a read, a refusal, a failed login). */
  async record(...events: DomainEvent[]): Promise<void> {
    await this.withEvents(async (record) => {
      for (const event of events) record(event);
    });
  }

  /** Tells every subscriber to take what is waiting (also run at start and on a timer). */
  async deliver(): Promise<void> {
    for (const subscriber of this.#subscribers) {
      try {
        await subscriber.deliver();
      } catch (error) {
        this.#o.onDeliveryError?.(subscriber.name, error as Error);
      }
    }
  }
}

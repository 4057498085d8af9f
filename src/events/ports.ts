// What the event stream needs from storage: an outbox that joins the caller's transaction, and a way to
// run work in one transaction.
import type { DomainEvent, RecordedEvent } from './events.ts';

export interface EventOutbox {
  /** Stores events, in order, in the transaction open in the caller's context (or one of its own). */
  add(events: RecordedEvent[]): Promise<void>;
}

export interface TransactionRunner {
  /** Runs `work` in one metadata transaction: every repository write inside it commits or none does. */
  run<T>(work: () => Promise<T>): Promise<T>;
}

/** Told after events were committed; reads them from the outbox itself (the transparency log's relay). */
export interface EventSubscriber {
  readonly name: string;
  deliver(): Promise<unknown>;
}

export interface Clock {
  now(): Date;
}

/** What services use to record events with their changes (the DomainEventStream). */
export interface EventRecorder {
  /** Runs `change` and stores the events it records in one transaction: both commit or neither does. */
  withEvents<T>(change: (record: (event: DomainEvent) => void) => Promise<T>): Promise<T>;
  /** Records events that accompany no other change. */
  record(...events: DomainEvent[]): Promise<void>;
}

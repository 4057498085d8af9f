// The domain-event stream: typed events written with the change they record (an outbox), and the
// subscribers (the transparency log first) that read them after the commit.
export type { DomainEvent, DomainEventType, EventActor, RecordedEvent } from './events.ts';
export type { Clock, EventOutbox, EventRecorder, EventSubscriber, TransactionRunner } from './ports.ts';
export { DomainEventStream, type DomainEventStreamOptions, type RecordEvent } from './stream.ts';

// The domain events: what happened, to what, by whom. Each is written in the same transaction as the
// change it records, so a change is stored if and only if its event is; the transparency log (and later
// metrics and notifications) read them from there. Details carry identifiers and digests, never secrets.

/** Every kind of event the services emit, `noun.verb`. */
export type DomainEventType =
  | 'image.created'
  | 'image.uploaded'
  | 'image.verification'
  | 'image.updated'
  | 'image.visibility_changed'
  | 'image.lifecycle_changed'
  | 'image.report_attached'
  | 'image.deleted'
  | 'image.upload_abandoned'
  | 'image.staged'
  | 'image.import_started'
  | 'image.import_failed'
  | 'release.requested'
  | 'release.approved'
  | 'release.rejected'
  | 'secret.created'
  | 'secret.read'
  | 'secret.deleted'
  | 'secret.acl_changed'
  | 'policy.loaded'
  | 'policy.changed'
  | 'identity.login_failed'
  | 'container.decided'
  | 'metadef.changed'
  | 'audit.tampering_detected';

/** Who acted; null for the service itself (schedules, start-up). */
export interface EventActor {
  userId: string;
  userName?: string | null;
  projectId?: string | null;
}

export interface DomainEvent {
  type: DomainEventType;
  actor: EventActor | null;
  projectId?: string | null;
  /** The thing acted on: an image id, a secret id, a release request id... */
  subjectId?: string | null;
  /** `sha512:<hex>` (or another `alg:<hex>`) of the data involved. */
  contentDigest?: string | null;
  details?: Record<string, unknown>;
}

/** An event as the outbox keeps it: with the time of the change it records. */
export interface RecordedEvent {
  event: DomainEvent;
  occurredAt: Date;
}

// What one process tells Prometheus (GET /metrics, text format): requests by route, method and status
// with their latency; image bytes in and out; uploads in flight; blob-store operations with their latency
// and failures; signature verifications by outcome; policy denials by rule; audit appends by event type
// and the age of the newest signed tree head; background job runs; and the process's own figures (memory,
// CPU, event-loop lag). One registry per process, never prom-client's global one, so several services in
// one process (tests) keep apart. Everything is counted where the composition root wires the parts
// together, by wrapping the ports, so no domain service knows about metrics.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEntry } from '../audit/index.ts';
import type { BlobData, BlobStore, TemporaryBlob } from '../catalog/index.ts';
import { AuthError } from '../errors/index.ts';
import { type Authorizer, passwordDerivations } from '../identity/index.ts';

/** Seconds, from 1 ms to 5 minutes: API calls are milliseconds, uploads of large images minutes. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface ServiceMetricsOptions {
  /** When the newest signed tree head was signed (ms since the epoch), or null before any. */
  treeHeadSignedAt?: () => Promise<number | null>;
  now: () => Date;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'status'>;
  readonly #requestSeconds: Histogram<'route' | 'method'>;
  readonly #uploadsInFlight: Gauge;
  readonly #bytesUploaded: Counter;
  readonly #bytesDownloaded: Counter;
  readonly #blobSeconds: Histogram<'operation'>;
  readonly #blobErrors: Counter<'operation'>;
  readonly #verifications: Counter<'outcome'>;
  readonly #denials: Counter<'rule'>;
  readonly #auditAppends: Counter<'type'>;
  readonly #jobRuns: Counter<'job' | 'outcome'>;

  constructor(options: ServiceMetricsOptions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'imagetrust_' });
    this.#requests = new Counter({
      name: 'imagetrust_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.#requestSeconds = new Histogram({
      name: 'imagetrust_http_request_duration_seconds',
      help: 'Time from a request arriving to its response finishing, by route pattern and method.',
      labelNames: ['route', 'method'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#uploadsInFlight = new Gauge({
      name: 'imagetrust_uploads_in_flight',
      help: 'Image data uploads this process is receiving now.',
      registers,
    });
    this.#bytesUploaded = new Counter({
      name: 'imagetrust_image_bytes_uploaded_total',
      help: 'Image data bytes written to the blob store.',
      registers,
    });
    this.#bytesDownloaded = new Counter({
      name: 'imagetrust_image_bytes_downloaded_total',
      help: 'Image data bytes read from the blob store to serve downloads.',
      registers,
    });
    this.#blobSeconds = new Histogram({
      name: 'imagetrust_blob_operation_duration_seconds',
      help: 'Blob-store operation latency (a read is timed until it is open; a write per chunk).',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#blobErrors = new Counter({
      name: 'imagetrust_blob_operation_errors_total',
      help: 'Blob-store operations that failed, by operation.',
      labelNames: ['operation'],
      registers,
    });
    this.#verifications = new Counter({
      name: 'imagetrust_signature_verifications_total',
      help: 'Image signature verifications, by outcome (valid, invalid, refused before any data).',
      labelNames: ['outcome'],
      registers,
    });
    this.#denials = new Counter({
      name: 'imagetrust_policy_denials_total',
      help: 'Calls refused by the policy, by rule.',
      labelNames: ['rule'],
      registers,
    });
    this.#auditAppends = new Counter({
      name: 'imagetrust_audit_appends_total',
      help: 'Entries appended to the transparency log, by event type.',
      labelNames: ['type'],
      registers,
    });
    const { treeHeadSignedAt, now } = options;
    new Gauge({
      name: 'imagetrust_audit_tree_head_age_seconds',
      help: 'Age of the newest signed tree head of the transparency log (NaN before the first).',
      registers,
      async collect() {
        const signedAt = treeHeadSignedAt ? await treeHeadSignedAt() : null;
        this.set(signedAt === null ? Number.NaN : Math.max(0, (now().getTime() - signedAt) / 1000));
      },
    });
    new Gauge({
      name: 'imagetrust_password_derivations',
      help: 'Password checks (scrypt) running and waiting for a turn: at most one per core runs at once.',
      labelNames: ['state'],
      registers,
      collect() {
        const { running, waiting } = passwordDerivations();
        this.set({ state: 'running' }, running);
        this.set({ state: 'waiting' }, waiting);
      },
    });
    this.#jobRuns = new Counter({
      name: 'imagetrust_background_job_runs_total',
      help: 'Runs of background jobs (lifecycle schedules, upload recovery), by job and outcome (standby: another process holds the job).',
      labelNames: ['job', 'outcome'],
      registers,
    });
  }

  /** One answered request; `route` is the route pattern (never the path, whose ids would explode the labels). */
  observeRequest(route: string | null, method: string, status: number, seconds: number): void {
    const name = route ?? 'unmatched';
    this.#requests.inc({ route: name, method, status: String(status) });
    this.#requestSeconds.observe({ route: name, method }, seconds);
  }

  /** Counts an upload in flight until the returned function is called. */
  uploadStarted(): () => void {
    this.#uploadsInFlight.inc();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#uploadsInFlight.dec();
    };
  }

  jobRun(job: string, outcome: 'ok' | 'failed' | 'standby'): void {
    this.#jobRuns.inc({ job, outcome });
  }

  /** Told of every batch the transparency log appended. */
  observeAuditEntries(entries: readonly AuditEntry[]): void {
    for (const entry of entries) {
      this.#auditAppends.inc({ type: entry.eventType });
      if (entry.eventType === 'image.verification') {
        const result = (JSON.parse(entry.leaf) as { details?: { result?: unknown } }).details?.result;
        this.#verifications.inc({ outcome: typeof result === 'string' ? result : 'unknown' });
      }
    }
  }

  /** The authorizer, counting each refusal of `enforce` under its rule. */
  meterAuthorizer<T extends Authorizer>(authorizer: T): T {
    const denials = this.#denials;
    return new Proxy(authorizer, {
      get(target, name) {
        const value = Reflect.get(target, name, target);
        if (name === 'enforce') {
          return (...args: Parameters<Authorizer['enforce']>) => {
            try {
              target.enforce(...args);
            } catch (error) {
              if (error instanceof AuthError) denials.inc({ rule: args[0] });
              throw error;
            }
          };
        }
        // Methods run on the target itself: its private fields are not the proxy's.
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** The blob store, timing each operation, counting failures and the bytes written and read. */
  meterBlobs(store: BlobStore): BlobStore {
    const timed = async <T>(operation: string, work: () => Promise<T>): Promise<T> => {
      const end = this.#blobSeconds.startTimer({ operation });
      try {
        return await work();
      } catch (error) {
        this.#blobErrors.inc({ operation });
        throw error;
      } finally {
        end();
      }
    };
    const uploaded = this.#bytesUploaded;
    const downloaded = this.#bytesDownloaded;
    const meterTemporary = (temporary: TemporaryBlob): TemporaryBlob => ({
      get id() {
        return temporary.id;
      },
      write: async (chunk) => {
        await timed('write', () => temporary.write(chunk));
        uploaded.inc(chunk.byteLength);
      },
      commit: (key) => timed('commit', () => temporary.commit(key)),
      discard: () => timed('discard', () => temporary.discard()),
    });
    const meterData = (data: BlobData): BlobData => ({
      get length() {
        return data.length;
      },
      close: () => data.close(),
      async *[Symbol.asyncIterator]() {
        for await (const block of data) {
          downloaded.inc(block.byteLength);
          yield block;
        }
      },
    });
    return {
      createTemporary: async () =>
        meterTemporary(await timed('create_temporary', () => store.createTemporary())),
      read: async (key, range, signal) =>
        meterData(await timed('read', () => store.read(key, range, signal))),
      delete: (key) => timed('delete', () => store.delete(key)),
      list: () => store.list(),
      countTemporaries: () => timed('count_temporaries', () => store.countTemporaries()),
      listTemporaries: () => store.listTemporaries(),
      discardTemporary: (id) => timed('discard_temporary', () => store.discardTemporary(id)),
    };
  }

  /** The text Prometheus scrapes. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

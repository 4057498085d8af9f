// Recovery after crashes: uploads, stages and imports whose process died go back to `queued` with their
// partial (and staged) data deleted, and their import tasks failed; blobs no image holds are removed, and images whose data is missing are reported. The plan is
// a pure function of what the database and the blob store hold; the executor orders its writes so that
// dying between any two of them leaves a state the next run finishes.
import type { EventRecorder } from '../events/index.ts';
import { toGlanceTimestamp } from './model.ts';
import type {
  BlobHolder,
  BlobStore,
  Clock,
  ImageRepository,
  TaskRepository,
  UploadInFlight,
} from './ports.ts';
import { stagingKey } from './staging.ts';
import { TASK_TIME_TO_LIVE_MS } from './tasks.ts';

export interface TemporaryInfo {
  id: string;
  modifiedAt: Date;
}

export interface ReconcileInput {
  uploads: UploadInFlight[];
  holders: BlobHolder[];
  /** Committed keys, listed before `holders` was read. */
  blobs: string[];
  /** Temporaries, listed before `uploads` was read. */
  temporaries: TemporaryInfo[];
  now: Date;
  leaseMs: number;
  isOwnerAlive(owner: string): boolean;
}

export interface ReconcilePlan {
  /** Uploads to take back: their owner is gone or stopped renewing. */
  stranded: UploadInFlight[];
  /** Committed data no image holds or is about to hold. */
  orphanBlobs: string[];
  /** Temporaries no live upload writes to. */
  orphanTemporaries: string[];
  /** Images that say they have data the store does not have (reported; nothing can restore it here). */
  missingBlobs: { imageId: string; key: string }[];
}

const HOLDS_DATA = new Set(['active', 'deactivated', 'killed', 'pending_delete', 'importing']);

/** The owner encoded in a temporary's id (`<owner>.<uuid>`), or null for one without. */
function ownerOfTemporary(id: string): string | null {
  const dot = id.lastIndexOf('.');
  return dot > 0 ? id.slice(0, dot) : null;
}

export function planReconciliation(input: ReconcileInput): ReconcilePlan {
  const cutoff = input.now.getTime() - input.leaseMs;
  const expired = (heartbeat: string) => {
    const at = Date.parse(heartbeat);
    return Number.isNaN(at) || at < cutoff;
  };
  const stranded = input.uploads.filter(
    (upload) => upload.owner === '' || !input.isOwnerAlive(upload.owner) || expired(upload.heartbeat),
  );
  const live = input.uploads.filter((upload) => !stranded.includes(upload));
  // A live upload will commit under its image id; everything else must be an image's own key.
  // A live stage commits its data under the staging key before it records it.
  const held = new Set<string>(live.flatMap((upload) => [upload.id, stagingKey(upload.id)]));
  for (const holder of input.holders) {
    if (holder.blobKey && holder.status !== 'saving') held.add(holder.blobKey);
    // Staged data waits under the image's staging key until its import takes it (or the image goes).
    if (holder.status === 'uploading' || holder.status === 'importing') held.add(stagingKey(holder.id));
  }
  const present = new Set(input.blobs);
  const inUse = new Set(live.flatMap((upload) => (upload.temp ? [upload.temp] : [])));
  const orphanTemporaries = input.temporaries
    .filter((temp) => {
      if (inUse.has(temp.id)) return false;
      const owner = ownerOfTemporary(temp.id);
      // A temporary is made just before its upload is recorded: give a live owner its lease's time.
      if (owner !== null && !input.isOwnerAlive(owner)) return true;
      return temp.modifiedAt.getTime() < cutoff;
    })
    .map((temp) => temp.id);
  return {
    stranded,
    orphanBlobs: input.blobs.filter((key) => !held.has(key)),
    orphanTemporaries,
    missingBlobs: input.holders
      .filter((holder) => holder.blobKey && HOLDS_DATA.has(holder.status) && !present.has(holder.blobKey))
      .map((holder) => ({ imageId: holder.id, key: holder.blobKey as string })),
  };
}

export interface ReconcileReport extends Omit<ReconcilePlan, 'stranded'> {
  dryRun: boolean;
  /** Images put back to `queued` (or, in a dry run, that would be). */
  requeued: string[];
}

export interface UploadRecoveryOptions {
  images: ImageRepository;
  blobs: BlobStore;
  events: EventRecorder;
  clock: Clock;
  leaseMs: number;
  isOwnerAlive(owner: string): boolean;
  /** Import tasks: an import taken back fails its task, saying why. */
  tasks?: TaskRepository;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export class UploadRecovery {
  readonly #o: UploadRecoveryOptions;
  #running: Promise<ReconcileReport> | null = null;

  constructor(options: UploadRecoveryOptions) {
    this.#o = options;
  }

  /** Finds and (unless `dryRun`) fixes what crashes left; one run at a time in a process. */
  reconcile(options: { dryRun?: boolean } = {}): Promise<ReconcileReport> {
    if (options.dryRun) return this.#reconcile(true);
    this.#running ??= this.#reconcile(false).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #reconcile(dryRun: boolean): Promise<ReconcileReport> {
    const { images, blobs } = this.#o;
    // Store listings first, database second: data that exists before the snapshot of who holds it is
    // never mistaken for an orphan by an upload that finishes in between.
    const temporaries = await collect(blobs.listTemporaries());
    const keys = await collect(blobs.list());
    const uploads = await images.listUploads();
    const holders = await images.listBlobHolders();
    const plan = planReconciliation({
      uploads,
      holders,
      blobs: keys,
      temporaries,
      now: this.#o.clock.now(),
      leaseMs: this.#o.leaseMs,
      isOwnerAlive: (owner) => this.#o.isOwnerAlive(owner),
    });
    const report: ReconcileReport = {
      dryRun,
      requeued: plan.stranded.map((upload) => upload.id),
      orphanBlobs: plan.orphanBlobs,
      orphanTemporaries: plan.orphanTemporaries,
      missingBlobs: plan.missingBlobs,
    };
    if (dryRun) return report;
    report.requeued = [];
    for (const upload of plan.stranded) if (await this.#requeue(upload)) report.requeued.push(upload.id);
    for (const key of plan.orphanBlobs) await blobs.delete(key);
    for (const id of plan.orphanTemporaries) await blobs.discardTemporary(id);
    return report;
  }

  /**
   * Takes a stranded upload back: first the image (only if its lease is exactly as seen, so an upload
   * that renewed meanwhile keeps going), then its data. Dying in between leaves a queued image and data
   * nobody holds, which the next run removes; a new upload of the image replaces a stale blob itself.
   */
  async #requeue(upload: UploadInFlight): Promise<boolean> {
    const stamp = toGlanceTimestamp(this.#o.clock.now());
    const taken = await this.#o.events.withEvents(async (record) => {
      const released = await this.#o.images.releaseUpload(upload.id, upload.owner, stamp, upload.heartbeat);
      if (released) {
        record({
          type: 'image.upload_abandoned',
          actor: null,
          subjectId: upload.id,
          details: { owner: upload.owner, last_heartbeat: upload.heartbeat || null },
        });
      }
      return released;
    });
    if (!taken) return false;
    if (upload.temp) await this.#o.blobs.discardTemporary(upload.temp);
    await this.#o.blobs.delete(upload.id);
    await this.#o.blobs.delete(stagingKey(upload.id));
    if (upload.status === 'importing') await this.#failImportTasks(upload.id, stamp);
    return true;
  }

  /** The tasks of an import whose process died end in `failure`, so nobody waits for them. */
  async #failImportTasks(imageId: string, stamp: string): Promise<void> {
    const tasks = this.#o.tasks;
    if (!tasks) return;
    const expires = toGlanceTimestamp(new Date(this.#o.clock.now().getTime() + TASK_TIME_TO_LIVE_MS));
    for (const task of await tasks.listImageTasks(imageId)) {
      if (task.status !== 'pending' && task.status !== 'processing') continue;
      await tasks.updateTask(
        {
          ...task,
          status: 'failure',
          message: 'The import was interrupted (the process running it stopped); the image is queued again.',
          updated_at: stamp,
          expires_at: expires,
        },
        task.status,
      );
    }
  }
}

// The composition root: the one place that turns a configuration and a clock into services. It picks
// the adapters (metadata: SQLite or PostgreSQL; blobs: the filesystem or S3), wires the domain-event stream
// to the transparency log, and hands back services typed by what they do, never by what stores them.

import { stat } from 'node:fs/promises';
import { ContainerTrustService } from '../admission/index.ts';
import { AuditLog, AuditReader, toAuditLeaf } from '../audit/index.ts';
import {
  type BlobStore,
  CatalogService,
  createSignerTrustCheck,
  createUploadSignatureCheck,
  GovernanceService,
  type ImageRepository,
  type ReconcileReport,
  UploadRecovery,
} from '../catalog/index.ts';
import { type ImageTrustConfig, resolveStoragePaths } from '../config/index.ts';
import { NotFoundError } from '../errors/index.ts';
import { DomainEventStream, type EventOutbox } from '../events/index.ts';
import {
  type Credentials,
  createAuthorizer,
  IdentityService,
  type PolicyAuthorizer,
} from '../identity/index.ts';
import { keyringFromBase64, SecretService } from '../keys/index.ts';
import { MetadefService } from '../metadefs/index.ts';
import { readProvenanceAttestation } from '../pipeline/provenance/index.ts';
import {
  appliedSchemaVersion,
  closeDigestWorkers,
  createDigester,
  createWebDownloader,
  FileBlobStore,
  FileKeyring,
  FileTreeHeadPin,
  openAuditSigningKey,
  openDatabase,
  openDataDirectory,
  openLoginNameKey,
  openS3BlobStore,
  SCHEMA_VERSION,
  SqlAuditRepository,
  SqlContainerTrustRepository,
  SqlEventOutbox,
  SqlIdentityRepository,
  SqlImageRepository,
  SqlJobLeases,
  SqlMetadefRepository,
  SqlReleaseRepository,
  SqlSecretRepository,
  SqlTaskRepository,
  staticKeyring,
} from '../storage/index.ts';
import { type Clock, systemClock } from './clock.ts';
import { failpointsFromEnvironment } from './failpoints.ts';
import {
  loadMetadefDefinitions,
  type MetadefLoadReport,
  resolveMetadefDirectory,
} from './metadef-definitions.ts';
import { ServiceMetrics } from './metrics.ts';
import { loadProvenanceKeys } from './provenance-keys.ts';
import { createUploadOwner } from './upload-owner.ts';

/** Every service the server and the local commands use, typed by their own interfaces. */
export interface Services {
  clock: Clock;
  authorizer: PolicyAuthorizer;
  events: DomainEventStream;
  audit: AuditLog;
  /** The log as the audit API serves it: every read behind its audit:* rule. */
  auditReader: AuditReader;
  identity: IdentityService;
  catalog: CatalogService;
  governance: GovernanceService;
  secrets: SecretService;
  containers: ContainerTrustService;
  /** Glance's metadata definitions (metadefs). */
  metadefs: MetadefService;
  /** Finds and fixes what crashes left: abandoned uploads, data no image holds, missing data. */
  recovery: UploadRecovery;
  /** Readiness probes by part (GET /readyz): each resolves when its part works, or rejects saying why. */
  readiness: Record<string, () => Promise<void>>;
  /** This process's figures for GET /metrics. */
  metrics: ServiceMetrics;
  /**
   * Starts what runs on its own: lifecycle schedules, and delivery of events a failed or crashed
   * delivery left in the outbox. Returns the function that stops it.
   */
  startBackgroundWork(options: BackgroundWorkOptions): () => Promise<void>;
  close(): Promise<void>;
}

export interface BackgroundWorkOptions {
  scheduleIntervalMs: number;
  onError(what: string, error: Error): void;
}

/** Adapters a test (or an embedder) may wrap before the services get them, e.g. to inject a failure. */
export interface AdapterWrappers {
  eventOutbox?: (outbox: EventOutbox) => EventOutbox;
  images?: (images: ImageRepository) => ImageRepository;
  blobs?: (blobs: BlobStore) => BlobStore;
}

/** Programmatic settings that have no configuration key (embedding and tests). */
export interface ServiceOptions {
  /** The time every service reads; the machine's clock unless a test drives its own. */
  clock?: Clock;
  adapters?: AdapterWrappers;
  /** Registries (`host:port`) the container decision API reaches without TLS verification. */
  insecureRegistries?: string[];
  /** Told when a reloaded policy file cannot be used (the rules in force stay). */
  onPolicyError?: (error: Error) => void;
  /** Told when events could not be delivered to a subscriber (they stay in the outbox and are retried). */
  onEventDeliveryError?: (subscriber: string, error: Error) => void;
  /** Recover abandoned uploads and stray data before returning (default true; `blobs reconcile` says false). */
  recoverAtStart?: boolean;
  /** Told what loading the metadata-definition files at start did (none loaded when read-only). */
  onMetadefsLoaded?: (report: MetadefLoadReport) => void;
  /** Told what recovery found and fixed, at start and on each periodic run. */
  onRecovery?: (report: ReconcileReport) => void;
  /**
   * For commands that only read (`user list`, `audit verify`, ...): the data directory and the SQLite
   * file must exist already, and nothing is recovered at start. A missing store is NOT_FOUND, never made.
   */
  readOnly?: boolean;
}

/** Refuses (NOT_FOUND, saying where it looked) when the data directory or the SQLite database is missing. */
export async function assertStoreExists(config: ImageTrustConfig): Promise<void> {
  const { dataDir, databaseUrl } = resolveStoragePaths(config);
  const sqliteFile = databaseUrl.startsWith('sqlite:')
    ? databaseUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    : undefined;
  // PostgreSQL is a server the operator made; only the data directory beside it is looked for.
  for (const place of [dataDir, ...(sqliteFile ? [sqliteFile] : [])]) {
    try {
      await stat(place);
    } catch {
      throw new NotFoundError(
        `No imagetrust store at ${place}: nothing to read. Give the store with --data-dir or --database (or $IMAGETRUST_DATA_DIR), or create it with \`imagetrust serve\` or \`imagetrust project create\`.`,
      );
    }
  }
}

/** How often events left in the outbox (a failed delivery, another process that died) are retried. */
const REDELIVERY_INTERVAL_MS = 5000;
/**
 * The shortest a background job's lease lasts (it is otherwise three of the job's intervals): a holder
 * on another host that stops renewing is replaced after this long; one on this host, as soon as it is gone.
 */
const MIN_JOB_LEASE_MS = 15_000;

/** The jobs that run in the background, one process at a time (their names in leases and metrics). */
export type BackgroundJob = 'lifecycle_schedules' | 'upload_recovery';

export async function openServices(
  config: ImageTrustConfig,
  options: ServiceOptions = {},
): Promise<Services> {
  if (options.readOnly) await assertStoreExists(config);
  const clock = options.clock ?? systemClock;
  const wrap = options.adapters ?? {};
  const {
    dataDir,
    databaseUrl,
    blobDir,
    kekFile,
    auditSigningKeyFile,
    auditHeadFile,
    loginNameKeyFile,
    s3StagingDir,
  } = resolveStoragePaths(config);
  // Before anything is made in it: a data directory other users can enter is refused.
  await openDataDirectory(dataDir);
  const signer = await openAuditSigningKey(auditSigningKeyFile);
  // Unreadable trusted build keys stop the start, before anything is opened.
  const provenanceKeys = await loadProvenanceKeys(config.provenance.trustedKeys);
  const loginNameKey = await openLoginNameKey(loginNameKeyFile);
  // The keyring first: a bad or unreadable keyring stops the start before anything is opened.
  const keyring = config.keys.kek
    ? staticKeyring(keyringFromBase64('env', config.keys.kek, 'IMAGETRUST_KEK'))
    : await new FileKeyring(kekFile).open();
  const db = await openDatabase(databaseUrl);
  const outbox = new SqlEventOutbox(db);
  const events = new DomainEventStream({
    outbox: wrap.eventOutbox ? wrap.eventOutbox(outbox) : outbox,
    transactions: { run: (work) => db.transaction(() => work()) },
    clock,
    // A malformed event (a secret in its details) is refused in the caller's stack, before it commits.
    validate: (event) => void toAuditLeaf(event, 0, clock.now()),
    onDeliveryError: options.onEventDeliveryError,
  });
  const pin = new FileTreeHeadPin(auditHeadFile);
  const auditRepository = new SqlAuditRepository(db);
  const metrics = new ServiceMetrics({
    now: () => clock.now(),
    treeHeadSignedAt: async () => (await auditRepository.latestTreeHead())?.timestamp ?? null,
  });
  const audit = new AuditLog({
    repository: auditRepository,
    signer,
    clock,
    pin,
    onAppended: (entries) => metrics.observeAuditEntries(entries),
  });
  // A log whose newest entries were changed or deleted (even with their heads) stops the start.
  await audit.checkAtStart().catch(async (error) => {
    await db.close();
    throw error;
  });
  events.subscribe(audit);
  // A broken policy file stops the start with its line; at a reload the rules in force stay.
  let authorizer: PolicyAuthorizer;
  try {
    authorizer = createAuthorizer({
      policyFile: config.policy.file || undefined,
      policyDirs: config.policy.dirs,
      onError: (error) => options.onPolicyError?.(error),
      onChange: (change) => {
        events
          .record({
            type: 'policy.changed',
            actor: null,
            details: { files: change.files, digest: change.digest },
          })
          .catch((error) => options.onEventDeliveryError?.('policy.changed', error as Error));
      },
    });
  } catch (error) {
    await db.close();
    throw error;
  }
  authorizer = metrics.meterAuthorizer(authorizer);
  const owner = createUploadOwner();
  const leaseMs = config.uploads.leaseSeconds * 1000;
  let baseBlobs: BlobStore;
  let closeBlobs = () => {};
  try {
    if (config.blobs.backend === 's3') {
      const s3 = await openS3BlobStore(config.blobs.s3, {
        tempPrefix: owner.id,
        stagingDir: s3StagingDir,
      });
      closeBlobs = () => s3.close();
      baseBlobs = s3;
    } else {
      baseBlobs = await new FileBlobStore(blobDir, { tempPrefix: owner.id }).open(clock.now());
    }
  } catch (error) {
    await db.close();
    throw error;
  }
  const blobs = metrics.meterBlobs(wrap.blobs ? wrap.blobs(baseBlobs) : baseBlobs);
  const identity = new IdentityService({
    repository: new SqlIdentityRepository(db),
    tokenTtlSeconds: config.tokens.ttlSeconds,
    adminProjectName: config.identity.adminProject,
    adminOnAnyProject: config.identity.adminOnAnyProject,
    clock,
    authorizer,
    loginNameKey,
  });
  await identity.ensureBuiltinRoles();
  const secrets = new SecretService({
    secrets: new SqlSecretRepository(db),
    keyring,
    authorizer,
    events,
    clock,
  });
  const containers = new ContainerTrustService({
    repository: new SqlContainerTrustRepository(db),
    authorizer,
    events,
    clock,
    insecureRegistries: options.insecureRegistries,
    internalHosts: config.containers.internalHosts,
  });
  const required = new Set(config.trust.signaturesRequiredProjects);
  const signaturesRequired = async (projectId: string | null) => {
    if (required.size === 0 || projectId === null) return false;
    if (required.has(projectId)) return true;
    const project = await identity.repository.findProject(projectId);
    return project !== null && required.has(project.name);
  };
  const certificates = {
    forCaller: (credentials: Credentials, id: string) => secrets.getSecretForVerification(credentials, id),
    trusted: (id: string) => secrets.getTrustedSecret(id),
  };
  const tasks = new SqlTaskRepository(db);
  const leases = new SqlJobLeases(db);
  const importFilter = {
    allowedSchemes: config.import.webDownload.allowedSchemes,
    disallowedSchemes: config.import.webDownload.disallowedSchemes,
    allowedHosts: config.import.webDownload.allowedHosts,
    disallowedHosts: config.import.webDownload.disallowedHosts,
    allowedPorts: config.import.webDownload.allowedPorts,
    disallowedPorts: config.import.webDownload.disallowedPorts,
  };
  const sqlImages = new SqlImageRepository(db);
  const images = wrap.images ? wrap.images(sqlImages) : sqlImages;
  const catalog = new CatalogService({
    images,
    readCertificate: (id) => secrets.getTrustedSecret(id),
    authorizer,
    events,
    clock,
    allowDirectPublish: config.release.allowDirectPublish,
    blobs,
    digester: (algorithms, digestOptions) => createDigester(algorithms, digestOptions),
    upload: { owner: owner.id, renewEveryMs: leaseMs / 3, maxConcurrent: config.uploads.maxConcurrent },
    failpoint: failpointsFromEnvironment(),
    limits: config.images,
    tasks,
    importMethods: config.import.methods,
    webDownload: {
      filter: importFilter,
      maxBytes: config.import.webDownload.maxBytes || config.images.sizeCap,
      fetch: createWebDownloader({
        filter: importFilter,
        internalHosts: config.import.webDownload.internalHosts,
        idleMs: config.import.webDownload.idleSeconds * 1000,
      }),
    },
    // Certificates come from our key manager: as the uploader sees it (castellan uses the caller's
    // token), and trust anchors with the service's own authority.
    signatureCheck: createUploadSignatureCheck({
      certificates,
      trustedCertificateIds: config.trust.trustedCertificateIds,
      requireTrustedCertificate: config.trust.requireTrustedCertificate,
      signaturesRequired,
      now: () => clock.now(),
    }),
  });
  const governance = new GovernanceService({
    images,
    authorizer,
    events,
    clock,
    releases: new SqlReleaseRepository(db),
    findVisibleImage: (credentials, id) => catalog.getImage(credentials, id),
    requireComplianceReport: config.release.requireComplianceReport,
    requireBootTest: config.release.requireBootTest,
    requireProvenance: config.release.requireProvenance,
    verifyProvenance: provenanceKeys.length
      ? (envelope) => readProvenanceAttestation(envelope, provenanceKeys)
      : undefined,
    signaturesRequired,
    signerTrustProblem: createSignerTrustCheck({
      certificates,
      trustedCertificateIds: config.trust.trustedCertificateIds,
      now: () => clock.now(),
    }),
  });
  const failpoint = failpointsFromEnvironment();
  const metadefRepository = new SqlMetadefRepository(db, { failpoint });
  const metadefs = new MetadefService({
    repository: metadefRepository,
    authorizer,
    clock,
    events,
    limits: { default: config.images.defaultPageSize, max: config.images.maxPageSize },
  });
  if (config.metadefs.load && !options.readOnly) {
    try {
      const directory = await resolveMetadefDirectory(config.metadefs.directory);
      options.onMetadefsLoaded?.(
        await loadMetadefDefinitions({ repository: metadefRepository, directory, clock, failpoint }),
      );
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  const recovery = new UploadRecovery({
    images,
    blobs,
    events,
    clock,
    leaseMs,
    isOwnerAlive: (other) => owner.isAlive(other),
    tasks,
  });
  // Events a previous run committed but never delivered (it died in between) reach the log now.
  await events.deliver();
  // Uploads a previous run of this host left behind are taken back before anyone can trip on them.
  if (options.recoverAtStart ?? !options.readOnly) {
    try {
      options.onRecovery?.(await recovery.reconcile());
    } catch (error) {
      await db.close();
      closeBlobs();
      throw error;
    }
  }
  return {
    clock,
    authorizer,
    events,
    audit,
    auditReader: new AuditReader({
      log: audit,
      authorizer,
      // An image's history belongs to the project that owns the image in the catalog (deleted images
      // keep their record), whatever other subjects' events share its id.
      projectOfImage: async (_caller, id) => (await images.findImage(id))?.owner ?? null,
    }),
    identity,
    catalog,
    governance,
    secrets,
    containers,
    metadefs,
    recovery,
    metrics,
    readiness: {
      database: async () => {
        await db.query('SELECT 1');
      },
      blobs: async () => {
        await blobs.countTemporaries();
      },
      // Another process may have migrated the shared database past what this one knows.
      schema: async () => {
        const applied = await appliedSchemaVersion(db);
        if (applied !== SCHEMA_VERSION) {
          throw new Error(
            `the database schema is version ${applied}; this imagetrust needs ${SCHEMA_VERSION}`,
          );
        }
      },
    },
    startBackgroundWork({ scheduleIntervalMs, onError }) {
      // Each job runs in one process at a time, whichever holds its lease; the others stand by and take
      // over when the holder stops, dies (at once on this host) or lapses. A run that overlaps its own
      // previous one in this process is skipped rather than stacked.
      const running = new Set<string>();
      const held = new Set<string>();
      const leased =
        (job: BackgroundJob, intervalMs: number, what: string, work: () => Promise<void>) => () => {
          if (running.has(job)) return;
          running.add(job);
          const ttlMs = Math.max(3 * intervalMs, MIN_JOB_LEASE_MS);
          leases
            .claim(job, owner.id, clock.now(), ttlMs, (holder) => owner.isAlive(holder))
            .then(async (claim) => {
              if (!claim.held) {
                held.delete(job);
                metrics.jobRun(job, 'standby');
                return;
              }
              held.add(job);
              await work();
              metrics.jobRun(job, 'ok');
            })
            .catch((error) => {
              metrics.jobRun(job, 'failed');
              onError(what, error);
            })
            .finally(() => running.delete(job));
        };
      // Scheduled deprecations and obsolescences happen on time without an operator. Reads already
      // apply due schedules; this stores them and logs each change once.
      const applySchedules = leased(
        'lifecycle_schedules',
        scheduleIntervalMs,
        'Applying lifecycle schedules failed',
        async () => {
          await governance.applyDueSchedules();
        },
      );
      // Uploads of processes that died elsewhere are found once their lease runs out.
      const reconcile = leased(
        'upload_recovery',
        leaseMs,
        'Recovering abandoned uploads failed',
        async () => {
          options.onRecovery?.(await recovery.reconcile());
        },
      );
      const scheduler = setInterval(applySchedules, scheduleIntervalMs);
      const redelivery = setInterval(() => void events.deliver(), REDELIVERY_INTERVAL_MS);
      const reconciler = setInterval(reconcile, leaseMs);
      scheduler.unref();
      redelivery.unref();
      reconciler.unref();
      applySchedules();
      return async () => {
        clearInterval(scheduler);
        clearInterval(redelivery);
        clearInterval(reconciler);
        // Handed over at once rather than when the lease lapses; a database already gone keeps it until then.
        await Promise.all([...held].map((job) => leases.release(job, owner.id).catch(() => false)));
      };
    },
    async close() {
      // Imports still running (a caller that did not abort them) end before the database closes.
      await catalog.settleImports();
      await db.close();
      closeBlobs();
      await closeDigestWorkers();
    },
  };
}

// Wires a configuration into a running service: database, blob store, services, HTTP app, listener.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ContainerTrustService } from '../admission/index.ts';
import { AuditLog, AuditReader } from '../audit/index.ts';
import {
  CatalogService,
  createSignerTrustCheck,
  createUploadSignatureCheck,
  GovernanceService,
} from '../catalog/index.ts';
import { type ImageTrustConfig, resolveStoragePaths } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import {
  type Credentials,
  createAuthorizer,
  type IdentityClock,
  IdentityService,
  type PolicyAuthorizer,
} from '../identity/index.ts';
import { keyringFromBase64, SecretService } from '../keys/index.ts';
import {
  closeDigestWorkers,
  createDigester,
  FileBlobStore,
  FileKeyring,
  openAuditSigningKey,
  openDatabase,
  SqlAuditRepository,
  SqlContainerTrustRepository,
  type SqlDatabase,
  SqlIdentityRepository,
  SqlImageRepository,
  SqlReleaseRepository,
  SqlSecretRepository,
  staticKeyring,
  warmDigestWorkers,
} from '../storage/index.ts';
import { createApp, type ImageTrustApp } from './app.ts';

export interface Services {
  db: SqlDatabase;
  authorizer: PolicyAuthorizer;
  audit: AuditLog;
  identity: IdentityService;
  catalog: CatalogService;
  governance: GovernanceService;
  secrets: SecretService;
  containers: ContainerTrustService;
  blobs: FileBlobStore;
  close(): Promise<void>;
}

/** Opens storage and builds the services (the CLI's local admin commands use this without a server). */
/** Programmatic settings that have no configuration key (embedding and tests). */
export interface ServiceOptions {
  /** Registries (`host:port`) the container decision API reaches without TLS verification. */
  insecureRegistries?: string[];
  /** Told when a reloaded policy file cannot be used (the rules in force stay). */
  onPolicyError?: (error: Error) => void;
  /** Told when an event could not be written to the transparency log. */
  onAuditError?: (error: Error) => void;
  /** Identity's clock (token issue and expiry); the system clock when left out. */
  clock?: IdentityClock;
}

export async function openServices(
  config: ImageTrustConfig,
  options: ServiceOptions = {},
): Promise<Services> {
  const { databaseUrl, blobDir, kekFile, auditSigningKeyFile } = resolveStoragePaths(config);
  const signer = await openAuditSigningKey(auditSigningKeyFile);
  // The keyring first: a bad or unreadable keyring stops the start before anything is opened.
  const keyring = config.keys.kek
    ? staticKeyring(keyringFromBase64('env', config.keys.kek, 'IMAGETRUST_KEK'))
    : await new FileKeyring(kekFile).open();
  const db = await openDatabase(databaseUrl);
  const audit = new AuditLog({ repository: new SqlAuditRepository(db), signer });
  const record = (event: Parameters<AuditLog['append']>[0]) =>
    audit.append(event).catch((error) => options.onAuditError?.(error as Error));
  // A broken policy file stops the start with its line; at a reload the rules in force stay.
  let authorizer: PolicyAuthorizer;
  try {
    authorizer = createAuthorizer({
      policyFile: config.policy.file || undefined,
      policyDirs: config.policy.dirs,
      onError: (error) => options.onPolicyError?.(error),
      onChange: (change) => {
        void record({
          type: 'policy.changed',
          actor: null,
          details: { files: change.files, digest: change.digest },
        });
      },
    });
  } catch (error) {
    await db.close();
    throw error;
  }
  const blobs = await new FileBlobStore(blobDir).open();
  const identity = new IdentityService({
    repository: new SqlIdentityRepository(db),
    tokenTtlSeconds: config.tokens.ttlSeconds,
    clock: options.clock ?? { now: () => new Date() },
    authorizer,
  });
  await identity.ensureBuiltinRoles();
  const secrets = new SecretService({ secrets: new SqlSecretRepository(db), keyring, authorizer, audit });
  const containers = new ContainerTrustService({
    repository: new SqlContainerTrustRepository(db),
    authorizer,
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
  const images = new SqlImageRepository(db);
  const catalog = new CatalogService({
    images,
    readCertificate: (id) => secrets.getTrustedSecret(id),
    authorizer,
    audit,
    allowDirectPublish: config.release.allowDirectPublish,
    blobs,
    digester: (algorithms, options) => createDigester(algorithms, options),
    limits: config.images,
    // Certificates come from our key manager: as the uploader sees it (castellan uses the caller's
    // token), and trust anchors with the service's own authority.
    signatureCheck: createUploadSignatureCheck({
      certificates,
      trustedCertificateIds: config.trust.trustedCertificateIds,
      requireTrustedCertificate: config.trust.requireTrustedCertificate,
      signaturesRequired,
    }),
  });
  const governance = new GovernanceService({
    images,
    authorizer,
    audit,
    releases: new SqlReleaseRepository(db),
    findVisibleImage: (credentials, id) => catalog.getImage(credentials, id),
    requireComplianceReport: config.release.requireComplianceReport,
    signaturesRequired,
    signerTrustProblem: createSignerTrustCheck({
      certificates,
      trustedCertificateIds: config.trust.trustedCertificateIds,
    }),
  });
  return {
    db,
    authorizer,
    audit,
    identity,
    catalog,
    governance,
    secrets,
    containers,
    blobs,
    async close() {
      await db.close();
      await closeDigestWorkers();
    },
  };
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host) || (isIP(host) === 6 && host === '::1');
}

export interface RunningServer {
  url: string;
  services: Services;
  app: ImageTrustApp;
  /** Set on first start when the admin password was generated. */
  generatedAdminPassword?: string;
  stop(): Promise<void>;
}

export async function startServer(
  config: ImageTrustConfig,
  options: ServiceOptions = {},
): Promise<RunningServer> {
  const tls = Boolean(config.tls.cert);
  if (!tls && !isLoopback(config.listen.host) && !config.allowInsecureHttp) {
    throw new ConfigError(
      `Refusing plain HTTP on ${config.listen.host}: image data and tokens must travel over TLS. ` +
        'Give --tls-cert and --tls-key, listen on 127.0.0.1, or pass --allow-insecure-http if a TLS proxy sits in front.',
    );
  }
  let https: Parameters<typeof createApp>[0]['https'] = null;
  if (tls) {
    try {
      https = {
        cert: readFileSync(config.tls.cert),
        key: readFileSync(config.tls.key),
        ...(config.tls.clientCa
          ? { ca: readFileSync(config.tls.clientCa), requestCert: true, rejectUnauthorized: true }
          : {}),
      };
    } catch (error) {
      throw new ConfigError(`Cannot read TLS material: ${(error as Error).message}`, { cause: error });
    }
  }
  // Until the app's logger exists, problems found in the background go to stderr as one line each.
  const report = (what: string) => (error: Error) => {
    process.stderr.write(
      `${JSON.stringify({ level: 'error', time: new Date().toISOString(), msg: `${what}: ${error.message}` })}\n`,
    );
  };
  const services = await openServices(config, {
    onPolicyError: report('The policy file could not be reloaded; the rules in force stay'),
    onAuditError: report('An event could not be written to the transparency log'),
    ...options,
  });
  warmDigestWorkers();
  // Which policy a server started with belongs in the log as much as later changes to it.
  const policy = services.authorizer.enforcer.source();
  if (policy.files.length > 0) {
    await services.audit.append({
      type: 'policy.loaded',
      actor: null,
      details: { files: policy.files, digest: policy.digest },
    });
  }
  const boot = await services.identity.bootstrap(config.adminPassword || undefined);
  const app = createApp({
    auditReader: new AuditReader({ log: services.audit, authorizer: services.authorizer }),
    onLoginFailure: async (failure) => {
      await services.audit.append({
        type: 'identity.login_failed',
        actor: null,
        details: {
          user: failure.userName,
          domain: failure.domain,
          method: failure.method,
          reason: failure.reason,
        },
      });
    },
    catalog: services.catalog,
    governance: services.governance,
    identity: services.identity,
    secrets: services.secrets,
    containers: services.containers,
    publicUrl: config.publicUrl || undefined,
    logLevel: config.logLevel,
    https,
  });
  try {
    await app.app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (error) {
    await services.close();
    throw new ConfigError(
      `Cannot listen on ${config.listen.host}:${config.listen.port}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  // Scheduled deprecations and obsolescences happen on time without an operator. Reads already
  // apply due schedules; this stores them and logs each change once, whichever process gets there first.
  const applySchedules = () =>
    services.governance.applyDueSchedules().catch((error) => {
      app.app.log.error(
        { err: error },
        'Applying lifecycle schedules failed; retrying at the next interval.',
      );
    });
  const scheduler = setInterval(applySchedules, config.lifecycle.scheduleIntervalSeconds * 1000);
  scheduler.unref();
  void applySchedules();
  const address = app.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    services,
    app,
    generatedAdminPassword: boot.generatedPassword,
    async stop() {
      clearInterval(scheduler);
      await app.shutdown();
      await services.close();
    },
  };
}

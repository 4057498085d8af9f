// Wires a configuration into a running service: database, blob store, services, HTTP app, listener.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ContainerTrustService } from '../admission/index.ts';
import { CatalogService, createUploadSignatureCheck } from '../catalog/index.ts';
import { type ImageTrustConfig, resolveStoragePaths } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import { IdentityService } from '../identity/index.ts';
import { keyringFromBase64, SecretService } from '../keys/index.ts';
import {
  closeDigestWorkers,
  createDigester,
  FileBlobStore,
  FileKeyring,
  openDatabase,
  SqlContainerTrustRepository,
  type SqlDatabase,
  SqlIdentityRepository,
  SqlImageRepository,
  SqlSecretRepository,
  staticKeyring,
  warmDigestWorkers,
} from '../storage/index.ts';
import { createApp, type ImageTrustApp } from './app.ts';

export interface Services {
  db: SqlDatabase;
  identity: IdentityService;
  catalog: CatalogService;
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
}

export async function openServices(
  config: ImageTrustConfig,
  options: ServiceOptions = {},
): Promise<Services> {
  const { databaseUrl, blobDir, kekFile } = resolveStoragePaths(config);
  // The keyring first: a bad or unreadable keyring stops the start before anything is opened.
  const keyring = config.keys.kek
    ? staticKeyring(keyringFromBase64('env', config.keys.kek, 'IMAGETRUST_KEK'))
    : await new FileKeyring(kekFile).open();
  const db = await openDatabase(databaseUrl);
  const blobs = await new FileBlobStore(blobDir).open();
  const identity = new IdentityService({
    repository: new SqlIdentityRepository(db),
    tokenTtlSeconds: config.tokens.ttlSeconds,
  });
  await identity.ensureBuiltinRoles();
  const secrets = new SecretService({ secrets: new SqlSecretRepository(db), keyring });
  const containers = new ContainerTrustService({
    repository: new SqlContainerTrustRepository(db),
    insecureRegistries: options.insecureRegistries,
  });
  const required = new Set(config.trust.signaturesRequiredProjects);
  const catalog = new CatalogService({
    images: new SqlImageRepository(db),
    blobs,
    digester: (algorithms, options) => createDigester(algorithms, options),
    limits: config.images,
    // Certificates come from our key manager: as the uploader sees it (castellan uses the caller's
    // token), and trust anchors with the service's own authority.
    signatureCheck: createUploadSignatureCheck({
      certificates: {
        forCaller: (credentials, id) => secrets.getSecretForVerification(credentials, id),
        trusted: (id) => secrets.getTrustedSecret(id),
      },
      trustedCertificateIds: config.trust.trustedCertificateIds,
      requireTrustedCertificate: config.trust.requireTrustedCertificate,
      async signaturesRequired(projectId) {
        if (required.size === 0 || projectId === null) return false;
        if (required.has(projectId)) return true;
        const project = await identity.repository.findProject(projectId);
        return project !== null && required.has(project.name);
      },
    }),
  });
  return {
    db,
    identity,
    catalog,
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
  const services = await openServices(config, options);
  warmDigestWorkers();
  const boot = await services.identity.bootstrap(config.adminPassword || undefined);
  const app = createApp({
    catalog: services.catalog,
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
  const address = app.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    services,
    app,
    generatedAdminPassword: boot.generatedPassword,
    async stop() {
      await app.shutdown();
      await services.close();
    },
  };
}

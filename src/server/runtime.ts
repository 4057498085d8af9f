// Runs the service: services from the composition root (app/), the HTTP app, the listener and the
// background work, and stops them in order.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { openServices, type ServiceOptions, type Services } from '../app/index.ts';
import type { ImageTrustConfig } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import { warmDigestWorkers } from '../storage/index.ts';
import { createApp, type ImageTrustApp } from './app.ts';

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
    onRecovery: (found) => {
      const repaired = found.requeued.length + found.orphanBlobs.length + found.orphanTemporaries.length;
      if (repaired + found.missingBlobs.length === 0) return;
      process.stderr.write(
        `${JSON.stringify({ level: found.missingBlobs.length ? 'error' : 'warn', time: new Date().toISOString(), msg: 'Recovered after a crash', requeued: found.requeued, orphanBlobs: found.orphanBlobs.length, orphanTemporaries: found.orphanTemporaries.length, missingBlobs: found.missingBlobs })}\n`,
      );
    },
    onMetadefsLoaded: (loaded) => {
      if (loaded.failed.length === 0) return;
      process.stderr.write(
        `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: 'Some metadata-definition files were not loaded; they are tried again at the next start', directory: loaded.directory, failed: loaded.failed })}\n`,
      );
    },
    onEventDeliveryError: (subscriber, error) =>
      report(`Events could not be delivered to ${subscriber}; they wait in the outbox and are retried`)(
        error,
      ),
    ...options,
  });
  warmDigestWorkers();
  // Which policy a server started with belongs in the log as much as later changes to it.
  const policy = services.authorizer.enforcer.source();
  if (policy.files.length > 0) {
    await services.events.record({
      type: 'policy.loaded',
      actor: null,
      details: { files: policy.files, digest: policy.digest },
    });
  }
  const boot = await services.identity.bootstrap(config.adminPassword || undefined);
  const app = createApp({
    auditReader: services.auditReader,
    clock: services.clock,
    bodyLimits: {
      upload: {
        idleMs: config.uploads.bodyIdleSeconds * 1000,
        minBytesPerSecond: config.uploads.minBytesPerSecond,
        rateWindowMs: config.uploads.rateWindowSeconds * 1000,
      },
      jsonMs: config.uploads.jsonBodySeconds * 1000,
    },
    onLoginFailure: async (failure) => {
      // A name that names no user may be a password typed in the wrong field: the log gets its HMAC.
      const user = await services.identity.failedLoginUser(failure.userName, failure.domain);
      await services.events.record({
        type: 'identity.login_failed',
        actor: null,
        details: {
          ...user,
          domain: failure.domain,
          method: failure.method,
          reason: failure.reason,
        },
      });
    },
    readiness: services.readiness,
    metrics: services.metrics,
    metricsAllowFrom: config.metrics.allowFrom,
    catalog: services.catalog,
    governance: services.governance,
    identity: services.identity,
    secrets: services.secrets,
    containers: services.containers,
    metadefs: services.metadefs,
    publicUrl: config.publicUrl || undefined,
    trustedProxies: config.trustedProxies,
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
  const stopBackgroundWork = services.startBackgroundWork({
    scheduleIntervalMs: config.lifecycle.scheduleIntervalSeconds * 1000,
    onError: (what, error) => app.app.log.error({ err: error }, `${what}; retrying at the next interval.`),
  });
  const address = app.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    services,
    app,
    generatedAdminPassword: boot.generatedPassword,
    async stop() {
      await stopBackgroundWork();
      await app.shutdown();
      await services.close();
    },
  };
}

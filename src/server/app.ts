// Assembles the HTTP application: body parsers, token authentication, the error renderer, and the
// APIs under devstack-style prefixes (/identity, /image, /key-manager) so one client configuration finds them all.

import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { ContainerTrustService } from '../admission/index.ts';
import type { AuditReader } from '../audit/index.ts';
import type { CatalogService, Clock, GovernanceService } from '../catalog/index.ts';
import { AuthError } from '../errors/index.ts';
import type { Credentials, IdentityService } from '../identity/index.ts';
import type { SecretService } from '../keys/index.ts';
import type { MetadefService } from '../metadefs/index.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { resolveBaseUrl, trustedProxyList } from './base-url.ts';
import { limitJsonBodyTime, type UploadBodyLimits } from './body-guard.ts';
import { registerContainerRoutes } from './container-routes.ts';
import { registerGovernanceRoutes } from './governance-routes.ts';
import {
  type Probe,
  registerHealthRoutes,
  registerMetricsRoute,
  type ServerMetrics,
} from './health-routes.ts';
import { dialectOf, sendError, toHttpError } from './http-errors.ts';
import { registerIdentityRoutes } from './identity-routes.ts';
import { registerImageRoutes } from './image-routes.ts';
import { checkRawJsonBody, JSON_BODY_LIMIT, parseJsonBody, refuseNulInUrl } from './json-body.ts';
import { registerMetadefRoutes } from './metadef-routes.ts';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.ts';
import { registerSecretRoutes } from './secret-routes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    credentials?: Credentials;
  }
}

export interface AppOptions {
  catalog: CatalogService;
  /** Lifecycle, compliance reports and releases under /image/v2; left out, they are not served. */
  governance?: GovernanceService;
  /** Keystone at /identity; the service authorizes every call under its own policy. */
  identity: IdentityService;
  /** The transparency log at /audit/v1, read under the audit:* rules; left out, it is not served. */
  auditReader?: AuditReader;
  /** Told of failed logins, for the transparency log. */
  onLoginFailure?: Parameters<typeof registerIdentityRoutes>[1]['onLoginFailure'];
  /** The key manager at /key-manager; left out, the API is not served. */
  secrets?: SecretService;
  /** Glance's metadata definitions at /image/v2/metadefs; left out, they are not served. */
  metadefs?: MetadefService;
  /** The container decision API at /containers/v1; left out, the API is not served. */
  containers?: ContainerTrustService;
  /** Fixed base URL for the service catalog; otherwise derived from each request. */
  publicUrl?: string;
  /**
   * Proxies (IP addresses or CIDR blocks) whose Host, X-Forwarded-Host and X-Forwarded-Proto name the
   * base URL when `publicUrl` is unset; from anyone else the listener's own address is used.
   */
  trustedProxies?: readonly string[];
  /** Readiness probes for GET /readyz by part (database, blobs, schema); /healthz is always served. */
  readiness?: Record<string, Probe>;
  /** This process's figures, served at GET /metrics to the peers `metricsAllowFrom` names. */
  metrics?: ServerMetrics;
  /** IP addresses or CIDR blocks that may read /metrics; empty or left out, it is not served. */
  metricsAllowFrom?: readonly string[];
  /** The time the routes render lifecycle states and schedules at (the services' clock). */
  clock: Clock;
  logLevel?: string;
  /** Time limits on request bodies (uploads: idle and minimum rate; JSON: a deadline). */
  bodyLimits?: { upload: UploadBodyLimits; jsonMs: number };
  https?: {
    key: Buffer;
    cert: Buffer;
    ca?: Buffer;
    requestCert?: boolean;
    rejectUnauthorized?: boolean;
  } | null;
}

export interface ImageTrustApp {
  app: FastifyInstance;
  /** Aborts every in-flight upload (each returns its image to queued) and closes the server. */
  shutdown(): Promise<void>;
}

export const JSON_TYPES = [
  'application/json',
  'application/openstack-images-v2.0-json-patch',
  'application/openstack-images-v2.1-json-patch',
];

export function createApp(options: AppOptions): ImageTrustApp {
  const trustedProxies = trustedProxyList(options.trustedProxies ?? []);
  const app = Fastify({
    // Glance's request ids (req-<uuid>), named `requestId` in every log line of the request.
    genReqId: (raw: Parameters<typeof requestIdOf>[0]) => requestIdOf(raw, trustedProxies),
    requestIdHeader: false,
    exposeHeadRoutes: false,
    logger: {
      level: options.logLevel ?? 'info',
      // Tokens and passwords travel in these; never log them.
      // Secret payloads are never logged either, should a body ever reach a log line.
      redact: [
        'req.headers["x-auth-token"]',
        'req.headers["x-subject-token"]',
        'req.headers.authorization',
        'payload',
        '*.payload',
      ],
    },
    ...(options.https ? { https: options.https } : {}),
    bodyLimit: JSON_BODY_LIMIT,
    // Our own request lines (below) name the route, status and duration; Fastify's name neither route nor method.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Tag names may be long; Fastify's default of 100 characters would 404 a 255-character tag.
    routerOptions: { ignoreDuplicateSlashes: false, maxParamLength: 1024 },
    // A URL the router cannot decode or a segment over that length: answered in the API's own error form.
    frameworkErrors: (error: unknown, request: FastifyRequest, reply: FastifyReply) =>
      sendError(request, reply, toHttpError(error, dialectOf(request.url))),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  app.removeAllContentTypeParsers();
  // Read as bytes, not as a string: decoding with replacement would hide bytes that are not UTF-8.
  app.addContentTypeParser(
    JSON_TYPES,
    { parseAs: 'buffer', bodyLimit: JSON_BODY_LIMIT },
    (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  // Image data and anything else stays an unread stream; each route decides what it accepts.
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  // The APIs that keep bodies as bytes parse their JSON themselves; it passes the same gate first.
  app.addHook('preValidation', checkRawJsonBody);
  // First of all hooks, so every answer carries it, refusals and errors included.
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  app.addHook('onRequest', refuseNulInUrl);
  // One line as a request starts (debug) and one as it ends (info): method, route pattern, path without
  // the query, status, milliseconds. Headers and bodies, where tokens travel, are never logged here.
  app.addHook('onRequest', async (request) => {
    request.log.debug(
      { method: request.method, route: request.routeOptions.url ?? null, path: request.url.split('?')[0] },
      'request started',
    );
  });
  app.addHook('onResponse', async (request, reply) => {
    options.metrics?.observeRequest(
      request.routeOptions.url ?? null,
      request.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
  });

  // In-flight uploads, so shutdown can abort them and wait until each has put its image back to queued.
  const uploads = new Map<AbortController, Promise<void>>();
  app.decorate('trackUpload', (controller: AbortController) => {
    let finish = () => {};
    uploads.set(controller, new Promise<void>((resolve) => (finish = resolve)));
    const counted = options.metrics?.uploadStarted();
    return () => {
      uploads.delete(controller);
      counted?.();
      finish();
    };
  });

  app.decorateRequest('credentials', undefined);
  app.decorate('authenticate', async (request: FastifyRequest) => {
    const token = request.headers['x-auth-token'];
    if (typeof token !== 'string' || token === '') {
      throw new AuthError('UNAUTHENTICATED', 'Authentication required');
    }
    request.credentials = await options.identity.validateToken(token);
    // Whose call it is, in every later line of the request's log (ids only, never names or tokens).
    request.log = request.log.child({
      userId: request.credentials.userId,
      projectId: request.credentials.projectId ?? null,
    });
  });

  app.setErrorHandler((error, request, reply) =>
    sendError(request, reply, toHttpError(error, dialectOf(request.url))),
  );
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .type('text/plain; charset=UTF-8')
      .send('404 Not Found\n\nThe resource could not be found.\n\n   ');
    void request;
  });

  const baseUrl = (request: FastifyRequest): string => {
    if (options.publicUrl) return options.publicUrl.replace(/\/+$/, '');
    const socket = request.raw.socket;
    return resolveBaseUrl(
      {
        headers: request.headers,
        remoteAddress: socket.remoteAddress,
        localAddress: socket.localAddress,
        localPort: socket.localPort,
        encrypted: Boolean((socket as { encrypted?: boolean }).encrypted),
      },
      trustedProxies,
    );
  };

  registerHealthRoutes(app, options.readiness ?? {});
  if (options.metrics && options.metricsAllowFrom?.length) {
    registerMetricsRoute(app, options.metrics, trustedProxyList(options.metricsAllowFrom));
  }
  registerIdentityRoutes(app, {
    identity: options.identity,
    baseUrl,
    onLoginFailure: options.onLoginFailure,
  });
  const { clock } = options;
  if (options.bodyLimits) limitJsonBodyTime(app, options.bodyLimits.jsonMs);
  registerImageRoutes(app, {
    catalog: options.catalog,
    baseUrl,
    clock,
    uploadLimits: options.bodyLimits?.upload,
  });
  if (options.metadefs) registerMetadefRoutes(app, { metadefs: options.metadefs, baseUrl });
  if (options.auditReader) registerAuditRoutes(app, { reader: options.auditReader });
  if (options.governance) registerGovernanceRoutes(app, { governance: options.governance, clock });
  if (options.secrets) registerSecretRoutes(app, { secrets: options.secrets, baseUrl });
  if (options.containers) registerContainerRoutes(app, { containers: options.containers });

  return {
    app,
    async shutdown() {
      const pending = [...uploads.values()];
      for (const controller of uploads.keys()) controller.abort(new Error('The server is shutting down.'));
      await Promise.all(pending);
      await app.close();
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<void>;
    trackUpload(controller: AbortController): () => void;
  }
}

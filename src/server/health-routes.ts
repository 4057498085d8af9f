// Probes for load balancers and orchestrators, outside every API and without a token, as Glance's
// healthcheck middleware is: GET /healthz says the process answers; GET /readyz runs each readiness probe
// (the database, the blob store, the schema) at once, each within a time limit, and answers 503 naming
// every part that failed, so a balancer stops sending work here until they are back. GET /metrics serves
// Prometheus to the addresses metrics.allowFrom lists.

import type { BlockList } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { AuthError } from '../errors/index.ts';
import { isTrustedPeer } from './base-url.ts';

/** Resolves when the part it looks at works; rejects saying what is wrong. */
export type Probe = () => Promise<void>;

/** A probe that has not answered by then counts as failed: a hung database must not hang the balancer. */
const PROBE_TIMEOUT_MS = 3000;

type ProbeResult = { status: 'ok' } | { status: 'failed'; error: string };

async function runProbe(probe: Probe): Promise<ProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { status: 'ok' };
  } catch (error) {
    return { status: 'failed', error: (error as Error).message || String(error) };
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoutes(app: FastifyInstance, probes: Record<string, Probe>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const names = Object.keys(probes);
    const results = await Promise.all(names.map((name) => runProbe(probes[name])));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
    const failed = names.filter((_name, i) => results[i].status !== 'ok');
    // Never cached: a balancer must see the state now.
    reply.header('Cache-Control', 'no-store');
    if (failed.length > 0) return reply.code(503).send({ status: 'unavailable', failed, checks });
    return { status: 'ready', checks };
  });
}

/** What the HTTP layer counts, and what GET /metrics serves (Prometheus's text format). */
export interface ServerMetrics {
  /** One answered request, by route pattern (never the path: its ids would explode the labels). */
  observeRequest(route: string | null, method: string, status: number, seconds: number): void;
  /** Counts an upload in flight until the returned function is called. */
  uploadStarted(): () => void;
  render(): Promise<{ contentType: string; body: string }>;
}

/** GET /metrics in Prometheus's text format, to the peers `allowFrom` lists only (the socket's peer, not a header). */
export function registerMetricsRoute(
  app: FastifyInstance,
  metrics: ServerMetrics,
  allowFrom: BlockList,
): void {
  app.get('/metrics', async (request, reply) => {
    if (!isTrustedPeer(allowFrom, request.raw.socket.remoteAddress)) {
      throw new AuthError('FORBIDDEN', 'Metrics are not served to this address (metrics.allowFrom).');
    }
    const { contentType, body } = await metrics.render();
    return reply.header('Cache-Control', 'no-store').type(contentType).send(body);
  });
}

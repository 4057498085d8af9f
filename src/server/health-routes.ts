// Probes for load balancers and orchestrators, outside every API and without a token, as Glance's
// healthcheck middleware is: GET /healthz says the process answers; GET /readyz runs each readiness probe
// (the database, the blob store, the schema) at once, each within a time limit, and answers 503 naming
// every part that failed, so a balancer stops sending work here until they are back.
import type { FastifyInstance } from 'fastify';

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

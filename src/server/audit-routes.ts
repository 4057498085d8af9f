// The transparency log at /audit/v1: parses queries, asks the AuditReader (which authorizes), renders.
import type { FastifyInstance } from 'fastify';
import { type AuditEntry, type AuditReader, MAX_ENTRIES_PAGE } from '../audit/index.ts';
import { ValidationError } from '../errors/index.ts';
import { sendJsonError, toHttpError } from './http-errors.ts';
import { credentialsOf } from './request-credentials.ts';

export interface AuditRouteOptions {
  /** Reads the log for each caller under the audit:* rules. */
  reader: AuditReader;
}

type Query = Record<string, string | undefined>;

const PREFIX = '/audit/v1';

/** A non-negative integer query parameter; `fallback` when absent. */
function integerParam(query: Query, name: string, fallback?: number): number {
  const raw = query[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new ValidationError('INVALID_QUERY', `The query parameter ${name} is required.`);
  }
  if (!/^\d{1,15}$/.test(raw)) {
    throw new ValidationError('INVALID_QUERY', `The query parameter ${name} must be a non-negative integer.`);
  }
  return Number(raw);
}

function entryView(entry: AuditEntry): Record<string, unknown> {
  return { seq: entry.seq, leaf_hash: entry.leafHash, leaf: entry.leaf, event: JSON.parse(entry.leaf) };
}

export function registerAuditRoutes(app: FastifyInstance, options: AuditRouteOptions): void {
  const { reader } = options;

  app.register(async (api) => {
    api.setErrorHandler((error, request, reply) =>
      sendJsonError(request, reply, toHttpError(error, 'glance')),
    );
    api.addHook('onRequest', async (request) => {
      await app.authenticate(request);
    });
    // Proofs are about a moving log: never cache them on the way.
    api.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });

    api.get(`${PREFIX}/tree-head`, async (request) => {
      const { head, publicKeyPem } = await reader.treeHead(credentialsOf(request));
      return { ...head, public_key: publicKeyPem, signature_algorithm: 'ed25519' };
    });

    api.get(`${PREFIX}/entries`, async (request) => {
      const query = request.query as Query;
      const page = await reader.entries(credentialsOf(request), () => {
        const start = integerParam(query, 'start', 0);
        return { start, end: integerParam(query, 'end', start + MAX_ENTRIES_PAGE) };
      });
      return { start: page.start, entries: page.entries.map(entryView) };
    });

    api.get(`${PREFIX}/proofs/inclusion`, async (request) => {
      const query = request.query as Query;
      return reader.inclusionProof(credentialsOf(request), () => ({
        seq: integerParam(query, 'seq'),
        treeSize: integerParam(query, 'tree_size'),
      }));
    });

    api.get(`${PREFIX}/proofs/consistency`, async (request) => {
      const query = request.query as Query;
      return reader.consistencyProof(credentialsOf(request), () => ({
        first: integerParam(query, 'first'),
        second: integerParam(query, 'second'),
      }));
    });

    api.get<{ Params: { id: string } }>(`${PREFIX}/images/:id`, async (request) =>
      reader.imageHistory(credentialsOf(request), request.params.id),
    );
  });
}

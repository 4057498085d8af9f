import type { FastifyInstance } from 'fastify';
import { type AuditEntry, type AuditLog, MAX_ENTRIES_PAGE } from '../audit/index.ts';
import { AuthError, NotFoundError, toImageTrustError, ValidationError } from '../errors/index.ts';
import { type Authorizer, type Credentials, defaultAuthorizer } from '../identity/index.ts';
import { sendJsonError } from './http-errors.ts';
import { credentialsOf } from './request-credentials.ts';

export type AuditAction = 'audit:get_tree_head' | 'audit:get_entries' | 'audit:get_image_history';

/** What a rule sees of the thing acted on: the owning project, when there is one. */
export interface AuditTarget {
  project_id: string | null;
}

export interface AuditRouteOptions {
  audit: AuditLog;
  /**
   * The policy: tree heads, inclusion and consistency proofs use 'audit:get_tree_head', entries
   * 'audit:get_entries', image history 'audit:get_image_history' with the image's project.
   */
  authorizer?: Authorizer;
  /** The project owning an image, for the history rule; default: the project recorded in its latest entry. */
  projectOfImage?: (credentials: Credentials, imageId: string) => Promise<string | null>;
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
  const { audit } = options;
  const authorizer = options.authorizer ?? defaultAuthorizer;
  const authorize = (action: AuditAction, credentials: Credentials, target: AuditTarget) =>
    authorizer.enforce(action, credentials, { projectId: target.project_id ?? null });
  const projectOfImage =
    options.projectOfImage ??
    (async (_credentials: Credentials, id: string) => (await audit.projectOf(id)).projectId);

  app.register(async (api) => {
    api.setErrorHandler((error, request, reply) => sendJsonError(request, reply, toImageTrustError(error)));
    api.addHook('onRequest', async (request) => {
      await app.authenticate(request);
    });
    // Proofs are about a moving log: never cache them on the way.
    api.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });

    api.get(`${PREFIX}/tree-head`, async (request) => {
      authorize('audit:get_tree_head', credentialsOf(request), { project_id: null });
      const head = await audit.latestTreeHead();
      return { ...head, public_key: audit.publicKeyPem, signature_algorithm: 'ed25519' };
    });

    api.get(`${PREFIX}/entries`, async (request) => {
      authorize('audit:get_entries', credentialsOf(request), { project_id: null });
      const query = request.query as Query;
      const start = integerParam(query, 'start', 0);
      const end = integerParam(query, 'end', start + MAX_ENTRIES_PAGE);
      const entries = await audit.entries(start, end);
      return { start, entries: entries.map(entryView) };
    });

    api.get(`${PREFIX}/proofs/inclusion`, async (request) => {
      authorize('audit:get_tree_head', credentialsOf(request), { project_id: null });
      const query = request.query as Query;
      return audit.inclusionProof(integerParam(query, 'seq'), integerParam(query, 'tree_size'));
    });

    api.get(`${PREFIX}/proofs/consistency`, async (request) => {
      // Hashes only, like inclusion proofs: anyone who may see heads may check they extend each other.
      authorize('audit:get_tree_head', credentialsOf(request), { project_id: null });
      const query = request.query as Query;
      return audit.consistencyProof(integerParam(query, 'first'), integerParam(query, 'second'));
    });

    api.get<{ Params: { id: string } }>(`${PREFIX}/images/:id`, async (request) => {
      const credentials = credentialsOf(request);
      const { id } = request.params;
      const { found } = await audit.projectOf(id);
      if (!found) throw new NotFoundError(`No audit history for image ${id}.`);
      try {
        authorize('audit:get_image_history', credentials, {
          project_id: await projectOfImage(credentials, id),
        });
      } catch (error) {
        // As Glance hides images a caller may not see, a forbidden history looks like a missing one.
        if (error instanceof AuthError && error.code === 'FORBIDDEN') {
          throw new NotFoundError(`No audit history for image ${id}.`);
        }
        throw error;
      }
      return audit.historyOf(id);
    });
  });
}

// Image governance over HTTP, beside the Glance v2 API: lifecycle, reports (compliance, boot test,
// provenance) and release requests. Paths sit under /image/v2 so Glance clients' endpoint discovery
// finds them too.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  type Clock,
  type GovernanceService,
  type ImageReport,
  type ReleaseRequest,
  type ReleaseStatus,
  type ReportKind,
  toImageView,
} from '../catalog/index.ts';
import { ValidationError } from '../errors/index.ts';
import { credentialsOf } from './request-credentials.ts';

export interface GovernanceRouteOptions {
  governance: GovernanceService;
  /** The time returned views show the lifecycle at. */
  clock: Clock;
}

type IdParams = { Params: { id: string } };
const BODY_LIMIT = 4 * 1024 * 1024;
const STATUSES: readonly ReleaseStatus[] = ['pending', 'approved', 'rejected'];
/** Where each kind of report is attached and read: one current report of each kind per image. */
export const REPORT_PATHS: Record<ReportKind, string> = {
  compliance: 'compliance-report',
  'boot-test': 'boot-test-report',
  provenance: 'provenance',
};

function jsonOf(request: FastifyRequest): unknown {
  const text = textOf(request);
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError('MALFORMED_JSON', 'Malformed JSON in request body.', { cause: error });
  }
}

function textOf(request: FastifyRequest): string {
  const type = request.headers['content-type']?.split(';')[0].trim().toLowerCase();
  const body = request.body as Buffer | undefined;
  if (body?.length && type !== 'application/json') {
    throw new ValidationError('UNSUPPORTED_MEDIA_TYPE', 'Send JSON with Content-Type: application/json.');
  }
  return body ? body.toString('utf8') : '';
}

/** A stored report with its document as JSON; a provenance envelope's statement is decoded beside it. */
function reportView(report: ImageReport): Record<string, unknown> {
  const document = JSON.parse(report.document);
  if (report.kind !== 'provenance') return { ...report, document };
  // Verified when it was attached; shown so a reader need not decode base64 to see what it says.
  const statement = JSON.parse(Buffer.from(document.payload, 'base64').toString('utf8'));
  return { ...report, document, statement };
}

function releaseView(request: ReleaseRequest): Record<string, unknown> {
  return { ...request, self: `/v2/releases/${request.id}` };
}

export function registerGovernanceRoutes(app: FastifyInstance, options: GovernanceRouteOptions): void {
  const { governance, clock } = options;
  app.register(async (api) => {
    // Reports are kept and digested as sent, so bodies stay bytes until a route reads them.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );
    api.addHook('onRequest', async (request) => {
      await app.authenticate(request);
    });

    api.put<IdParams>('/image/v2/images/:id/lifecycle', async (request) =>
      toImageView(
        await governance.setLifecycle(credentialsOf(request), request.params.id, jsonOf(request)),
        clock.now(),
      ),
    );

    for (const [kind, path] of Object.entries(REPORT_PATHS) as [ReportKind, string][]) {
      api.put<IdParams>(`/image/v2/images/:id/${path}`, async (request) => {
        const report = await governance.attachReport(
          credentialsOf(request),
          request.params.id,
          textOf(request),
          kind,
        );
        const { document: _document, ...summary } = report;
        return summary;
      });
      api.get<IdParams>(`/image/v2/images/:id/${path}`, async (request) =>
        reportView(await governance.getReport(credentialsOf(request), request.params.id, kind)),
      );
    }

    api.post<IdParams>('/image/v2/images/:id/releases', async (request, reply) => {
      const created = await governance.requestRelease(
        credentialsOf(request),
        request.params.id,
        jsonOf(request),
      );
      return reply.code(201).send(releaseView(created));
    });
    api.get<IdParams>('/image/v2/images/:id/releases', async (request) => ({
      releases: (await governance.listReleases(credentialsOf(request), { imageId: request.params.id })).map(
        releaseView,
      ),
    }));
    api.get<{ Querystring: { status?: string } }>('/image/v2/releases', async (request) => {
      const status = request.query.status;
      if (status !== undefined && !STATUSES.includes(status as ReleaseStatus)) {
        throw new ValidationError('INVALID_QUERY', `status must be one of ${STATUSES.join(', ')}.`);
      }
      const filter = status ? { status: status as ReleaseStatus } : {};
      return { releases: (await governance.listReleases(credentialsOf(request), filter)).map(releaseView) };
    });
    api.get<IdParams>('/image/v2/releases/:id', async (request) =>
      releaseView(await governance.getRelease(credentialsOf(request), request.params.id)),
    );
    api.post<IdParams>('/image/v2/releases/:id/approve', async (request) =>
      releaseView(
        await governance.approveRelease(credentialsOf(request), request.params.id, jsonOf(request)),
      ),
    );
    api.post<IdParams>('/image/v2/releases/:id/reject', async (request) =>
      releaseView(await governance.rejectRelease(credentialsOf(request), request.params.id, jsonOf(request))),
    );
  });
}

// Glance v2 at /image: version discovery, schemas, images, data upload and download, tags, actions and
// members, with Glance's status codes, headers and bodies.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type CatalogService,
  type Clock,
  deprecationWarning,
  type ImageRecord,
  imageSchema,
  imagesSchema,
  memberSchema,
  membersSchema,
  type QueryParams,
  readImagePatch,
  taskSchema,
  tasksSchema,
  toImageTaskView,
  toImageView,
  toMemberView,
  toTaskStub,
  toTaskView,
} from '../catalog/index.ts';
import { AuthError, NotFoundError, ValidationError } from '../errors/index.ts';
import { guardUploadBody, type UploadBodyLimits } from './body-guard.ts';
import { glanceJsonBody } from './json-body.ts';
import { refuseOtherMethods } from './method-not-allowed.ts';
import { releasingChunks } from './release-chunks.ts';
import { credentialsOf } from './request-credentials.ts';
import { sendBlocks } from './send-blocks.ts';

interface ImageRouteOptions {
  catalog: CatalogService;
  baseUrl: (request: FastifyRequest) => string;
  /** The time views show the lifecycle at and deprecation warnings are judged at. */
  clock: Clock;
  /** Idle and minimum-rate limits on upload bodies; none when left out. */
  uploadLimits?: UploadBodyLimits;
}

const PATCH_TYPES = [
  'application/openstack-images-v2.1-json-patch',
  'application/openstack-images-v2.0-json-patch',
];
/** Glance 25.1 (Zed) reports v2.16 as current and every earlier v2 minor as supported. */
const API_VERSIONS = Array.from({ length: 17 }, (_, i) => 16 - i);

type IdParams = { Params: { id: string } };

/**
 * Glance's image and task rules are project-scoped (scope_types: project): a system-scoped token may read
 * the schemas and discovery documents, nothing else. As Glance answers it, a call on one image or task is
 * 404 (a refused lookup hides what it refused) and a list or a create is 403.
 */
function refuseSystemScope(request: FastifyRequest): void {
  if (!request.credentials?.systemScope) return;
  const path = request.url.split('?')[0];
  if (/^\/image\/v2\/(schemas|info)\//.test(path)) return;
  const id = (request.params as { id?: unknown } | undefined)?.id;
  if (typeof id === 'string') throw new NotFoundError(`No image found with ID ${id}`);
  throw new AuthError(
    'FORBIDDEN',
    'A system-scoped token cannot be used on project resources; scope it to a project.',
  );
}

/** Deprecated images still work; their users are told, in an RFC 7234 `Warning` (code 299), what to use instead. */
function warnIfDeprecated(reply: FastifyReply, image: ImageRecord, now: Date): void {
  const warning = deprecationWarning(image, now);
  if (warning) reply.header('Warning', `299 imagetrust ${JSON.stringify(warning)}`);
}

function mediaType(request: FastifyRequest): string | undefined {
  return request.headers['content-type']?.split(';')[0].trim().toLowerCase();
}

function unsupportedMediaType(
  request: FastifyRequest,
  headers: Record<string, string> = {},
): ValidationError {
  // Without a Content-Type Glance (webob) prints its template's placeholder as it stands: so do we.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is Glance's text.
  const type = request.headers['content-type'] ?? '${CONTENT_TYPE}';
  return new ValidationError(
    'UNSUPPORTED_MEDIA_TYPE',
    `The request media type ${type} is not supported by this server.\n`,
    {
      headers,
    },
  );
}

/** webob's patterns, matched from the start of the value only: trailing text is ignored, as there. */
const RANGE_PATTERN = /^bytes *= *(\d*) *- *(\d*)/i;
const CONTENT_RANGE_PATTERN = /^bytes (?:(\d+)-(\d+)|\*)\/(?:(\d+)|\*)/;

function unsatisfiable(message: string): ValidationError {
  return new ValidationError('RANGE_NOT_SATISFIABLE', message, { detail: true });
}

/**
 * Reads the requested byte range as Glance does (webob's parser, then Glance's checks): `Range` first,
 * else the legacy request `Content-Range` Glance still honours. Returns undefined when neither is sent;
 * `size` is null for an image without data, which is answered 204 whatever the range.
 */
function readRange(
  headers: { range?: string; 'content-range'?: string },
  size: number | null,
): { start?: number; end?: number } | undefined {
  if (headers.range !== undefined) return readRangeHeader(headers.range, size);
  if (headers['content-range'] !== undefined) return readContentRangeHeader(headers['content-range'], size);
  return undefined;
}

function readRangeHeader(header: string, size: number | null): { start?: number; end?: number } {
  if (header.includes(',')) {
    throw new ValidationError(
      'BAD_REQUEST',
      'Requests with multiple ranges are not supported in Glance. You may make multiple single-range requests instead.',
    );
  }
  const match = RANGE_PATTERN.exec(header);
  // Glance fails with a bare 500 on `bytes=-` (webob reads int('')); refusing the range is the intent.
  if (!match || (match[1] === '' && match[2] === '')) throw unsatisfiable('Invalid Range header.');
  if (match[1] === '') {
    // bytes=-n: the last n bytes; the whole image when n is 0 (webob's -0 is start 0) or not below the size.
    const suffix = Number(match[2]);
    if (size === 0) throw invalidStart('Range', size);
    return { start: size !== null && suffix > 0 && suffix < size ? size - suffix : 0 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? undefined : Number(match[2]);
  if (end !== undefined && start > end) throw unsatisfiable('Invalid Range header.');
  if (size !== null && start >= size) throw invalidStart('Range', size);
  return { start, end };
}

/**
 * `Content-Range: bytes a-b/(n|*)` on a request: kept by Glance for old clients. An unknown length
 * (`*`) must end inside the image; a stated one may not, and the answer stops at the image's end
 * where Glance would announce bytes it never sends.
 */
function readContentRangeHeader(header: string, size: number | null): { start: number; end: number } {
  const match = CONTENT_RANGE_PATTERN.exec(header);
  // `bytes */n` parses in webob but Glance then fails with a bare 500: it names no bytes, so refuse it.
  if (!match || match[1] === undefined) throw unsatisfiable('Invalid Content-Range header.');
  const start = Number(match[1]);
  const stop = Number(match[2]) + 1;
  const length = match[3] === undefined ? undefined : Number(match[3]);
  if (start >= stop || (length !== undefined && (stop > length || start >= length))) {
    throw unsatisfiable('Invalid Content-Range header.');
  }
  if (size !== null && length === undefined && stop > size) {
    throw unsatisfiable(
      `Invalid stop position in Content-Range header. The stop position MUST be in the inclusive range [0, ${size - 1}].`,
    );
  }
  if (size !== null && start >= size) throw invalidStart('Content-Range', size);
  return { start, end: stop - 1 };
}

function invalidStart(header: 'Range' | 'Content-Range', size: number): ValidationError {
  return unsatisfiable(
    `Invalid start position in ${header} header. Start position MUST be in the inclusive range [0, ${size - 1}].`,
  );
}

/** Rebuilds Glance's `first`/`next` links: the request's params (last value wins), marker last. */
function pageLinks(
  query: QueryParams,
  nextMarker: string | null,
  path = '/v2/images',
): { first: string; next?: string } {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (key === 'marker' || value === undefined) continue;
    params.set(key, Array.isArray(value) ? value[value.length - 1] : value);
  }
  const encoded = params.toString();
  const links: { first: string; next?: string } = { first: encoded ? `${path}?${encoded}` : path };
  if (nextMarker) {
    params.set('marker', nextMarker);
    links.next = `${path}?${params.toString()}`;
  }
  return links;
}

export function registerImageRoutes(app: FastifyInstance, options: ImageRouteOptions): void {
  const { catalog, clock } = options;
  /**
   * The interoperable import methods carried out here (glance-direct and web-download; copy-image needs
   * several stores), advertised only because they work: clients trust discovery.
   */
  const importMethods = catalog.importMethods;

  /**
   * Streams a request body into `write` (an upload or a stage) with the upload guards: octet-stream only,
   * idle and minimum-rate limits, abort on shutdown; a refused or failed body closes the connection.
   */
  const receiveImageData = async (
    request: FastifyRequest,
    reply: FastifyReply,
    write: (
      body: AsyncIterable<Uint8Array>,
      options: { contentLength?: number; signal: AbortSignal },
    ) => Promise<unknown>,
  ): Promise<void> => {
    if (mediaType(request) !== 'application/octet-stream') {
      // Drain nothing: the client is told at once and the connection closes with the unread body.
      reply.header('Connection', 'close');
      throw unsupportedMediaType(request);
    }
    const declared = request.headers['content-length'];
    const controller = new AbortController();
    const untrack = app.trackUpload(controller);
    const raw = request.raw;
    const onAbort = () => raw.destroy(controller.signal.reason as Error);
    controller.signal.addEventListener('abort', onAbort, { once: true });
    // A stalled or trickling body aborts the upload like a disconnect does: the image is queued again.
    const guarded = options.uploadLimits
      ? guardUploadBody(raw, options.uploadLimits, (error) => controller.abort(error))
      : null;
    try {
      await write(releasingChunks(guarded?.body ?? raw), {
        contentLength: declared === undefined ? undefined : Number(declared),
        signal: controller.signal,
      });
    } catch (error) {
      // After a rejected upload the rest of the body is unread; close rather than parse it as a request.
      reply.header('Connection', 'close');
      throw error;
    } finally {
      guarded?.stop();
      controller.signal.removeEventListener('abort', onAbort);
      untrack();
    }
  };

  const versions = (request: FastifyRequest) => ({
    versions: API_VERSIONS.map((minor) => ({
      id: `v2.${minor}`,
      status: minor === 16 ? 'CURRENT' : 'SUPPORTED',
      links: [{ rel: 'self', href: `${options.baseUrl(request)}/image/v2/` }],
    })),
  });
  const multipleChoices = async (request: FastifyRequest, reply: FastifyReply) =>
    reply.code(300).send(versions(request));
  app.get('/image', multipleChoices);
  app.get('/image/', multipleChoices);
  app.get('/image/versions', async (request) => versions(request));
  app.get('/image/v2', async (_request, reply) => reply.redirect('/image/v2/', 302));

  app.register(async (api) => {
    api.addHook('onRequest', async (request) => {
      await app.authenticate(request);
      refuseSystemScope(request);
    });

    api.get('/image/v2/schemas/image', async () => imageSchema());
    api.get('/image/v2/schemas/images', async () => imagesSchema());
    api.get('/image/v2/schemas/member', async () => memberSchema());
    api.get('/image/v2/schemas/members', async () => membersSchema());
    api.get('/image/v2/schemas/task', async () => taskSchema());
    api.get('/image/v2/schemas/tasks', async () => tasksSchema());

    api.get('/image/v2/tasks', async (request) => {
      const query = request.query as QueryParams;
      const { tasks, next } = await catalog.listTasks(credentialsOf(request), query);
      const links = pageLinks(query, next, '/v2/tasks');
      return {
        tasks: tasks.map(toTaskStub),
        first: links.first,
        schema: '/v2/schemas/tasks',
        ...(links.next ? { next: links.next } : {}),
      };
    });
    api.get<{ Params: { id: string } }>('/image/v2/tasks/:id', async (request) =>
      toTaskView(await catalog.getTask(credentialsOf(request), request.params.id)),
    );
    api.get('/image/v2/info/import', async () => ({
      'import-methods': {
        description: 'Import methods available.',
        type: 'array',
        value: [...importMethods],
      },
    }));
    api.get('/image/v2/info/stores', async () => {
      throw new NotFoundError('Multi backend is not supported at this site.');
    });

    api.get('/image/v2/images', async (request) => {
      const query = request.query as QueryParams;
      const { images, next } = await catalog.listImages(credentialsOf(request), query);
      const links = pageLinks(query, next);
      return {
        images: images.map((image) => toImageView(image, clock.now())),
        first: links.first,
        schema: '/v2/schemas/images',
        ...(links.next ? { next: links.next } : {}),
      };
    });

    api.post('/image/v2/images', async (request, reply) => {
      const image = await catalog.createImage(credentialsOf(request), await glanceJsonBody(request));
      reply.code(201).header('Location', `${options.baseUrl(request)}/image/v2/images/${image.id}`);
      if (importMethods.length) reply.header('OpenStack-image-import-methods', importMethods.join(','));
      return reply.send(toImageView(image, clock.now()));
    });

    api.get<IdParams>('/image/v2/images/:id', async (request, reply) => {
      const image = await catalog.getImage(credentialsOf(request), request.params.id);
      warnIfDeprecated(reply, image, clock.now());
      return toImageView(image, clock.now());
    });

    api.patch<IdParams>('/image/v2/images/:id', async (request) => {
      const type = mediaType(request);
      if (!type || !PATCH_TYPES.includes(type)) {
        throw unsupportedMediaType(request, { 'Accept-Patch': [...PATCH_TYPES].reverse().join(', ') });
      }
      if (request.body === undefined) throw new ValidationError('BAD_REQUEST', 'Body expected in request.');
      const operations = readImagePatch(request.body, type);
      const credentials = credentialsOf(request);
      if (operations.length === 0)
        return toImageView(await catalog.getImage(credentials, request.params.id), clock.now());
      return toImageView(await catalog.updateImage(credentials, request.params.id, operations), clock.now());
    });

    api.delete<IdParams>('/image/v2/images/:id', async (request, reply) => {
      await catalog.deleteImage(credentialsOf(request), request.params.id);
      return reply.code(204).send();
    });

    api.put<IdParams>('/image/v2/images/:id/file', async (request, reply) => {
      const credentials = credentialsOf(request);
      await receiveImageData(request, reply, (body, upload) =>
        catalog.uploadImageData(credentials, request.params.id, body, upload),
      );
      return reply.code(204).send();
    });

    api.put<IdParams>('/image/v2/images/:id/stage', async (request, reply) => {
      const credentials = credentialsOf(request);
      await receiveImageData(request, reply, (body, upload) =>
        catalog.stageImageData(credentials, request.params.id, body, upload),
      );
      return reply.code(204).send();
    });

    api.post<IdParams>('/image/v2/images/:id/import', async (request, reply) => {
      // The import goes on after the 202; a shutdown aborts it like an upload and waits until the image
      // is queued again.
      const controller = new AbortController();
      const untrack = app.trackUpload(controller);
      // The task records the request id the response carries (every response does), as Glance's does.
      const requestId = request.id;
      try {
        const { done } = await catalog.importImage(
          credentialsOf(request),
          request.params.id,
          await glanceJsonBody(request),
          { signal: controller.signal, requestId },
        );
        void done.finally(untrack);
      } catch (error) {
        untrack();
        throw error;
      }
      return reply.code(202).send();
    });

    api.get<IdParams>('/image/v2/images/:id/tasks', async (request) => ({
      tasks: (await catalog.listImageTasks(credentialsOf(request), request.params.id)).map(toImageTaskView),
    }));

    api.get<IdParams>('/image/v2/images/:id/signing-certificate', async (request, reply) => {
      const certificate = await catalog.getSigningCertificate(credentialsOf(request), request.params.id);
      return reply.type(certificate.contentType).send(certificate.payload);
    });

    api.get<IdParams>('/image/v2/images/:id/file', async (request, reply) => {
      const credentials = credentialsOf(request);
      const image = await catalog.getImage(credentials, request.params.id);
      const range = readRange(request.headers, image.size);
      const result = await catalog.downloadImageData(credentials, request.params.id, range);
      warnIfDeprecated(reply, result.image, clock.now());
      if (!result.data) return reply.code(204).send();
      reply.type('application/octet-stream');
      if (result.image.checksum) reply.header('Content-MD5', result.image.checksum);
      if (result.range) {
        reply
          .code(206)
          .header('Content-Range', `bytes ${result.range.start}-${result.range.end}/${result.image.size}`)
          .header('Content-Length', result.range.end - result.range.start + 1);
      } else {
        reply.header('Content-Length', result.image.size);
      }
      return sendBlocks(reply, result.data);
    });

    api.put<{ Params: { id: string; tag: string } }>(
      '/image/v2/images/:id/tags/:tag',
      async (request, reply) => {
        await catalog.addTag(credentialsOf(request), request.params.id, request.params.tag);
        return reply.code(204).send();
      },
    );
    api.delete<{ Params: { id: string; tag: string } }>(
      '/image/v2/images/:id/tags/:tag',
      async (request, reply) => {
        await catalog.removeTag(credentialsOf(request), request.params.id, request.params.tag);
        return reply.code(204).send();
      },
    );

    for (const action of ['deactivate', 'reactivate'] as const) {
      api.post<IdParams>(`/image/v2/images/:id/actions/${action}`, async (request, reply) => {
        await catalog.setImageActivation(credentialsOf(request), request.params.id, action === 'reactivate');
        return reply.code(204).send();
      });
    }

    api.get<IdParams>('/image/v2/images/:id/members', async (request) => ({
      members: (await catalog.listMembers(credentialsOf(request), request.params.id)).map(toMemberView),
      schema: '/v2/schemas/members',
    }));
    api.post<IdParams>('/image/v2/images/:id/members', async (request) =>
      toMemberView(
        await catalog.addMember(credentialsOf(request), request.params.id, await glanceJsonBody(request)),
      ),
    );
    type MemberParams = { Params: { id: string; member: string } };
    api.get<MemberParams>('/image/v2/images/:id/members/:member', async (request) =>
      toMemberView(await catalog.getMember(credentialsOf(request), request.params.id, request.params.member)),
    );
    api.put<MemberParams>('/image/v2/images/:id/members/:member', async (request) =>
      toMemberView(
        await catalog.updateMember(
          credentialsOf(request),
          request.params.id,
          request.params.member,
          await glanceJsonBody(request),
        ),
      ),
    );
    api.delete<MemberParams>('/image/v2/images/:id/members/:member', async (request, reply) => {
      await catalog.removeMember(credentialsOf(request), request.params.id, request.params.member);
      return reply.code(204).send();
    });

    // Known resources answer other methods with 405 and the methods they allow, as Glance does.
    const allowed: Record<string, string> = {
      '/image/v2/images': 'GET, POST',
      '/image/v2/images/:id': 'GET, PATCH, DELETE',
      '/image/v2/images/:id/file': 'GET, PUT',
      '/image/v2/images/:id/stage': 'PUT',
      '/image/v2/images/:id/import': 'POST',
      '/image/v2/images/:id/tasks': 'GET',
      // Glance also serves POST /v2/tasks and DELETE /v2/tasks/{id} (the deprecated task API): not here.
      '/image/v2/tasks': 'GET',
      '/image/v2/tasks/:id': 'GET',
      '/image/v2/images/:id/tags/:tag': 'PUT, DELETE',
      '/image/v2/images/:id/members': 'GET, POST',
      '/image/v2/images/:id/members/:member': 'GET, PUT, DELETE',
    };
    refuseOtherMethods(api, allowed);
    // HEAD on the data is refused explicitly (Fastify would otherwise answer it from the GET route).
    api.head('/image/v2/images/:id/file', async () => {
      throw new ValidationError('METHOD_NOT_ALLOWED', 'The method HEAD is not allowed for this resource. ', {
        headers: { Allow: 'GET, PUT' },
      });
    });
  });
}

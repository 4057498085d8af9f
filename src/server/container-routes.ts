import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ContainerTrustService, KEY_MEDIA_TYPES, toContainerKeyView } from '../admission/index.ts';
import { PolicyError, ValidationError } from '../errors/index.ts';
import { sendJsonError, toHttpError } from './http-errors.ts';
import { credentialsOf } from './request-credentials.ts';

interface ContainerRouteOptions {
  containers: ContainerTrustService;
}

type NameParams = { Params: { name: string } };

const PREFIX = '/containers/v1';
/** Policies, keys and 1000 image names all fit well below this. */
const BODY_LIMIT = 1 << 20;
const POLICY_TYPES = ['application/json'];
const REGISTRIES_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'];

function mediaTypeOf(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type'];
  return header === undefined ? undefined : header.split(';')[0].trim().toLowerCase();
}

/** The body as bytes, after checking its content type against what the route accepts. */
function bodyOf(request: FastifyRequest, accepted: string[]): Buffer {
  const type = mediaTypeOf(request);
  if (type === undefined || !accepted.includes(type)) {
    throw new ValidationError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${type ?? '(none)'} is not accepted here; use one of: ${accepted.join(', ')}.`,
    );
  }
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

function textOf(request: FastifyRequest, accepted: string[]): string {
  const bytes = bodyOf(request, accepted);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new ValidationError('BAD_REQUEST', 'The body is not valid UTF-8.', { cause: error });
  }
}

function sendContainerError(request: FastifyRequest, reply: FastifyReply, thrown: unknown): FastifyReply {
  const error = toHttpError(thrown, 'glance');
  const position = error instanceof PolicyError ? error.position : undefined;
  return sendJsonError(request, reply, error, position ? { position } : {});
}

export function registerContainerRoutes(app: FastifyInstance, options: ContainerRouteOptions): void {
  const { containers } = options;
  app.register(async (api) => {
    // Policies must be parsed from their exact text (duplicate keys, positions), so every body stays bytes.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );
    api.setErrorHandler((error, request, reply) => sendContainerError(request, reply, error));
    api.addHook('onRequest', async (request) => {
      await app.authenticate(request);
    });

    api.put(`${PREFIX}/policy`, async (request) => {
      const stored = await containers.putPolicy(credentialsOf(request), textOf(request, POLICY_TYPES));
      return { updated: stored.updatedAt };
    });
    api.get(`${PREFIX}/policy`, async (request, reply) => {
      const stored = await containers.getPolicy(credentialsOf(request));
      return reply
        .type('application/json')
        .header('last-modified', new Date(stored.updatedAt).toUTCString())
        .send(stored.document);
    });
    api.delete(`${PREFIX}/policy`, async (request, reply) => {
      await containers.deletePolicy(credentialsOf(request));
      return reply.code(204).send();
    });

    api.put(`${PREFIX}/registries.d`, async (request) => {
      const stored = await containers.putRegistries(
        credentialsOf(request),
        textOf(request, REGISTRIES_TYPES),
      );
      return { updated: stored.updatedAt };
    });
    api.get(`${PREFIX}/registries.d`, async (request, reply) => {
      const stored = await containers.getRegistries(credentialsOf(request));
      return reply.type('application/yaml').send(stored.document);
    });
    api.delete(`${PREFIX}/registries.d`, async (request, reply) => {
      await containers.deleteRegistries(credentialsOf(request));
      return reply.code(204).send();
    });

    api.get(`${PREFIX}/keys`, async (request) => ({
      keys: (await containers.listKeys(credentialsOf(request))).map(toContainerKeyView),
    }));
    api.put<NameParams>(`${PREFIX}/keys/:name`, async (request, reply) => {
      const { key, created } = await containers.putKey(
        credentialsOf(request),
        request.params.name,
        bodyOf(request, KEY_MEDIA_TYPES),
      );
      return reply.code(created ? 201 : 200).send(toContainerKeyView(key));
    });
    // JSON (or no Accept) is the key's description; any other Accept is the key material itself.
    api.get<NameParams>(`${PREFIX}/keys/:name`, async (request, reply) => {
      const key = await containers.getKey(credentialsOf(request), request.params.name);
      const accept = request.headers.accept ?? '';
      if (accept === '' || accept.includes('application/json') || accept.includes('*/*')) {
        return reply.send(toContainerKeyView(key));
      }
      const type = key.keyType === 'pem' ? 'application/x-pem-file' : 'application/pgp-keys';
      return reply.type(type).send(key.material);
    });
    api.delete<NameParams>(`${PREFIX}/keys/:name`, async (request, reply) => {
      await containers.deleteKey(credentialsOf(request), request.params.name);
      return reply.code(204).send();
    });

    api.post(`${PREFIX}/decisions`, async (request) => {
      let body: unknown;
      try {
        body = JSON.parse(textOf(request, POLICY_TYPES));
      } catch (error) {
        if (error instanceof ValidationError) throw error;
        throw new ValidationError('MALFORMED_JSON', 'Malformed JSON in request body.', { cause: error });
      }
      // Every image that could not be checked is logged with its code and cause; the answer carries the code.
      const decisions = await containers.decide(credentialsOf(request), body, {
        onFailure: (image, error) =>
          request.log.warn(
            {
              image,
              code: error.code,
              err: error,
              cause: error.cause instanceof Error ? error.cause.message : undefined,
            },
            `container decision: ${image} could not be checked: ${error.message}`,
          ),
      });
      return { decisions };
    });
  });
}

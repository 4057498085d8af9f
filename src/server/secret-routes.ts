// Barbican v1 at /key-manager: version discovery, and the secrets API (create, list, metadata, payload
// with Accept negotiation, two-step payload upload, delete, ACLs, user metadata) with Barbican's statuses, headers and bodies.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError } from '../errors/index.ts';
import {
  isJsonAccept,
  KEY_MANAGER_VERSIONS,
  type KeyManagerVersion,
  type ListQueryParams,
  type SecretRecord,
  type SecretService,
  toAclView,
  toSecretView,
} from '../keys/index.ts';
import { credentialsOf } from './request-credentials.ts';

interface SecretRouteOptions {
  secrets: SecretService;
  baseUrl: (request: FastifyRequest) => string;
}

type IdParams = { Params: { id: string } };
type KeyParams = { Params: { id: string; key: string } };

const PREFIX = '/key-manager';
/** Larger bodies are refused before parsing; Barbican's own limits (25000 bytes, 20000 per secret) apply after. */
const BODY_LIMIT = 1 << 20;

declare module 'fastify' {
  interface FastifyRequest {
    keyManagerVersion?: KeyManagerVersion;
  }
}

/** webob's content_type: the header up to its parameters, case kept. */
function mediaTypeOf(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type'];
  return header === undefined ? undefined : header.split(';')[0].trim();
}

function bodyOf(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

/**
 * The microversion a request asks for in `OpenStack-API-Version: key-manager X` (1.0 when absent), as
 * microversion_parse reads it: a malformed version is 400, one this server lacks 406.
 */
function readMicroversion(header: string | string[] | undefined): KeyManagerVersion {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return '1.0';
  const entry = text
    .split(',')
    .map((part) => part.trim().split(/\s+/))
    .find(([service]) => service?.toLowerCase() === 'key-manager');
  if (!entry || entry.length < 2) return '1.0';
  const requested = entry[1];
  if (requested === 'latest') return KEY_MANAGER_VERSIONS[KEY_MANAGER_VERSIONS.length - 1];
  if (!/^\d+\.\d+$/.test(requested)) {
    throw new ValidationError('BAD_REQUEST', `Invalid microversion: invalid version string: ${requested}`);
  }
  const normalized = requested.replace(/^(\d+)\.0*(\d)/, '$1.$2');
  const known = KEY_MANAGER_VERSIONS.find((v) => v === normalized);
  if (!known) {
    throw new ValidationError(
      'NOT_ACCEPTABLE',
      `Invalid microversion: Unacceptable version header: ${requested}`,
    );
  }
  return known;
}

function versionDocument(base: string, version: KeyManagerVersion): Record<string, unknown> {
  const links = [
    { rel: 'self', href: `${base}${PREFIX}/v1/` },
    { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' },
  ];
  // Barbican describes itself in the microversion style only to clients that asked for one.
  if (version !== '1.0') {
    return { id: 'v1', status: 'CURRENT', min_version: '1.0', max_version: '1.1', links };
  }
  return {
    id: 'v1',
    status: 'stable',
    links,
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.key-manager-v1+json' }],
  };
}

export function registerSecretRoutes(app: FastifyInstance, options: SecretRouteOptions): void {
  const { secrets } = options;
  const hrefBase = (request: FastifyRequest) => `${options.baseUrl(request)}${PREFIX}/v1`;
  const secretRef = (request: FastifyRequest, id: string) => `${hrefBase(request)}/secrets/${id}`;
  const versionOf = (request: FastifyRequest) => request.keyManagerVersion ?? '1.0';
  const view = (request: FastifyRequest, secret: SecretRecord) =>
    toSecretView(secret, secretRef(request, secret.id), versionOf(request));

  app.register(async (km) => {
    // Payloads are bytes and JSON is parsed by the service, so every body arrives as a Buffer.
    km.removeAllContentTypeParsers();
    km.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );
    km.decorateRequest('keyManagerVersion', undefined);
    km.addHook('onRequest', async (request, reply) => {
      request.keyManagerVersion = '1.0';
      reply.header('openstack-api-version', 'key-manager 1.0').header('vary', 'openstack-api-version');
      const version = readMicroversion(request.headers['openstack-api-version']);
      request.keyManagerVersion = version;
      reply.header('openstack-api-version', `key-manager ${version}`);
    });

    const versions = async (request: FastifyRequest, reply: FastifyReply) => {
      const base = options.baseUrl(request);
      const version = versionOf(request);
      return reply
        .code(300)
        .send(
          version === '1.0'
            ? { versions: { values: [versionDocument(base, version)] } }
            : { versions: [versionDocument(base, version)] },
        );
    };
    km.get(PREFIX, versions);
    km.get(`${PREFIX}/`, versions);
    // Anything else outside /v1 is unknown to Barbican's version app.
    km.all(`${PREFIX}/*`, async (request) => {
      if (request.url.split('?')[0] === `${PREFIX}/`) {
        throw new ValidationError('METHOD_NOT_ALLOWED', '');
      }
      throw new NotFoundError('');
    });
    km.route({
      method: ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'],
      url: PREFIX,
      handler: async () => {
        throw new ValidationError('METHOD_NOT_ALLOWED', '');
      },
    });

    km.register(async (v1) => {
      // keystonemiddleware sits in front of every /v1 path, known or not.
      v1.addHook('onRequest', async (request) => {
        await app.authenticate(request);
      });

      const version = async (request: FastifyRequest) => ({
        version: versionDocument(options.baseUrl(request), versionOf(request)),
      });
      const versionConfig = { config: { operation: 'Version retrieval' } };
      v1.get(`${PREFIX}/v1`, versionConfig, version);
      v1.get(`${PREFIX}/v1/`, versionConfig, version);

      const list = async (request: FastifyRequest) => {
        const page = await secrets.listSecrets(credentialsOf(request), request.query as ListQueryParams);
        if (page.secrets.length === 0) return { secrets: [], total: page.total };
        const body: Record<string, unknown> = { secrets: page.secrets.map((s) => view(request, s)) };
        const pageHref = (offset: number) =>
          `${hrefBase(request)}/secrets?limit=${page.limit}&offset=${offset}`;
        if (page.offset > 0) body.previous = pageHref(Math.max(0, page.offset - page.limit));
        if (page.total > page.offset + page.limit) body.next = pageHref(page.offset + page.limit);
        body.total = page.total;
        return body;
      };
      const listConfig = { config: { operation: 'Secret(s) retrieval' } };
      v1.get(`${PREFIX}/v1/secrets`, listConfig, list);
      v1.get(`${PREFIX}/v1/secrets/`, listConfig, list);

      const create = async (request: FastifyRequest, reply: FastifyReply) => {
        const secret = await secrets.createSecret(credentialsOf(request), {
          mediaType: mediaTypeOf(request),
          body: bodyOf(request),
        });
        const ref = secretRef(request, secret.id);
        return reply.code(201).header('Location', ref).send({ secret_ref: ref });
      };
      const createConfig = { config: { operation: 'Secret creation' } };
      v1.post(`${PREFIX}/v1/secrets`, createConfig, create);
      v1.post(`${PREFIX}/v1/secrets/`, createConfig, create);

      const sendPayload = (reply: FastifyReply, payload: { body: Buffer; contentType: string }) =>
        reply.code(200).header('content-type', payload.contentType).send(payload.body);

      // JSON (or no Accept) is the metadata; any other Accept is the payload, as in Barbican.
      const show = async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
        const accept = request.headers.accept;
        const credentials = credentialsOf(request);
        if (isJsonAccept(accept))
          return view(request, await secrets.getSecret(credentials, request.params.id));
        return sendPayload(reply, await secrets.readPayload(credentials, request.params.id, accept, true));
      };
      const showConfig = { config: { operation: 'Secret retrieval' } };
      v1.get<IdParams>(`${PREFIX}/v1/secrets/:id`, showConfig, show);
      v1.get<IdParams>(`${PREFIX}/v1/secrets/:id/`, showConfig, show);

      const payload = async (request: FastifyRequest<IdParams>, reply: FastifyReply) =>
        sendPayload(
          reply,
          await secrets.readPayload(credentialsOf(request), request.params.id, request.headers.accept),
        );
      const payloadConfig = { config: { operation: 'Secret payload retrieval' } };
      v1.get<IdParams>(`${PREFIX}/v1/secrets/:id/payload`, payloadConfig, payload);
      v1.get<IdParams>(`${PREFIX}/v1/secrets/:id/payload/`, payloadConfig, payload);

      const update = async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
        const encoding = request.headers['content-encoding'];
        await secrets.storePayload(credentialsOf(request), request.params.id, {
          mediaType: mediaTypeOf(request),
          contentEncoding: typeof encoding === 'string' ? encoding : undefined,
          body: bodyOf(request),
        });
        return reply.code(204).send();
      };
      const updateConfig = { config: { operation: 'Secret update' } };
      v1.put<IdParams>(`${PREFIX}/v1/secrets/:id`, updateConfig, update);
      v1.put<IdParams>(`${PREFIX}/v1/secrets/:id/`, updateConfig, update);

      const remove = async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
        await secrets.deleteSecret(credentialsOf(request), request.params.id);
        return reply.code(204).send();
      };
      const removeConfig = { config: { operation: 'Secret deletion' } };
      v1.delete<IdParams>(`${PREFIX}/v1/secrets/:id`, removeConfig, remove);
      v1.delete<IdParams>(`${PREFIX}/v1/secrets/:id/`, removeConfig, remove);

      // A secret's ACL: PUT and PATCH answer 200 with its ref, DELETE 200 with a JSON null, as pecan renders
      // a controller that returns nothing under its json template.
      const showAcl = async (request: FastifyRequest<IdParams>) =>
        toAclView(await secrets.getAcl(credentialsOf(request), request.params.id));
      const changeAcl =
        (kind: 'replace' | 'update') => async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
          await secrets.changeAcl(credentialsOf(request), request.params.id, {
            kind,
            input: { mediaType: mediaTypeOf(request), body: bodyOf(request) },
          });
          return reply.code(200).send({ acl_ref: `${secretRef(request, request.params.id)}/acl` });
        };
      const removeAcl = async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
        await secrets.changeAcl(credentialsOf(request), request.params.id, { kind: 'delete' });
        return reply.code(200).type('application/json').send('null');
      };
      const aclGetConfig = { config: { operation: 'SecretACL(s) retrieval' } };
      const aclUpdateConfig = { config: { operation: 'SecretACL(s) Update' } };
      const aclDeleteConfig = { config: { operation: 'SecretACL(s) deletion' } };
      for (const url of [`${PREFIX}/v1/secrets/:id/acl`, `${PREFIX}/v1/secrets/:id/acl/`]) {
        v1.get<IdParams>(url, aclGetConfig, showAcl);
        v1.put<IdParams>(url, aclUpdateConfig, changeAcl('replace'));
        v1.patch<IdParams>(url, aclUpdateConfig, changeAcl('update'));
        v1.delete<IdParams>(url, aclDeleteConfig, removeAcl);
      }

      // A secret's user metadata: the whole map at /metadata, one key at /metadata/{key}.
      const metadataRef = (request: FastifyRequest<IdParams>) =>
        `${secretRef(request, request.params.id)}/metadata`;
      const showMetadata = async (request: FastifyRequest<IdParams>) => ({
        metadata: await secrets.getMetadata(credentialsOf(request), request.params.id),
      });
      const replaceMetadata = async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
        await secrets.replaceMetadata(credentialsOf(request), request.params.id, {
          mediaType: mediaTypeOf(request),
          body: bodyOf(request),
        });
        return reply.code(201).send({ metadata_ref: metadataRef(request) });
      };
      const addMetadatum = async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
        const metadatum = await secrets.addMetadatum(credentialsOf(request), request.params.id, {
          mediaType: mediaTypeOf(request),
          body: bodyOf(request),
        });
        return reply
          .code(201)
          .header('Location', `${metadataRef(request)}/${metadatum.key}`)
          .send({ key: metadatum.key, value: metadatum.value });
      };
      for (const url of [`${PREFIX}/v1/secrets/:id/metadata`, `${PREFIX}/v1/secrets/:id/metadata/`]) {
        v1.get<IdParams>(url, { config: { operation: 'Secret metadata retrieval' } }, showMetadata);
        v1.put<IdParams>(url, { config: { operation: 'Secret metadata creation' } }, replaceMetadata);
        v1.post<IdParams>(url, { config: { operation: 'Secret metadatum creation' } }, addMetadatum);
      }
      const metadatumUrl = `${PREFIX}/v1/secrets/:id/metadata/:key`;
      v1.get<KeyParams>(metadatumUrl, { config: { operation: 'Secret metadatum retrieval' } }, (request) =>
        secrets.getMetadatum(credentialsOf(request), request.params.id, request.params.key),
      );
      v1.put<KeyParams>(metadatumUrl, { config: { operation: 'Secret metadatum update' } }, (request) =>
        secrets.updateMetadatum(credentialsOf(request), request.params.id, request.params.key, {
          mediaType: mediaTypeOf(request),
          body: bodyOf(request),
        }),
      );
      v1.delete<KeyParams>(
        metadatumUrl,
        { config: { operation: 'Secret metadatum removal' } },
        async (request, reply) => {
          await secrets.deleteMetadatum(credentialsOf(request), request.params.id, request.params.key);
          return reply.code(204).send();
        },
      );

      // Everything else under /v1: pecan answers 405 for a known resource and 404 otherwise, and it
      // resolves a secret id (404 when invalid or absent) before it looks at the method or sub-resource.
      v1.all(`${PREFIX}/v1/*`, async (request) => {
        const path = request.url.split('?')[0].slice(`${PREFIX}/v1`.length);
        if (path === '/' || path === '/secrets' || path === '/secrets/') {
          throw new ValidationError('METHOD_NOT_ALLOWED', '');
        }
        const match = /^\/secrets\/([^/]+)(\/.*)?$/.exec(path);
        if (!match) throw new NotFoundError('');
        await secrets.checkSecretExists(match[1]);
        const rest = match[2] ?? '';
        if (['', '/', '/payload', '/payload/', '/acl', '/acl/', '/metadata', '/metadata/'].includes(rest)) {
          throw new ValidationError('METHOD_NOT_ALLOWED', '');
        }
        // Barbican routes only GET, PUT and DELETE to a metadata key; any other method is 405.
        if (/^\/metadata\/[^/]+$/.test(rest)) throw new ValidationError('METHOD_NOT_ALLOWED', '');
        throw new NotFoundError('');
      });
      v1.route({
        method: ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'],
        url: `${PREFIX}/v1`,
        handler: async () => {
          throw new ValidationError('METHOD_NOT_ALLOWED', '');
        },
      });
    });
  });
}

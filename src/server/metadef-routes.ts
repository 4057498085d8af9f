// Glance's metadata-definitions API at /image/v2/metadefs and its schemas at /image/v2/schemas/metadefs:
// the routes parse and render; the service authorizes and decides.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  METADEF_SCHEMA_NAMES,
  type MetadefQuery,
  type MetadefService,
  metadefSchema,
} from '../metadefs/index.ts';
import { glanceJsonBody } from './json-body.ts';
import { refuseOtherMethods } from './method-not-allowed.ts';
import { credentialsOf } from './request-credentials.ts';

interface MetadefRouteOptions {
  metadefs: MetadefService;
  baseUrl: (request: FastifyRequest) => string;
}

type Ns = { Params: { ns: string } };
type NsItem = { Params: { ns: string; name: string } };

const firstValue = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : Array.isArray(value) ? (value[value.length - 1] as string) : undefined;

export function registerMetadefRoutes(app: FastifyInstance, options: MetadefRouteOptions): void {
  const { metadefs } = options;
  const base = '/image/v2/metadefs';

  app.register(async (api) => {
    api.addHook('onRequest', async (request) => {
      await app.authenticate(request);
    });

    for (const name of METADEF_SCHEMA_NAMES) {
      api.get(`/image/v2/schemas/metadefs/${name}`, async () => metadefSchema(name));
    }

    // Namespaces.
    api.get(`${base}/namespaces`, async (request) =>
      metadefs.listNamespaces(credentialsOf(request), request.query as MetadefQuery),
    );
    api.post(`${base}/namespaces`, async (request, reply) => {
      const view = await metadefs.createNamespace(credentialsOf(request), await glanceJsonBody(request));
      const location = `${options.baseUrl(request)}/image/v2/metadefs/namespaces/${encodeURIComponent(String(view.namespace))}`;
      return reply.code(201).header('Location', location).send(view);
    });
    api.get<Ns>(`${base}/namespaces/:ns`, async (request) =>
      metadefs.getNamespace(
        credentialsOf(request),
        request.params.ns,
        firstValue((request.query as MetadefQuery).resource_type),
      ),
    );
    api.put<Ns>(`${base}/namespaces/:ns`, async (request) =>
      metadefs.updateNamespace(credentialsOf(request), request.params.ns, await glanceJsonBody(request)),
    );
    api.delete<Ns>(`${base}/namespaces/:ns`, async (request, reply) => {
      await metadefs.deleteNamespace(credentialsOf(request), request.params.ns);
      return reply.code(204).send();
    });

    // Objects.
    api.get<Ns>(`${base}/namespaces/:ns/objects`, async (request) =>
      metadefs.listObjects(credentialsOf(request), request.params.ns),
    );
    api.post<Ns>(`${base}/namespaces/:ns/objects`, async (request, reply) =>
      reply
        .code(201)
        .send(
          await metadefs.createObject(
            credentialsOf(request),
            request.params.ns,
            await glanceJsonBody(request),
          ),
        ),
    );
    api.delete<Ns>(`${base}/namespaces/:ns/objects`, async (request, reply) => {
      await metadefs.deleteNamespaceContents(credentialsOf(request), request.params.ns, 'object');
      return reply.code(204).send();
    });
    api.get<NsItem>(`${base}/namespaces/:ns/objects/:name`, async (request) =>
      metadefs.getObject(credentialsOf(request), request.params.ns, request.params.name),
    );
    api.put<NsItem>(`${base}/namespaces/:ns/objects/:name`, async (request) =>
      metadefs.updateObject(
        credentialsOf(request),
        request.params.ns,
        request.params.name,
        await glanceJsonBody(request),
      ),
    );
    api.delete<NsItem>(`${base}/namespaces/:ns/objects/:name`, async (request, reply) => {
      await metadefs.deleteObject(credentialsOf(request), request.params.ns, request.params.name);
      return reply.code(204).send();
    });

    // Properties.
    api.get<Ns>(`${base}/namespaces/:ns/properties`, async (request) =>
      metadefs.listProperties(credentialsOf(request), request.params.ns),
    );
    api.post<Ns>(`${base}/namespaces/:ns/properties`, async (request, reply) =>
      reply
        .code(201)
        .send(
          await metadefs.createProperty(
            credentialsOf(request),
            request.params.ns,
            await glanceJsonBody(request),
          ),
        ),
    );
    api.delete<Ns>(`${base}/namespaces/:ns/properties`, async (request, reply) => {
      await metadefs.deleteNamespaceContents(credentialsOf(request), request.params.ns, 'property');
      return reply.code(204).send();
    });
    api.get<NsItem>(`${base}/namespaces/:ns/properties/:name`, async (request) =>
      metadefs.getProperty(
        credentialsOf(request),
        request.params.ns,
        request.params.name,
        firstValue((request.query as MetadefQuery).resource_type),
      ),
    );
    api.put<NsItem>(`${base}/namespaces/:ns/properties/:name`, async (request) =>
      metadefs.updateProperty(
        credentialsOf(request),
        request.params.ns,
        request.params.name,
        await glanceJsonBody(request),
      ),
    );
    api.delete<NsItem>(`${base}/namespaces/:ns/properties/:name`, async (request, reply) => {
      await metadefs.deleteProperty(credentialsOf(request), request.params.ns, request.params.name);
      return reply.code(204).send();
    });

    // Tags.
    api.get<Ns>(`${base}/namespaces/:ns/tags`, async (request) =>
      metadefs.listTags(credentialsOf(request), request.params.ns, request.query as MetadefQuery),
    );
    api.post<Ns>(`${base}/namespaces/:ns/tags`, async (request, reply) => {
      const append = firstValue(request.headers['x-openstack-append']);
      const view = await metadefs.createTags(
        credentialsOf(request),
        request.params.ns,
        await glanceJsonBody(request),
        append,
      );
      return reply.code(201).send(view);
    });
    api.delete<Ns>(`${base}/namespaces/:ns/tags`, async (request, reply) => {
      await metadefs.deleteNamespaceContents(credentialsOf(request), request.params.ns, 'tag');
      return reply.code(204).send();
    });
    api.get<NsItem>(`${base}/namespaces/:ns/tags/:name`, async (request) =>
      metadefs.getTag(credentialsOf(request), request.params.ns, request.params.name),
    );
    api.post<NsItem>(`${base}/namespaces/:ns/tags/:name`, async (request, reply) =>
      reply
        .code(201)
        .send(await metadefs.createTag(credentialsOf(request), request.params.ns, request.params.name)),
    );
    api.put<NsItem>(`${base}/namespaces/:ns/tags/:name`, async (request) =>
      metadefs.updateTag(
        credentialsOf(request),
        request.params.ns,
        request.params.name,
        await glanceJsonBody(request),
      ),
    );
    api.delete<NsItem>(`${base}/namespaces/:ns/tags/:name`, async (request, reply) => {
      await metadefs.deleteTag(credentialsOf(request), request.params.ns, request.params.name);
      return reply.code(204).send();
    });

    // Resource types and their associations with namespaces.
    api.get(`${base}/resource_types`, async (request) => metadefs.listResourceTypes(credentialsOf(request)));
    api.get<Ns>(`${base}/namespaces/:ns/resource_types`, async (request) =>
      metadefs.listAssociations(credentialsOf(request), request.params.ns),
    );
    api.post<Ns>(`${base}/namespaces/:ns/resource_types`, async (request, reply) =>
      reply
        .code(201)
        .send(
          await metadefs.createAssociation(
            credentialsOf(request),
            request.params.ns,
            await glanceJsonBody(request),
          ),
        ),
    );
    api.delete<NsItem>(`${base}/namespaces/:ns/resource_types/:name`, async (request, reply) => {
      await metadefs.deleteAssociation(credentialsOf(request), request.params.ns, request.params.name);
      return reply.code(204).send();
    });

    // Every other method on a known resource is 405 with the methods it allows, as Glance's router says.
    const allowed: Record<string, string> = {
      [`${base}/namespaces`]: 'GET, POST',
      [`${base}/namespaces/:ns`]: 'GET, PUT, DELETE',
      [`${base}/namespaces/:ns/objects`]: 'GET, POST, DELETE',
      [`${base}/namespaces/:ns/objects/:name`]: 'GET, PUT, DELETE',
      [`${base}/namespaces/:ns/properties`]: 'GET, POST, DELETE',
      [`${base}/namespaces/:ns/properties/:name`]: 'GET, PUT, DELETE',
      [`${base}/namespaces/:ns/tags`]: 'GET, POST, DELETE',
      [`${base}/namespaces/:ns/tags/:name`]: 'GET, POST, PUT, DELETE',
      [`${base}/resource_types`]: 'GET',
      [`${base}/namespaces/:ns/resource_types`]: 'GET, POST',
      [`${base}/namespaces/:ns/resource_types/:name`]: 'DELETE',
      ...Object.fromEntries(
        METADEF_SCHEMA_NAMES.map((name) => [`/image/v2/schemas/metadefs/${name}`, 'GET']),
      ),
    };
    refuseOtherMethods(api, allowed);
  });
}

// Glance's router answers a known resource's other methods with 405 and an Allow header naming the ones it
// takes; every Glance-style route file declares its resources once and registers this for them.
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../errors/index.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];

/** `allowed` maps a route pattern to the methods it takes, as `Allow` lists them (`GET, POST`). */
export function refuseOtherMethods(api: FastifyInstance, allowed: Record<string, string>): void {
  for (const [url, allow] of Object.entries(allowed)) {
    const taken = allow.split(', ');
    // HEAD goes with GET (Fastify answers it from the GET route).
    const methods = METHODS.filter((m) => !taken.includes(m) && !(m === 'HEAD' && taken.includes('GET')));
    api.route({
      method: methods as never,
      url,
      handler: async (request) => {
        throw new ValidationError(
          'METHOD_NOT_ALLOWED',
          `The method ${request.method} is not allowed for this resource. `,
          { headers: { Allow: allow } },
        );
      },
    });
  }
}

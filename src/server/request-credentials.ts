// The caller's credentials, which the authentication hook put on the request; every route reads them here.
import type { FastifyRequest } from 'fastify';
import { AuthError } from '../errors/index.ts';
import type { Credentials } from '../identity/index.ts';

export function credentialsOf(request: FastifyRequest): Credentials {
  if (!request.credentials) throw new AuthError('UNAUTHENTICATED', 'Authentication required');
  return request.credentials;
}

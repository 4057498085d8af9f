// Every request gets an id in Glance's form, `req-<uuid>`: sent back as X-OpenStack-Request-Id and named
// in every log line of the request, so an operator can follow one call from the client's error message to
// the log. A trusted proxy (trustedProxies) may hand one in, to follow a call across processes; from
// anyone else, and in any other form, an offered id is ignored and a new one made.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';
import { isTrustedPeer } from './base-url.ts';

export const REQUEST_ID_HEADER = 'X-OpenStack-Request-Id';

const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The id of `request`: the one a trusted proxy offers when well formed, otherwise a new one. */
export function requestIdOf(request: IncomingMessage, trustedProxies: BlockList): string {
  const offered = request.headers['x-openstack-request-id'];
  if (typeof offered === 'string' && REQUEST_ID.test(offered)) {
    if (isTrustedPeer(trustedProxies, request.socket.remoteAddress)) return offered;
  }
  return `req-${randomUUID()}`;
}

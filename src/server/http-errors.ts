// Renders ImageTrustError in the dialect of the API that raised it: Glance (webob's HTML, JSON or plain
// text, chosen by Accept), Keystone (JSON `{"error": {...}}`) or Barbican (JSON `{"code", "title",
// "description"}`). Status codes come from the catalogue.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ImageTrustError, NotFoundError, toImageTrustError, ValidationError } from '../errors/index.ts';
import { http } from '../http/index.ts';

export type ApiDialect = 'glance' | 'keystone' | 'barbican';

export function dialectOf(url: string): ApiDialect {
  if (url.startsWith('/key-manager')) return 'barbican';
  return url.startsWith('/identity') ? 'keystone' : 'glance';
}

/**
 * Fastify's own refusals (a Content-Type it cannot parse, a bad Content-Length, a body over the limit)
 * as catalogue errors, so they keep their 4xx instead of becoming INTERNAL; anything else is wrapped.
 * Keystone refuses a body it cannot read with 400 where Glance and Barbican answer 415.
 */
export function toHttpError(thrown: unknown, dialect: ApiDialect): ImageTrustError {
  const { code, statusCode } = (thrown ?? {}) as { code?: unknown; statusCode?: unknown };
  const fromFastify =
    typeof code === 'string' &&
    code.startsWith('FST_') &&
    typeof statusCode === 'number' &&
    statusCode >= 400 &&
    statusCode < 500;
  if (!fromFastify) return toImageTrustError(thrown);
  const cause = { cause: thrown };
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ValidationError('BAD_REQUEST', 'The request body is larger than this API accepts.', cause);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ValidationError('BAD_REQUEST', 'Body expected in request.', cause);
    case 'FST_ERR_BAD_URL':
      return new ValidationError(
        'BAD_REQUEST',
        'The request URL has a %-escape that does not decode.',
        cause,
      );
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ValidationError('BAD_REQUEST', 'A segment of the request URL is too long.', cause);
  }
  switch (statusCode) {
    case 404:
      return new NotFoundError('The resource could not be found.', cause);
    case 406:
      return new ValidationError('NOT_ACCEPTABLE', 'No representation matches the Accept header.', cause);
    case 415:
      return dialect === 'keystone'
        ? new ValidationError('BAD_REQUEST', 'The Content-Type header cannot be read.', cause)
        : new ValidationError('UNSUPPORTED_MEDIA_TYPE', 'The request media type is not supported.', cause);
    default:
      return new ValidationError('BAD_REQUEST', 'The request is malformed.', cause);
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** webob's class explanations, shown above a `detail` message (whitespace already collapsed, as webob does). */
const EXPLANATIONS: Record<number, string> = {
  400: 'The server could not comply with the request since it is either malformed or otherwise incorrect.',
  401: 'This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.',
  403: 'Access was denied to this resource.',
  404: 'The resource could not be found.',
  405: 'The method is not allowed for this resource.',
  409: 'There was a conflict when trying to complete your request.',
  410: 'This resource is no longer available. No forwarding address is given.',
  413: 'The body of your request was too large for this server.',
  415: 'The request media type is not supported by this server.',
  416: 'The Range requested is not available.',
  500: 'The server has either erred or is incapable of performing the requested operation.',
};

/** Picks the representation webob would: JSON if asked for, HTML for browsers and `*\/*`, else plain text. */
function glanceRepresentation(accept: string | undefined): 'json' | 'html' | 'plain' {
  const value = (accept ?? '').toLowerCase();
  if (value.includes('application/json')) return 'json';
  if (value.includes('text/html') || value.includes('*/*')) return 'html';
  return 'plain';
}

export function sendError(request: FastifyRequest, reply: FastifyReply, thrown: unknown): FastifyReply {
  const error: ImageTrustError = toImageTrustError(thrown);
  const status = error.status;
  const title = http.STATUS_CODES[status] ?? 'Error';
  if (status >= 500) request.log.error({ err: error, code: error.code }, 'request failed');
  else request.log.info({ code: error.code, status }, error.message);
  reply.code(status).headers(error.headers);
  reply.header('X-ImageTrust-Error-Code', error.code);
  // Internal errors keep their detail in the log, not in the response.
  const message = error.code === 'INTERNAL' ? EXPLANATIONS[500] : error.message;
  const dialect = dialectOf(request.url);
  if (dialect === 'keystone') {
    return reply.type('application/json').send({ error: { code: status, message, title } });
  }
  if (dialect === 'barbican') return sendBarbicanError(request, reply, error);
  if (status === 401) reply.header('WWW-Authenticate', 'Keystone uri="/identity/v3"');
  // webob's body template: `${explanation}<br /><br />\n${detail}\n${comment}\n`.
  const body = error.detail
    ? `${EXPLANATIONS[status] ?? title}<br /><br />\n${message}\n\n`
    : `${message}<br /><br />\n\n\n`;
  switch (glanceRepresentation(request.headers.accept)) {
    case 'json':
      return reply.type('application/json').send({ message: body, code: `${status} ${title}`, title });
    case 'html':
      return reply
        .type('text/html; charset=UTF-8')
        .send(
          `<html>\n <head>\n  <title>${status} ${title}</title>\n </head>\n <body>\n  <h1>${status} ${title}</h1>\n  ${escapeHtml(body).replaceAll('&#60;br /&#62;', '<br />')}\n </body>\n</html>`,
        );
    case 'plain':
      // webob's strip_tags: newlines become spaces, then <br /> becomes a newline.
      return reply
        .type('text/plain; charset=UTF-8')
        .send(`${status} ${title}\n\n${body.replaceAll('\n', ' ').replaceAll('<br />', '\n')}`);
  }
}

/**
 * Barbican's JSONErrorHook body. A 401 comes from keystonemiddleware in front of Barbican, so it has that
 * shape; 5xx detail is hidden behind the route's operation name, as Barbican's handle_exceptions does.
 */
function sendBarbicanError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ImageTrustError,
): FastifyReply {
  const status = error.status;
  reply.type('application/json');
  if (status === 401) {
    const message = 'The request you have made requires authentication.';
    reply.header('WWW-Authenticate', 'Keystone uri="/identity/v3"');
    return reply.send({ error: { code: 401, title: 'Unauthorized', message } });
  }
  const operation =
    (request.routeOptions?.config as { operation?: string } | undefined)?.operation ?? 'System';
  const description =
    status >= 500 ? `${operation} failure seen - please contact site administrator.` : error.message;
  const title = status === 413 ? 'Request Entity Too Large' : (http.STATUS_CODES[status] ?? 'Error');
  return reply.send({ code: status, title, description });
}

/**
 * Our own APIs' error body (containers, audit): `{"error": {code, status, title, message, ...extra}}`
 * with the stable code in `X-ImageTrust-Error-Code`.
 */
export function sendJsonError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ImageTrustError,
  extra: Record<string, unknown> = {},
): FastifyReply {
  if (error.status >= 500) request.log.error({ err: error, code: error.code }, 'request failed');
  else request.log.info({ code: error.code, status: error.status }, error.message);
  // Internal errors keep their detail in the log, not in the response.
  const message = error.code === 'INTERNAL' ? 'The server could not complete the request.' : error.message;
  return reply
    .code(error.status)
    .headers(error.headers)
    .header('X-ImageTrust-Error-Code', error.code)
    .type('application/json')
    .send({
      error: {
        code: error.code,
        status: error.status,
        title: http.STATUS_CODES[error.status] ?? 'Error',
        message,
        ...extra,
      },
    });
}

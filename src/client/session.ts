// An authenticated session against imagetrust (or OpenStack): Keystone v3 password or token auth, the
// service catalog, and HTTP requests that stream bodies both ways, over TLS with the operator's CAs.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { connectionFailure, ERROR_CATALOGUE, type ErrorCode, ImageTrustError } from '../errors/index.ts';
import { type DataResponse, getData, http } from '../http/index.ts';
import type { AuthOptions } from './auth-options.ts';

export interface HttpResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
}

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; region?: string; region_id?: string; url: string }[];
}

/** Turns an error response into an ImageTrustError, keeping the server's code when it sent one. */
async function toError(response: HttpResponse, what: string): Promise<ImageTrustError> {
  let text = '';
  for await (const chunk of response.body) {
    text += chunk;
    if (text.length > 64 * 1024) break;
  }
  return errorFromResponse(response.status, response.headers, text, what);
}

function errorFromResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
  what: string,
): ImageTrustError {
  let message = text.trim();
  try {
    const json = JSON.parse(text);
    message = json.message ?? json.error?.message ?? json.description ?? json.title ?? message;
  } catch {
    // webob's plain-text form: "<status line>\n\n<message>"
    message = message.replace(/^\d{3} [^\n]*\n\n/, '');
  }
  message = String(message)
    .replace(/<br \/>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const sent = headers['x-imagetrust-error-code'];
  const code: ErrorCode =
    typeof sent === 'string' && sent in ERROR_CATALOGUE
      ? (sent as ErrorCode)
      : status === 401
        ? 'UNAUTHENTICATED'
        : status === 403
          ? 'FORBIDDEN'
          : status === 404
            ? 'NOT_FOUND'
            : status === 409
              ? 'CONFLICT'
              : status >= 500
                ? 'INTERNAL'
                : 'BAD_REQUEST';
  return new ImageTrustError(code, `${what}: ${status} ${message}`);
}

export class Session {
  readonly options: AuthOptions;
  #token: string | null = null;
  #catalog: CatalogEntry[] = [];
  readonly #tls: Pick<RequestOptions & { ca?: Buffer; cert?: Buffer; key?: Buffer }, 'ca' | 'cert' | 'key'>;

  constructor(options: AuthOptions) {
    this.options = options;
    const read = (file: string | undefined) => (file ? readFileSync(file) : undefined);
    this.#tls = { ca: read(options.cacert), cert: read(options.cert), key: read(options.key) };
  }

  get token(): string | null {
    return this.#token;
  }

  /** Sends one request; `body` may be a Buffer, a string or a stream (then sent chunked unless `length` is given). */
  async request(
    method: string,
    url: string,
    init: {
      headers?: Record<string, string | number>;
      body?: Buffer | string | Readable;
      length?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<HttpResponse> {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : http.request;
    const headers: Record<string, string | number> = { 'user-agent': 'imagetrust', ...init.headers };
    if (this.#token) headers['x-auth-token'] = this.#token;
    if (typeof init.body === 'string' || Buffer.isBuffer(init.body))
      headers['content-length'] = Buffer.byteLength(init.body);
    else if (init.length !== undefined) headers['content-length'] = init.length;
    return new Promise((resolve, reject) => {
      const req = send(target, {
        method,
        headers,
        signal: init.signal,
        ...(target.protocol === 'https:' ? this.#tls : {}),
      });
      req.on('response', (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
      req.on('error', (error) =>
        reject(connectionFailure(error, `Cannot reach ${target.origin}`, 'INTERNAL')),
      );
      const body = init.body;
      if (body === undefined) req.end();
      else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (error) => req.destroy(error));
        body.pipe(req);
      }
    });
  }

  /**
   * GET of bulk data (image bytes) through the socket-level reader: a block is valid only until the next
   * is asked for. Throws ImageTrustError on any status outside `expect`.
   */
  async download(url: string, expect: number[], what: string, signal?: AbortSignal): Promise<DataResponse> {
    const target = new URL(url);
    const headers: Record<string, string> = { 'User-Agent': 'imagetrust' };
    if (this.#token) headers['X-Auth-Token'] = this.#token;
    const response = await getData(target, {
      headers,
      ...(target.protocol === 'https:' ? { tls: this.#tls } : {}),
      ...(signal ? { signal } : {}),
    });
    if (expect.includes(response.status)) return response;
    throw errorFromResponse(response.status, response.headers, await response.text(), what);
  }

  /** JSON request; throws ImageTrustError on any status outside `expect`. */
  async json<T = Record<string, unknown>>(
    method: string,
    url: string,
    body?: unknown,
    expect: number[] = [200, 201, 202],
  ): Promise<T> {
    const response = await this.request(method, url, {
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!expect.includes(response.status)) throw await toError(response, `${method} ${url}`);
    let text = '';
    for await (const chunk of response.body) text += chunk;
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Throws the server's error unless the response has one of the expected statuses. */
  async expect(response: HttpResponse, expect: number[], what: string): Promise<HttpResponse> {
    if (!expect.includes(response.status)) throw await toError(response, what);
    return response;
  }

  /** Authenticates with Keystone v3 (password, or token when given) and keeps the token and catalog. */
  async authenticate(): Promise<void> {
    const o = this.options;
    const base = o.authUrl.replace(/\/+$/, '');
    const authUrl = /\/v3$/.test(base) ? base : `${base}/v3`;
    const domain = (name?: string, id?: string) => (id ? { id } : { name: name ?? 'Default' });
    const identity = o.token
      ? { methods: ['token'], token: { id: o.token } }
      : {
          methods: ['password'],
          password: {
            user: o.userId
              ? { id: o.userId, password: o.password }
              : { name: o.username, domain: domain(o.userDomainName, o.userDomainId), password: o.password },
          },
        };
    const scope = o.projectId
      ? { project: { id: o.projectId } }
      : o.projectName
        ? { project: { name: o.projectName, domain: domain(o.projectDomainName, o.projectDomainId) } }
        : undefined;
    const response = await this.request('POST', `${authUrl}/auth/tokens`, {
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ auth: { identity, ...(scope ? { scope } : {}) } }),
    });
    if (response.status !== 201) throw await toError(response, 'Authentication failed');
    let text = '';
    for await (const chunk of response.body) text += chunk;
    this.#token = String(response.headers['x-subject-token']);
    this.#catalog = (JSON.parse(text).token?.catalog ?? []) as CatalogEntry[];
  }

  /** The catalog URL of a service type for the configured interface and region. */
  endpoint(type: string): string {
    const service = this.#catalog.find((entry) => entry.type === type);
    const endpoint = service?.endpoints.find(
      (e) =>
        e.interface === this.options.interface &&
        (!this.options.regionName ||
          e.region_id === this.options.regionName ||
          e.region === this.options.regionName),
    );
    if (!endpoint) {
      throw new ImageTrustError(
        'NOT_FOUND',
        `The service catalog has no ${this.options.interface} '${type}' endpoint.`,
      );
    }
    return endpoint.url.replace(/\/+$/, '');
  }
}

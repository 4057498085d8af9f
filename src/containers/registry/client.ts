// A Docker Registry HTTP API v2 / OCI distribution client that only reads: manifests by tag or
// digest, small blobs and tag lists, with bearer-token or Basic auth and the operator's TLS material.
// Whatever is fetched by digest is hashed and compared before anyone sees it.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  AuthError,
  type ErrorCode,
  ImageTrustError,
  NotFoundError,
  VerificationError,
} from '../../errors/index.ts';
import { http } from '../../http/index.ts';
import type { DestinationGuard } from '../destination-guard.ts';
import {
  type AuthChallenge,
  basicAuthorization,
  parseAuthChallenges,
  type RegistryCredentials,
  readTokenResponse,
  tokenRequestUrl,
} from './auth.ts';
import { guessManifestMimeType, MANIFEST_ACCEPT, simplifyContentType } from './media-types.ts';
import { loadRegistryTls, type RegistryTls } from './tls.ts';
import { toTransportError } from './transport-errors.ts';

/** How to reach and authenticate to one registry. */
export interface RegistryClientOptions {
  /** Verify TLS certificates (default true). When false, plain HTTP is tried if HTTPS fails, as c/image does. */
  tlsVerify?: boolean;
  /** Folder with `*.crt` CAs and a `*.cert`/`*.key` client pair; default /etc/containers/certs.d/<host>. */
  certDir?: string;
  credentials?: RegistryCredentials;
  /**
   * The digest of manifest bytes for an algorithm; defaults to a plain hash. Pass the schema1-aware
   * function so that signed v2s1 manifests fetched by digest verify as c/image verifies them.
   */
  manifestDigest?: (manifest: Buffer, algorithm: string) => string;
  /** Milliseconds on a monotonic scale, for token lifetimes; defaults to performance.now. */
  now?: () => number;
  signal?: AbortSignal;
  /** Refuses internal destinations (requests made for a tenant); redirects are checked too. */
  guard?: DestinationGuard;
  /** How the caller turns TLS verification off, for the hint on a plain-HTTP registry (default `use --tls-verify=false`). */
  insecureHint?: string;
}

/** A manifest as the registry served it. */
export interface FetchedManifest {
  bytes: Buffer;
  /** The Content-Type without parameters, or guessed from the body when the server sent none. */
  mimeType: string;
  /** The manifest digest (sha256, or the algorithm of the digest it was fetched by). */
  digest: string;
  /** The `Docker-Content-Digest` header, when the registry sent one. */
  contentDigest?: string;
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

// c/image refuses manifests over 4 MiB and signature payloads of similar size; so do we.
const MAX_MANIFEST_BYTES = 4 << 20;
const MAX_BLOB_BYTES = 4 << 20;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

/** True when `reference` is a digest (`algo:hex`) rather than a tag. */
export function isDigest(reference: string): boolean {
  return reference.includes(':');
}

/** Plain digest of bytes, `algo:hex`. */
export function digestOf(bytes: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

function checkDigestSyntax(digest: string): string {
  if (!DIGEST.test(digest)) {
    throw new ImageTrustError(
      'BAD_REQUEST',
      `invalid digest ${JSON.stringify(digest)}: expected sha256:<64 hex>`,
    );
  }
  return digest.slice(0, digest.indexOf(':'));
}

/** The text of a distribution error body (`{"errors":[{"code","message"}]}`), else the HTTP status text. */
function registryErrorText(response: RawResponse): string {
  try {
    const parsed = JSON.parse(response.body.toString('utf8')) as {
      errors?: { code?: string; message?: string; detail?: unknown }[];
    };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors
        .map((e) =>
          [
            e.message ?? e.code?.toLowerCase().replace(/_/g, ' '),
            e.detail && typeof e.detail !== 'object' ? e.detail : undefined,
          ]
            .filter(Boolean)
            .join(': '),
        )
        .join('; ');
    }
  } catch {
    // Not JSON: fall back to the status line.
  }
  return `status ${response.status}`;
}

function statusError(what: string, response: RawResponse): ImageTrustError {
  const text = `${what}: ${registryErrorText(response)}`;
  switch (response.status) {
    case 401:
      return new AuthError(
        'UNAUTHENTICATED',
        `${text} (authentication required: give --creds user:password)`,
      );
    case 403:
      return new AuthError('FORBIDDEN', `${text} (the credentials may not pull this repository)`);
    case 404:
      return new NotFoundError(text);
    default: {
      const code: ErrorCode = response.status >= 500 ? 'REGISTRY_UNREACHABLE' : 'BAD_REQUEST';
      return new ImageTrustError(code, `${text} (HTTP ${response.status})`);
    }
  }
}

/** Reads, authenticates and TLS-configures requests to one registry (`host[:port]`). */
export class RegistryClient {
  /** The registry as references name it (`docker.io`, `127.0.0.1:5000`). */
  readonly registry: string;
  readonly #host: string;
  readonly #options: RegistryClientOptions;
  readonly #tls: RegistryTls;
  readonly #now: () => number;
  #base: Promise<URL> | undefined;
  #challenges: AuthChallenge[] = [];
  readonly #tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.registry = registry;
    // docker.io is a name, not a host: its API lives at registry-1.docker.io.
    this.#host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    this.#options = options;
    this.#tls = loadRegistryTls(registry, options.certDir, options.tlsVerify ?? true);
    // Lifetimes are durations: a monotonic clock, so a wall-clock jump cannot stretch a token's life.
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Fetches a manifest by tag or digest with c/image's Accept list. A manifest fetched by digest
   * must hash to that digest, or it is refused.
   */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const manifest = await this.#manifest(repository, reference, false);
    return manifest!;
  }

  /** Like getManifest, but a missing tag or digest gives null (sigstore attachment tags are optional). */
  findManifest(repository: string, reference: string): Promise<FetchedManifest | null> {
    return this.#manifest(repository, reference, true);
  }

  async #manifest(
    repository: string,
    reference: string,
    missingIsNull: boolean,
  ): Promise<FetchedManifest | null> {
    const byDigest = isDigest(reference);
    const algorithm = byDigest ? checkDigestSyntax(reference) : 'sha256';
    const what = `reading manifest ${reference} in ${this.registry}/${repository}`;
    const path = `/v2/${repository}/manifests/${reference}`;
    const response = await this.#get(
      repository,
      path,
      what,
      { accept: MANIFEST_ACCEPT.join(', ') },
      MAX_MANIFEST_BYTES,
    );
    if (response.status === 404 && missingIsNull) return null;
    if (response.status !== 200) throw statusError(what, response);
    return this.#toManifest(response, byDigest ? reference : undefined, algorithm);
  }

  /** Fetches a small blob (signature payloads, configs) and checks it against its digest. */
  async getBlob(repository: string, digest: string, maxBytes = MAX_BLOB_BYTES): Promise<Buffer> {
    const algorithm = checkDigestSyntax(digest);
    const what = `fetching blob ${digest} in ${this.registry}/${repository}`;
    const response = await this.#get(repository, `/v2/${repository}/blobs/${digest}`, what, {}, maxBytes);
    if (response.status !== 200) throw statusError(what, response);
    const actual = digestOf(response.body, algorithm);
    if (actual !== digest) {
      throw new VerificationError(
        'SIGNATURE_INVALID',
        `${what}: the blob hashes to ${actual}, not to the digest it was fetched by`,
      );
    }
    return response.body;
  }

  /** Lists the tags of a repository (one page of up to `pageSize`, following Link headers). */
  async listTags(repository: string, pageSize = 1000): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${repository}/tags/list?n=${pageSize}`;
    const what = `listing tags of ${this.registry}/${repository}`;
    while (next) {
      const response = await this.#get(
        repository,
        next,
        what,
        { accept: 'application/json' },
        MAX_MANIFEST_BYTES,
      );
      if (response.status !== 200) throw statusError(what, response);
      const page = JSON.parse(response.body.toString('utf8')) as { tags?: string[] | null };
      tags.push(...(page.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(String(response.headers.link ?? ''));
      next = link ? link[1] : undefined;
    }
    return tags;
  }

  #toManifest(response: RawResponse, expected: string | undefined, algorithm: string): FetchedManifest {
    const bytes = response.body;
    const mimeType = simplifyContentType(response.headers['content-type']);
    const digestFn = this.#options.manifestDigest ?? digestOf;
    const digest = digestFn(bytes, algorithm);
    if (expected !== undefined && digest !== expected) {
      throw new VerificationError(
        'SIGNATURE_INVALID',
        `Manifest does not match provided manifest digest ${expected} (the registry served content hashing to ${digest})`,
      );
    }
    const header = response.headers['docker-content-digest'];
    return {
      bytes,
      // Registries answer text/plain or application/json for old uploads; the body knows better.
      mimeType:
        mimeType === '' || mimeType === 'text/plain' || mimeType === 'application/json'
          ? guessManifestMimeType(bytes) || mimeType
          : mimeType,
      digest,
      ...(typeof header === 'string' ? { contentDigest: header } : {}),
    };
  }

  /** A GET with authentication: answers a 401 challenge once (token or Basic), then gives the response. */
  async #get(
    repository: string,
    pathAndQuery: string,
    what: string,
    headers: Record<string, string>,
    maxBytes: number,
  ): Promise<RawResponse> {
    const base = await this.#baseUrl();
    const url = new URL(pathAndQuery, base);
    const scope = `repository:${repository}:pull`;
    let authorization = await this.#authorization(scope, what, false);
    let response = await this.#exchange(url, { ...headers, ...authorization }, maxBytes);
    if (response.status === 401) {
      const challenges = parseAuthChallenges(response.headers['www-authenticate']);
      if (challenges.length > 0) this.#challenges = challenges;
      this.#tokens.delete(scope);
      authorization = await this.#authorization(scope, what, true);
      if (Object.keys(authorization).length > 0) {
        response = await this.#exchange(url, { ...headers, ...authorization }, maxBytes);
      }
    }
    return response;
  }

  async #authorization(
    scope: string,
    what: string,
    afterChallenge: boolean,
  ): Promise<Record<string, string>> {
    const bearer = this.#challenges.find((c) => c.scheme === 'bearer');
    const credentials = this.#options.credentials;
    if (bearer) {
      const cached = this.#tokens.get(scope);
      if (cached && cached.expiresAt > this.#now()) return { authorization: `Bearer ${cached.token}` };
      const token = await this.#fetchToken(bearer, scope, what);
      return { authorization: `Bearer ${token}` };
    }
    const basic = this.#challenges.find((c) => c.scheme === 'basic');
    if (credentials && (basic || afterChallenge)) return { authorization: basicAuthorization(credentials) };
    return {};
  }

  async #fetchToken(challenge: AuthChallenge, scope: string, what: string): Promise<string> {
    let url: URL;
    try {
      url = tokenRequestUrl(challenge, [scope]);
    } catch (error) {
      throw new AuthError(
        'UNAUTHENTICATED',
        `${what}: the registry's bearer challenge is unusable: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const credentials = this.#options.credentials;
    const response = await this.#exchange(
      url,
      {
        accept: 'application/json',
        ...(credentials ? { authorization: basicAuthorization(credentials) } : {}),
      },
      1 << 20,
    );
    if (response.status === 401 || response.status === 403) {
      throw new AuthError(
        'UNAUTHENTICATED',
        `${what}: unable to retrieve auth token: invalid username/password: ${registryErrorText(response)}`,
      );
    }
    if (response.status !== 200)
      throw statusError(`${what}: requesting a token from ${url.origin}${url.pathname}`, response);
    try {
      const { token, expiresInSeconds } = readTokenResponse(response.body.toString('utf8'));
      this.#tokens.set(scope, { token, expiresAt: this.#now() + expiresInSeconds * 1000 - 5000 });
      return token;
    } catch (error) {
      throw new AuthError(
        'UNAUTHENTICATED',
        `${what}: the token endpoint answered: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Finds the scheme (and any auth challenge) with a ping to /v2/, falling back to HTTP only if TLS is not verified. */
  #baseUrl(): Promise<URL> {
    this.#base ??= (async () => {
      const schemes = this.#tls.rejectUnauthorized ? ['https'] : ['https', 'http'];
      let lastError: unknown;
      for (const scheme of schemes) {
        const base = new URL(`${scheme}://${this.#host}/`);
        try {
          const response = await this.#exchange(new URL('/v2/', base), {}, 1 << 20);
          this.#challenges = parseAuthChallenges(response.headers['www-authenticate']);
          return base;
        } catch (error) {
          // A destination the guard refuses is refused on every scheme: say so, not "could not ping".
          if (error instanceof ImageTrustError && error.code === 'FORBIDDEN') throw error;
          lastError = error;
        }
      }
      throw lastError;
    })();
    // A failed ping is not cached: the next call tries again.
    this.#base.catch(() => {
      this.#base = undefined;
    });
    return this.#base;
  }

  /** One GET, following up to five redirects; Authorization is only sent to the original host. */
  async #exchange(
    url: URL,
    headers: Record<string, string>,
    maxBytes: number,
    redirects = 0,
  ): Promise<RawResponse> {
    const response = await new Promise<RawResponse>((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const send = secure ? httpsRequest : http.request;
      const req = send(url, {
        method: 'GET',
        headers: { 'user-agent': 'imagetrust', ...headers },
        signal: this.#options.signal,
        ...this.#options.guard?.requestOptions(url),
        ...(secure ? this.#tls : {}),
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy(
              new ImageTrustError('BAD_REQUEST', `${url.pathname} is larger than ${maxBytes} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error) =>
          reject(toTransportError(error, `reading ${url.pathname} from ${this.registry}`, url)),
        );
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
      // Socket and TLS failures become coded errors here, worded as skopeo words them.
      req.on('error', (error) => {
        const context =
          url.pathname === '/v2/'
            ? `pinging container registry ${this.registry}`
            : `reading ${url.pathname} from ${this.registry}`;
        reject(toTransportError(error, context, url, this.#options.insecureHint));
      });
      req.end();
    });
    const location = response.headers.location;
    if (response.status >= 300 && response.status < 400 && typeof location === 'string' && redirects < 5) {
      const next = new URL(location, url);
      const { authorization: _dropped, ...rest } = headers;
      return this.#exchange(next, next.host === url.host ? headers : rest, maxBytes, redirects + 1);
    }
    return response;
  }
}

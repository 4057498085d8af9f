// Fetches image data for `web-download` imports: a tenant names the URL, so every hop (redirects
// included) passes Glance's URI filter and the destination guard (no loopback, private, link-local or
// metadata address unless the operator allowed the host), a declared length over the cap is refused
// before any byte is read, and the body is handed on as it arrives, never buffered.
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  type ImportSource,
  type ImportUriFilter,
  isImportUriAllowed,
  type WebDownloader,
} from '../catalog/index.ts';
import { createDestinationGuard } from '../containers/index.ts';
import { ImageTrustError, IntegrityError, SourceError } from '../errors/index.ts';
import { http } from '../http/index.ts';

export interface WebDownloaderOptions {
  filter: ImportUriFilter;
  /** Hosts (names, addresses, or host:port) reachable although internal: the operator's explicit choice. */
  internalHosts: readonly string[];
  /** A connection that sends nothing for this long is dropped (the import fails). */
  idleMs: number;
  maxRedirects?: number;
}

function failed(uri: string, why: string, cause?: unknown): SourceError {
  return new SourceError('SOURCE_DOWNLOAD_FAILED', `web-download of ${uri} failed: ${why}`, { cause });
}

/** Glance's words for an image over the cap, and the cap. */
function tooLarge(maxBytes: number): IntegrityError {
  return new IntegrityError(
    'IMAGE_TOO_LARGE',
    `The incoming image is too large: The provided image is too large. The limit is ${maxBytes} bytes.`,
  );
}

export function createWebDownloader(options: WebDownloaderOptions): WebDownloader {
  const guard = createDestinationGuard(options.internalHosts);
  const maxRedirects = options.maxRedirects ?? 5;

  const get = (url: URL, signal: AbortSignal): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      let guarded: ReturnType<typeof guard.requestOptions>;
      try {
        guarded = guard.requestOptions(url);
      } catch (error) {
        reject(error);
        return;
      }
      const send = url.protocol === 'https:' ? httpsRequest : http.request;
      const req = send(url, {
        method: 'GET',
        headers: { 'user-agent': 'imagetrust-web-download', accept: '*/*' },
        signal,
        ...guarded,
      });
      req.setTimeout(options.idleMs, () =>
        req.destroy(new Error(`nothing arrived for ${Math.round(options.idleMs / 1000)} s`)),
      );
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });

  return async (uri, { signal, maxBytes }): Promise<ImportSource> => {
    let url = new URL(uri);
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw failed(uri, `the scheme ${url.protocol.replace(/:$/, '')} cannot be fetched`);
      }
      let response: IncomingMessage;
      try {
        response = await get(url, signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        const code = (error as ImageTrustError).code;
        if (error instanceof ImageTrustError && code === 'FORBIDDEN') {
          throw failed(
            uri,
            `${url.hostname} is an internal address; an operator can allow it with import.webDownload.internalHosts`,
            error,
          );
        }
        throw failed(uri, (error as Error).message, error);
      }
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && typeof location === 'string') {
        response.resume();
        const next = new URL(location, url);
        // A redirect is a new request the tenant chose: it passes the same filter as the first.
        if (hop >= maxRedirects) throw failed(uri, `more than ${maxRedirects} redirects`);
        if (!isImportUriAllowed(next.href, options.filter)) {
          throw failed(uri, `it redirects to ${next.href}, which does not pass filtering`);
        }
        url = next;
        continue;
      }
      if (status !== 200) {
        response.resume();
        throw failed(uri, `the server answered HTTP ${status}`);
      }
      const declared = response.headers['content-length'];
      const contentLength = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
      if (contentLength !== undefined && contentLength > maxBytes) {
        response.destroy();
        throw tooLarge(maxBytes);
      }
      return {
        body: response,
        ...(contentLength !== undefined ? { contentLength } : {}),
        close: () => void response.destroy(),
      };
    }
  };
}

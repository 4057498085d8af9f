// Socket and TLS failures of registry and lookaside requests, named as skopeo names them: a plain-HTTP
// registry reads "server gave HTTP response to HTTPS client", not OpenSSL's "wrong version number".
import { ImageTrustError, RegistryError } from '../../errors/index.ts';

// OpenSSL's answers when the peer does not speak TLS at all (an HTTP server on the port).
const PLAIN_HTTP = /wrong version number|packet length too long|http request|unknown protocol/i;
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
]);
// Node's certificate verification codes (from OpenSSL's X509_V_ERR_* names) and its own TLS codes.
const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS_|ERR_SSL_/;

/** What went wrong with one request at the transport level, or undefined when it was no transport failure. */
export function classifyTransportError(
  error: unknown,
): 'plain-http' | 'tls' | 'unreachable' | 'timeout' | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return 'timeout';
  if (PLAIN_HTTP.test(error.message) || code === 'ERR_SSL_WRONG_VERSION_NUMBER') return 'plain-http';
  if (CERTIFICATE.test(code) || code === 'EPROTO') return 'tls';
  if (UNREACHABLE.has(code)) return 'unreachable';
  return undefined;
}

/**
 * A coded error for a failed request to `url`: `context` leads the message (`pinging container registry
 * HOST`), `insecureHint` says how the caller turns TLS verification off. Coded errors pass through.
 */
export function toTransportError(
  error: unknown,
  context: string,
  url: URL,
  insecureHint = 'use --tls-verify=false',
): ImageTrustError {
  if (error instanceof ImageTrustError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const get = `Get ${JSON.stringify(String(url))}`;
  switch (classifyTransportError(error)) {
    case 'plain-http':
      return new RegistryError(
        'REGISTRY_TLS',
        `${context}: ${get}: http: server gave HTTP response to HTTPS client (a plain-HTTP registry: ${insecureHint})`,
        { cause: error },
      );
    case 'tls':
      return new RegistryError(
        'REGISTRY_TLS',
        `${context}: ${get}: tls: ${message} (trust its CA with --cert-dir, or ${insecureHint})`,
        { cause: error },
      );
    case 'timeout':
      return new RegistryError('REGISTRY_UNREACHABLE', `${context}: ${get}: timed out`, { cause: error });
    case 'unreachable':
      return new RegistryError('REGISTRY_UNREACHABLE', `${context}: ${get}: ${message}`, { cause: error });
    default:
      return new RegistryError('REGISTRY_UNREACHABLE', `${context}: ${get}: ${message}`, { cause: error });
  }
}

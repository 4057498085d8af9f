// Which URIs `web-download` may fetch: Glance's `[import_filtering_opts]` (validate_import_uri) as a pure
// rule. Internal addresses are refused separately, at connect time, by the downloader's destination guard.

/** Glance's `[import_filtering_opts]`; an allowed list, when not empty, makes its disallowed list ignored. */
export interface ImportUriFilter {
  allowedSchemes: readonly string[];
  disallowedSchemes: readonly string[];
  allowedHosts: readonly string[];
  disallowedHosts: readonly string[];
  allowedPorts: readonly number[];
  disallowedPorts: readonly number[];
}

/** Glance's defaults: http and https, any host, ports 80 and 443. */
export const DEFAULT_IMPORT_URI_FILTER: ImportUriFilter = {
  allowedSchemes: ['http', 'https'],
  disallowedSchemes: [],
  allowedHosts: [],
  disallowedHosts: [],
  allowedPorts: [80, 443],
  disallowedPorts: [],
};

/** The port written in the URI, or null when it names none (Glance checks only an explicit port). */
function explicitPort(uri: string): number | null {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(uri)?.[1];
  if (authority === undefined) return null;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const match = /:(\d+)$/.exec(hostPort);
  return match && !hostPort.endsWith(']') ? Number(match[1]) : null;
}

/** Whether `web-download` may fetch `uri` under `filter` (Glance's validate_import_uri). */
export function isImportUriAllowed(uri: unknown, filter: ImportUriFilter): boolean {
  if (typeof uri !== 'string' || uri === '') return false;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  const scheme = url.protocol.replace(/:$/, '');
  const allowedOnly = <T>(allowed: readonly T[], disallowed: readonly T[], value: T) =>
    allowed.length ? allowed.includes(value) : !disallowed.includes(value);
  if (!scheme || !allowedOnly(filter.allowedSchemes, filter.disallowedSchemes, scheme)) return false;
  // The WHATWG parser has already normalised the host (lower case, IPv4 forms such as 2130706433).
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) return false;
  const hosts = (list: readonly string[]) => list.map((h) => h.toLowerCase().replace(/^\[|\]$/g, ''));
  if (!allowedOnly(hosts(filter.allowedHosts), hosts(filter.disallowedHosts), host)) return false;
  const port = explicitPort(uri);
  if (port !== null && !allowedOnly(filter.allowedPorts, filter.disallowedPorts, port)) return false;
  return true;
}

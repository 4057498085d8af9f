// The base URL the service catalog, links and Location headers name. Host and X-Forwarded-* are the
// client's to write, so they count only when a configured proxy sent them, and only as a well-formed
// http(s) origin; otherwise the URL is the listener's own address, never what the request claims.
import { BlockList, isIP } from 'node:net';

/** Which peers may tell us the public scheme and host: IP addresses or CIDR blocks (checked by config). */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

/** Whether the peer at `address` (as the socket reports it) is one of the trusted proxies. */
export function isTrustedPeer(trustedProxies: BlockList, address: string | undefined): boolean {
  return Boolean(
    address && isIP(address) && trustedProxies.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4'),
  );
}

export interface BaseUrlRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The peer's address, as the socket reports it. */
  remoteAddress: string | undefined;
  /** The address and port the connection arrived on. */
  localAddress: string | undefined;
  localPort: number | undefined;
  encrypted: boolean;
}

/** host, host:port, [v6] or [v6]:port, nothing else (no user info, path or second value). */
const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** `proto://host` as an origin when both are well formed; null otherwise. */
export function forwardedOrigin(proto: string, host: string): string | null {
  if ((proto !== 'http' && proto !== 'https') || !HOST.test(host)) return null;
  try {
    const url = new URL(`${proto}://${host}`);
    return url.origin === 'null' ? null : url.origin;
  } catch {
    return null;
  }
}

/** The first value of a header a proxy may have appended to (`a, b`). */
function firstValue(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  return raw?.split(',')[0]?.trim() || undefined;
}

/** Strips the IPv4-mapped prefix and brackets an IPv6 address for use in a URL. */
function urlHost(address: string): string {
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return isIP(plain) === 6 ? `[${plain}]` : plain;
}

export function resolveBaseUrl(request: BaseUrlRequest, trustedProxies: BlockList): string {
  const ownScheme = request.encrypted ? 'https' : 'http';
  if (isTrustedPeer(trustedProxies, request.remoteAddress)) {
    const proto = firstValue(request.headers['x-forwarded-proto'])?.toLowerCase() ?? ownScheme;
    const host = firstValue(request.headers['x-forwarded-host']) ?? firstValue(request.headers.host);
    const origin = host ? forwardedOrigin(proto, host) : null;
    if (origin) return origin;
  }
  const address = urlHost(request.localAddress ?? '127.0.0.1');
  return request.localPort ? `${ownScheme}://${address}:${request.localPort}` : `${ownScheme}://${address}`;
}

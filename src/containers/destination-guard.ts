// Keeps requests made on a tenant's behalf (registries and lookasides named in a stored policy or
// registries.d) off the service's own network: loopback, private, link-local (cloud metadata at
// 169.254.169.254), carrier-grade NAT, multicast and reserved addresses are refused unless the
// operator allowed the host by name. The check runs on the addresses a name resolves to, at connect
// time, so a name that resolves differently later (DNS rebinding) is caught too.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ImageTrustError } from '../errors/index.ts';

const INTERNAL = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv6');
}

/** True for an address a tenant must not make the service reach (IPv4-mapped IPv6 included). */
export function isInternalAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return INTERNAL.check(bare, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return INTERNAL.check(mapped[1], 'ipv4');
  return INTERNAL.check(bare, 'ipv6');
}

export interface DestinationGuard {
  /**
   * Options for one http(s).request to `url`: a DNS lookup that refuses names resolving to internal
   * addresses. Throws at once when the URL names an internal address literally.
   */
  requestOptions(url: URL): { lookup: LookupFunction };
}

function refused(host: string, address: string): ImageTrustError {
  return new ImageTrustError(
    'FORBIDDEN',
    `Refusing to connect to ${host} (${address}): it is an internal address. An operator can allow it with containers.internalHosts.`,
  );
}

const unbracket = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/**
 * A guard that lets through public addresses, and internal ones only for the operator's entries: a
 * host name or address (any port), or `host:port` (that port only).
 */
export function createDestinationGuard(allowedHosts: Iterable<string>): DestinationGuard {
  const anyPort = new Set<string>();
  const withPort = new Set<string>();
  for (const entry of allowedHosts) {
    const match = /^(.*):(\d+)$/.exec(entry);
    // A bare IPv6 address has colons too; only a bracketed one or a name can carry a port.
    if (match && (!match[1].includes(':') || match[1].startsWith('[')))
      withPort.add(`${unbracket(match[1])}:${match[2]}`);
    else anyPort.add(unbracket(entry));
  }
  return {
    requestOptions(url) {
      const host = unbracket(url.hostname);
      const port = url.port || (url.protocol === 'https:' ? '443' : '80');
      const allowed = anyPort.has(host) || withPort.has(`${host}:${port}`);
      if (isIP(host) && !allowed && isInternalAddress(host)) throw refused(host, host);
      const lookup = ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
        dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
          if (error) return callback(error);
          if (!allowed) {
            const internal = addresses.find((a) => isInternalAddress(a.address));
            if (internal) return callback(refused(hostname, internal.address));
          }
          if ((options as { all?: boolean }).all) return callback(null, addresses);
          return callback(null, addresses[0].address, addresses[0].family);
        });
      }) as unknown as LookupFunction;
      return { lookup };
    },
  };
}

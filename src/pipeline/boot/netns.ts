// The run's private network: a network namespace with one tap per guest NIC, and dnsmasq inside it
// giving fixed DHCP leases and DNS for imagetrust.test. Nothing touches the host's own network.
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { runChecked, runCommand } from './processes.ts';

export const NETNS_PREFIX = 'imagetrust-boot-';
export const DOMAIN = 'imagetrust.test';
const STALE_AFTER_MS = 5 * 60_000;

/** One guest NIC and the tap that backs it: the host side is .1 of the subnet, the guest .10. */
export interface TapPlan {
  tap: string;
  guestName: string;
  mac: string;
  hostIp: string;
  guestIp: string;
  subnet: string;
}

/** Tap n is 10.77.n.0/24, the guest 10.77.n.10 with MAC 52:54:00:77:0n:10. */
export function planTap(index: number): TapPlan {
  const hex = index.toString(16).padStart(2, '0');
  return {
    tap: `tap${index}`,
    guestName: `eth${index}`,
    mac: `52:54:00:77:${hex}:10`,
    hostIp: `10.77.${index}.1`,
    guestIp: `10.77.${index}.10`,
    subnet: `10.77.${index}.0/24`,
  };
}

/** A fresh namespace name for one run. */
export function newNetnsName(): string {
  return `${NETNS_PREFIX}${randomBytes(4).toString('hex')}`;
}

/** dnsmasq's arguments: foreground, no host files or resolvers, only our taps, fixed leases, our names. */
export function dnsmasqArgs(taps: TapPlan[], runDir: string): string[] {
  return [
    'dnsmasq',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--conf-file=/dev/null',
    `--pid-file=${runDir}/dnsmasq.pid`,
    `--dhcp-leasefile=${runDir}/dnsmasq.leases`,
    '--bind-interfaces',
    '--except-interface=lo',
    '--user=root',
    '--group=root',
    `--domain=${DOMAIN}`,
    `--local=/${DOMAIN}/`,
    `--host-record=gateway.${DOMAIN},${taps[0].hostIp}`,
    '--log-facility=-',
    '--log-dhcp',
    ...taps.flatMap((tap, index) => [
      `--interface=${tap.tap}`,
      `--dhcp-range=set:${tap.tap},${tap.guestIp.replace(/\.10$/, '.50')},${tap.guestIp.replace(/\.10$/, '.99')},255.255.255.0,1h`,
      `--dhcp-host=${tap.mac},${tap.guestIp},guest${index}`,
      // One default route (eth0's); the other networks are on-link only.
      ...(index === 0 ? [] : [`--dhcp-option=tag:${tap.tap},option:router`]),
    ]),
  ];
}

/** `ip netns exec NAME argv…`: how every process of the run enters the namespace. */
export function inNetns(name: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', name, ...argv];
}

/** Creates the namespace with lo up and one tap (addressed, up) per plan. */
export async function createNetns(name: string, taps: TapPlan[]): Promise<void> {
  await runChecked(['ip', 'netns', 'add', name]);
  await runChecked(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  for (const tap of taps) {
    await runChecked(['ip', '-n', name, 'tuntap', 'add', 'dev', tap.tap, 'mode', 'tap']);
    await runChecked(['ip', '-n', name, 'addr', 'add', `${tap.hostIp}/24`, 'dev', tap.tap]);
    await runChecked(['ip', '-n', name, 'link', 'set', tap.tap, 'up']);
  }
}

export async function deleteNetns(name: string): Promise<void> {
  await runCommand(['ip', 'netns', 'delete', name]);
}

/** PIDs of processes living in a namespace (`ip netns pids`). */
export async function netnsPids(name: string): Promise<number[]> {
  const result = await runCommand(['ip', 'netns', 'pids', name]);
  return result.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** Our namespaces, by name prefix, as `ip netns list` shows them. */
export async function listOurNetns(): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir('/run/netns');
  } catch {
    return [];
  }
  return names.filter((name) => name.startsWith(NETNS_PREFIX));
}

/**
 * Deletes namespaces an earlier, crashed run left behind: ours by prefix, and only when no process
 * lives in them (a run still going keeps its qemu and dnsmasq inside). Returns what it deleted.
 */
export async function sweepStaleNetns(keep: string[] = []): Promise<string[]> {
  const swept: string[] = [];
  for (const name of await listOurNetns()) {
    if (keep.includes(name)) continue;
    // A namespace made a moment ago may belong to a run still starting its dnsmasq.
    const made = await stat(`/run/netns/${name}`).catch(() => undefined);
    if (!made || Date.now() - made.mtimeMs < STALE_AFTER_MS) continue;
    if ((await netnsPids(name)).length > 0) continue;
    await deleteNetns(name);
    swept.push(name);
  }
  return swept;
}

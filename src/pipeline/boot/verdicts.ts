// Pure decisions over what a guest printed: each takes command output and the profile's expectation
// and says pass or fail with a reason. No I/O, so every rule is tested on captured text.
import type { BootTestOutcome } from './types.ts';

const pass = (message: string): BootTestOutcome => ({ status: 'pass', message });
const fail = (message: string, output?: string): BootTestOutcome => ({
  status: 'fail',
  message,
  ...(output !== undefined ? { output } : {}),
});

/** `/proc/swaps` with only its header line means no active swap. */
export function judgeSwaps(procSwaps: string): BootTestOutcome {
  const active = procSwaps
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '');
  return active.length === 0
    ? pass('no active swap')
    : fail(
        `${active.length} active swap area(s): ${active.map((line) => line.split(/\s+/)[0]).join(', ')}`,
        procSwaps,
      );
}

/**
 * A required argument `console=ttyS0` is met by `console=ttyS0` or `console=ttyS0,115200`; a bare word
 * (`quiet`) must appear as a word. A forbidden argument matches the same way.
 */
function hasKernelArg(args: string[], wanted: string): boolean {
  return args.some((arg) => arg === wanted || arg.startsWith(`${wanted},`));
}

export function judgeKernelCmdline(
  cmdline: string,
  required: string[],
  forbidden: string[],
): BootTestOutcome {
  const args = cmdline.trim().split(/\s+/);
  const missing = required.filter((arg) => !hasKernelArg(args, arg));
  const present = forbidden.filter((arg) => hasKernelArg(args, arg));
  const problems = [
    ...(missing.length ? [`missing ${missing.join(' ')}`] : []),
    ...(present.length ? [`forbidden ${present.join(' ')}`] : []),
  ];
  return problems.length ? fail(problems.join('; '), cmdline.trim()) : pass(cmdline.trim());
}

/** One field of os-release, unquoted. */
export function osReleaseField(text: string, field: string): string | undefined {
  const line = text.split('\n').find((row) => row.startsWith(`${field}=`));
  return line
    ?.slice(field.length + 1)
    .trim()
    .replace(/^(["'])(.*)\1$/, '$2');
}

export function judgeDistribution(
  osRelease: string,
  expected: { id: string; versionId?: string },
): BootTestOutcome {
  const id = osReleaseField(osRelease, 'ID');
  const versionId = osReleaseField(osRelease, 'VERSION_ID');
  const seen = `${id ?? '?'} ${versionId ?? '?'}`;
  if (id !== expected.id) return fail(`ID is ${id ?? 'missing'}, expected ${expected.id}`, osRelease);
  if (expected.versionId !== undefined && versionId !== expected.versionId) {
    return fail(`VERSION_ID is ${versionId ?? 'missing'}, expected ${expected.versionId}`, osRelease);
  }
  return pass(seen);
}

const moduleName = (name: string) => name.replace(/-/g, '_');

/**
 * A module counts when it is loaded (/proc/modules), built in (modules.builtin lists `kernel/.../x.ko`)
 * or known to /sys/module (built-ins with parameters show there too).
 */
export function judgeModules(
  required: string[],
  seen: { loaded: string; builtin: string; sysModule: string },
): BootTestOutcome {
  const loaded = new Set(seen.loaded.split('\n').map((line) => moduleName(line.split(/\s+/)[0] ?? '')));
  const builtin = new Set(
    seen.builtin
      .split('\n')
      .map((line) => moduleName((line.trim().split('/').pop() ?? '').replace(/\.ko(\.\w+)?$/, '')))
      .filter(Boolean),
  );
  const sys = new Set(seen.sysModule.split(/\s+/).map(moduleName));
  const how = required.map((name) => {
    const key = moduleName(name);
    if (loaded.has(key)) return { name, how: 'loaded' };
    if (builtin.has(key)) return { name, how: 'built-in' };
    if (sys.has(key)) return { name, how: 'in /sys/module' };
    return { name, how: undefined };
  });
  const missing = how.filter((entry) => !entry.how).map((entry) => entry.name);
  return missing.length
    ? fail(`not loaded or built in: ${missing.join(', ')}`)
    : pass(how.map((entry) => `${entry.name} ${entry.how}`).join(', '));
}

/** resolv.conf must exist and name a resolver. */
export function judgeResolvConf(listing: string, content: string, exitCode: number | null): BootTestOutcome {
  if (exitCode !== 0) return fail('/etc/resolv.conf is missing or unreadable', listing);
  const servers = content.split('\n').filter((line) => /^\s*nameserver\s+\S+/.test(line));
  return servers.length
    ? pass(`${listing.trim()}; ${servers.map((line) => line.trim()).join(', ')}`)
    : fail('/etc/resolv.conf names no nameserver', content);
}

/** Interfaces of `ip -o link`: name, MAC and whether the link is up with a carrier. */
export function parseIpLink(text: string): { name: string; mac?: string; up: boolean }[] {
  return text
    .split('\n')
    .filter((line) => /^\d+:/.test(line))
    .map((line) => {
      const name = (line.split(':')[1] ?? '').trim().replace(/@.*$/, '');
      const flags = /<([^>]*)>/.exec(line)?.[1]?.split(',') ?? [];
      const mac = /link\/ether ([0-9a-f:]{17})/.exec(line)?.[1];
      return { name, ...(mac ? { mac } : {}), up: flags.includes('UP') && flags.includes('LOWER_UP') };
    });
}

export function judgeInterfacesUp(ipLink: string, expected: string[]): BootTestOutcome {
  const links = parseIpLink(ipLink);
  const down = expected.filter((name) => !links.find((link) => link.name === name)?.up);
  return down.length ? fail(`not up: ${down.join(', ')}`, ipLink) : pass(`up: ${expected.join(', ')}`);
}

/** IPv4 addresses of `ip -o -4 addr`, by interface. */
export function parseIpv4Addresses(text: string): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\//.exec(line);
    if (match) byName.set(match[1], [...(byName.get(match[1]) ?? []), match[2]]);
  }
  return byName;
}

const toInt = (ip: string) => ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);

/** Whether `ip` lies in `cidr` (e.g. 10.77.0.0/24). */
export function inSubnet(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

export function judgeAddresses(ipAddr: string, nics: { name: string; subnet: string }[]): BootTestOutcome {
  const addresses = parseIpv4Addresses(ipAddr);
  const problems: string[] = [];
  const seen: string[] = [];
  for (const nic of nics) {
    const inside = (addresses.get(nic.name) ?? []).filter((ip) => inSubnet(ip, nic.subnet));
    if (inside.length === 0) problems.push(`${nic.name} has no address in ${nic.subnet}`);
    else seen.push(`${nic.name} ${inside.join(',')}`);
  }
  return problems.length ? fail(problems.join('; '), ipAddr) : pass(seen.join(', '));
}

/** The NICs (by MAC) and volumes (by serial) the guest sees against what was attached at boot. */
export function judgeDevices(
  ipLink: string,
  serials: string,
  expected: { macs: string[]; serials: string[] },
): BootTestOutcome {
  const macs = new Set(parseIpLink(ipLink).flatMap((link) => (link.mac ? [link.mac] : [])));
  const seenSerials = new Set(serials.split(/\s+/).filter(Boolean));
  const missing = [
    ...expected.macs.filter((mac) => !macs.has(mac.toLowerCase())).map((mac) => `NIC ${mac}`),
    ...expected.serials.filter((serial) => !seenSerials.has(serial)).map((serial) => `volume ${serial}`),
  ];
  return missing.length
    ? fail(`the guest does not see ${missing.join(', ')}`, `${ipLink}\n${serials}`)
    : pass(`${expected.macs.length} NICs and ${expected.serials.length} volumes seen`);
}

/** Effective sshd settings (`sshd -T`): password and keyboard-interactive logins must be off. */
export function judgeSshdSettings(sshdT: string): BootTestOutcome {
  const settings = new Map(
    sshdT.split('\n').map((line) => {
      const [key, ...value] = line.trim().split(/\s+/);
      return [key.toLowerCase(), value.join(' ').toLowerCase()] as const;
    }),
  );
  const problems = ['passwordauthentication', 'kbdinteractiveauthentication']
    .filter((key) => settings.get(key) !== 'no')
    .map((key) => `${key} is ${settings.get(key) ?? 'unset'}`);
  return problems.length
    ? fail(problems.join('; '), sshdT)
    : pass('password and keyboard-interactive logins off');
}

/** The methods an SSH server offers after the `none` method, from `ssh -v` output. */
export function offeredAuthMethods(sshVerbose: string): string[] | undefined {
  const line = sshVerbose.split('\n').find((row) => row.includes('Authentications that can continue:'));
  return line
    ?.split('Authentications that can continue:')[1]
    .trim()
    .split(',')
    .map((method) => method.trim())
    .filter(Boolean);
}

export function judgeOfferedMethods(sshVerbose: string): BootTestOutcome {
  const methods = offeredAuthMethods(sshVerbose);
  if (!methods) return fail('the SSH server listed no authentication methods', sshVerbose);
  const weak = methods.filter((method) => method === 'password' || method === 'keyboard-interactive');
  return weak.length
    ? fail(`the server offers ${weak.join(', ')}`, sshVerbose)
    : pass(`offers ${methods.join(', ')}`);
}

/** `cloud-init status --wait --long`, its exit code, and result.json: done, no errors, the expected datasource. */
export function judgeCloudInit(
  status: string,
  exitCode: number | null,
  resultJson: string,
  datasource: string,
): BootTestOutcome {
  const state = /^status:\s*(\S+)/m.exec(status)?.[1];
  if (state !== 'done' || exitCode !== 0) {
    return fail(`cloud-init status is ${state ?? 'unknown'} (exit ${exitCode})`, status);
  }
  let result: { v1?: { datasource?: string | null; errors?: unknown[] } };
  try {
    result = JSON.parse(resultJson);
  } catch {
    return fail('/run/cloud-init/result.json is missing or not JSON', resultJson);
  }
  const errors = result.v1?.errors ?? [];
  if (errors.length) return fail(`cloud-init reported ${errors.length} error(s)`, JSON.stringify(errors));
  const source = result.v1?.datasource ?? '';
  return source.startsWith(`DataSource${datasource}`)
    ? pass(`done; ${source}`)
    : fail(`datasource is ${source || 'none'}, expected ${datasource}`, resultJson);
}

/** `systemctl is-system-running`, `systemctl --failed` and the required units' `is-active` lines. */
export function judgeSystemd(
  state: string,
  failedUnits: string,
  required: string[],
  activeStates: string,
): BootTestOutcome {
  const problems: string[] = [];
  if (state.trim() !== 'running') problems.push(`system state is ${state.trim() || 'unknown'}`);
  const failed = failedUnitNames(failedUnits);
  if (failed.length) problems.push(`failed units: ${failed.join(', ')}`);
  const states = activeStates.split('\n').map((line) => line.trim());
  const inactive = required.filter((_, i) => states[i] !== 'active');
  if (inactive.length) problems.push(`not active: ${inactive.join(', ')}`);
  return problems.length
    ? fail(problems.join('; '), [state, failedUnits, activeStates].join('\n'))
    : pass(`running; ${required.length} required units active`);
}

/** What a guest looked like at one moment, for judging whether it came back from a reboot as it was. */
export interface GuestCondition {
  /** `systemctl is-system-running` after the boot finished: running, degraded... */
  state: string;
  failedUnits: string[];
  /** Whether a key login over SSH worked. */
  ssh: boolean;
}

/** Unit names from `systemctl --failed --no-legend --plain`. */
export function failedUnitNames(listing: string): string[] {
  return listing
    .split('\n')
    .map((line) => line.trim().replace(/^●\s*/, '').split(/\s+/)[0])
    .filter(Boolean);
}

/**
 * A reboot or a stop and start is judged by whether the guest comes back as it was, not by the image's
 * health (check_systemd_service_units and linux_image_allows_ssh judge that): no unit fails that did
 * not fail before, the system state is no worse, and SSH is back if it worked before.
 */
export function judgeCameBack(before: GuestCondition, after: GuestCondition, what: string): BootTestOutcome {
  const problems: string[] = [];
  const newlyFailed = after.failedUnits.filter((unit) => !before.failedUnits.includes(unit));
  if (newlyFailed.length)
    problems.push(`units failed after the ${what} that had not before: ${newlyFailed.join(', ')}`);
  if (after.state !== 'running' && after.state !== before.state) {
    problems.push(
      `system state is ${after.state || 'unknown'} after the ${what}, ${before.state || 'unknown'} before`,
    );
  }
  if (before.ssh && !after.ssh) problems.push(`SSH worked before the ${what} and not after`);
  if (problems.length) return fail(problems.join('; '));
  const carried = before.state === 'running' ? 'running' : `${after.state} as before`;
  return pass(`${carried}${before.ssh ? ', SSH back' : ' (SSH was not up before, not required)'}`);
}

/** The current hardware RNG must be virtio's, and it must give bytes. */
export function judgeRng(rngCurrent: string, hexBytes: string): BootTestOutcome {
  const current = rngCurrent.trim();
  if (!/^virtio_rng(\.\d+)?$/.test(current)) return fail(`rng_current is ${current || 'empty'}`);
  const bytes = hexBytes.split(/\s+/).filter((hex) => /^[0-9a-f]{2}$/.test(hex));
  return bytes.length >= 16
    ? pass(`${current} gave ${bytes.length} bytes`)
    : fail(`${current} gave ${bytes.length} bytes from /dev/hwrng`, hexBytes);
}

const MIB = 1024 * 1024;

/**
 * The root partition must fill the overlay (less the margin for the boot partitions) and the root
 * filesystem must have grown past the image's own virtual size.
 */
export function judgeDiskSize(
  seen: { partitionBytes: number; filesystemBytes: number },
  expected: { overlayBytes: number; imageVirtualBytes: number; marginMiB: number },
): BootTestOutcome {
  const gib = (bytes: number) => `${(bytes / (1024 * MIB)).toFixed(2)} GiB`;
  const floor = expected.overlayBytes - expected.marginMiB * MIB;
  const summary = `root partition ${gib(seen.partitionBytes)}, filesystem ${gib(seen.filesystemBytes)}, disk ${gib(expected.overlayBytes)}, image ${gib(expected.imageVirtualBytes)}`;
  if (!Number.isFinite(seen.partitionBytes) || !Number.isFinite(seen.filesystemBytes)) {
    return fail('could not read the root partition and filesystem sizes');
  }
  if (seen.partitionBytes < floor) return fail(`the root partition did not grow: ${summary}`);
  if (seen.filesystemBytes <= expected.imageVirtualBytes)
    return fail(`the root filesystem did not grow: ${summary}`);
  return pass(summary);
}

// Checks of the base system: resolver, swap, kernel command line, ICMP, machine-id, package caches, locks.
import { type ImageProbe, meaningfulLines } from './image-probe.ts';
import { isUnitEnabled, readUnitState } from './system-state.ts';
import { type CheckDefinition, verdict } from './types.ts';

const resolvConf: CheckDefinition = {
  id: 'resolv-conf',
  title: 'etc/resolv.conf names a resolver (does_linux_vm_have_a_resolv_conf_file)',
  async run(probe) {
    const stat = await probe.lstat('/etc/resolv.conf');
    if (!stat) return verdict(['/etc/resolv.conf is missing']);
    if (stat.type === 'symlink') {
      const target = await probe.readlink('/etc/resolv.conf');
      const managers: Array<[RegExp, string]> = [
        [/systemd\/resolve\//, 'systemd-resolved.service'],
        [/resolvconf\//, 'resolvconf.service'],
        [/NetworkManager\//, 'NetworkManager.service'],
      ];
      const manager = managers.find(([pattern]) => pattern.test(target))?.[1];
      if (!manager) return verdict([`/etc/resolv.conf links to ${target}, which no known resolver manages`]);
      const units = await readUnitState(probe);
      return isUnitEnabled(units, manager)
        ? verdict([], [`/etc/resolv.conf links to ${target}, managed by enabled ${manager}`])
        : verdict([`/etc/resolv.conf links to ${target} but ${manager} is not enabled`]);
    }
    const text = (await probe.text('/etc/resolv.conf')) ?? '';
    const servers = meaningfulLines(text).filter((line) => /^nameserver\s+\S+/.test(line));
    return servers.length > 0 ? verdict([], servers) : verdict(['/etc/resolv.conf has no nameserver line']);
  },
};

const noSwap: CheckDefinition = {
  id: 'no-swap',
  title: 'No swap configured (linux_check_no_swap)',
  async run(probe) {
    const problems: string[] = [];
    for (const line of meaningfulLines((await probe.text('/etc/fstab')) ?? '')) {
      const fields = line.split(/\s+/);
      if (fields[2] === 'swap') problems.push(`/etc/fstab: ${line}`);
    }
    for (const name of await probe.list('/etc/systemd/system'))
      if (name.endsWith('.swap')) problems.push(`swap unit /etc/systemd/system/${name}`);
    return verdict(problems);
  },
};

/** Kernel command lines found in boot configuration, each with where it came from. */
async function readKernelCommandLines(probe: ImageProbe): Promise<Array<{ source: string; args: string[] }>> {
  const found: Array<{ source: string; args: string[] }> = [];
  const split = (value: string) => value.split(/\s+/).filter((arg) => arg.length > 0);
  const unquote = (value: string) => value.trim().replace(/^(["'])(.*)\1$/, '$2');
  const grub = await probe.text('/etc/default/grub');
  if (grub !== undefined)
    for (const line of meaningfulLines(grub)) {
      const match = /^(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*)$/.exec(line);
      if (match)
        found.push({ source: `/etc/default/grub ${match[1]}`, args: split(unquote(match[2] ?? '')) });
    }
  for (const cfg of ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg']) {
    const text = await probe.text(cfg);
    if (text === undefined) continue;
    for (const line of meaningfulLines(text)) {
      const match = /^linux(?:efi|16)?\s+\S+\s*(.*)$/.exec(line);
      if (match) found.push({ source: cfg, args: split(match[1] ?? '') });
    }
  }
  for (const entry of await probe.texts('/boot/loader/entries', /\.conf$/))
    for (const line of meaningfulLines(entry.text)) {
      const match = /^options\s+(.*)$/.exec(line);
      if (match) found.push({ source: entry.path, args: split(match[1] ?? '') });
    }
  const cmdline = await probe.text('/etc/kernel/cmdline');
  if (cmdline !== undefined) found.push({ source: '/etc/kernel/cmdline', args: split(cmdline) });
  const grubenv = await probe.text('/boot/grub2/grubenv');
  const kernelopts = grubenv && /^kernelopts=(.*)$/m.exec(grubenv);
  if (kernelopts) found.push({ source: '/boot/grub2/grubenv kernelopts', args: split(kernelopts[1] ?? '') });
  return found;
}

/**
 * Whether a command line holds a required argument: the argument itself, or with the options the
 * kernel takes after a comma (`console=ttyS0,115200n8` is a console on ttyS0).
 */
export function hasKernelArg(args: Iterable<string>, required: string): boolean {
  for (const arg of args) if (arg === required || arg.startsWith(`${required},`)) return true;
  return false;
}

const kernelBootOptions: CheckDefinition = {
  id: 'kernel-boot-options',
  title: 'Kernel boot options: required present, forbidden absent (check_kernel_boot_options)',
  async run(probe, params) {
    const lines = await readKernelCommandLines(probe);
    if (lines.length === 0) return verdict(['no kernel command line found in the boot configuration']);
    const problems: string[] = [];
    const all = lines.flatMap((line) => line.args);
    for (const arg of params.requiredKernelArgs)
      if (!hasKernelArg(all, arg)) problems.push(`required kernel argument ${arg} is not set`);
    for (const line of lines)
      for (const arg of params.forbiddenKernelArgs)
        if (line.args.includes(arg)) problems.push(`forbidden kernel argument ${arg} in ${line.source}`);
    return verdict(
      problems,
      lines.map((line) => `${line.source}: ${line.args.join(' ')}`),
    );
  },
};

const icmpNotIgnored: CheckDefinition = {
  id: 'icmp-not-ignored',
  title: 'ICMP echo not ignored by sysctl or firewall (image_responds_to_ping, offline proxy)',
  async run(probe) {
    const problems: string[] = [];
    const files = [
      ...(await probe.texts('/usr/lib/sysctl.d', /\.conf$/)),
      ...(await probe.texts('/etc/sysctl.d', /\.conf$/)),
    ];
    const main = await probe.text('/etc/sysctl.conf');
    if (main !== undefined) files.push({ path: '/etc/sysctl.conf', text: main });
    for (const file of files)
      for (const line of meaningfulLines(file.text)) {
        const match = /^-?\s*([\w./-]+)\s*=\s*(\S+)/.exec(line);
        if (match && match[1]?.replaceAll('/', '.') === 'net.ipv4.icmp_echo_ignore_all' && match[2] !== '0')
          problems.push(`${file.path}: ${line}`);
      }
    for (const rules of ['/etc/iptables/rules.v4', '/etc/sysconfig/iptables']) {
      for (const line of meaningfulLines((await probe.text(rules)) ?? ''))
        if (/-p\s+icmp\b/.test(line) && /-j\s+(DROP|REJECT)\b/.test(line)) problems.push(`${rules}: ${line}`);
    }
    return verdict(problems);
  },
};

const machineIdEmpty: CheckDefinition = {
  id: 'machine-id-empty',
  title: 'etc/machine-id is empty or uninitialized in a template',
  async run(probe) {
    const text = await probe.text('/etc/machine-id');
    if (text === undefined) return verdict([], ['/etc/machine-id is absent']);
    const value = text.trim();
    return value === '' || value === 'uninitialized'
      ? verdict([], [`/etc/machine-id is ${value === '' ? 'empty' : 'uninitialized'}`])
      : verdict([`/etc/machine-id holds ${value}`]);
  },
};

const packageCachesEmpty: CheckDefinition = {
  id: 'package-caches-empty',
  title: 'Package caches are empty',
  async run(probe) {
    const problems: string[] = [];
    const ignore = new Set(['lock', 'partial', 'auxfiles']);
    for (const dir of ['/var/cache/apt/archives', '/var/lib/apt/lists', '/var/cache/yum', '/var/cache/dnf']) {
      const entries = (await probe.list(dir)).filter((name) => !ignore.has(name));
      if (entries.length > 0)
        problems.push(`${dir} holds ${entries.length} entries (${entries.slice(0, 3).join(', ')})`);
    }
    for (const name of await probe.list('/var/cache/apt'))
      if (name.endsWith('.bin')) problems.push(`/var/cache/apt/${name}`);
    return verdict(problems);
  },
};

// Debian ships these empty lock files in every installed system; offline one cannot tell if a lock is held.
const DEBIAN_LOCKS = new Set([
  '/var/lib/dpkg/lock',
  '/var/lib/dpkg/lock-frontend',
  '/var/lib/apt/lists/lock',
  '/var/cache/apt/archives/lock',
  '/etc/.pwd.lock',
]);

const noLockFiles: CheckDefinition = {
  id: 'no-lock-files',
  title: 'No stale lock or pid files (check_for_lock_files)',
  async run(probe) {
    const found: string[] = [];
    const fixed = [
      '/var/lib/rpm/.rpm.lock',
      '/var/run/yum.pid',
      '/run/yum.pid',
      '/etc/passwd.lock',
      '/etc/shadow.lock',
      '/etc/group.lock',
      '/etc/gshadow.lock',
      ...DEBIAN_LOCKS,
    ];
    for (const path of fixed) if (await probe.lstat(path)) found.push(path);
    for (const name of await probe.list('/var/lib/rpm'))
      if (name.startsWith('__db.')) found.push(`/var/lib/rpm/${name}`);
    for (const name of await probe.list('/var/lib/dnf'))
      if (name.endsWith('.lock')) found.push(`/var/lib/dnf/${name}`);
    for (const dir of ['/var/lock', '/run/lock', '/var/run', '/run']) {
      const stat = await probe.lstat(dir);
      if (stat?.type !== 'directory') continue; // var/lock and var/run are usually links into run
      for (const name of await probe.list(dir)) {
        const path = `${dir}/${name}`;
        if (
          (dir.endsWith('lock') || name.endsWith('.pid')) &&
          (await probe.lstat(path))?.type !== 'directory'
        )
          found.push(path);
      }
    }
    const unique = [...new Set(found)];
    return verdict(
      unique.filter((path) => !DEBIAN_LOCKS.has(path)),
      unique.filter((path) => DEBIAN_LOCKS.has(path)).map((path) => `allowed Debian lock ${path}`),
    );
  },
};

const systemdUnits: CheckDefinition = {
  id: 'systemd-units',
  title: 'Required systemd units enabled, forbidden ones disabled or masked (check_systemd_service_units)',
  async run(probe, params) {
    const units = await readUnitState(probe);
    const problems: string[] = [];
    const notes: string[] = [];
    for (const unit of params.requiredUnits) {
      const alternatives = unit.split('|');
      const hit = alternatives.find((name) => isUnitEnabled(units, name));
      if (hit) notes.push(`${hit} enabled (${(units.enabled.get(hit) ?? ['alias']).join(', ')})`);
      else problems.push(`required unit ${unit} is not enabled`);
    }
    for (const unit of params.forbiddenUnits) {
      if (isUnitEnabled(units, unit)) problems.push(`forbidden unit ${unit} is enabled`);
      else if (units.masked.has(unit)) notes.push(`${unit} masked`);
    }
    return verdict(problems, notes);
  },
};

export const SYSTEM_RULES: CheckDefinition[] = [
  resolvConf,
  noSwap,
  kernelBootOptions,
  icmpNotIgnored,
  machineIdEmpty,
  packageCachesEmpty,
  noLockFiles,
  systemdUnits,
];

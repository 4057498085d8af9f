// Network configuration checks: expected eth interfaces come up, and no MAC address is baked in.
import { type ImageProbe, meaningfulLines } from './image-probe.ts';
import { type CheckDefinition, verdict } from './types.ts';

const IFCFG_DIR = '/etc/sysconfig/network-scripts';

function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${source}$`).test(name);
}

/** Where each interface is configured to come up, by the configuration systems found in the image. */
async function configuredInterfaces(probe: ImageProbe, names: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const mark = (name: string, where: string) => {
    if (!found.has(name)) found.set(name, where);
  };
  for (const file of await probe.texts(IFCFG_DIR, /^ifcfg-/)) {
    const device = /^DEVICE=["']?([^"'\s]+)/m.exec(file.text)?.[1] ?? file.path.split('ifcfg-')[1] ?? '';
    if (/^ONBOOT=["']?yes/im.test(file.text)) mark(device, file.path);
  }
  const interfaces = await probe.texts('/etc/network/interfaces.d', /^[\w.-]+$/);
  const main = await probe.text('/etc/network/interfaces');
  if (main !== undefined) interfaces.unshift({ path: '/etc/network/interfaces', text: main });
  for (const file of interfaces)
    for (const line of meaningfulLines(file.text)) {
      const match = /^(auto|allow-hotplug)\s+(.+)$/.exec(line);
      for (const name of match?.[2]?.split(/\s+/) ?? []) mark(name, `${file.path} (${match?.[1]})`);
    }
  for (const dir of ['/etc/systemd/network', '/usr/lib/systemd/network'])
    for (const file of await probe.texts(dir, /\.network$/)) {
      const patterns = /^Name=(.+)$/m.exec(file.text)?.[1]?.trim().split(/\s+/) ?? [];
      for (const name of names)
        if (patterns.some((pattern) => globMatches(pattern, name))) mark(name, file.path);
    }
  for (const file of await probe.texts('/etc/netplan', /\.ya?ml$/)) {
    const ethernets = file.text.split(/^\s*ethernets:\s*$/m)[1] ?? '';
    for (const name of names)
      if (new RegExp(`^\\s+${name}:\\s*$|name:\\s*["']?${name.replace(/\d+$/, '')}`, 'm').test(ethernets))
        mark(name, file.path);
  }
  for (const file of await probe.texts('/etc/NetworkManager/system-connections', /\.nmconnection$/)) {
    const name = /^interface-name=(\S+)/m.exec(file.text)?.[1];
    if (name && !/^autoconnect=false/m.test(file.text)) mark(name, file.path);
  }
  return found;
}

const ethInterfaces: CheckDefinition = {
  id: 'eth-interfaces',
  title:
    'Every expected interface is configured to come up (linux_check_eth_interfaces_are_up, offline proxy)',
  async run(probe, params) {
    const configured = await configuredInterfaces(probe, params.expectedInterfaces);
    const problems: string[] = [];
    const notes: string[] = [];
    for (const name of params.expectedInterfaces) {
      const where = configured.get(name);
      if (where) notes.push(`${name} configured in ${where}`);
      else problems.push(`${name} is not configured to come up`);
    }
    return verdict(problems, notes);
  },
};

const noIfcfgHwaddr: CheckDefinition = {
  id: 'no-ifcfg-hwaddr',
  title: 'No HWADDR or MACADDR pinned in ifcfg files',
  async run(probe) {
    const problems: string[] = [];
    for (const file of await probe.texts(IFCFG_DIR, /^ifcfg-/))
      for (const line of meaningfulLines(file.text))
        if (/^(HWADDR|MACADDR)=/.test(line)) problems.push(`${file.path}: ${line}`);
    return verdict(problems);
  },
};

// udev reads a rules file line by line and skips blank lines and comments: an empty file (what sysprep
// and the seed leave) defines no rules and binds no interface name to an old MAC, so only rules fail.
const noPersistentNetRules: CheckDefinition = {
  id: 'no-persistent-net-rules',
  title: 'No rules in etc/udev/rules.d/70-persistent-net.rules',
  async run(probe) {
    const path = '/etc/udev/rules.d/70-persistent-net.rules';
    if (!(await probe.lstat(path))) return verdict([]);
    const text = await probe.text(path);
    if (text === undefined) return verdict([`${path} exists and is not a readable file`]);
    const rules = meaningfulLines(text).length;
    return verdict(rules > 0 ? [`${path} defines ${rules} rule(s)`] : []);
  },
};

export const NETWORK_RULES: CheckDefinition[] = [ethInterfaces, noIfcfgHwaddr, noPersistentNetRules];

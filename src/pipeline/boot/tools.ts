// The host tools a boot run drives, and the Debian package that provides each; a missing one is
// TOOL_MISSING (exit 69) naming the package to install.
import { access } from 'node:fs/promises';
import { delimiter } from 'node:path';
import { ImageTrustError } from '../../errors/index.ts';

export const BOOT_TOOLS: Readonly<Record<string, string>> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  dnsmasq: 'dnsmasq-base',
  'mkfs.vfat': 'dosfstools',
  mcopy: 'mtools',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  ip: 'iproute2',
  ping: 'iputils-ping',
};

async function onPath(command: string, path: string): Promise<boolean> {
  const dirs = [...path.split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    try {
      await access(`${dir}/${command}`);
      return true;
    } catch {}
  }
  return false;
}

/** Throws TOOL_MISSING listing every missing command and the packages that provide them. */
export async function requireBootTools(path = process.env.PATH ?? ''): Promise<void> {
  const missing: string[] = [];
  for (const command of Object.keys(BOOT_TOOLS)) if (!(await onPath(command, path))) missing.push(command);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((command) => BOOT_TOOLS[command]))];
  throw new ImageTrustError(
    'TOOL_MISSING',
    `boot-test needs ${missing.join(', ')}: install them with 'apt-get install ${packages.join(' ')}'.`,
  );
}

/** Network namespaces and taps need root (CAP_NET_ADMIN). */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new ImageTrustError(
      'TOOL_MISSING',
      'boot-test must run as root: it creates a network namespace, taps and a DHCP server for the guest.',
    );
  }
}

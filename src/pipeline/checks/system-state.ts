// Shared facts the checks derive from an image: the package database and systemd enablement.
import { type ImageProbe, installedDpkgPackages } from './image-probe.ts';

export type PackageDatabase =
  | { kind: 'dpkg'; installed: Set<string> }
  | { kind: 'rpm'; path: string }
  | { kind: 'none' };

/** The dpkg status when there is one; an RPM database is named but not read (no SQLite/BDB reader here). */
export async function readPackageDatabase(probe: ImageProbe): Promise<PackageDatabase> {
  const status = await probe.text('/var/lib/dpkg/status');
  if (status !== undefined) return { kind: 'dpkg', installed: installedDpkgPackages(status) };
  for (const path of [
    '/var/lib/rpm/rpmdb.sqlite',
    '/var/lib/rpm/Packages',
    '/usr/lib/sysimage/rpm/rpmdb.sqlite',
  ])
    if (await probe.lstat(path)) return { kind: 'rpm', path };
  return { kind: 'none' };
}

export interface UnitState {
  /** unit name → the `.wants`/`.requires` directories linking it */
  enabled: Map<string, string[]>;
  masked: Set<string>;
  /** alias name → target unit name (e.g. sshd.service → ssh.service) */
  aliases: Map<string, string>;
}

const SYSTEM_DIR = '/etc/systemd/system';
/** Where unit files live, in systemd's order of precedence. */
const UNIT_DIRS = [SYSTEM_DIR, '/usr/lib/systemd/system', '/lib/systemd/system'];

/** Enabled units (symlinks under etc/systemd/system/*.wants), masks (links to /dev/null) and aliases. */
export async function readUnitState(probe: ImageProbe): Promise<UnitState> {
  const state: UnitState = { enabled: new Map(), masked: new Set(), aliases: new Map() };
  for (const name of await probe.list(SYSTEM_DIR)) {
    const path = `${SYSTEM_DIR}/${name}`;
    const stat = await probe.lstat(path);
    if (stat?.type === 'symlink') {
      const target = await probe.readlink(path);
      if (target === '/dev/null') state.masked.add(name);
      else state.aliases.set(name, target.split('/').pop() ?? target);
    } else if (stat?.type === 'directory' && /\.(wants|requires)$/.test(name)) {
      for (const unit of await probe.list(path)) {
        const dirs = state.enabled.get(unit) ?? [];
        dirs.push(name);
        state.enabled.set(unit, dirs);
      }
    }
  }
  return state;
}

/** Whether a unit (or an alias of it, or the unit an alias names) is linked into a wants directory and not masked. */
export function isUnitEnabled(state: UnitState, unit: string): boolean {
  if (state.masked.has(unit)) return false;
  if (state.enabled.has(unit)) return true;
  const aliased = state.aliases.get(unit);
  if (aliased && state.enabled.has(aliased) && !state.masked.has(aliased)) return true;
  for (const [alias, target] of state.aliases) if (target === unit && state.enabled.has(alias)) return true;
  return false;
}

export const SSH_SERVER_PACKAGES = ['openssh-server'];
export const SSH_UNITS = ['ssh.service', 'sshd.service', 'ssh.socket', 'sshd.socket'];

/** A first-boot SSH host key generator: cloud-init (installed, enabled, not disabled) or a dedicated unit. */
export async function findHostKeyRegenerator(
  probe: ImageProbe,
  packages: PackageDatabase,
  units: UnitState,
): Promise<string | undefined> {
  for (const unit of units.enabled.keys()) {
    if (!isUnitEnabled(units, unit)) continue;
    if (/^sshd-keygen|ssh-host-keys|ssh_host_keys|ssh-keygen/.test(unit)) return `unit ${unit} enabled`;
    // Whatever its name, an enabled unit that runs ssh-keygen makes the keys (DIB's, imagetrust build's).
    for (const dir of UNIT_DIRS) {
      const text = await probe.text(`${dir}/${unit}`);
      if (text === undefined) continue;
      if (/^\s*ExecStart(?:Pre)?\s*=.*\bssh-keygen\b/m.test(text))
        return `unit ${unit} enabled (runs ssh-keygen)`;
      break;
    }
  }
  const cloudInit = packages.kind === 'dpkg' ? packages.installed.has('cloud-init') : true;
  if (
    cloudInit &&
    isUnitEnabled(units, 'cloud-init.service') &&
    !(await probe.lstat('/etc/cloud/cloud-init.disabled'))
  )
    return 'cloud-init enabled';
  return undefined;
}

export async function listHostKeys(probe: ImageProbe): Promise<string[]> {
  return (await probe.list('/etc/ssh')).filter((name) => /^ssh_host_.*_key$/.test(name));
}

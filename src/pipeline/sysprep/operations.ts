// The named operations. Each reads what it needs and returns changes; none writes. Names and meaning
// follow virt-sysprep (spec 2) except `disable-units`, which stands in for its `customize --delete`.
import type { ImageFileSystem } from '../../disk/index.ts';
import { SysprepError } from './errors.ts';
import { homeDirs, join, listDir, lstatOrUndefined, walkDirectories, walkFiles } from './image-walk.ts';
import type { SysprepChange, SysprepOperation } from './types.ts';

async function deleteIfPresent(
  fs: ImageFileSystem,
  op: string,
  path: string,
  reason: string,
): Promise<SysprepChange[]> {
  const stat = await lstatOrUndefined(fs, path);
  if (!stat || stat.type === 'directory') return [];
  return [{ op, action: 'delete', path, reason }];
}

async function truncateIfNotEmpty(
  fs: ImageFileSystem,
  op: string,
  path: string,
  reason: string,
): Promise<SysprepChange[]> {
  const stat = await lstatOrUndefined(fs, path);
  if (stat?.type !== 'file' || stat.size === 0) return [];
  return [{ op, action: 'truncate', path, reason }];
}

/** Rewrites a text file without the lines `drop` matches; no change when nothing matches. */
async function filterLines(
  fs: ImageFileSystem,
  op: string,
  path: string,
  reason: string,
  drop: (line: string) => boolean,
): Promise<SysprepChange[]> {
  const stat = await lstatOrUndefined(fs, path);
  if (stat?.type !== 'file') return [];
  const lines = (await fs.readFile(path)).toString('utf8').split('\n');
  const kept = lines.filter((line) => !drop(line));
  if (kept.length === lines.length) return [];
  return [{ op, action: 'write', path, reason, content: Buffer.from(kept.join('\n')) }];
}

const netHwaddr: SysprepOperation = {
  name: 'net-hwaddr',
  defaultEnabled: true,
  description: 'drop HWADDR= lines from ifcfg-* files so a clone does not insist on the old MAC',
  async plan(fs) {
    const dir = '/etc/sysconfig/network-scripts';
    const changes: SysprepChange[] = [];
    for (const name of await listDir(fs, dir)) {
      if (!name.startsWith('ifcfg-')) continue;
      changes.push(
        ...(await filterLines(fs, 'net-hwaddr', join(dir, name), 'HWADDR pins the old MAC', (line) =>
          /^\s*HWADDR=/.test(line),
        )),
      );
    }
    return changes;
  },
};

// The seed empties the rules file where virt-sysprep deletes it; both stop the old MAC claiming eth0,
// and an empty file keeps a package's ownership of the path intact.
const udevPersistentNet: SysprepOperation = {
  name: 'udev-persistent-net',
  defaultEnabled: true,
  description: 'empty etc/udev/rules.d/70-persistent-net.rules',
  plan: (fs) =>
    truncateIfNotEmpty(
      fs,
      'udev-persistent-net',
      '/etc/udev/rules.d/70-persistent-net.rules',
      'rules bind interface names to old MACs',
    ),
};

const machineId: SysprepOperation = {
  name: 'machine-id',
  defaultEnabled: true,
  description: 'empty etc/machine-id and var/lib/dbus/machine-id (systemd makes a new one at boot)',
  async plan(fs) {
    const reason = 'every clone would share this id';
    return [
      ...(await truncateIfNotEmpty(fs, 'machine-id', '/etc/machine-id', reason)),
      ...(await truncateIfNotEmpty(fs, 'machine-id', '/var/lib/dbus/machine-id', reason)),
    ];
  },
};

/** Why the guest will make new host keys at boot, or undefined when nothing will (spec 4.4). */
export async function findHostKeyRegenerator(fs: ImageFileSystem): Promise<string | undefined> {
  const cloudCfg = await lstatOrUndefined(fs, '/etc/cloud/cloud.cfg');
  if (cloudCfg && !(await lstatOrUndefined(fs, '/etc/cloud/cloud-init.disabled'))) {
    const text = (await fs.readFile('/etc/cloud/cloud.cfg')).toString('utf8');
    // cloud-init's cc_ssh makes keys unless told to make none.
    if (!/^\s*ssh_genkeytypes\s*:\s*\[\s*\]/m.test(text)) return 'cloud-init (cc_ssh) generates host keys';
  }
  // RHEL-family sshd.service pulls in sshd-keygen; Debian has nothing unless a unit was added.
  for (const unit of ['sshd-keygen.service', 'sshd-keygen@.service']) {
    for (const dir of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
      if (await lstatOrUndefined(fs, join(dir, unit))) return `${unit} is installed`;
    }
  }
  for (const wants of await listDir(fs, '/etc/systemd/system')) {
    if (!/\.(wants|requires)$/.test(wants)) continue;
    for (const name of await listDir(fs, join('/etc/systemd/system', wants))) {
      if (/ssh.*keygen|keygen.*ssh|ssh.*host.*keys/i.test(name)) return `${name} is enabled`;
    }
  }
  return undefined;
}

const sshHostkeys: SysprepOperation = {
  name: 'ssh-hostkeys',
  defaultEnabled: true,
  description: 'delete etc/ssh/ssh_host_* keys; refused unless forced when nothing regenerates them at boot',
  async plan(fs, context) {
    const keys = (await listDir(fs, '/etc/ssh')).filter((name) => name.startsWith('ssh_host_'));
    if (keys.length === 0) return [];
    const regenerator = await findHostKeyRegenerator(fs);
    if (!regenerator && !context.force) {
      throw new SysprepError(
        'ssh-hostkeys would leave the guest without SSH host keys: no cloud-init and no key-generating unit is present, and sshd will not start without keys. Add a regenerator, drop the operation, or pass --force.',
      );
    }
    const reason = regenerator
      ? `clones must not share host keys; ${regenerator}`
      : 'clones must not share host keys; forced without a regenerator';
    return keys.map((name) => ({
      op: 'ssh-hostkeys',
      action: 'delete',
      path: join('/etc/ssh', name),
      reason,
    }));
  },
};

async function deleteFilesUnder(
  fs: ImageFileSystem,
  op: string,
  dir: string,
  reason: string,
  match: (name: string) => boolean = () => true,
): Promise<SysprepChange[]> {
  const changes: SysprepChange[] = [];
  for (const { path } of await walkFiles(fs, dir)) {
    if (match(path.slice(path.lastIndexOf('/') + 1))) changes.push({ op, action: 'delete', path, reason });
  }
  return changes;
}

const packageManagerCache: SysprepOperation = {
  name: 'package-manager-cache',
  defaultEnabled: true,
  description: 'delete apt package lists caches and downloaded packages, yum and dnf caches',
  async plan(fs) {
    const op = 'package-manager-cache';
    const changes: SysprepChange[] = [];
    for (const name of await listDir(fs, '/var/cache/apt')) {
      if (name.endsWith('.bin'))
        changes.push(...(await deleteIfPresent(fs, op, join('/var/cache/apt', name), 'apt cache')));
    }
    changes.push(
      ...(await deleteFilesUnder(fs, op, '/var/cache/apt/archives', 'downloaded package', (name) =>
        name.endsWith('.deb'),
      )),
      ...(await deleteFilesUnder(fs, op, '/var/cache/yum', 'yum cache')),
      ...(await deleteFilesUnder(fs, op, '/var/cache/dnf', 'dnf cache')),
    );
    return changes;
  },
};

// Rotated and compressed logs are history nobody needs in a template; live logs are emptied so their
// owners and modes (and logrotate's expectations) stay as they are.
const ROTATED_LOG = /(\.\d+|\.gz|\.xz|\.bz2|\.zst|\.old|-\d{8})$/;

const logfiles: SysprepOperation = {
  name: 'logfiles',
  defaultEnabled: true,
  description: 'empty log files under var/log (wtmp, btmp, lastlog, journal included), delete rotated ones',
  async plan(fs) {
    const changes: SysprepChange[] = [];
    for (const { path, stat } of await walkFiles(fs, '/var/log')) {
      if (stat.type !== 'file') continue;
      if (ROTATED_LOG.test(path) || path.startsWith('/var/log/journal/')) {
        changes.push({ op: 'logfiles', action: 'delete', path, reason: 'old log of the build host' });
      } else if (stat.size > 0) {
        changes.push({ op: 'logfiles', action: 'truncate', path, reason: 'log of the build host' });
      }
    }
    return changes;
  },
};

const bashHistory: SysprepOperation = {
  name: 'bash-history',
  defaultEnabled: true,
  description: 'delete .bash_history of root and users under home',
  async plan(fs) {
    const changes: SysprepChange[] = [];
    for (const home of await homeDirs(fs)) {
      changes.push(
        ...(await deleteIfPresent(fs, 'bash-history', join(home, '.bash_history'), 'shell history')),
      );
    }
    return changes;
  },
};

// Temporary trees are emptied of files and links; their directories stay, as virt-sysprep leaves
// tmp and var/tmp usable (only a removed user's home goes entirely).
const tmpFiles: SysprepOperation = {
  name: 'tmp-files',
  defaultEnabled: true,
  description: 'delete everything but directories under tmp and var/tmp',
  async plan(fs) {
    return [
      ...(await deleteFilesUnder(fs, 'tmp-files', '/tmp', 'temporary file')),
      ...(await deleteFilesUnder(fs, 'tmp-files', '/var/tmp', 'temporary file')),
    ];
  },
};

const dhcpClientState: SysprepOperation = {
  name: 'dhcp-client-state',
  defaultEnabled: true,
  description: 'delete DHCP client leases (dhclient, dhcpcd, NetworkManager)',
  async plan(fs) {
    const op = 'dhcp-client-state';
    const lease = (name: string) => /\.leases?$/.test(name) || name.startsWith('dhclient');
    return [
      ...(await deleteFilesUnder(fs, op, '/var/lib/dhcp', 'DHCP lease', lease)),
      ...(await deleteFilesUnder(fs, op, '/var/lib/dhclient', 'DHCP lease', lease)),
      ...(await deleteFilesUnder(fs, op, '/var/lib/dhcpcd', 'DHCP lease', lease)),
      ...(await deleteFilesUnder(fs, op, '/var/lib/NetworkManager', 'DHCP lease', lease)),
    ];
  },
};

/** Drops `user` from the comma-separated member list in field `index` of a colon-separated line. */
function withoutMember(line: string, index: number, user: string): string {
  const fields = line.split(':');
  if (fields.length <= index) return line;
  fields[index] = (fields[index] ?? '')
    .split(',')
    .filter((member) => member !== '' && member !== user)
    .join(',');
  return fields.join(':');
}

async function rewriteAccounts(
  fs: ImageFileSystem,
  path: string,
  users: readonly string[],
  memberFields: number[],
): Promise<SysprepChange[]> {
  const stat = await lstatOrUndefined(fs, path);
  if (stat?.type !== 'file') return [];
  const before = (await fs.readFile(path)).toString('utf8');
  const after = before
    .split('\n')
    .filter((line) => !users.includes(line.split(':')[0] ?? ''))
    .map((line) =>
      memberFields.reduce((acc, index) => users.reduce((l, u) => withoutMember(l, index, u), acc), line),
    )
    .join('\n');
  if (after === before) return [];
  return [
    {
      op: 'user-account',
      action: 'write',
      path,
      reason: `remove ${users.join(', ')}`,
      content: Buffer.from(after),
    },
  ];
}

function isSudoersRuleFor(line: string, users: readonly string[]): boolean {
  const first = line.trim().split(/\s+/)[0] ?? '';
  return users.includes(first) || users.includes(first.replace(/^%/, ''));
}

const userAccount: SysprepOperation = {
  name: 'user-account',
  defaultEnabled: false,
  description:
    'remove the accounts named by --user from passwd, shadow, group and gshadow, their sudoers rules and the files in their homes',
  async plan(fs, context) {
    const users = context.users;
    if (users.length === 0) return [];
    const changes: SysprepChange[] = [];
    const homes: string[] = [];
    const passwd = await lstatOrUndefined(fs, '/etc/passwd');
    if (passwd?.type === 'file') {
      for (const line of (await fs.readFile('/etc/passwd')).toString('utf8').split('\n')) {
        const fields = line.split(':');
        if (users.includes(fields[0] ?? '') && fields[5] && fields[5] !== '/') homes.push(fields[5]);
      }
    }
    changes.push(
      ...(await rewriteAccounts(fs, '/etc/passwd', users, [])),
      ...(await rewriteAccounts(fs, '/etc/shadow', users, [])),
      ...(await rewriteAccounts(fs, '/etc/group', users, [3])),
      ...(await rewriteAccounts(fs, '/etc/gshadow', users, [2, 3])),
    );
    const sudoers = (line: string) => isSudoersRuleFor(line, users);
    changes.push(
      ...(await filterLines(fs, 'user-account', '/etc/sudoers', 'sudo rule of a removed user', sudoers)),
    );
    for (const name of await listDir(fs, '/etc/sudoers.d')) {
      const path = join('/etc/sudoers.d', name);
      const planned = await filterLines(fs, 'user-account', path, 'sudo rule of a removed user', sudoers);
      const rewrite = planned[0];
      if (rewrite?.action !== 'write') continue;
      // A drop-in left with only comments is noise: delete it rather than keep an empty rule file.
      const rest = rewrite.content
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.trim().startsWith('#'));
      changes.push(
        rest.length === 0
          ? { op: 'user-account', action: 'delete', path, reason: 'sudo rule of a removed user' }
          : rewrite,
      );
    }
    // The home goes entirely: its files first, then its directories deepest first, then itself.
    for (const home of homes) {
      changes.push(...(await deleteFilesUnder(fs, 'user-account', home, 'home of a removed user')));
      const dirs = await walkDirectories(fs, home);
      if ((await lstatOrUndefined(fs, home))?.type === 'directory') dirs.push(home);
      for (const dir of dirs.sort((a, b) => b.split('/').length - a.split('/').length)) {
        changes.push({
          op: 'user-account',
          action: 'remove-dir',
          path: dir,
          reason: 'home of a removed user',
        });
      }
    }
    return changes;
  },
};

function unitFileName(unit: string): string {
  return unit.includes('.') ? unit : `${unit}.service`;
}

const disableUnits: SysprepOperation = {
  name: 'disable-units',
  defaultEnabled: false,
  description:
    'disable the systemd units named by --disable-units (remove their *.wants/*.requires links and SysV S links)',
  async plan(fs, context) {
    const units = context.units.map(unitFileName);
    const changes: SysprepChange[] = [];
    for (const wants of await listDir(fs, '/etc/systemd/system')) {
      if (!/\.(wants|requires)$/.test(wants)) continue;
      const dir = join('/etc/systemd/system', wants);
      for (const name of await listDir(fs, dir)) {
        const path = join(dir, name);
        if (units.includes(name) && (await fs.lstat(path)).type === 'symlink') {
          changes.push({ op: 'disable-units', action: 'remove-symlink', path, reason: `enables ${name}` });
        }
      }
    }
    const sysv = units.filter((u) => u.endsWith('.service')).map((u) => u.slice(0, -'.service'.length));
    for (const level of ['0', '1', '2', '3', '4', '5', '6', 'S']) {
      const dir = `/etc/rc${level}.d`;
      for (const name of await listDir(fs, dir)) {
        const match = /^S\d\d(.+)$/.exec(name);
        const path = join(dir, name);
        if (match?.[1] && sysv.includes(match[1]) && (await fs.lstat(path)).type === 'symlink') {
          changes.push({ op: 'disable-units', action: 'remove-symlink', path, reason: `starts ${match[1]}` });
        }
      }
    }
    return changes;
  },
};

/**
 * Every operation, in the order they run. The default set is every operation but `user-account` (off by
 * default in virt-sysprep too, spec 2) and `disable-units` (virt-sysprep needs `customize` for it): both
 * act on names the caller chooses, so they run only when `--operations` names them.
 */
export const SYSPREP_OPERATIONS: readonly SysprepOperation[] = [
  netHwaddr,
  udevPersistentNet,
  machineId,
  sshHostkeys,
  packageManagerCache,
  logfiles,
  bashHistory,
  tmpFiles,
  dhcpClientState,
  userAccount,
  disableUnits,
];

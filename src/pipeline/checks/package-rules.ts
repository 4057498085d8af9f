// Checks that depend on installed packages: cloud-init, mail servers, the SSH server and its host keys.
import { type ImageProbe, meaningfulLines } from './image-probe.ts';
import {
  findHostKeyRegenerator,
  isUnitEnabled,
  listHostKeys,
  readPackageDatabase,
  readUnitState,
  SSH_SERVER_PACKAGES,
  SSH_UNITS,
} from './system-state.ts';
import { type CheckDefinition, type CheckOutcome, verdict } from './types.ts';

const CLOUD_INIT_UNITS = ['cloud-init.service', 'cloud-init-local.service', 'cloud-init-main.service'];

const cloudInit: CheckDefinition = {
  id: 'cloud-init',
  title: 'cloud-init installed, enabled and not disabled (check_cloud_init)',
  async run(probe) {
    const problems: string[] = [];
    const notes: string[] = [];
    const packages = await readPackageDatabase(probe);
    if (packages.kind === 'dpkg' && !packages.installed.has('cloud-init'))
      problems.push('cloud-init is not installed (dpkg status)');
    if (packages.kind !== 'dpkg' && !(await probe.lstat('/usr/bin/cloud-init')))
      problems.push('no package database read and /usr/bin/cloud-init is absent');
    if (!(await probe.lstat('/etc/cloud/cloud.cfg'))) problems.push('/etc/cloud/cloud.cfg is missing');
    if (await probe.lstat('/etc/cloud/cloud-init.disabled'))
      problems.push('/etc/cloud/cloud-init.disabled exists');
    const units = await readUnitState(probe);
    const enabled = CLOUD_INIT_UNITS.filter((unit) => isUnitEnabled(units, unit));
    if (enabled.length === 0) problems.push('no cloud-init unit is enabled');
    else notes.push(`enabled: ${enabled.join(', ')}`);
    for (const file of await probe.texts('/etc/cloud/cloud.cfg.d', /\.cfg$/)) {
      const list = /^datasource_list:\s*(.+)$/m.exec(file.text)?.[1];
      if (list) notes.push(`${file.path}: datasource_list ${list.trim()}`);
    }
    return verdict(problems, notes);
  },
};

const MAIL_PACKAGES = [
  'postfix',
  'sendmail',
  'sendmail-bin',
  'exim4',
  'exim4-daemon-light',
  'exim4-daemon-heavy',
  'mailx',
  's-nail',
  'bsd-mailx',
  'mailutils',
  'nullmailer',
  'opensmtpd',
  'dma',
];

const noMailPackages: CheckDefinition = {
  id: 'no-mail-packages',
  title: 'No mail server or client packages (linux_check_for_no_mail_packages)',
  async run(probe) {
    const packages = await readPackageDatabase(probe);
    if (packages.kind === 'dpkg') {
      const found = MAIL_PACKAGES.filter((name) => packages.installed.has(name));
      return verdict(found.map((name) => `${name} is installed (dpkg status)`));
    }
    const fallback: string[] = [];
    for (const path of ['/usr/sbin/sendmail', '/etc/postfix', '/etc/exim4'])
      if (await probe.lstat(path)) fallback.push(`${path} exists`);
    if (fallback.length > 0) return verdict(fallback);
    // The RPM database needs an SQLite/BDB reader we do not have: say so instead of passing.
    return {
      status: 'not-applicable',
      evidence: [
        packages.kind === 'rpm'
          ? `RPM database ${packages.path} not read; no sendmail, postfix or exim4 files found`
          : 'no package database found',
      ],
    };
  },
};

/** The effective value of an sshd option: the first one wins, Include files in place, Match blocks ignored. */
async function readSshdOption(
  probe: ImageProbe,
  option: string,
): Promise<{ value: string; source: string } | undefined> {
  const visit = async (
    path: string,
    depth: number,
  ): Promise<{ value: string; source: string } | undefined> => {
    const text = await probe.text(path);
    if (text === undefined || depth > 4) return undefined;
    for (const line of meaningfulLines(text)) {
      const [keyword = '', ...rest] = line.split(/\s+/);
      const key = keyword.toLowerCase();
      if (key === 'match') return undefined;
      if (key === 'include') {
        for (const pattern of rest) {
          const full = pattern.startsWith('/') ? pattern : `/etc/ssh/${pattern}`;
          const slash = full.lastIndexOf('/');
          const dir = full.slice(0, slash);
          const glob = new RegExp(
            `^${full
              .slice(slash + 1)
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replaceAll('*', '.*')}$`,
          );
          for (const name of await probe.list(dir)) {
            if (!glob.test(name)) continue;
            const hit = await visit(`${dir}/${name}`, depth + 1);
            if (hit) return hit;
          }
        }
      } else if (key === option.toLowerCase()) return { value: rest.join(' '), source: path };
    }
    return undefined;
  };
  return visit('/etc/ssh/sshd_config', 0);
}

async function sshServerInstalled(probe: ImageProbe): Promise<{ installed: boolean; note: string }> {
  const packages = await readPackageDatabase(probe);
  if (packages.kind === 'dpkg') {
    const installed = SSH_SERVER_PACKAGES.some((name) => packages.installed.has(name));
    return { installed, note: `openssh-server ${installed ? 'installed' : 'not installed'} (dpkg status)` };
  }
  const installed = (await probe.lstat('/usr/sbin/sshd')) !== undefined;
  return { installed, note: `package database not read; /usr/sbin/sshd ${installed ? 'present' : 'absent'}` };
}

const sshOffline: CheckDefinition = {
  id: 'ssh-offline',
  title:
    'SSH server installed, enabled, with host keys or a regenerator, no root password login (linux_image_allows_ssh)',
  async run(probe) {
    const problems: string[] = [];
    const notes: string[] = [];
    const server = await sshServerInstalled(probe);
    (server.installed ? notes : problems).push(server.note);
    const units = await readUnitState(probe);
    const enabled = SSH_UNITS.filter((unit) => isUnitEnabled(units, unit));
    if (enabled.length === 0) problems.push('neither ssh.service nor sshd.service (nor a socket) is enabled');
    else notes.push(`enabled: ${enabled.join(', ')}`);
    const keys = await listHostKeys(probe);
    const packages = await readPackageDatabase(probe);
    const regenerator = await findHostKeyRegenerator(probe, packages, units);
    if (keys.length > 0) notes.push(`host keys: ${keys.join(', ')}`);
    else if (regenerator) notes.push(`no host keys; regenerated at boot by ${regenerator}`);
    else problems.push('no host keys and no regenerator');
    const root = await readSshdOption(probe, 'PermitRootLogin');
    if (root?.value.toLowerCase() === 'yes') problems.push(`PermitRootLogin yes in ${root.source}`);
    else notes.push(`PermitRootLogin ${root?.value ?? 'default (prohibit-password)'}`);
    return verdict(problems, notes);
  },
};

const hostKeyRegenerator: CheckDefinition = {
  id: 'ssh-host-key-regenerator',
  title: 'SSH host keys are not removed without a first-boot regenerator',
  async run(probe): Promise<CheckOutcome> {
    const server = await sshServerInstalled(probe);
    if (!server.installed) return { status: 'not-applicable', evidence: [server.note] };
    const keys = await listHostKeys(probe);
    if (keys.length > 0) return verdict([], [`host keys present: ${keys.join(', ')}`]);
    const units = await readUnitState(probe);
    const regenerator = await findHostKeyRegenerator(probe, await readPackageDatabase(probe), units);
    return regenerator
      ? verdict([], [`no host keys; ${regenerator}`])
      : verdict(['host keys removed and nothing regenerates them at boot (ssh.service will fail)']);
  },
};

export const PACKAGE_RULES: CheckDefinition[] = [cloudInit, noMailPackages, sshOffline, hostKeyRegenerator];

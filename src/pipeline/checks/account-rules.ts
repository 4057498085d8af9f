// Checks of accounts: no vagrant leftovers, no user accounts, a locked root password.
import { type ImageProbe, meaningfulLines } from './image-probe.ts';
import { type CheckDefinition, verdict } from './types.ts';

// Both Vagrant insecure keys carry this comment; the RSA one also starts with this well-known blob.
const VAGRANT_KEY_MARKERS = [
  'vagrant insecure public key',
  'AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr',
];

function colonRecords(text: string): string[][] {
  return meaningfulLines(text).map((line) => line.split(':'));
}

async function authorizedKeyFiles(probe: ImageProbe): Promise<string[]> {
  const files = ['/root/.ssh/authorized_keys'];
  for (const user of await probe.list('/home')) files.push(`/home/${user}/.ssh/authorized_keys`);
  return files;
}

const noVagrantAccount: CheckDefinition = {
  id: 'no-vagrant-account',
  title: 'No vagrant user, group, home, sudoers entry or insecure key (check_no_vagrant_account)',
  async run(probe) {
    const problems: string[] = [];
    for (const file of ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'])
      if (colonRecords((await probe.text(file)) ?? '').some((record) => record[0] === 'vagrant'))
        problems.push(`vagrant entry in ${file}`);
    if (await probe.lstat('/home/vagrant')) problems.push('/home/vagrant exists');
    const sudoers = await probe.texts('/etc/sudoers.d', /^[^.~]+$/);
    const main = await probe.text('/etc/sudoers');
    if (main !== undefined) sudoers.unshift({ path: '/etc/sudoers', text: main });
    for (const file of sudoers)
      for (const line of meaningfulLines(file.text))
        if (/^%?vagrant\b/.test(line)) problems.push(`${file.path}: ${line}`);
    for (const file of await authorizedKeyFiles(probe)) {
      const text = await probe.text(file);
      if (text && VAGRANT_KEY_MARKERS.some((marker) => text.includes(marker)))
        problems.push(`${file} holds the Vagrant insecure key`);
    }
    return verdict(problems);
  },
};

const noUserAccounts: CheckDefinition = {
  id: 'no-user-accounts',
  title:
    'No account with UID >= UID_MIN except nobody and the allow-list; home empty (check_no_user_account_present)',
  async run(probe, params) {
    const defs = (await probe.text('/etc/login.defs')) ?? '';
    const uidMin = Number(/^\s*UID_MIN\s+(\d+)/m.exec(defs)?.[1] ?? 1000);
    const allowed = new Set(params.allowedUsers);
    const problems: string[] = [];
    for (const record of colonRecords((await probe.text('/etc/passwd')) ?? '')) {
      const [name = '', , uid = ''] = record;
      const id = Number(uid);
      if (Number.isInteger(id) && id >= uidMin && id !== 65534 && !allowed.has(name))
        problems.push(`account ${name} has UID ${id} (UID_MIN ${uidMin})`);
    }
    for (const entry of await probe.list('/home'))
      if (!allowed.has(entry)) problems.push(`/home/${entry} exists`);
    return verdict(problems, [`UID_MIN ${uidMin}`]);
  },
};

const rootPasswordLocked: CheckDefinition = {
  id: 'root-password-locked',
  title: 'The root password hash in etc/shadow is locked (* or !)',
  async run(probe) {
    const shadow = await probe.text('/etc/shadow');
    if (shadow === undefined) return { status: 'not-applicable', evidence: ['/etc/shadow is absent'] };
    const root = colonRecords(shadow).find((record) => record[0] === 'root');
    if (!root) return verdict(['no root entry in /etc/shadow']);
    const hash = root[1] ?? '';
    if (hash === '') return verdict(['root has an empty password']);
    return hash.startsWith('*') || hash.startsWith('!')
      ? verdict([], ['root password is locked'])
      : verdict(['root has a usable password hash']);
  },
};

export const ACCOUNT_RULES: CheckDefinition[] = [noVagrantAccount, noUserAccounts, rootPasswordLocked];

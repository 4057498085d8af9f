// Single checks on small directory images: the edge cases the fixture trees do not cover.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openImage } from '../../../src/disk/index.ts';
import {
  CHECK_IDS,
  type CheckResult,
  OFFLINE_CHECKS,
  parseProfile,
  runCheck,
} from '../../../src/pipeline/checks/index.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

async function check(
  id: string,
  files: Record<string, string>,
  links: Record<string, string> = {},
): Promise<CheckResult> {
  const root = mkdtempSync(join(tmpdir(), 'imagetrust-rule-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    symlinkSync(target, join(root, path));
  }
  const definition = OFFLINE_CHECKS.find((candidate) => candidate.id === id);
  assert.ok(definition);
  const fs = await openImage(root);
  try {
    return await runCheck(fs, definition, parseProfile('', CHECK_IDS));
  } finally {
    await fs.close();
  }
}

const DPKG_SSH = { 'var/lib/dpkg/status': 'Package: openssh-server\nStatus: install ok installed\n' };
const SSH_ENABLED = {
  'etc/systemd/system/multi-user.target.wants/ssh.service': '/lib/systemd/system/ssh.service',
};

describe('offline checks', () => {
  it('resolv-conf accepts a systemd-resolved stub only when resolved is enabled', async () => {
    const link = { 'etc/resolv.conf': '/run/systemd/resolve/stub-resolv.conf' };
    assert.equal((await check('resolv-conf', {}, link)).status, 'fail');
    const enabled = {
      ...link,
      'etc/systemd/system/multi-user.target.wants/systemd-resolved.service':
        '/lib/systemd/system/systemd-resolved.service',
    };
    assert.equal((await check('resolv-conf', {}, enabled)).status, 'pass');
    assert.equal((await check('resolv-conf', { 'etc/resolv.conf': 'search x\n' })).status, 'fail');
  });

  it('ssh-offline fails on PermitRootLogin yes and on removed host keys without a regenerator', async () => {
    const withKeys = {
      ...DPKG_SSH,
      'etc/ssh/ssh_host_ed25519_key': 'k',
      'etc/ssh/sshd_config': 'PermitRootLogin no\n',
    };
    assert.equal((await check('ssh-offline', withKeys, SSH_ENABLED)).status, 'pass');
    const rootLogin = { ...withKeys, 'etc/ssh/sshd_config': 'PermitRootLogin yes\n' };
    assert.equal((await check('ssh-offline', rootLogin, SSH_ENABLED)).status, 'fail');
    const noKeys = { ...DPKG_SSH, 'etc/ssh/sshd_config': '' };
    assert.equal((await check('ssh-offline', noKeys, SSH_ENABLED)).status, 'fail');
    assert.equal((await check('ssh-host-key-regenerator', noKeys, SSH_ENABLED)).status, 'fail');
    assert.equal((await check('ssh-offline', withKeys)).status, 'fail');
  });

  it('ssh-host-key-regenerator accepts an enabled unit of any name that runs ssh-keygen, not a disabled one', async () => {
    const unit = '[Unit]\nBefore=ssh.service\n\n[Service]\nType=oneshot\nExecStart=/usr/bin/ssh-keygen -A\n';
    const files = { ...DPKG_SSH, 'etc/ssh/sshd_config': '', 'etc/systemd/system/make-keys.service': unit };
    assert.equal((await check('ssh-host-key-regenerator', files, SSH_ENABLED)).status, 'fail');
    const enabled = {
      ...SSH_ENABLED,
      'etc/systemd/system/multi-user.target.wants/make-keys.service': '/etc/systemd/system/make-keys.service',
    };
    assert.equal((await check('ssh-host-key-regenerator', files, enabled)).status, 'pass');
    const other = { ...files, 'etc/systemd/system/make-keys.service': unit.replace('ssh-keygen -A', 'true') };
    assert.equal((await check('ssh-host-key-regenerator', other, enabled)).status, 'fail');
  });

  it('kernel-boot-options takes console=ttyS0,115200 as console=ttyS0, but not console=ttyS01', async () => {
    const grub = (line: string) => ({ 'etc/default/grub': `GRUB_CMDLINE_LINUX="${line}"\n` });
    assert.equal((await check('kernel-boot-options', grub('console=ttyS0,115200n8'))).status, 'pass');
    assert.equal((await check('kernel-boot-options', grub('console=ttyS01'))).status, 'fail');
    assert.equal((await check('kernel-boot-options', grub('console=tty0'))).status, 'fail');
  });

  it('no-mail-packages is not-applicable on an unread RPM database, and fails on sendmail files', async () => {
    assert.equal(
      (await check('no-mail-packages', { 'var/lib/rpm/rpmdb.sqlite': 'x' })).status,
      'not-applicable',
    );
    const sendmail = { 'var/lib/rpm/rpmdb.sqlite': 'x', 'usr/sbin/sendmail': '' };
    assert.equal((await check('no-mail-packages', sendmail)).status, 'fail');
  });

  it('source-repos checks yum gpgcheck/sslverify, file: URIs and deb822 Trusted', async () => {
    const good =
      '[base]\nbaseurl=https://deb.debian.org/x\ngpgcheck=1\n[off]\nenabled=0\nbaseurl=http://evil/\n';
    assert.equal((await check('source-repos', { 'etc/yum.repos.d/a.repo': good })).status, 'pass');
    const noGpg = '[base]\nbaseurl=https://deb.debian.org/x\ngpgcheck=0\n';
    assert.equal((await check('source-repos', { 'etc/yum.repos.d/a.repo': noGpg })).status, 'fail');
    const noSsl = '[base]\nbaseurl=https://deb.debian.org/x\ngpgcheck=1\nsslverify=0\n';
    assert.equal((await check('source-repos', { 'etc/yum.repos.d/a.repo': noSsl })).status, 'fail');
    assert.equal(
      (await check('source-repos', { 'etc/apt/sources.list': 'deb file:/srv/repo ./\n' })).status,
      'fail',
    );
    const trusted = 'Types: deb\nURIs: https://deb.debian.org/debian\nSuites: x\nTrusted: yes\n';
    assert.equal(
      (await check('source-repos', { 'etc/apt/sources.list.d/a.sources': trusted })).status,
      'fail',
    );
  });

  it('systemd-units fails on an enabled forbidden unit and accepts a masked one', async () => {
    const units = {
      'etc/systemd/system/multi-user.target.wants/ssh.service': '/lib/systemd/system/ssh.service',
      'etc/systemd/system/multi-user.target.wants/cloud-init.service':
        '/lib/systemd/system/cloud-init.service',
    };
    const masked = { ...units, 'etc/systemd/system/autofs.service': '/dev/null' };
    assert.equal((await check('systemd-units', {}, masked)).status, 'pass');
    const enabled = {
      ...units,
      'etc/systemd/system/multi-user.target.wants/autofs.service': '/x/autofs.service',
    };
    assert.equal((await check('systemd-units', {}, enabled)).status, 'fail');
  });

  it('flags icmp_echo_ignore_all, a machine-id, persistent net rules, package caches and a root password', async () => {
    assert.equal(
      (await check('icmp-not-ignored', { 'etc/sysctl.d/a.conf': 'net/ipv4/icmp_echo_ignore_all=1\n' }))
        .status,
      'fail',
    );
    assert.equal(
      (await check('machine-id-empty', { 'etc/machine-id': 'b08dfa6083e7567a1921a715000001fb\n' })).status,
      'fail',
    );
    assert.equal(
      (
        await check('no-persistent-net-rules', {
          'etc/udev/rules.d/70-persistent-net.rules':
            'SUBSYSTEM=="net", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n',
        })
      ).status,
      'fail',
    );
    // udev skips blank lines and comments: an emptied rules file (what sysprep leaves) binds nothing.
    assert.equal(
      (await check('no-persistent-net-rules', { 'etc/udev/rules.d/70-persistent-net.rules': '# emptied\n' }))
        .status,
      'pass',
    );
    assert.equal(
      (await check('package-caches-empty', { 'var/cache/apt/archives/x.deb': '' })).status,
      'fail',
    );
    assert.equal(
      (await check('root-password-locked', { 'etc/shadow': 'root:$6$s$h:1:0:99999:7:::\n' })).status,
      'fail',
    );
  });

  it('eth-interfaces accepts ifupdown, ifcfg and netplan configurations', async () => {
    assert.equal(
      (await check('eth-interfaces', { 'etc/network/interfaces': 'auto eth0\niface eth0 inet dhcp\n' }))
        .status,
      'pass',
    );
    assert.equal(
      (
        await check('eth-interfaces', {
          'etc/sysconfig/network-scripts/ifcfg-eth0': 'DEVICE=eth0\nONBOOT=no\n',
        })
      ).status,
      'fail',
    );
    const netplan = 'network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n';
    assert.equal(
      (await check('eth-interfaces', { 'etc/netplan/50-cloud-init.yaml': netplan })).status,
      'pass',
    );
  });
});

// Sysprep on real raw and qcow2 images built by make-sysprep-fixtures.sh: dry runs change nothing, real
// runs change exactly what they list, the filesystem stays clean and a second run has nothing to do.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat as hostLstat, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openImage } from '../../../src/disk/index.ts';
import { ImageTrustError } from '../../../src/errors/index.ts';
import {
  SYSPREP_OPERATIONS,
  type SysprepChange,
  type SysprepOptions,
  sysprepImage,
} from '../../../src/pipeline/sysprep/index.ts';
import { makeSysprepFixtures, type SysprepFixtures } from '../../fixtures/sysprep-fixtures.ts';

const run = promisify(execFile);
const ALL = SYSPREP_OPERATIONS.map((op) => op.name);

function options(overrides: Partial<SysprepOptions> = {}): SysprepOptions {
  return { users: ['vagrant'], units: ['autofs.service'], force: false, dryRun: false, ...overrides };
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Regular files and symlinks of the host tree the image was packed from, as image paths. */
async function treeEntries(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory()) continue;
    found.push(`/${relative(root, join(entry.parentPath, entry.name))}`);
  }
  return found.sort();
}

function describeChanges(changes: SysprepChange[]): string[] {
  return changes.map((c) => `${c.op}: ${c.action} ${c.path}`);
}

async function debugfsCat(image: string, offset: number, path: string): Promise<string> {
  const { stdout } = await run('debugfs', ['-R', `cat ${path}`, `${image}?offset=${offset}`]);
  return stdout;
}

async function e2fsckPartition(image: string, offset: number, dir: string): Promise<void> {
  const part = join(dir, 'part.ext4');
  await run('dd', [`if=${image}`, `of=${part}`, 'bs=512', `skip=${offset / 512}`, 'status=none']);
  try {
    await run('e2fsck', ['-fn', part]);
  } finally {
    await rm(part, { force: true });
  }
}

describe('sysprepImage', () => {
  let fx: SysprepFixtures;
  before(async () => {
    fx = await makeSysprepFixtures();
  });
  after(async () => {
    await rm(fx.dir, { recursive: true, force: true });
  });

  it('refuses ssh-hostkeys without a regenerator unless forced, and changes nothing', async () => {
    const digest = await sha256(fx.plantedRaw);
    await assert.rejects(
      sysprepImage(fx.plantedRaw, options()),
      (error: unknown) => error instanceof ImageTrustError && error.code === 'SYSPREP_REFUSED',
    );
    await assert.rejects(
      sysprepImage(fx.plantedRaw, options({ dryRun: true })),
      (error: unknown) => error instanceof ImageTrustError && error.code === 'SYSPREP_REFUSED',
    );
    assert.equal(await sha256(fx.plantedRaw), digest);
  });

  it('rejects unknown operation names', async () => {
    await assert.rejects(
      sysprepImage(fx.cloudRaw, options({ operations: ['net-hwaddr', 'no-such-op'], dryRun: true })),
      (error: unknown) => error instanceof ImageTrustError && error.code === 'BAD_REQUEST',
    );
  });

  it('leaves user-account and disable-units out of the default set', () => {
    const defaults = SYSPREP_OPERATIONS.filter((op) => op.defaultEnabled).map((op) => op.name);
    assert.ok(!defaults.includes('user-account'));
    assert.ok(!defaults.includes('disable-units'));
    assert.ok(defaults.includes('ssh-hostkeys'));
  });

  it('lists on a dry run, then changes exactly the listed paths on a raw image', async () => {
    const digest = await sha256(fx.cloudRaw);
    const planned = await sysprepImage(fx.cloudRaw, options({ operations: ALL, dryRun: true }));
    assert.equal(await sha256(fx.cloudRaw), digest, 'a dry run must not change a byte');
    assert.deepEqual(describeChanges(planned.changes), [
      'net-hwaddr: write /etc/sysconfig/network-scripts/ifcfg-eth0',
      'udev-persistent-net: truncate /etc/udev/rules.d/70-persistent-net.rules',
      'machine-id: truncate /etc/machine-id',
      'machine-id: truncate /var/lib/dbus/machine-id',
      'ssh-hostkeys: delete /etc/ssh/ssh_host_ecdsa_key',
      'ssh-hostkeys: delete /etc/ssh/ssh_host_ecdsa_key.pub',
      'ssh-hostkeys: delete /etc/ssh/ssh_host_ed25519_key',
      'ssh-hostkeys: delete /etc/ssh/ssh_host_ed25519_key.pub',
      'ssh-hostkeys: delete /etc/ssh/ssh_host_rsa_key',
      'ssh-hostkeys: delete /etc/ssh/ssh_host_rsa_key.pub',
      'package-manager-cache: delete /var/cache/apt/pkgcache.bin',
      'package-manager-cache: delete /var/cache/apt/srcpkgcache.bin',
      'package-manager-cache: delete /var/cache/apt/archives/curl_8.0_amd64.deb',
      'logfiles: truncate /var/log/apt/history.log',
      'logfiles: delete /var/log/journal/abc/system.journal',
      'logfiles: truncate /var/log/syslog',
      'logfiles: delete /var/log/syslog.1',
      'logfiles: delete /var/log/syslog.2.gz',
      'logfiles: truncate /var/log/wtmp',
      'bash-history: delete /root/.bash_history',
      'bash-history: delete /home/alice/.bash_history',
      'bash-history: delete /home/vagrant/.bash_history',
      'tmp-files: delete /tmp/build.sh',
      'tmp-files: delete /tmp/link',
      'tmp-files: delete /tmp/sub/file',
      'tmp-files: delete /var/tmp/cache.dat',
      'dhcp-client-state: delete /var/lib/dhcp/dhclient.eth0.leases',
      'dhcp-client-state: delete /var/lib/NetworkManager/internal-abc-eth0.lease',
      'user-account: write /etc/passwd',
      'user-account: write /etc/shadow',
      'user-account: write /etc/group',
      'user-account: write /etc/gshadow',
      'user-account: delete /etc/sudoers.d/vagrant',
      'user-account: delete /home/vagrant/.ssh/authorized_keys',
      'user-account: remove-dir /home/vagrant/.ssh',
      'user-account: remove-dir /home/vagrant',
      'disable-units: remove-symlink /etc/systemd/system/multi-user.target.wants/autofs.service',
    ]);

    const done = await sysprepImage(fx.cloudRaw, options({ operations: ALL }));
    assert.deepEqual(describeChanges(done.changes), describeChanges(planned.changes));

    // Every entry of the source tree is either changed as listed or byte-identical.
    const byPath = new Map(done.changes.map((c) => [c.path, c]));
    const fs = await openImage(fx.cloudRaw);
    try {
      for (const path of await treeEntries(join(fx.dir, 'cloud-root'))) {
        const change = byPath.get(path);
        const host = join(fx.dir, 'cloud-root', path);
        if (change?.action === 'delete' || change?.action === 'remove-symlink') {
          await assert.rejects(
            fs.lstat(path),
            (e: unknown) => e instanceof ImageTrustError && e.code === 'NOT_FOUND',
            path,
          );
        } else if (change?.action === 'truncate') {
          assert.equal((await fs.readFile(path)).length, 0, path);
        } else if (change?.action === 'write') {
          assert.deepEqual(await fs.readFile(path), change.content, path);
        } else if ((await hostLstat(host)).isSymbolicLink()) {
          assert.equal((await fs.lstat(path)).type, 'symlink', path);
        } else {
          assert.deepEqual(await fs.readFile(path), await readFile(host), path);
        }
      }
      const ifcfg = (await fs.readFile('/etc/sysconfig/network-scripts/ifcfg-eth0')).toString();
      assert.equal(ifcfg, 'DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\n');
      const passwd = (await fs.readFile('/etc/passwd')).toString();
      assert.ok(!passwd.includes('vagrant') && passwd.includes('alice'));
      assert.equal(
        (await fs.readFile('/etc/group')).toString(),
        'root:x:0:\nsudo:x:27:alice\nalice:x:1001:\n',
      );
      assert.equal((await fs.stat('/etc/shadow')).mode & 0o777, 0o640);
      // The removed user's home is gone, directories included.
      await assert.rejects(
        fs.lstat('/home/vagrant'),
        (e: unknown) => e instanceof ImageTrustError && e.code === 'NOT_FOUND',
      );
      assert.deepEqual(await fs.list('/var/log/journal/abc'), [], 'log directories stay');
    } finally {
      await fs.close();
    }

    assert.equal(await debugfsCat(fx.cloudRaw, fx.rootOffset, '/etc/machine-id'), '');
    assert.equal(
      await debugfsCat(fx.cloudRaw, fx.rootOffset, '/etc/sudoers.d/alice'),
      'alice ALL=(ALL) ALL\n',
    );
    assert.ok(!(await debugfsCat(fx.cloudRaw, fx.rootOffset, '/etc/shadow')).includes('vagrant'));
    await e2fsckPartition(fx.cloudRaw, fx.rootOffset, fx.dir);

    const digest2 = await sha256(fx.cloudRaw);
    const again = await sysprepImage(fx.cloudRaw, options({ operations: ALL }));
    assert.deepEqual(again.changes, [], 'a second run is a no-op');
    assert.equal(await sha256(fx.cloudRaw), digest2, 'a no-op run leaves the bytes alone');
  });

  it('runs forced on a qcow2 image, which stays readable and clean', async () => {
    const done = await sysprepImage(fx.plantedQcow2, options({ force: true }));
    assert.ok(done.changes.some((c) => c.path === '/etc/ssh/ssh_host_rsa_key'));
    assert.ok(done.changes.every((c) => c.op !== 'user-account' && c.op !== 'disable-units'));
    await run('qemu-img', ['check', fx.plantedQcow2]);
    const fs = await openImage(fx.plantedQcow2);
    try {
      assert.equal(fs.kind, 'qcow2');
      assert.deepEqual(await fs.list('/etc/ssh'), ['sshd_config']);
      assert.equal((await fs.readFile('/var/lib/dbus/machine-id')).length, 0);
      assert.equal(
        (await fs.lstat('/etc/systemd/system/multi-user.target.wants/autofs.service')).type,
        'symlink',
      );
    } finally {
      await fs.close();
    }
    const raw = join(fx.dir, 'after.raw');
    await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', fx.plantedQcow2, raw]);
    await e2fsckPartition(raw, fx.rootOffset, fx.dir);
    assert.equal(await debugfsCat(raw, fx.rootOffset, '/var/log/syslog'), '');
    const digest = await sha256(fx.plantedQcow2);
    const again = await sysprepImage(fx.plantedQcow2, options({ force: true }));
    assert.deepEqual(again.changes, []);
    assert.equal(await sha256(fx.plantedQcow2), digest, 'a no-op run leaves the file alone');
  });
});

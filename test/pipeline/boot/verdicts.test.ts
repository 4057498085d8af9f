import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  inSubnet,
  judgeAddresses,
  judgeCameBack,
  judgeCloudInit,
  judgeDevices,
  judgeDiskSize,
  judgeDistribution,
  judgeInterfacesUp,
  judgeKernelCmdline,
  judgeModules,
  judgeOfferedMethods,
  judgeResolvConf,
  judgeRng,
  judgeSshdSettings,
  judgeSwaps,
  judgeSystemd,
} from '../../../src/pipeline/boot/verdicts.ts';

const GiB = 1024 ** 3;

const IP_LINK = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:77:00:10 brd ff:ff:ff:ff:ff:ff
3: eth1: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:77:01:10 brd ff:ff:ff:ff:ff:ff
`;

describe('booted test verdicts', () => {
  it('judgeSwaps passes on the header alone and fails on an active swap', () => {
    const header = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
    assert.equal(judgeSwaps(header).status, 'pass');
    assert.equal(judgeSwaps(`${header}/swapfile  file  1048572  0  -2\n`).status, 'fail');
  });

  it('judgeKernelCmdline matches console=ttyS0 against console=ttyS0,115200 and finds forbidden arguments', () => {
    const cmdline =
      'BOOT_IMAGE=/boot/vmlinuz root=UUID=x ro console=tty0 console=ttyS0,115200 net.ifnames=0\n';
    assert.equal(judgeKernelCmdline(cmdline, ['console=ttyS0', 'net.ifnames=0'], ['audit=0']).status, 'pass');
    assert.equal(judgeKernelCmdline(cmdline, ['quiet'], []).status, 'fail');
    assert.equal(judgeKernelCmdline(`${cmdline} selinux=0`, [], ['selinux=0']).status, 'fail');
    assert.equal(judgeKernelCmdline('console=ttyS00', ['console=ttyS0'], []).status, 'fail');
  });

  it('judgeDistribution compares quoted os-release ID and VERSION_ID', () => {
    const osRelease = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nID=debian\n';
    assert.equal(judgeDistribution(osRelease, { id: 'debian', versionId: '12' }).status, 'pass');
    assert.equal(judgeDistribution(osRelease, { id: 'debian', versionId: '11' }).status, 'fail');
    assert.equal(judgeDistribution(osRelease, { id: 'ubuntu' }).status, 'fail');
  });

  it('judgeModules accepts loaded, built-in and /sys/module modules, with - and _ alike', () => {
    const seen = {
      loaded: 'virtio_net 69632 0 - Live 0x0\nnet_failover 24576 1 virtio_net, Live 0x0\n',
      builtin: 'kernel/drivers/block/virtio_blk.ko\nkernel/drivers/char/hw_random/virtio-rng.ko\n',
      sysModule: 'virtio_net\nvirtio_blk\nkeyboard\n',
    };
    assert.equal(judgeModules(['virtio_net', 'virtio_blk', 'virtio_rng'], seen).status, 'pass');
    const missing = judgeModules(['virtio_scsi'], seen);
    assert.equal(missing.status, 'fail');
    assert.match(missing.message, /virtio_scsi/);
  });

  it('judgeResolvConf needs the file and a nameserver line', () => {
    assert.equal(
      judgeResolvConf('lrwxrwxrwx resolv.conf -> stub', 'nameserver 127.0.0.53\n', 0).status,
      'pass',
    );
    assert.equal(judgeResolvConf('', '', 2).status, 'fail');
    assert.equal(judgeResolvConf('-rw-r--r-- resolv.conf', '# empty\n', 0).status, 'fail');
  });

  it('judgeInterfacesUp wants UP and LOWER_UP on every expected interface', () => {
    assert.equal(judgeInterfacesUp(IP_LINK, ['eth0']).status, 'pass');
    assert.equal(judgeInterfacesUp(IP_LINK, ['eth0', 'eth1']).status, 'fail');
    assert.equal(judgeInterfacesUp(IP_LINK, ['eth2']).status, 'fail');
  });

  it('judgeAddresses wants each NIC on its own subnet', () => {
    const addr =
      '2: eth0    inet 10.77.0.10/24 metric 1024 brd 10.77.0.255 scope global dynamic eth0\\\n3: eth1    inet 10.77.1.10/24 brd 10.77.1.255 scope global eth1\\\n';
    const nics = [
      { name: 'eth0', subnet: '10.77.0.0/24' },
      { name: 'eth1', subnet: '10.77.1.0/24' },
    ];
    assert.equal(judgeAddresses(addr, nics).status, 'pass');
    assert.equal(judgeAddresses(addr.replace('10.77.1.10', '10.77.9.10'), nics).status, 'fail');
    assert.ok(inSubnet('10.77.1.200', '10.77.1.0/24'));
    assert.ok(!inSubnet('10.77.2.1', '10.77.1.0/24'));
  });

  it('judgeDevices finds both NICs by MAC and both volumes by serial', () => {
    const expected = { macs: ['52:54:00:77:00:10', '52:54:00:77:01:10'], serials: ['itvol1', 'itvol2'] };
    assert.equal(judgeDevices(IP_LINK, '\nitvol1\nitvol2\n', expected).status, 'pass');
    assert.equal(judgeDevices(IP_LINK, 'itvol1\n', expected).status, 'fail');
  });

  it('judgeSshdSettings wants password and keyboard-interactive logins off', () => {
    assert.equal(
      judgeSshdSettings('port 22\npasswordauthentication no\nkbdinteractiveauthentication no\n').status,
      'pass',
    );
    assert.equal(
      judgeSshdSettings('passwordauthentication yes\nkbdinteractiveauthentication no\n').status,
      'fail',
    );
    assert.equal(judgeSshdSettings('sshd: no hostkeys available -- exiting.\n').status, 'fail');
  });

  it('judgeOfferedMethods fails when the server offers password or keyboard-interactive', () => {
    const line = (methods: string) =>
      `debug1: Next authentication method: none\ndebug1: Authentications that can continue: ${methods}\n`;
    assert.equal(judgeOfferedMethods(line('publickey')).status, 'pass');
    assert.equal(judgeOfferedMethods(line('publickey,password')).status, 'fail');
    assert.equal(judgeOfferedMethods(line('publickey,keyboard-interactive')).status, 'fail');
    assert.equal(judgeOfferedMethods('kex_exchange_identification: read: Connection reset\n').status, 'fail');
  });

  it('judgeCloudInit wants done, exit 0, no errors and the NoCloud datasource', () => {
    const result = (datasource: string, errors: unknown[] = []) =>
      JSON.stringify({ v1: { datasource, errors } });
    const ok = 'status: done\ndetail:\nDataSourceNoCloud [seed=/dev/vdb][dsmode=net]\n';
    assert.equal(
      judgeCloudInit(ok, 0, result('DataSourceNoCloud [seed=/dev/vdb]'), 'NoCloud').status,
      'pass',
    );
    assert.equal(judgeCloudInit('status: error\n', 1, result('DataSourceNoCloud'), 'NoCloud').status, 'fail');
    assert.equal(judgeCloudInit(ok, 0, result('DataSourceNoCloud', ['boom']), 'NoCloud').status, 'fail');
    assert.equal(judgeCloudInit(ok, 0, result('DataSourceNone'), 'NoCloud').status, 'fail');
    assert.equal(judgeCloudInit(ok, 0, 'cat: no such file', 'NoCloud').status, 'fail');
  });

  it('judgeSystemd wants running, no failed units and every required unit active', () => {
    assert.equal(judgeSystemd('running\n', '', ['ssh.service'], 'active\n').status, 'pass');
    assert.equal(judgeSystemd('degraded\n', 'x.service loaded failed failed X\n', [], '').status, 'fail');
    assert.equal(
      judgeSystemd('running\n', '', ['ssh.service', 'a.service'], 'active\ninactive\n').status,
      'fail',
    );
  });

  it('judgeRng wants virtio_rng as the current RNG and 16 bytes from it', () => {
    const bytes = ' 3f a1 00 9c 12 34 56 78 9a bc de f0 01 02 03 04\n';
    assert.equal(judgeRng('virtio_rng.0\n', bytes).status, 'pass');
    assert.equal(judgeRng('none\n', bytes).status, 'fail');
    assert.equal(judgeRng('virtio_rng.0\n', '').status, 'fail');
  });

  it('judgeDiskSize wants the root partition to fill the overlay and the filesystem to outgrow the image', () => {
    const expected = { overlayBytes: 4 * GiB, imageVirtualBytes: 3 * GiB, marginMiB: 512 };
    assert.equal(
      judgeDiskSize({ partitionBytes: 3.9 * GiB, filesystemBytes: 3.8 * GiB }, expected).status,
      'pass',
    );
    assert.equal(
      judgeDiskSize({ partitionBytes: 2.9 * GiB, filesystemBytes: 2.8 * GiB }, expected).status,
      'fail',
    );
    assert.equal(
      judgeDiskSize({ partitionBytes: 3.9 * GiB, filesystemBytes: 2.8 * GiB }, expected).status,
      'fail',
    );
    assert.equal(judgeDiskSize({ partitionBytes: Number.NaN, filesystemBytes: 1 }, expected).status, 'fail');
  });
});

describe('judgeCameBack', () => {
  const healthy = { state: 'running', failedUnits: [], ssh: true };
  it('passes a guest that is running with SSH after the reboot as before', () => {
    assert.equal(judgeCameBack(healthy, healthy, 'reboot').status, 'pass');
  });
  it('fails a unit that fails only after the reboot, a worse state, and SSH that did not come back', () => {
    const after = { state: 'degraded', failedUnits: ['cloud-final.service'], ssh: false };
    const verdict = judgeCameBack(healthy, after, 'reboot');
    assert.equal(verdict.status, 'fail');
    assert.match(verdict.message, /cloud-final\.service/);
    assert.match(verdict.message, /degraded after the reboot, running before/);
    assert.match(verdict.message, /SSH worked before the reboot and not after/);
  });
  it("does not judge the image's own faults again: degraded before and after with the same unit, no SSH before", () => {
    const planted = { state: 'degraded', failedUnits: ['planted-failure.service'], ssh: false };
    const verdict = judgeCameBack(planted, planted, 'stop and start');
    assert.equal(verdict.status, 'pass');
    assert.match(verdict.message, /degraded as before/);
  });
});

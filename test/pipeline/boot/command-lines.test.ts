import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dnsmasqArgs, newNetnsName, planTap } from '../../../src/pipeline/boot/netns.ts';
import {
  countKernelBanners,
  overlayBytes,
  parseSize,
  qemuArgs,
  type VmPlan,
} from '../../../src/pipeline/boot/qemu.ts';
import { seedMetaData } from '../../../src/pipeline/boot/seed.ts';

const plan: VmPlan = {
  runDir: '/run/x',
  accelerator: 'tcg',
  firmware: 'bios',
  memoryMiB: 1024,
  cpus: 2,
  overlay: '/run/x/overlay.qcow2',
  seed: '/run/x/seed.img',
  volumes: [{ file: '/run/x/itvol1.qcow2', serial: 'itvol1' }],
  taps: [planTap(0), planTap(1)],
  rng: true,
};

const after = (args: string[], flag: string) => args.flatMap((arg, i) => (args[i - 1] === flag ? [arg] : []));

describe('boot command lines', () => {
  it('runs TCG on a pc machine with 1 GiB, 2 vCPUs, no display, the serial console to a file, QMP and the guest agent', () => {
    const args = qemuArgs(plan);
    assert.deepEqual(after(args, '-accel'), ['tcg']);
    assert.deepEqual(after(args, '-machine'), ['pc']);
    assert.deepEqual(after(args, '-m'), ['1024']);
    assert.deepEqual(after(args, '-smp'), ['2']);
    assert.ok(args.includes('-nographic'));
    assert.ok(after(args, '-chardev').includes('file,id=serial0,path=/run/x/serial.log,append=on'));
    assert.ok(after(args, '-chardev').includes('socket,path=/run/x/qga.sock,server=on,wait=off,id=qga0'));
    assert.ok(after(args, '-device').includes('virtserialport,chardev=qga0,name=org.qemu.guest_agent.0'));
    assert.deepEqual(after(args, '-qmp'), ['unix:/run/x/qmp.sock,server=on,wait=off']);
    assert.ok(!args.some((arg) => arg.includes('pflash')));
    assert.ok(!args.some((arg) => arg.includes('snapshot=on')), 'stop/start must keep the overlay');
  });

  it('boots the overlay, never the image, and attaches the seed, volumes, two NICs on taps and the virtio RNG', () => {
    const args = qemuArgs(plan);
    const drives = after(args, '-drive');
    assert.match(drives[0], /^file=\/run\/x\/overlay.qcow2,format=qcow2,if=none,id=root/);
    assert.match(drives[1], /^file=\/run\/x\/seed.img,format=raw,if=none,id=seed,readonly=on/);
    assert.equal(after(args, '-device').filter((device) => device.includes('bootindex')).length, 1);
    assert.ok(after(args, '-device').includes('virtio-blk-pci,drive=root,bootindex=0'));
    assert.ok(after(args, '-device').includes('virtio-blk-pci,drive=vol0,serial=itvol1'));
    assert.deepEqual(after(args, '-netdev'), [
      'tap,id=net0,ifname=tap0,script=no,downscript=no',
      'tap,id=net1,ifname=tap1,script=no,downscript=no',
    ]);
    assert.ok(after(args, '-device').includes('virtio-net-pci,netdev=net1,mac=52:54:00:77:01:10'));
    assert.ok(after(args, '-device').includes('virtio-rng-pci,rng=rng0'));
    assert.ok(!qemuArgs({ ...plan, rng: false }).includes('virtio-rng-pci,rng=rng0'));
  });

  it('uses OVMF code read-only and a private copy of its variables for UEFI', () => {
    const drives = after(qemuArgs({ ...plan, firmware: 'uefi' }), '-drive');
    assert.ok(
      drives.some((d) => d.startsWith('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/')),
    );
    assert.ok(drives.includes('if=pflash,format=raw,unit=1,file=/run/x/OVMF_VARS.fd'));
  });

  it('runs dnsmasq in the foreground with no host config, fixed leases and the gateway name', () => {
    const args = dnsmasqArgs([planTap(0), planTap(1)], '/run/x');
    for (const flag of [
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--conf-file=/dev/null',
      '--bind-interfaces',
    ]) {
      assert.ok(args.includes(flag), flag);
    }
    assert.ok(args.includes('--pid-file=/run/x/dnsmasq.pid'));
    assert.ok(args.includes('--domain=imagetrust.test'));
    assert.ok(args.includes('--host-record=gateway.imagetrust.test,10.77.0.1'));
    assert.ok(args.includes('--dhcp-host=52:54:00:77:00:10,10.77.0.10,guest0'));
    assert.ok(args.includes('--dhcp-host=52:54:00:77:01:10,10.77.1.10,guest1'));
    assert.ok(args.includes('--interface=tap1'));
  });

  it('names each run namespace uniquely under the imagetrust-boot- prefix', () => {
    const a = newNetnsName();
    assert.match(a, /^imagetrust-boot-[0-9a-f]{8}$/);
    assert.notEqual(a, newNetnsName());
  });

  it('sizes the overlay at the image plus 1 GiB, or as asked when larger than the image', () => {
    assert.equal(overlayBytes(2 * 1024 ** 3), 3 * 1024 ** 3);
    assert.equal(overlayBytes(2 * 1024 ** 3, parseSize('10G')), 10 * 1024 ** 3);
    assert.throws(() => overlayBytes(2 * 1024 ** 3, parseSize('1G')), { code: 'USAGE' });
    assert.equal(parseSize('2048M'), 2048 * 1024 ** 2);
    assert.throws(() => parseSize('ten'), { code: 'USAGE' });
  });

  it('puts only the instance id and the public key in the NoCloud meta-data', () => {
    const text = seedMetaData('i-1', 'ssh-ed25519 AAAA key\n');
    assert.equal(
      text,
      'instance-id: i-1\nlocal-hostname: imagetrust-boot\npublic-keys:\n  - "ssh-ed25519 AAAA key"\n',
    );
  });

  it('counts one kernel banner per boot on the serial console', () => {
    assert.equal(
      countKernelBanners(
        'SeaBIOS\n[    0.000000] Linux version 6.1.0-28\n...\n[    0.000000] Linux version 6.1.0-28\n',
      ),
      2,
    );
    assert.equal(countKernelBanners('No bootable device.'), 0);
  });
});

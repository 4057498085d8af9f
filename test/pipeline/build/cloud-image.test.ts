// The cloud image's pure parts: the GPT layout (checked with the real sfdisk on a sparse file), the root
// filesystem's size, the files that name the root by UUID and the kernel command line, and the disk
// identity derived from a key.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  BASE_KERNEL_PARAMS,
  cloudImageFiles,
  diskIdentity,
  LAYOUT,
  rootFilesystemBytes,
  sfdiskScript,
} from '../../../src/pipeline/build/cloud-image.ts';
import { type BuildTemplate, readBuildTemplate } from '../../../src/pipeline/build/index.ts';
import { hasKernelArg } from '../../../src/pipeline/checks/system-rules.ts';

const run = promisify(execFile);
const MiB_SECTORS = 2048;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const TEMPLATE: BuildTemplate = readBuildTemplate(
  `<template><name>t</name>
  <os><name>Debian</name><version>12</version><arch>x86_64</arch>
    <install type='url'><url>https://deb.debian.org/debian</url></install>
    <kernelparam>quiet apparmor=1</kernelparam>
  </os></template>`,
  't.tdl',
).template;

interface SfdiskPartition {
  start: number;
  size: number;
  type: string;
  name?: string;
}

/** Partitions a sparse file of `bytes` with the builder's script and reads the table back. */
async function partition(dir: string, bytes: number, script: string) {
  const file = join(dir, `disk-${bytes}.raw`);
  const handle = await open(file, 'w');
  await handle.truncate(bytes);
  await handle.close();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sfdisk', ['--no-reread', '--no-tell-kernel', file], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`sfdisk: ${stderr}`))));
    child.stdin.end(script);
  });
  const { stdout } = await run('sfdisk', ['--json', file]);
  const table = JSON.parse(stdout).partitiontable as {
    label: string;
    id: string;
    lastlba: number;
    partitions: SfdiskPartition[];
  };
  await rm(file);
  return table;
}

describe('sfdiskScript', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagetrust-gpt-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const identity = diskIdentity('layout');
  for (const bytes of [2 * 2 ** 30, 3 * 2 ** 30, 10e9, 10 * 2 ** 30 + 7 * 512]) {
    it(`lays out a ${bytes}-byte disk: aligned, disjoint, root at LAYOUT.rootStart and large enough for the filesystem`, async () => {
      const table = await partition(dir, bytes, sfdiskScript(identity));
      assert.equal(table.label, 'gpt');
      assert.equal(table.id.toLowerCase(), identity.diskGuid);
      assert.deepEqual(
        table.partitions.map((p) => p.name),
        ['bios-boot', 'esp', 'root'],
      );
      const sorted = [...table.partitions].sort((a, b) => a.start - b.start);
      for (const p of sorted) assert.equal(p.start % MiB_SECTORS, 0, `${p.name} starts on a MiB boundary`);
      for (let i = 1; i < sorted.length; i++)
        assert.ok(sorted[i - 1].start + sorted[i - 1].size <= sorted[i].start, 'partitions do not overlap');
      const [bios, esp, root] = table.partitions;
      assert.deepEqual([bios.start, bios.size], [LAYOUT.biosStart, LAYOUT.biosSectors]);
      assert.deepEqual([esp.start, esp.size], [LAYOUT.espStart, LAYOUT.espSectors]);
      assert.equal(bios.type, '21686148-6449-6E6F-744E-656564454649');
      assert.equal(esp.type, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
      assert.equal(root.start, LAYOUT.rootStart);
      assert.ok(root.start + root.size - 1 <= table.lastlba, 'the root ends before the backup GPT');
      // The ext4 image is written into the root partition whole: it must fit.
      assert.ok(rootFilesystemBytes(bytes) <= root.size * 512);
      assert.ok(rootFilesystemBytes(bytes) > root.size * 512 - 2 ** 20, 'at most 1 MiB is left unused');
    });
  }
});

describe('rootFilesystemBytes', () => {
  it('leaves room for the backup GPT at the end of the disk, in whole MiB', () => {
    for (const bytes of [2 * 2 ** 30, 10 * 2 ** 30, 10e9]) {
      const fs = rootFilesystemBytes(bytes);
      assert.equal(fs % 2 ** 20, 0);
      assert.ok(LAYOUT.rootStart * 512 + fs + 33 * 512 <= bytes);
    }
    // A disk that is a whole number of MiB loses its last MiB to the backup GPT.
    assert.equal(rootFilesystemBytes(3 * 2 ** 30), 3 * 2 ** 30 - LAYOUT.rootStart * 512 - 2 ** 20);
  });
});

describe('diskIdentity', () => {
  it('is the same for the same key and different for another key', () => {
    assert.deepEqual(diskIdentity('customize:abc'), diskIdentity('customize:abc'));
    const a = diskIdentity('customize:abc');
    const b = diskIdentity('customize:abd');
    assert.notEqual(a.rootUuid, b.rootUuid);
    assert.notEqual(a.diskGuid, b.diskGuid);
    assert.notEqual(a.espVolumeId, b.espVolumeId);
  });

  it('gives RFC 4122 version 4 UUIDs and a FAT volume id', () => {
    for (const key of ['', 'a', 'customize:0123', 'x'.repeat(1000)]) {
      const identity = diskIdentity(key);
      assert.match(identity.rootUuid, UUID_V4);
      assert.match(identity.diskGuid, UUID_V4);
      assert.notEqual(identity.rootUuid, identity.diskGuid);
      assert.match(identity.espVolumeId, /^[0-9A-F]{4}-[0-9A-F]{4}$/);
    }
  });
});

describe('cloudImageFiles', () => {
  const identity = diskIdentity('files');
  const files = new Map(cloudImageFiles(TEMPLATE, identity).map((f) => [f.path, f]));

  it('mounts the root by its UUID in fstab', () => {
    const fstab = files.get('/etc/fstab')?.content ?? '';
    const root = fstab.split('\n').find((line) => /^\S+\s+\/\s/.test(line));
    assert.equal(root?.split(/\s+/)[0], `UUID=${identity.rootUuid}`);
    assert.match(fstab, new RegExp(`^UUID=${identity.espVolumeId}\\s+/boot/efi\\s`, 'm'));
  });

  it("boots the kernel with root=UUID, the serial console, eth names and the template's parameters", () => {
    const grub = files.get('/boot/grub/grub.cfg')?.content ?? '';
    const linux = grub.split('\n').find((line) => line.trim().startsWith('linux '));
    assert.ok(linux, 'grub.cfg has a linux line');
    const args = linux.trim().split(/\s+/).slice(2);
    assert.ok(args.includes(`root=UUID=${identity.rootUuid}`));
    for (const arg of ['console=ttyS0,115200', 'net.ifnames=0', 'quiet', 'apparmor=1'])
      assert.ok(args.includes(arg), `${arg} in ${linux}`);
    assert.ok(
      args.indexOf('apparmor=1') > args.indexOf('net.ifnames=0'),
      "the template's parameters come last",
    );
    assert.ok(BASE_KERNEL_PARAMS.every((arg) => args.includes(arg)));
    assert.match(grub, new RegExp(`search --no-floppy --fs-uuid --set=root ${identity.rootUuid}`));
  });

  it("satisfies the scan's required console=ttyS0 with the serial console's options", () => {
    const grub = files.get('/boot/grub/grub.cfg')?.content ?? '';
    const args = (grub.split('\n').find((line) => line.trim().startsWith('linux ')) ?? '')
      .trim()
      .split(/\s+/);
    assert.ok(hasKernelArg(args, 'console=ttyS0'));
    assert.ok(hasKernelArg(args, 'net.ifnames=0'));
    assert.ok(!hasKernelArg(['console=ttyS01'], 'console=ttyS0'));
    assert.ok(!hasKernelArg(['net.ifnames=01'], 'net.ifnames=0'));
  });

  it('keeps the same kernel parameters in /etc/default/grub for update-grub in the guest', () => {
    const defaults = files.get('/etc/default/grub')?.content ?? '';
    const line = defaults.split('\n').find((l) => l.startsWith('GRUB_CMDLINE_LINUX='));
    assert.equal(line, `GRUB_CMDLINE_LINUX="${[...BASE_KERNEL_PARAMS, 'quiet', 'apparmor=1'].join(' ')}"`);
  });

  it('keeps services from starting during the build with an executable policy-rc.d', () => {
    const policy = files.get('/usr/sbin/policy-rc.d');
    assert.equal(policy?.mode, 0o755);
    assert.match(policy?.content ?? '', /exit 101/);
  });
});

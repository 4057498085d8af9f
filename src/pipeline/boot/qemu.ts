// QEMU for a boot run: which accelerator works here, what the image is, the overlay the guest writes
// to (the image itself is only ever read), and the command line of the VM.
import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { ImageTrustError } from '../../errors/index.ts';
import type { TapPlan } from './netns.ts';
import { runCommand } from './processes.ts';

export type Firmware = 'bios' | 'uefi';
export type Accelerator = 'kvm' | 'tcg';

export const OVMF_DIR = '/usr/share/OVMF';
export const OVMF_CODE = `${OVMF_DIR}/OVMF_CODE_4M.fd`;
export const OVMF_VARS = `${OVMF_DIR}/OVMF_VARS_4M.fd`;

export interface ImageInfo {
  format: 'qcow2' | 'raw';
  virtualBytes: number;
}

/** The image's format and virtual size from `qemu-img info`; anything but qcow2 or raw is DISK_UNSUPPORTED. */
export async function readImageInfo(image: string): Promise<ImageInfo> {
  const result = await runCommand(['qemu-img', 'info', '--output=json', image]);
  if (result.exitCode !== 0) {
    throw new ImageTrustError('DISK_CORRUPT', `qemu-img cannot read ${image}: ${result.stderr.trim()}`);
  }
  const info = JSON.parse(result.stdout) as {
    format?: string;
    'virtual-size'?: number;
    'backing-filename'?: string;
  };
  if (info.format !== 'qcow2' && info.format !== 'raw') {
    throw new ImageTrustError(
      'DISK_UNSUPPORTED',
      `${image} is ${info.format ?? 'of unknown format'}; boot-test takes qcow2 or raw.`,
    );
  }
  if (info['backing-filename']) {
    throw new ImageTrustError(
      'DISK_UNSUPPORTED',
      `${image} has a backing file; give boot-test a standalone image.`,
    );
  }
  return { format: info.format, virtualBytes: info['virtual-size'] ?? 0 };
}

/** The overlay's size: the image's virtual size plus 1 GiB unless --disk-size says otherwise. */
export function overlayBytes(imageVirtualBytes: number, requested?: number): number {
  const size = requested ?? imageVirtualBytes + 1024 ** 3;
  if (size <= imageVirtualBytes) {
    throw new ImageTrustError(
      'USAGE',
      `--disk-size must be larger than the image's virtual size (${imageVirtualBytes} bytes).`,
    );
  }
  return size;
}

/** `10G`, `2048M` or plain bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!match) throw new ImageTrustError('USAGE', `Not a size: ${text} (e.g. 10G, 2048M).`);
  const power = ' KMGT'.indexOf(match[2].toUpperCase() || ' ');
  return Number(match[1]) * 1024 ** power;
}

/** KVM only when /dev/kvm opens and a tiny VM actually runs on it; TCG otherwise. */
export async function chooseAccelerator(requested: 'auto' | Accelerator): Promise<Accelerator> {
  if (requested !== 'auto') return requested;
  try {
    const handle = await open('/dev/kvm', constants.O_RDWR);
    await handle.close();
  } catch {
    return 'tcg';
  }
  // A kvm that opens may still fail on the first vCPU (nested or PVM hosts): run SeaBIOS with no disk
  // and require it to reach "No bootable device" and exit cleanly.
  const probe = await runCommand(
    [
      'timeout',
      '15',
      'qemu-system-x86_64',
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-machine',
      'pc',
      '-m',
      '64',
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
      '-boot',
      'strict=on',
    ],
    { signal: AbortSignal.timeout(20_000) },
  ).catch(() => undefined);
  return probe && /No bootable device/.test(probe.stdout) ? 'kvm' : 'tcg';
}

export async function requireOvmf(): Promise<void> {
  for (const file of [OVMF_CODE, OVMF_VARS]) {
    try {
      await access(file, constants.R_OK);
    } catch {
      throw new ImageTrustError(
        'TOOL_MISSING',
        `${file} is missing: install the Debian package ovmf for --firmware uefi.`,
      );
    }
  }
}

/** The run directory's files and the devices of the VM: everything qemuArgs needs. */
export interface VmPlan {
  runDir: string;
  accelerator: Accelerator;
  firmware: Firmware;
  memoryMiB: number;
  cpus: number;
  /** The overlay (backed by the image) the guest boots from. */
  overlay: string;
  seed: string;
  volumes: { file: string; serial: string }[];
  taps: TapPlan[];
  rng: boolean;
}

export const runFiles = (runDir: string) => ({
  qmp: `${runDir}/qmp.sock`,
  qga: `${runDir}/qga.sock`,
  serial: `${runDir}/serial.log`,
  vars: `${runDir}/OVMF_VARS.fd`,
  pid: `${runDir}/qemu.pid`,
});

/** The QEMU command line. The serial console is appended to the log, so a second start keeps the first boot's lines. */
export function qemuArgs(plan: VmPlan): string[] {
  const files = runFiles(plan.runDir);
  return [
    'qemu-system-x86_64',
    '-accel',
    plan.accelerator,
    ...(plan.accelerator === 'kvm' ? ['-cpu', 'host'] : []),
    '-machine',
    'pc',
    '-m',
    String(plan.memoryMiB),
    '-smp',
    String(plan.cpus),
    '-nographic',
    '-nodefaults',
    '-chardev',
    `file,id=serial0,path=${files.serial},append=on`,
    '-serial',
    'chardev:serial0',
    '-qmp',
    `unix:${files.qmp},server=on,wait=off`,
    '-chardev',
    `socket,path=${files.qga},server=on,wait=off,id=qga0`,
    '-device',
    'virtio-serial',
    '-device',
    'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
    ...(plan.firmware === 'uefi'
      ? [
          '-drive',
          `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
          '-drive',
          `if=pflash,format=raw,unit=1,file=${files.vars}`,
        ]
      : []),
    // Explicit devices, the root disk first and the only one with a boot index: with if=virtio drives
    // SeaBIOS may try a data volume first and find nothing to boot.
    '-drive',
    `file=${plan.overlay},format=qcow2,if=none,id=root,discard=unmap`,
    '-device',
    'virtio-blk-pci,drive=root,bootindex=0',
    '-drive',
    `file=${plan.seed},format=raw,if=none,id=seed,readonly=on`,
    '-device',
    'virtio-blk-pci,drive=seed',
    ...plan.volumes.flatMap((volume, index) => [
      '-drive',
      `file=${volume.file},format=qcow2,if=none,id=vol${index}`,
      '-device',
      `virtio-blk-pci,drive=vol${index},serial=${volume.serial}`,
    ]),
    ...plan.taps.flatMap((tap, index) => [
      '-netdev',
      `tap,id=net${index},ifname=${tap.tap},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=net${index},mac=${tap.mac}`,
    ]),
    ...(plan.rng
      ? ['-object', 'rng-random,filename=/dev/urandom,id=rng0', '-device', 'virtio-rng-pci,rng=rng0']
      : []),
  ];
}

/** The kernel banners on the serial console: one per boot. */
export function countKernelBanners(serialLog: string): number {
  return serialLog.match(/Linux version \d/g)?.length ?? 0;
}

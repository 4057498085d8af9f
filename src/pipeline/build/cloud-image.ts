// What makes a bootstrapped root a cloud image: the base packages, the files the builder writes
// (fstab by UUID, GRUB's configuration for BIOS and UEFI, DHCP on every NIC, cloud-init's data
// sources, sshd without passwords) and the disk layout. Pure: the builder writes what this returns.
import { createHash } from 'node:crypto';
import type { BuildTemplate } from './template.ts';

/** Everything a cloud guest needs beyond the archive's required set, by family. */
export function basePackages(template: BuildTemplate): string[] {
  const kernel = template.distribution.family === 'ubuntu' ? 'linux-image-virtual' : 'linux-image-amd64';
  const resolved = template.distribution.family === 'ubuntu' ? [] : ['systemd-resolved'];
  return [
    kernel,
    'systemd-sysv',
    'udev',
    'dbus',
    'openssh-server',
    'cloud-init',
    'cloud-guest-utils',
    'fdisk',
    'sudo',
    'qemu-guest-agent',
    ...resolved,
    'iproute2',
    'iputils-ping',
    'netbase',
    'ca-certificates',
    'zstd',
    'grub2-common',
    'grub-pc-bin',
    'grub-efi-amd64-bin',
  ];
}

/** Console and interface naming every image boots with; the template's <kernelparam> is added after. */
export const BASE_KERNEL_PARAMS = ['console=tty0', 'console=ttyS0,115200', 'net.ifnames=0'];

/** Identifiers fixed by the inputs, so the same inputs make the same disk. */
export interface DiskIdentity {
  rootUuid: string;
  /** The ESP's FAT volume id, `XXXX-XXXX` as fstab writes it. */
  espVolumeId: string;
  diskGuid: string;
}

export function diskIdentity(key: string): DiskIdentity {
  const hex = createHash('sha256').update(`imagetrust-disk:${key}`).digest('hex');
  const uuid = (h: string) =>
    `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return {
    rootUuid: uuid(hex),
    espVolumeId: `${hex.slice(32, 36)}-${hex.slice(36, 40)}`.toUpperCase(),
    diskGuid: uuid(createHash('sha256').update(`imagetrust-disk-guid:${key}`).digest('hex')),
  };
}

/** GPT layout, in 512-byte sectors: BIOS boot (1 MiB at 1 MiB), ESP (62 MiB at 2 MiB), root (from 64 MiB to the end). */
export const LAYOUT = {
  biosStart: 2048,
  biosSectors: 2048,
  espStart: 4096,
  espSectors: 62 * 2048,
  rootStart: 131072,
} as const;

/** The sfdisk script of the layout (the root takes everything after the ESP, to the disk's end). */
export function sfdiskScript(identity: DiskIdentity): string {
  return [
    'label: gpt',
    `label-id: ${identity.diskGuid}`,
    'unit: sectors',
    'first-lba: 2048',
    '',
    `start=${LAYOUT.biosStart}, size=${LAYOUT.biosSectors}, type=21686148-6449-6E6F-744E-656564454649, name="bios-boot"`,
    `start=${LAYOUT.espStart}, size=${LAYOUT.espSectors}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"`,
    `start=${LAYOUT.rootStart}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"`,
    '',
  ].join('\n');
}

/** The root filesystem's size: the disk less the partitions before it and GPT's backup (33 sectors). */
export function rootFilesystemBytes(diskBytes: number): number {
  const sectors = Math.floor(diskBytes / 512) - LAYOUT.rootStart - 34;
  // Whole 1 MiB units keep mke2fs's block count exact.
  return Math.floor((sectors * 512) / 2 ** 20) * 2 ** 20;
}

/** The GRUB script built into core.img and BOOTX64.EFI: find the root by UUID, then its grub.cfg. */
export function grubEarlyConfig(identity: DiskIdentity): string {
  return [
    `search --no-floppy --fs-uuid --set=root ${identity.rootUuid}`,
    'set prefix=($root)/boot/grub',
    'configfile $prefix/grub.cfg',
    '',
  ].join('\n');
}

/** Modules built into GRUB's images so the early config needs nothing from disk. */
export const GRUB_MODULES = {
  'i386-pc': [
    'biosdisk',
    'part_gpt',
    'part_msdos',
    'ext2',
    'search',
    'search_fs_uuid',
    'configfile',
    'normal',
    'linux',
    'gzio',
    'echo',
    'test',
    'serial',
    'terminal',
  ],
  'x86_64-efi': [
    'part_gpt',
    'part_msdos',
    'ext2',
    'fat',
    'search',
    'search_fs_uuid',
    'configfile',
    'normal',
    'linux',
    'gzio',
    'echo',
    'test',
    'serial',
    'terminal',
    'efi_gop',
    'all_video',
  ],
} as const;

export interface ImageFile {
  path: string;
  content: string;
  mode?: number;
}

/** A path as one shell word. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * The shell that writes files from inside the image root (so every symlink resolves in the image):
 * each file replaces whatever entry was at its path, with its content in base64 and its mode.
 */
export function writeFilesScript(
  files: readonly { path: string; content: string | Buffer; mode?: number }[],
): string {
  const lines = ['set -eu'];
  for (const file of files) {
    const path = shellQuote(file.path);
    const body = Buffer.from(file.content).toString('base64').replace(/.{76}/g, '$&\n');
    lines.push(
      `mkdir -p -- "$(dirname -- ${path})"`,
      `rm -f -- ${path}`,
      `base64 -d > ${path} <<'IMAGETRUST_EOF'`,
      body,
      'IMAGETRUST_EOF',
      `chmod ${(file.mode ?? 0o644).toString(8)} -- ${path}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The configuration files the builder writes into every image, before the template's own files. */
export function cloudImageFiles(template: BuildTemplate, identity: DiskIdentity): ImageFile[] {
  const cmdline = [
    `root=UUID=${identity.rootUuid}`,
    'ro',
    ...BASE_KERNEL_PARAMS,
    ...template.kernelParams,
  ].join(' ');
  const osTitle = `${template.distribution.name} ${template.distribution.version}`;
  const sources = [
    `deb ${template.mirror} ${template.distribution.suite} ${template.distribution.components.join(' ')}`,
    ...template.repositories
      .filter((r) => r.persisted)
      .map((r) => `deb${r.signed ? '' : ' [trusted=yes]'} ${r.uri} ${r.suite} ${r.components.join(' ')}`),
    '',
  ].join('\n');
  return [
    {
      path: '/etc/fstab',
      content: `# Written by imagetrust build: filesystems by UUID.\nUUID=${identity.rootUuid} / ext4 errors=remount-ro 0 1\nUUID=${identity.espVolumeId} /boot/efi vfat umask=0077,nofail 0 2\n`,
    },
    { path: '/etc/hostname', content: 'localhost\n' },
    { path: '/etc/apt/sources.list', content: sources },
    {
      path: '/etc/default/grub',
      content: [
        '# Written by imagetrust build; update-grub in the guest reads it.',
        'GRUB_DEFAULT=0',
        'GRUB_TIMEOUT=1',
        `GRUB_DISTRIBUTOR="${template.distribution.name}"`,
        'GRUB_CMDLINE_LINUX_DEFAULT=""',
        `GRUB_CMDLINE_LINUX="${[...BASE_KERNEL_PARAMS, ...template.kernelParams].join(' ')}"`,
        'GRUB_TERMINAL="console serial"',
        'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"',
        '',
      ].join('\n'),
    },
    {
      path: '/boot/grub/grub.cfg',
      content: [
        '# Written by imagetrust build; update-grub in the guest replaces it.',
        'serial --unit=0 --speed=115200',
        'terminal_input console serial',
        'terminal_output console serial',
        'set default=0',
        'set timeout=1',
        `search --no-floppy --fs-uuid --set=root ${identity.rootUuid}`,
        `menuentry '${osTitle}' {`,
        '  insmod gzio',
        `  linux /vmlinuz ${cmdline}`,
        '  initrd /initrd.img',
        '}',
        '',
      ].join('\n'),
    },
    {
      // Every NIC, the first and any added later, hot-plugged ones included, asks DHCP for an address.
      path: '/etc/systemd/network/50-imagetrust-dhcp.network',
      content: '[Match]\nName=eth* en*\n\n[Network]\nDHCP=yes\n\n[DHCPv4]\nUseDomains=true\n',
    },
    {
      path: '/etc/cloud/cloud.cfg.d/90-imagetrust.cfg',
      content: [
        '# Written by imagetrust build.',
        '# The image configures every NIC itself (systemd-networkd, DHCP); cloud-init leaves the network alone.',
        'network: {config: disabled}',
        'datasource_list: [NoCloud, ConfigDrive, OpenStack, None]',
        '# Keys come from the data source; password logins stay off.',
        'ssh_pwauth: false',
        'disable_root: true',
        "# glibc's built-in locale: cloud-init's default en_US.UTF-8 is not generated in a minimal image.",
        'locale: C.UTF-8',
        '',
      ].join('\n'),
    },
    {
      path: '/etc/ssh/sshd_config.d/50-imagetrust.conf',
      content:
        '# Written by imagetrust build: keys only.\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n',
    },
    {
      // sysprep removes the host keys; cloud-init makes new ones when a data source is found, and this
      // unit makes them when none is, so sshd never starts without keys (image-pipeline.md 4.4).
      path: '/etc/systemd/system/imagetrust-ssh-hostkeys.service',
      content: [
        '[Unit]',
        'Description=Generate missing SSH host keys',
        'ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key',
        'Before=ssh.service',
        'After=cloud-init.service',
        '',
        '[Service]',
        'Type=oneshot',
        'ExecStart=/usr/bin/ssh-keygen -A',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
      ].join('\n'),
    },
    // Nothing starts services while packages are installed in the image root during the build.
    { path: '/usr/sbin/policy-rc.d', content: '#!/bin/sh\nexit 101\n', mode: 0o755 },
  ];
}

/** Units the builder enables in every image. */
export const ENABLED_UNITS = [
  'systemd-networkd.service',
  'systemd-resolved.service',
  'ssh.service',
  'imagetrust-ssh-hostkeys.service',
];

/** Shell run in the image root after the files: enable units, lock root, build GRUB's images. */
export function finishScript(template: BuildTemplate, identity: DiskIdentity): string {
  const mods = (target: keyof typeof GRUB_MODULES) => GRUB_MODULES[target].join(' ');
  return [
    'set -eu',
    `systemctl enable ${ENABLED_UNITS.join(' ')}`,
    template.rootPassword === null ? 'passwd -l root' : 'true',
    'mkdir -p /boot/grub/i386-pc /boot/grub/x86_64-efi /boot/efi',
    'cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst /boot/grub/i386-pc/',
    'cp /usr/lib/grub/x86_64-efi/*.mod /usr/lib/grub/x86_64-efi/*.lst /boot/grub/x86_64-efi/',
    `cat > /tmp/imagetrust-early.cfg <<'EOF'\n${grubEarlyConfig(identity)}EOF`,
    `grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -c /tmp/imagetrust-early.cfg -p /boot/grub -o /boot/grub/i386-pc/core.img ${mods('i386-pc')}`,
    `grub-mkimage -O x86_64-efi -d /usr/lib/grub/x86_64-efi -c /tmp/imagetrust-early.cfg -p /boot/grub -o /boot/grub/x86_64-efi/BOOTX64.EFI ${mods('x86_64-efi')}`,
    'cp /usr/lib/grub/i386-pc/boot.img /boot/grub/i386-pc/boot.img',
    'rm -f /tmp/imagetrust-early.cfg',
    '',
  ].join('\n');
}

// What one booted test returns, and the port through which the tests reach a running guest: the
// tests decide, the session (session.ts) does the I/O.

/** The ids of the booted tests, stable across releases (the names other image pipelines use). */
export const BOOT_TEST_IDS = [
  'image_responds_to_ping',
  'linux_image_allows_ssh',
  'does_linux_vm_have_a_resolv_conf_file',
  'linux_ping_by_ip',
  'linux_ping_by_name',
  'linux_check_boot_disk_size',
  'linux_check_distribution',
  'linux_check_for_required_modules',
  'linux_vm_with_two_nics_and_two_volumes',
  'linux_check_eth_interfaces_are_up',
  'linux_check_eth_interface_addresses',
  'attach_and_detach_volume_to_vsi',
  'attach_and_detach_nic_to_vsi',
  'linux_check_anyuser_login_over_ssh',
  'linux_check_no_swap',
  'check_kernel_boot_options',
  'check_cloud_init',
  'check_systemd_service_units',
  'check_virtio_rng',
  'does_vm_reboot_correctly',
  'does_vm_stop_and_start_correctly',
] as const;

export type BootTestId = (typeof BOOT_TEST_IDS)[number];

export type BootTestStatus = 'pass' | 'fail' | 'error' | 'skip';

/** One test's outcome; `output` is the failing command's stdout/stderr, trimmed. */
export interface BootTestResult {
  id: BootTestId;
  status: BootTestStatus;
  message: string;
  duration_ms: number;
  output: string;
}

/** What a test decides before its duration is known. */
export interface BootTestOutcome {
  status: BootTestStatus;
  message: string;
  output?: string;
}

/** A command run in the guest (guest agent) or in the run's network namespace. */
export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Addresses and sizes the tests compare against; fixed by the session before boot. */
export interface BootFacts {
  gateway: string;
  gatewayName: string;
  nics: { name: string; mac: string; ip: string; subnet: string }[];
  /** Serials of the data volumes attached at boot. */
  volumeSerials: string[];
  overlayBytes: number;
  imageVirtualBytes: number;
  hwRngModel: string | undefined;
}

/** The running guest as the tests see it. Every call takes the test's signal and gives up when it aborts. */
export interface BootHarness {
  readonly facts: BootFacts;
  /** Runs `sh -c command` in the guest through the guest agent, as root. */
  guestExec(command: string, signal: AbortSignal): Promise<CommandResult>;
  /** Runs argv on the host inside the run's network namespace (ping, ssh). */
  netnsExec(argv: string[], signal: AbortSignal): Promise<CommandResult>;
  /** Runs a command in the guest over SSH as the default user with the run's key. */
  ssh(command: string, signal: AbortSignal): Promise<CommandResult>;
  /** Hot-plugs a virtio-blk volume and returns its serial; `unplugVolume` removes it again. */
  plugVolume(signal: AbortSignal): Promise<string>;
  unplugVolume(signal: AbortSignal): Promise<void>;
  /** Hot-plugs a virtio-net NIC on a fresh tap and returns its MAC; `unplugNic` removes it. */
  plugNic(signal: AbortSignal): Promise<string>;
  unplugNic(signal: AbortSignal): Promise<void>;
  /** How many times the kernel has started so far, from the serial log. */
  kernelBanners(): number;
  /** Asks the guest to reboot through the guest agent. */
  reboot(signal: AbortSignal): Promise<void>;
  /** Powers the guest down (ACPI through QMP), waits for QEMU to exit, starts it again from the same overlay. */
  powerCycle(signal: AbortSignal): Promise<void>;
  /** Waits until the guest agent answers again (after a reboot or a power cycle). */
  waitForAgent(signal: AbortSignal): Promise<void>;
}

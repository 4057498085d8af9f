// The booted tests: each asks the guest (through the harness) and hands what it saw to a pure verdict.
// Tests that wait for the guest to settle retry until they pass or their timeout aborts them.
import type { BootProfile } from './profile.ts';
import type { BootHarness, BootTestId, BootTestOutcome, CommandResult } from './types.ts';
import {
  failedUnitNames,
  type GuestCondition,
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
  parseIpLink,
} from './verdicts.ts';

export interface BootTestContext {
  harness: BootHarness;
  profile: BootProfile;
  signal: AbortSignal;
}

export interface BootTestDefinition {
  id: BootTestId;
  title: string;
  /** Whether the test needs the guest agent; all tests need a guest that came up. */
  run(context: BootTestContext): Promise<BootTestOutcome>;
}

const RETRY_MS = 3000;

/** Thrown when a test's time ran out before it reached any verdict. */
export class TestTimedOut extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `attempt` until it passes or the signal aborts, and returns the last verdict: a guest still
 * settling (DHCP, cloud-init, units starting) gets the whole timeout, a broken one fails with its last reason.
 */
export async function retryUntilPass(
  attempt: () => Promise<BootTestOutcome>,
  signal: AbortSignal,
): Promise<BootTestOutcome> {
  let last: BootTestOutcome | undefined;
  while (!signal.aborted) {
    try {
      last = await attempt();
    } catch (error) {
      if (!signal.aborted) throw error;
    }
    if (last?.status === 'pass' || signal.aborted) break;
    await sleep(RETRY_MS, signal);
  }
  if (!last) throw new TestTimedOut('timed out before the guest answered');
  return last;
}

const both = (result: CommandResult) => [result.stdout, result.stderr].filter((s) => s.trim()).join('\n');

/** Splits one command's stdout at marker lines, so one guest-exec answers several questions. */
function sections(stdout: string): string[] {
  return stdout.split(/^----\n?/m);
}

async function sshLogin(context: BootTestContext): Promise<BootTestOutcome> {
  const { harness, signal } = context;
  const ip = harness.facts.nics[0].ip;
  const banner = await harness.netnsExec(
    [
      'timeout',
      '15',
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${ip}/22 && IFS= read -r -t 10 line <&3 && printf '%s\\n' "$line"`,
    ],
    signal,
  );
  const greeting = banner.stdout.trim();
  if (!greeting.startsWith('SSH-2.0-')) {
    return { status: 'fail', message: `no SSH banner on ${ip}:22`, output: both(banner) };
  }
  const login = await harness.ssh('id -un', signal);
  if (login.exitCode !== 0 || login.stdout.trim() !== context.profile.user) {
    return { status: 'fail', message: `key login as ${context.profile.user} failed`, output: both(login) };
  }
  return { status: 'pass', message: `${greeting}; key login as ${login.stdout.trim()}` };
}

async function guestPing(context: BootTestContext, target: string): Promise<BootTestOutcome> {
  const result = await context.harness.guestExec(`ping -c 3 -W 2 ${target}`, context.signal);
  return result.exitCode === 0
    ? {
        status: 'pass',
        message: result.stdout.split('\n').find((line) => line.includes('received')) ?? 'replies',
      }
    : { status: 'fail', message: `the guest cannot ping ${target}`, output: both(result) };
}

async function systemHealth(context: BootTestContext): Promise<BootTestOutcome> {
  const units = context.profile.requiredUnits;
  const result = await context.harness.guestExec(
    `systemctl is-system-running --wait; echo ----; systemctl --failed --no-legend --plain; echo ----; ${
      units.length ? `systemctl is-active ${units.join(' ')}` : 'true'
    }`,
    context.signal,
  );
  const [state, failed, active] = sections(result.stdout);
  return judgeSystemd(state ?? '', failed ?? '', units, active ?? '');
}

/** The guest's state, failed units and whether SSH works, once the boot has finished. */
async function guestCondition(context: BootTestContext): Promise<GuestCondition> {
  const result = await context.harness.guestExec(
    'systemctl is-system-running --wait; echo ----; systemctl --failed --no-legend --plain',
    context.signal,
  );
  const [state, failed] = sections(result.stdout);
  const ssh = await sshLogin(context).catch(() => undefined);
  return {
    state: (state ?? '').trim(),
    failedUnits: failedUnitNames(failed ?? ''),
    ssh: ssh?.status === 'pass',
  };
}

/** After a reboot or a start: retries until the guest is back as it was, or the test's time is up. */
function cameBack(context: BootTestContext, before: GuestCondition, what: string): Promise<BootTestOutcome> {
  return retryUntilPass(
    async () => judgeCameBack(before, await guestCondition(context), what),
    context.signal,
  );
}

/** Polls `check` until it passes (the device appeared or left) or the signal aborts. */
async function guestSees(context: BootTestContext, command: string, present: (stdout: string) => boolean) {
  return retryUntilPass(async () => {
    const result = await context.harness.guestExec(command, context.signal);
    return present(result.stdout)
      ? { status: 'pass', message: '' }
      : { status: 'fail', message: '', output: both(result) };
  }, context.signal);
}

const SERIALS = 'for f in /sys/block/*/serial; do cat "$f"; echo; done';

export const BOOT_TESTS: readonly BootTestDefinition[] = [
  {
    id: 'image_responds_to_ping',
    title: 'The guest answers ICMP echo from the host side of its network',
    run: (context) =>
      retryUntilPass(async () => {
        const ip = context.harness.facts.nics[0].ip;
        const result = await context.harness.netnsExec(['ping', '-c', '1', '-W', '2', ip], context.signal);
        return result.exitCode === 0
          ? { status: 'pass', message: `${ip} answers` }
          : { status: 'fail', message: `${ip} does not answer ping`, output: both(result) };
      }, context.signal),
  },
  {
    id: 'linux_image_allows_ssh',
    title: 'Port 22 answers with an SSH banner and the default user logs in with the injected key',
    run: (context) => retryUntilPass(() => sshLogin(context), context.signal),
  },
  {
    id: 'does_linux_vm_have_a_resolv_conf_file',
    title: '/etc/resolv.conf exists and names a resolver',
    run: (context) =>
      retryUntilPass(async () => {
        const result = await context.harness.guestExec(
          'ls -l /etc/resolv.conf && echo ---- && cat /etc/resolv.conf',
          context.signal,
        );
        const [listing, content] = sections(result.stdout);
        return judgeResolvConf(listing ?? '', content ?? '', result.exitCode);
      }, context.signal),
  },
  {
    id: 'linux_ping_by_ip',
    title: 'The guest pings its gateway by address',
    run: (context) => retryUntilPass(() => guestPing(context, context.harness.facts.gateway), context.signal),
  },
  {
    id: 'linux_ping_by_name',
    title: 'The guest resolves and pings its gateway by name',
    run: (context) =>
      retryUntilPass(() => guestPing(context, context.harness.facts.gatewayName), context.signal),
  },
  {
    id: 'linux_check_boot_disk_size',
    title: 'The root partition and filesystem grew to fill the disk',
    run: (context) =>
      retryUntilPass(async () => {
        const result = await context.harness.guestExec(
          'dev=$(basename "$(readlink -f "$(findmnt -no SOURCE /)")"); echo $(( $(cat /sys/class/block/$dev/size) * 512 )); df -B1 --output=size / | tail -n 1',
          context.signal,
        );
        const [partition, filesystem] = result.stdout.trim().split('\n').map(Number);
        const { overlayBytes, imageVirtualBytes } = context.harness.facts;
        const outcome = judgeDiskSize(
          { partitionBytes: partition, filesystemBytes: filesystem },
          { overlayBytes, imageVirtualBytes, marginMiB: context.profile.diskSizeMarginMiB },
        );
        return outcome.status === 'pass' ? outcome : { ...outcome, output: both(result) };
      }, context.signal),
  },
  {
    id: 'linux_check_distribution',
    title: "os-release names the profile's distribution and version",
    run: async (context) => {
      const result = await context.harness.guestExec('cat /etc/os-release', context.signal);
      return judgeDistribution(result.stdout, context.profile.distribution);
    },
  },
  {
    id: 'linux_check_for_required_modules',
    title: "The profile's kernel modules are loaded or built in",
    run: async (context) => {
      const result = await context.harness.guestExec(
        'cat /proc/modules; echo ----; cat /lib/modules/$(uname -r)/modules.builtin; echo ----; ls /sys/module',
        context.signal,
      );
      const [loaded, builtin, sysModule] = sections(result.stdout);
      return judgeModules(context.profile.requiredModules, {
        loaded: loaded ?? '',
        builtin: builtin ?? '',
        sysModule: sysModule ?? '',
      });
    },
  },
  {
    id: 'linux_vm_with_two_nics_and_two_volumes',
    title: 'The guest sees both NICs and both data volumes attached at boot',
    run: (context) =>
      retryUntilPass(async () => {
        const result = await context.harness.guestExec(`ip -o link; echo ----; ${SERIALS}`, context.signal);
        const [links, serials] = sections(result.stdout);
        const { nics, volumeSerials } = context.harness.facts;
        return judgeDevices(links ?? '', serials ?? '', {
          macs: nics.map((nic) => nic.mac),
          serials: volumeSerials,
        });
      }, context.signal),
  },
  {
    id: 'linux_check_eth_interfaces_are_up',
    title: 'Every attached NIC is up with a carrier',
    run: (context) =>
      retryUntilPass(async () => {
        const result = await context.harness.guestExec('ip -o link', context.signal);
        return judgeInterfacesUp(
          result.stdout,
          context.harness.facts.nics.map((nic) => nic.name),
        );
      }, context.signal),
  },
  {
    id: 'linux_check_eth_interface_addresses',
    title: 'Each NIC got an address on its own network by DHCP',
    run: (context) =>
      retryUntilPass(async () => {
        const result = await context.harness.guestExec('ip -o -4 addr', context.signal);
        return judgeAddresses(result.stdout, context.harness.facts.nics);
      }, context.signal),
  },
  {
    id: 'attach_and_detach_volume_to_vsi',
    title: 'A hot-plugged virtio volume appears in the guest and disappears after detach',
    run: async (context) => {
      const serial = await context.harness.plugVolume(context.signal);
      const attached = await guestSees(context, SERIALS, (out) => out.split(/\s+/).includes(serial));
      if (attached.status !== 'pass') return { ...attached, message: `the guest never saw volume ${serial}` };
      await context.harness.unplugVolume(context.signal);
      const detached = await guestSees(context, SERIALS, (out) => !out.split(/\s+/).includes(serial));
      if (detached.status !== 'pass') return { ...detached, message: `volume ${serial} stayed after detach` };
      return { status: 'pass', message: `volume ${serial} attached and detached` };
    },
  },
  {
    id: 'attach_and_detach_nic_to_vsi',
    title: 'A hot-plugged virtio NIC appears in the guest and disappears after detach',
    run: async (context) => {
      const mac = await context.harness.plugNic(context.signal);
      const has = (out: string) => parseIpLink(out).some((link) => link.mac === mac);
      const attached = await guestSees(context, 'ip -o link', has);
      if (attached.status !== 'pass') return { ...attached, message: `the guest never saw NIC ${mac}` };
      await context.harness.unplugNic(context.signal);
      const detached = await guestSees(context, 'ip -o link', (out) => !has(out));
      if (detached.status !== 'pass') return { ...detached, message: `NIC ${mac} stayed after detach` };
      return { status: 'pass', message: `NIC ${mac} attached and detached` };
    },
  },
  {
    id: 'linux_check_anyuser_login_over_ssh',
    title: 'sshd refuses password and keyboard-interactive logins',
    run: async (context) => {
      const { harness, signal } = context;
      const settings = await harness.guestExec('sshd -T 2>&1', signal);
      const effective = judgeSshdSettings(settings.stdout);
      if (effective.status !== 'pass') return effective;
      const probe = await harness.netnsExec(
        [
          'ssh',
          '-v',
          '-o',
          'PreferredAuthentications=none',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'BatchMode=yes',
          '-o',
          'ConnectTimeout=10',
          `nosuchuser@${harness.facts.nics[0].ip}`,
          'true',
        ],
        signal,
      );
      // Port 22 closed leaves nothing to probe; sshd -T has already decided.
      if (/Connection refused|timed out/.test(probe.stderr)) {
        return { status: 'pass', message: `${effective.message}; port 22 not answering` };
      }
      const offered = judgeOfferedMethods(probe.stderr);
      return offered.status === 'pass'
        ? { status: 'pass', message: `${effective.message}; server ${offered.message}` }
        : offered;
    },
  },
  {
    id: 'linux_check_no_swap',
    title: 'No swap is active',
    run: async (context) =>
      judgeSwaps((await context.harness.guestExec('cat /proc/swaps', context.signal)).stdout),
  },
  {
    id: 'check_kernel_boot_options',
    title: "The kernel command line has the profile's required arguments and none of the forbidden",
    run: async (context) =>
      judgeKernelCmdline(
        (await context.harness.guestExec('cat /proc/cmdline', context.signal)).stdout,
        context.profile.requiredKernelArgs,
        context.profile.forbiddenKernelArgs,
      ),
  },
  {
    id: 'check_cloud_init',
    title: 'cloud-init finished without errors from the NoCloud seed',
    run: async (context) => {
      const status = await context.harness.guestExec('cloud-init status --wait --long', context.signal);
      const result = await context.harness.guestExec('cat /run/cloud-init/result.json', context.signal);
      return judgeCloudInit(
        both(status),
        status.exitCode,
        result.stdout,
        context.profile.cloudInitDatasource,
      );
    },
  },
  {
    id: 'check_systemd_service_units',
    title: 'The system is running, no unit failed, the required units are active',
    // `is-system-running --wait` waits for the boot to finish; a degraded system stays so, no retry.
    run: (context) => systemHealth(context),
  },
  {
    id: 'check_virtio_rng',
    title: 'The guest uses the virtio RNG and reads random bytes from it',
    run: async (context) => {
      if (context.harness.facts.hwRngModel !== 'virtio') {
        return { status: 'skip', message: 'the image does not ask for a virtio RNG (hw_rng_model)' };
      }
      const result = await context.harness.guestExec(
        'cat /sys/class/misc/hw_random/rng_current; echo ----; dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1',
        context.signal,
      );
      const [current, bytes] = sections(result.stdout);
      return judgeRng(current ?? '', bytes ?? '');
    },
  },
  {
    id: 'does_vm_reboot_correctly',
    title: 'The guest reboots: a second kernel start, the agent back, and the guest as it was before',
    run: async (context) => {
      const { harness, signal } = context;
      const condition = await guestCondition(context);
      const before = harness.kernelBanners();
      await harness.reboot(signal);
      const restarted = await retryUntilPass(async () => {
        const now = harness.kernelBanners();
        return now > before
          ? { status: 'pass', message: `kernel started ${now} times` }
          : { status: 'fail', message: 'no new kernel banner on the serial console' };
      }, signal);
      if (restarted.status !== 'pass') return restarted;
      await harness.waitForAgent(signal);
      const back = await cameBack(context, condition, 'reboot');
      return back.status === 'pass' ? { ...back, message: `${restarted.message}; ${back.message}` } : back;
    },
  },
  {
    id: 'does_vm_stop_and_start_correctly',
    title: 'The guest powers off, QEMU exits, and a new QEMU on the same disk boots it with its state',
    run: async (context) => {
      const { harness, signal } = context;
      const condition = await guestCondition(context);
      const marker = `imagetrust-${harness.kernelBanners()}-${Math.random().toString(16).slice(2)}`;
      const wrote = await harness.guestExec(
        `echo ${marker} > /var/lib/imagetrust-boot-marker && sync`,
        signal,
      );
      if (wrote.exitCode !== 0)
        return { status: 'fail', message: 'could not write the marker file', output: both(wrote) };
      await harness.powerCycle(signal);
      await harness.waitForAgent(signal);
      const read = await harness.guestExec('cat /var/lib/imagetrust-boot-marker', signal);
      if (read.stdout.trim() !== marker) {
        return {
          status: 'fail',
          message: 'the disk lost its state across stop and start',
          output: both(read),
        };
      }
      const back = await cameBack(context, condition, 'stop and start');
      return back.status === 'pass'
        ? { ...back, message: `stopped, started, state kept; ${back.message}` }
        : back;
    },
  },
];

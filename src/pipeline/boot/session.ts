// One boot-test run, the I/O edge: a private run directory (overlay, seed, data volumes, sockets,
// serial log), a private network namespace with dnsmasq, QEMU inside it, the guest agent and QMP.
// Everything started is tracked and ended in `finally`, whatever happened; the image is only read.
import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, openSync, readFileSync } from 'node:fs';
import { access, copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ImageTrustError } from '../../errors/index.ts';
import { GuestAgentClient } from './guest-agent.ts';
import {
  createNetns,
  DOMAIN,
  deleteNetns,
  dnsmasqArgs,
  inNetns,
  newNetnsName,
  planTap,
  sweepStaleNetns,
  type TapPlan,
} from './netns.ts';
import { runChecked, runCommand, startTracked, type TrackedProcess } from './processes.ts';
import type { BootProfile } from './profile.ts';
import {
  type Accelerator,
  chooseAccelerator,
  countKernelBanners,
  type Firmware,
  OVMF_VARS,
  overlayBytes,
  qemuArgs,
  readImageInfo,
  requireOvmf,
  runFiles,
  type VmPlan,
} from './qemu.ts';
import { QmpClient } from './qmp.ts';
import { type BootReport, serialLogForReport } from './report.ts';
import { createSeed } from './seed.ts';
import { errorResults, runBootTests } from './suite.ts';
import { requireBootTools, requireRoot } from './tools.ts';
import type { BootFacts, BootHarness, BootTestId, CommandResult } from './types.ts';

export interface BootRunOptions {
  image: string;
  profile: BootProfile;
  firmware: Firmware;
  accelerator: 'auto' | Accelerator;
  /** Overlay size in bytes; the image's virtual size + 1 GiB by default. */
  diskBytes?: number;
  bootTimeoutMs: number;
  tool: { name: string; version: string };
  /** Milliseconds on a monotonic clock. */
  now: () => number;
  /** Aborted on SIGINT/SIGTERM: the run stops, cleans up and reports what it has. */
  signal?: AbortSignal;
  onStage?: (stage: string) => void;
  onTest?: (id: BootTestId, index: number, total: number) => void;
  /** Parent of the private run directory (default: the system temp dir). */
  workDir?: string;
}

const DATA_VOLUMES = ['itvol1', 'itvol2'];
const HOT_VOLUME_SERIAL = 'itvol-hot';
const BOOT_NICS = 2;

/** sha512 of the file as stored, streamed in 1 MiB chunks: the os_hash_value Glance gives it. */
export async function fileSha512(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk);
  return hash.digest('hex');
}

/** The VM and everything around it for one run; `BootHarness` for the tests. */
class BootSession implements BootHarness {
  readonly facts: BootFacts;
  private qemu: TrackedProcess | undefined;
  private dnsmasq: TrackedProcess | undefined;
  private qmp: QmpClient | undefined;
  private agent: GuestAgentClient | undefined;
  private netnsCreated = false;
  /** When the first QEMU of the run started: the zero of boot_to_* timings. */
  qemuStartedAt: number | undefined;
  sshReadyAt: number | null = null;
  private readonly hotTap: TapPlan = planTap(BOOT_NICS);

  private readonly options: BootRunOptions;
  private readonly runDir: string;
  private readonly netns: string;
  private readonly plan: VmPlan;
  private readonly privateKey: string;

  constructor(parts: {
    options: BootRunOptions;
    runDir: string;
    netns: string;
    plan: VmPlan;
    privateKey: string;
    facts: BootFacts;
  }) {
    this.options = parts.options;
    this.runDir = parts.runDir;
    this.netns = parts.netns;
    this.plan = parts.plan;
    this.privateKey = parts.privateKey;
    this.facts = parts.facts;
  }

  async startNetwork(): Promise<void> {
    const taps = [...this.plan.taps, this.hotTap];
    this.netnsCreated = true;
    await createNetns(this.netns, taps);
    const log = openSync(join(this.runDir, 'dnsmasq.log'), 'a');
    try {
      this.dnsmasq = startTracked('dnsmasq', inNetns(this.netns, dnsmasqArgs(taps, this.runDir)), {
        logFile: log,
      });
    } finally {
      closeSync(log);
    }
  }

  /** Starts QEMU (again, for a power cycle) and connects QMP and the guest agent socket. */
  async startVm(signal: AbortSignal): Promise<void> {
    const log = openSync(join(this.runDir, 'qemu.log'), 'a');
    try {
      this.qemu = startTracked('qemu', inNetns(this.netns, qemuArgs(this.plan)), { logFile: log });
    } finally {
      closeSync(log);
    }
    this.qemuStartedAt ??= this.options.now();
    const files = runFiles(this.runDir);
    const connecting = AbortSignal.any([signal, AbortSignal.timeout(60_000)]);
    const exited = this.qemu.exited.then((code) => {
      throw new Error(`QEMU exited (${code}) at start: ${this.qemuLog()}`);
    });
    // Only a race below listens; a QEMU that exits later must not become an unhandled rejection.
    exited.catch(() => {});
    this.qmp = await Promise.race([QmpClient.connect(files.qmp, connecting), exited]);
    this.agent = await Promise.race([GuestAgentClient.connect(files.qga, connecting), exited]);
  }

  qemuLog(): string {
    try {
      return readFileSync(join(this.runDir, 'qemu.log'), 'utf8').trim().slice(-2000);
    } catch {
      return '';
    }
  }

  serialLog(): string {
    try {
      return readFileSync(runFiles(this.runDir).serial, 'utf8');
    } catch {
      return '';
    }
  }

  /** Waits for the guest agent, failing at once if QEMU exits. */
  async waitForAgent(signal: AbortSignal): Promise<void> {
    const qemu = this.requireQemu();
    if (!this.agent || this.agent.closed) {
      this.agent = await GuestAgentClient.connect(runFiles(this.runDir).qga, signal);
    }
    const exited = qemu.exited.then((code) => {
      throw new Error(`QEMU exited (${code}) while waiting for the guest agent`);
    });
    exited.catch(() => {});
    await Promise.race([this.agent.sync(signal), exited]);
  }

  private requireQemu(): TrackedProcess {
    if (!this.qemu || this.qemu.hasExited()) throw new Error('QEMU is not running');
    return this.qemu;
  }

  private requireQmp(): QmpClient {
    this.requireQemu();
    if (!this.qmp) throw new Error('QMP is not connected');
    return this.qmp;
  }

  async guestExec(command: string, signal: AbortSignal): Promise<CommandResult> {
    this.requireQemu();
    if (!this.agent || this.agent.closed) throw new Error('the guest agent is not connected');
    return this.agent.exec(command, signal);
  }

  netnsExec(argv: string[], signal: AbortSignal): Promise<CommandResult> {
    return runCommand(inNetns(this.netns, argv), { signal });
  }

  async ssh(command: string, signal: AbortSignal): Promise<CommandResult> {
    const result = await this.netnsExec(
      [
        'ssh',
        '-i',
        this.privateKey,
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'ConnectTimeout=10',
        '-o',
        'LogLevel=ERROR',
        `${this.options.profile.user}@${this.facts.nics[0].ip}`,
        command,
      ],
      signal,
    );
    if (result.exitCode === 0 && this.sshReadyAt === null) this.sshReadyAt = this.options.now();
    return result;
  }

  async plugVolume(signal: AbortSignal): Promise<string> {
    const qmp = this.requireQmp();
    await qmp.execute(
      'blockdev-add',
      {
        driver: 'qcow2',
        'node-name': 'hotvol',
        file: { driver: 'file', filename: join(this.runDir, 'hotvol.qcow2') },
      },
      signal,
    );
    await qmp.execute(
      'device_add',
      { driver: 'virtio-blk-pci', id: 'hotdisk', drive: 'hotvol', serial: HOT_VOLUME_SERIAL },
      signal,
    );
    return HOT_VOLUME_SERIAL;
  }

  async unplugVolume(signal: AbortSignal): Promise<void> {
    const qmp = this.requireQmp();
    await qmp.execute('device_del', { id: 'hotdisk' }, signal);
    await qmp.waitForEvent('DEVICE_DELETED', (data) => data.device === 'hotdisk', signal);
    await qmp.execute('blockdev-del', { 'node-name': 'hotvol' }, signal);
  }

  async plugNic(signal: AbortSignal): Promise<string> {
    const qmp = this.requireQmp();
    const tap = this.hotTap;
    await qmp.execute(
      'netdev_add',
      { type: 'tap', id: 'hotnet', ifname: tap.tap, script: 'no', downscript: 'no' },
      signal,
    );
    await qmp.execute(
      'device_add',
      { driver: 'virtio-net-pci', id: 'hotnic', netdev: 'hotnet', mac: tap.mac },
      signal,
    );
    return tap.mac;
  }

  async unplugNic(signal: AbortSignal): Promise<void> {
    const qmp = this.requireQmp();
    await qmp.execute('device_del', { id: 'hotnic' }, signal);
    await qmp.waitForEvent('DEVICE_DELETED', (data) => data.device === 'hotnic', signal);
    await qmp.execute('netdev_del', { id: 'hotnet' }, signal);
  }

  kernelBanners(): number {
    return countKernelBanners(this.serialLog());
  }

  /** Starts `systemctl reboot` without polling it: the agent that would answer goes down with the guest. */
  async reboot(signal: AbortSignal): Promise<void> {
    this.requireQemu();
    if (!this.agent || this.agent.closed) throw new Error('the guest agent is not connected');
    await this.agent.request('guest-exec', { path: '/bin/systemctl', arg: ['reboot'] }, signal);
  }

  async powerCycle(signal: AbortSignal): Promise<void> {
    const qemu = this.requireQemu();
    await this.requireQmp().execute('system_powerdown', undefined, signal);
    await Promise.race([
      qemu.exited,
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(new Error('QEMU did not exit after the power-down')), {
          once: true,
        }),
      ),
    ]);
    this.qmp?.close();
    this.agent?.close();
    this.qmp = undefined;
    this.agent = undefined;
    await this.startVm(signal);
  }

  /** Ends every process of the run and deletes the namespace; safe to call twice. */
  async close(): Promise<void> {
    this.qmp?.close();
    this.agent?.close();
    await this.qemu?.stop().catch(() => {});
    await this.dnsmasq?.stop().catch(() => {});
    if (this.netnsCreated) await deleteNetns(this.netns).catch(() => {});
    this.netnsCreated = false;
  }
}

function stage(options: BootRunOptions, message: string): void {
  options.onStage?.(message);
}

/** Boots the image, runs the profile's tests and returns the report; cleans up everything it started. */
export async function runBootTest(options: BootRunOptions): Promise<BootReport> {
  const started = options.now();
  const image = resolve(options.image);
  // A missing or unreadable image is INPUT_UNREADABLE (the errno carries the path).
  await access(image, constants.R_OK);
  if ((await stat(image)).isDirectory()) {
    throw new ImageTrustError(
      'DISK_UNSUPPORTED',
      `${image} is a directory; boot-test takes a qcow2 or raw image file.`,
    );
  }
  await requireBootTools();
  requireRoot();
  if (options.firmware === 'uefi') await requireOvmf();
  const info = await readImageInfo(image);
  const diskBytes = overlayBytes(info.virtualBytes, options.diskBytes);
  const digest = fileSha512(image);
  digest.catch(() => {});
  const signal = options.signal ?? new AbortController().signal;

  await sweepStaleNetns();
  const accelerator = await chooseAccelerator(options.accelerator);
  const runDir = await mkdtemp(join(options.workDir ?? tmpdir(), 'imagetrust-boot-'));
  const netns = newNetnsName();
  let session: BootSession | undefined;
  let bootToAgent: number | null = null;
  let results: BootReport['results'];
  let serial = '';
  try {
    stage(options, `preparing ${runDir}: overlay, seed, data volumes`);
    const overlay = join(runDir, 'overlay.qcow2');
    await runChecked([
      'qemu-img',
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      image,
      '-F',
      info.format,
      overlay,
      String(diskBytes),
    ]);
    const volumes = DATA_VOLUMES.map((serial) => ({ file: join(runDir, `${serial}.qcow2`), serial }));
    for (const file of [...volumes.map((volume) => volume.file), join(runDir, 'hotvol.qcow2')]) {
      await runChecked(['qemu-img', 'create', '-q', '-f', 'qcow2', file, '256M']);
    }
    const seed = await createSeed(runDir, `imagetrust-${netns.slice(-8)}`);
    if (options.firmware === 'uefi') await copyFile(OVMF_VARS, runFiles(runDir).vars);
    const taps = Array.from({ length: BOOT_NICS }, (_, index) => planTap(index));
    const plan: VmPlan = {
      runDir,
      accelerator,
      firmware: options.firmware,
      memoryMiB: 1024,
      cpus: 2,
      overlay,
      seed: seed.image,
      volumes,
      taps,
      rng: options.profile.properties.hw_rng_model === 'virtio',
    };
    const facts: BootFacts = {
      gateway: taps[0].hostIp,
      gatewayName: `gateway.${DOMAIN}`,
      nics: taps.map((tap) => ({ name: tap.guestName, mac: tap.mac, ip: tap.guestIp, subnet: tap.subnet })),
      volumeSerials: DATA_VOLUMES,
      overlayBytes: diskBytes,
      imageVirtualBytes: info.virtualBytes,
      hwRngModel: options.profile.properties.hw_rng_model,
    };
    session = new BootSession({ options, runDir, netns, plan, privateKey: seed.privateKey, facts });
    stage(options, `network namespace ${netns} with dnsmasq`);
    try {
      await session.startNetwork();
    } catch (error) {
      throw new ImageTrustError(
        'BOOT_HARNESS_FAILED',
        `Cannot set up the guest network: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    stage(options, `booting under ${accelerator.toUpperCase()} (${options.firmware})`);
    const bootSignal = AbortSignal.any([signal, AbortSignal.timeout(options.bootTimeoutMs)]);
    let cameUp: string | undefined;
    // Tries an SSH login every few seconds while the guest boots, so boot_to_ssh_ms is when SSH first
    // worked, not when its test ran; it only measures, the SSH tests judge.
    const probing = new AbortController();
    const probe = (async () => {
      const until = AbortSignal.any([bootSignal, probing.signal]);
      while (!until.aborted && session.sshReadyAt === null) {
        await session.ssh('true', until).catch(() => {});
        await new Promise((done) => setTimeout(done, 3000));
      }
    })();
    try {
      await session.startVm(bootSignal);
      stage(options, 'waiting for the guest agent');
      await session.waitForAgent(bootSignal);
      bootToAgent = Math.round(options.now() - (session.qemuStartedAt ?? started));
      // Let the boot finish before judging (the systemd test reports how it finished): tests that poll
      // then rarely wait, and a broken guest fails each test at once instead of at its timeout.
      stage(options, 'waiting for the boot to finish');
      await session.guestExec('systemctl is-system-running --wait', bootSignal).catch(() => {});
    } catch (error) {
      cameUp = signal.aborted
        ? 'interrupted before the guest came up'
        : bootSignal.aborted
          ? `guest never came up: no guest agent within ${options.bootTimeoutMs / 1000} s`
          : `guest never came up: ${(error as Error).message}`;
    }
    probing.abort();
    await probe;
    if (cameUp) {
      results = errorResults(options.profile, cameUp);
    } else {
      stage(options, 'running tests');
      results = await runBootTests(session, options.profile, {
        now: options.now,
        signal,
        ...(options.onTest ? { onTest: options.onTest } : {}),
      });
    }
    serial = session.serialLog();
  } finally {
    // Each step runs whatever the one before did: a process left running or a namespace left behind
    // costs the host more than a missed cleanup error.
    stage(options, 'cleaning up');
    await session?.close().catch(() => {});
    await deleteNetns(netns).catch(() => {});
    await rm(runDir, { recursive: true, force: true }).catch(() => {});
  }
  const sshAt = session?.sshReadyAt;
  const bootToSsh = sshAt != null ? Math.round(sshAt - (session?.qemuStartedAt ?? started)) : null;
  const total = Math.round(options.now() - started);
  return {
    kind: 'boot-test',
    tool: options.tool,
    image,
    image_sha512: await digest,
    profile: options.profile.name,
    firmware: options.firmware,
    accelerator,
    results,
    serial_log: serialLogForReport(serial, results),
    timings: {
      boot_to_agent_ms: bootToAgent,
      boot_to_ssh_ms: bootToSsh,
      tests_ms: results.reduce((sum, result) => sum + result.duration_ms, 0),
      total_ms: total,
    },
  };
}

// Image build benchmark (run with `npm run bench:build`; needs root, network and ~4 GB in $TMPDIR). A
// report, not a test: it exits 0 unless the benchmark itself cannot run.
//
// It builds test/fixtures/templates/build/debian-12.tdl with the builder's API (readBuildTemplate,
// buildImage) and its onStage timings:
//  1. cold: a fresh, empty stage cache (mmdebstrap downloads ~200 MB; about 5 minutes);
//  2. warm: the same template again, every stage found in the cache;
//  3. after a change to one template command: bootstrap cached, customize and disk run again;
//  4. the peer: `mmdebstrap --variant=required --include=<the same packages>` alone into a tar, and
//     `debootstrap --variant=minbase` (BENCH_BUILD_DEBOOTSTRAP=0 skips it);
//  5. optionally Debian's diskimage-builder (BENCH_BUILD_DIB=1, or when `disk-image-create` is on the
//     PATH; BENCH_BUILD_DIB=0 skips it): `disk-image-create debian-minimal vm cloud-init-datasources`
//     with the template's mirror and suite, cold (an empty DIB image cache) and warm (the same cache).
//     Its disk is block-device-efi's (GPT, ESP, BIOS boot partition, ext4 root: ours) when the kernel has
//     device-mapper, which DIB's partitioning needs (it maps partitions with kpartx); without it, one
//     ext4 filesystem on the whole disk (GRUB BIOS from blocklists, no UEFI), said in the table. When
//     DIB cannot run, the table says why, from its output;
// then prints a table of seconds and ratios.
//
// IMAGETRUST_BENCH_BUILD_CACHE=DIR skips the cold build and takes the warm numbers from an existing
// cache. That cache is only read: the benchmark's cache links to its entries, so the rebuild after the
// command change writes into a temporary cache beside them.
import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { basePackages } from '../src/pipeline/build/cloud-image.ts';
import {
  type BuildStage,
  type BuildTemplate,
  buildImage,
  readBuildTemplate,
  type StageEvent,
} from '../src/pipeline/build/index.ts';
import { livePids, log, round, runBenchmark, stopPid } from './processes.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const TEMPLATE = path.join(ROOT, 'test/fixtures/templates/build/debian-12.tdl');
const REUSE = process.env.IMAGETRUST_BENCH_BUILD_CACHE;
const DEBOOTSTRAP = process.env.BENCH_BUILD_DEBOOTSTRAP !== '0';
const DIB_SETTING = process.env.BENCH_BUILD_DIB;

interface Run {
  seconds: number;
  stages: Partial<Record<BuildStage, { state: 'cached' | 'done'; seconds: number }>>;
}

/** One build, timed as a whole and by stage. */
async function timedBuild(template: BuildTemplate, cacheDir: string, logDir: string): Promise<Run> {
  const stages: Run['stages'] = {};
  const onStage = (event: StageEvent) => {
    if (event.state === 'cached') stages[event.stage] = { state: 'cached', seconds: 0 };
    if (event.state === 'done') stages[event.stage] = { state: 'done', seconds: (event.ms ?? 0) / 1000 };
    if (event.state !== 'start') log(`  ${event.stage}: ${event.state} ${event.ms ?? 0} ms`);
  };
  const started = performance.now();
  await buildImage(template, { cacheDir, logDir, onStage });
  return { seconds: (performance.now() - started) / 1000, stages };
}

/** Runs a command to completion, its output in `logFile`; returns the seconds it took. */
async function timedCommand(
  command: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const out = createWriteStream(logFile);
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  if (child.pid) livePids.add(child.pid);
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (child.pid) livePids.delete(child.pid);
  out.end();
  if (code !== 0) throw new Error(`${command} exited ${code}; see ${logFile}`);
  return (performance.now() - started) / 1000;
}

/** A cache whose entries link to `source`'s: found like its own, new entries written beside them. */
async function linkedCache(source: string, target: string): Promise<void> {
  for (const stage of await readdir(source)) {
    await mkdir(path.join(target, stage), { recursive: true });
    for (const key of await readdir(path.join(source, stage))) {
      if (!key.startsWith('.')) await symlink(path.join(source, stage, key), path.join(target, stage, key));
    }
  }
}

/** `name` as found on the PATH, or undefined. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir || '.', name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

interface DibResult {
  cold?: number;
  warm?: number;
  /** The disk layout DIB made, for the table. */
  layout?: string;
  /** Why DIB did not run or did not finish: one line. */
  reason?: string;
}

/** The one line of DIB's output that says why it failed: the sudo command behind `exec_sudo failed`, else the first error. */
function dibFailure(output: string): string {
  const lines = output.split('\n').map((line) => line.replace(/^\S+ \S+ \| /, '').trim());
  const failedAt = lines.findIndex((line) => line.includes('exec_sudo failed'));
  if (failedAt >= 0) {
    const call = lines
      .slice(0, failedAt)
      .reverse()
      .find((line) => line.includes('Calling [sudo '));
    const command = call?.match(/Calling \[sudo ([^\]]*)\]/)?.[1];
    if (command) return `\`${command}\` failed in DIB's block-device step`;
  }
  const patterns = [/command not found/, /^E: /, /^ERROR /, /^\*\*\* /, /Error:|error:/];
  for (const pattern of patterns) {
    const line = lines.find((l) => pattern.test(l));
    if (line) return line.slice(0, 200);
  }
  return lines.filter(Boolean).at(-1)?.slice(0, 200) ?? 'no output';
}

/** Whether the kernel offers device-mapper (DIB's partitioning maps partitions with kpartx). */
async function deviceMapper(): Promise<boolean> {
  const misc = await readFile('/proc/misc', 'utf8').catch(() => '');
  return /\bdevice-mapper\b/.test(misc);
}

/** diskimage-builder's image of the template's distribution, cold then warm, or the reason it cannot run. */
async function dibBuild(template: BuildTemplate, dir: string): Promise<DibResult> {
  const command = onPath('disk-image-create');
  if (!command)
    return { reason: 'disk-image-create is not installed (apt-get install python3-diskimage-builder)' };
  if (!onPath('sudo'))
    return { reason: 'DIB runs its block-device and mount steps through sudo, which is not installed' };
  const tmp = path.join(dir, 'tmp');
  const cache = path.join(dir, 'cache');
  await mkdir(tmp, { recursive: true });
  await mkdir(cache, { recursive: true });
  const elements = ['debian-minimal', 'vm', 'cloud-init-datasources'];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: tmp,
    DIB_IMAGE_CACHE: cache,
    DIB_RELEASE: template.distribution.suite,
    DIB_DISTRIBUTION_MIRROR: template.mirror,
    // The sources our build uses; DIB's default adds -backports, -updates and security.debian.org.
    DIB_APT_SOURCES_CONF: `default:deb ${template.mirror} ${template.distribution.suite} ${template.distribution.components.join(' ')}`,
    DIB_CLOUD_INIT_DATASOURCES: 'NoCloud,ConfigDrive,OpenStack',
  };
  let layout: string;
  if (await deviceMapper()) {
    elements.push('block-device-efi');
    layout = 'GPT: ESP, BIOS boot, ext4 root';
  } else {
    const config = path.join(dir, 'whole-disk.yaml');
    await writeFile(
      config,
      [
        '- local_loop:',
        '    name: image0',
        '- mkfs:',
        '    name: root_fs',
        '    base: image0',
        '    type: ext4',
        '    label: cloudimg-rootfs',
        '    mount:',
        '      mount_point: /',
        '      fstab:',
        '        options: "defaults"',
        '        fsck-passno: 1',
        '',
      ].join('\n'),
    );
    env.DIB_BLOCK_DEVICE_CONFIG = `file://${config}`;
    layout = 'one ext4 on the whole disk, BIOS GRUB only: no device-mapper in /proc/misc for kpartx';
  }
  const result: DibResult = { layout };
  for (const run of ['cold', 'warm'] as const) {
    const logFile = path.join(dir, `${run}.log`);
    const output = path.join(dir, `image-${run}`);
    log(`diskimage-builder, ${run} cache: ${elements.join(' ')} (${layout})`);
    try {
      result[run] = await timedCommand(
        command,
        ['-a', 'amd64', '-t', 'qcow2', '-o', output, ...elements],
        logFile,
        env,
      );
      await stat(`${output}.qcow2`);
    } catch (error) {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      result.reason = `${run} run: ${text ? dibFailure(text) : (error as Error).message} (log ${logFile})`;
      result[run] = undefined;
      return result;
    } finally {
      await rm(`${output}.qcow2`, { force: true });
    }
  }
  return result;
}

function withChangedCommand(template: BuildTemplate): BuildTemplate {
  const [first, ...rest] = template.commands;
  return {
    ...template,
    commands: [
      { ...first, script: `${first.script}\necho "bench ${Date.now()}" >> /etc/imagetrust-build\n` },
      ...rest,
    ],
  };
}

const fmt = (seconds: number | undefined) => (seconds === undefined ? 'skipped' : seconds.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? '' : `${round(a / b, 3)}`;

async function main(): Promise<void> {
  const text = await readFile(TEMPLATE, 'utf8');
  const { template } = readBuildTemplate(text, TEMPLATE);
  const work = await mkdtemp(path.join(process.env.TMPDIR ?? tmpdir(), 'imagetrust-bench-build-'));
  const cacheDir = path.join(work, 'cache');
  const logs = (name: string) => path.join(work, 'logs', name);
  // A cold cache is worth keeping when a later step fails: rerun with IMAGETRUST_BENCH_BUILD_CACHE.
  let keep = !REUSE;
  try {
    let cold: Run | undefined;
    if (REUSE) {
      log(`warm builds from ${REUSE} (read only, linked into ${cacheDir}); no cold build`);
      await linkedCache(REUSE, cacheDir);
    } else {
      log(`cold build into ${cacheDir} (downloads the packages; about 5 minutes)`);
      cold = await timedBuild(template, cacheDir, logs('cold'));
    }
    log('warm build');
    const warm = await timedBuild(template, cacheDir, logs('warm'));
    log('build after a change to one template command');
    const changed = await timedBuild(withChangedCommand(template), cacheDir, logs('changed'));

    const packages = [...new Set([...basePackages(template), ...template.packages])].sort();
    const peerDir = path.join(work, 'peer');
    await mkdir(peerDir, { recursive: true });
    log('mmdebstrap --variant=required with the same packages, into a tar');
    const mmdebstrap = await timedCommand(
      'mmdebstrap',
      [
        '--mode=unshare',
        '--variant=required',
        '--format=tar',
        '--architectures=amd64',
        `--keyring=${template.distribution.keyring}`,
        `--include=${packages.join(',')}`,
        template.distribution.suite,
        path.join(peerDir, 'base.tar'),
        `deb ${template.mirror} ${template.distribution.suite} ${template.distribution.components.join(' ')}`,
      ],
      path.join(peerDir, 'mmdebstrap.log'),
    );
    let debootstrap: number | undefined;
    if (DEBOOTSTRAP) {
      log('debootstrap --variant=minbase');
      debootstrap = await timedCommand(
        'debootstrap',
        [
          '--variant=minbase',
          template.distribution.suite,
          path.join(peerDir, 'debootstrap'),
          template.mirror,
        ],
        path.join(peerDir, 'debootstrap.log'),
      );
    }

    let dib: DibResult | undefined;
    if (DIB_SETTING === '1' || (DIB_SETTING !== '0' && onPath('disk-image-create'))) {
      dib = await dibBuild(template, path.join(work, 'dib'));
      if (dib.reason) log(`diskimage-builder did not finish: ${dib.reason}`);
    }

    const bootstrapStage = cold?.stages.bootstrap?.seconds;
    const rows: [string, string][] = [
      ['cold build (s)', fmt(cold?.seconds)],
      ['  bootstrap stage (s)', fmt(cold?.stages.bootstrap?.seconds)],
      ['  customize stage (s)', fmt(cold?.stages.customize?.seconds)],
      ['  disk stage (s)', fmt(cold?.stages.disk?.seconds)],
      ['warm build, every stage cached (s)', fmt(warm.seconds)],
      ['rebuild after a command change (s)', fmt(changed.seconds)],
      ['  customize stage (s)', fmt(changed.stages.customize?.seconds)],
      ['  disk stage (s)', fmt(changed.stages.disk?.seconds)],
      [`mmdebstrap --variant=required, ${packages.length} packages (s)`, fmt(mmdebstrap)],
      ['debootstrap --variant=minbase (s)', fmt(debootstrap)],
      ...(dib
        ? ([
            [`diskimage-builder, cold DIB cache (s)`, fmt(dib.cold)],
            [`diskimage-builder, warm DIB cache (s)`, fmt(dib.warm)],
          ] as [string, string][])
        : []),
      ['warm / cold', ratio(warm.seconds, cold?.seconds)],
      ['rebuild after command change / cold', ratio(changed.seconds, cold?.seconds)],
      ['bootstrap stage / plain mmdebstrap', ratio(bootstrapStage, mmdebstrap)],
      ...(dib
        ? ([
            ['our cold / DIB cold', ratio(cold?.seconds, dib.cold)],
            ['our warm / DIB warm', ratio(warm.seconds, dib.warm)],
          ] as [string, string][])
        : []),
    ];
    const width = Math.max(...rows.map(([name]) => name.length));
    const valueWidth = Math.max(...rows.map(([, value]) => value.length));
    process.stdout.write(
      `${rows.map(([name, value]) => `${name.padEnd(width)}  ${value.padStart(valueWidth)}`).join('\n')}\n`,
    );
    if (dib?.layout) process.stdout.write(`diskimage-builder's disk: ${dib.layout}\n`);
    if (dib?.reason) process.stdout.write(`diskimage-builder could not run here: ${dib.reason}\n`);
    process.stdout.write(
      `${JSON.stringify({ cold, warm, changed, peer: { mmdebstrap, debootstrap, packages: packages.length, dib } })}\n`,
    );
    keep = false;
  } finally {
    for (const pid of livePids) await stopPid(pid, 'benchmark child');
    if (keep) log(`kept ${work} (a cold cache: rerun with IMAGETRUST_BENCH_BUILD_CACHE=${cacheDir})`);
    else await rm(work, { recursive: true, force: true });
  }
}

await runBenchmark(main);

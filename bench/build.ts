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
// then prints a table of seconds and ratios.
//
// IMAGETRUST_BENCH_BUILD_CACHE=DIR skips the cold build and takes the warm numbers from an existing
// cache. That cache is only read: the benchmark's cache links to its entries, so the rebuild after the
// command change writes into a temporary cache beside them.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
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
async function timedCommand(command: string, args: string[], logFile: string): Promise<number> {
  const out = createWriteStream(logFile);
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      ['warm / cold', ratio(warm.seconds, cold?.seconds)],
      ['rebuild after command change / cold', ratio(changed.seconds, cold?.seconds)],
      ['bootstrap stage / plain mmdebstrap', ratio(bootstrapStage, mmdebstrap)],
    ];
    const width = Math.max(...rows.map(([name]) => name.length));
    const valueWidth = Math.max(...rows.map(([, value]) => value.length));
    process.stdout.write(
      `${rows.map(([name, value]) => `${name.padEnd(width)}  ${value.padStart(valueWidth)}`).join('\n')}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ cold, warm, changed, peer: { mmdebstrap, debootstrap, packages: packages.length } })}\n`,
    );
    keep = false;
  } finally {
    for (const pid of livePids) await stopPid(pid, 'benchmark child');
    if (keep) log(`kept ${work} (a cold cache: rerun with IMAGETRUST_BENCH_BUILD_CACHE=${cacheDir})`);
    else await rm(work, { recursive: true, force: true });
  }
}

await runBenchmark(main);

// Boot-test benchmark (run with `npm run bench:boot`; needs root, QEMU, and the image build cache or
// network): builds test/fixtures/templates/build/debian-12.tdl with `imagetrust build` (stages from
// IMAGETRUST_BUILD_CACHE, default the test fixture cache), then runs `imagetrust test-boot` on it and
// reports, from the report's own timings: boot to the guest agent, boot to SSH, the booted tests, the
// whole run; and as the floor in the same run, a bare QEMU boot of the same image to the serial login
// prompt (no network, no tests). A report, not a test: it exits 0 unless the benchmark cannot run.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { livePids, log, round, runBenchmark, stopPid } from './processes.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/imagetrust');
const TEMPLATE = path.join(ROOT, 'test/fixtures/templates/build/debian-12.tdl');
const CACHE =
  process.env.IMAGETRUST_BUILD_CACHE ??
  path.join(process.env.IMAGETRUST_FIXTURE_CACHE ?? '/var/cache/imagetrust-fixtures', 'build');

/** Boots the image with QEMU alone (BIOS, TCG, a throwaway overlay) until the serial console asks for a login. */
async function bareBootSeconds(image: string, dir: string): Promise<number> {
  const overlay = path.join(dir, 'bare.qcow2');
  await promisify(execFile)('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'qcow2', overlay]);
  const started = performance.now();
  const child = spawn(
    'qemu-system-x86_64',
    [
      '-accel',
      'tcg',
      '-machine',
      'pc',
      '-m',
      '1024',
      '-smp',
      '2',
      '-nographic',
      '-nodefaults',
      '-serial',
      'stdio',
      '-drive',
      `file=${overlay},if=virtio,format=qcow2`,
      '-nic',
      'none',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  if (child.pid) livePids.add(child.pid);
  try {
    return await new Promise<number>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error('no login prompt within 15 minutes')), 15 * 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        seen = (seen + chunk.toString('latin1')).slice(-4096);
        if (/login: *$/m.test(seen)) {
          clearTimeout(timer);
          resolve((performance.now() - started) / 1000);
        }
      });
      child.on('close', () => reject(new Error(`qemu exited before the login prompt: ${seen.slice(-500)}`)));
    });
  } finally {
    if (child.pid) await stopPid(child.pid, 'qemu');
  }
}

await runBenchmark(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imagetrust-bench-boot-'));
  try {
    log(`building ${path.basename(TEMPLATE)} (stage cache ${CACHE})`);
    const built = JSON.parse(
      (
        await promisify(execFile)(BIN, ['build', TEMPLATE, '-o', dir, '--cache-dir', CACHE, '-f', 'json'], {
          maxBuffer: 16 << 20,
        })
      ).stdout,
    ) as { image: string; stages: Record<string, string> };
    log(`built ${built.image} (${JSON.stringify(built.stages)})`);
    log('bare QEMU boot to the login prompt (the floor)');
    const bare = await bareBootSeconds(built.image, dir);
    log('imagetrust test-boot (every booted test, two boots more: reboot, stop and start)');
    const reportFile = path.join(dir, 'boot.json');
    const started = performance.now();
    await promisify(execFile)(BIN, ['test-boot', built.image, '-f', 'json', '-o', reportFile], {
      maxBuffer: 64 << 20,
    }).catch(() => undefined);
    const wall = (performance.now() - started) / 1000;
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as {
      results: { id: string; status: string; duration_ms: number }[];
      timings: {
        boot_to_agent_ms: number | null;
        boot_to_ssh_ms: number | null;
        tests_ms: number;
        total_ms: number;
      };
    };
    const s = (ms: number | null) => (ms === null ? null : round(ms / 1000, 1));
    const passed = report.results.filter((r) => r.status === 'pass').length;
    const rows = [
      ['bare QEMU boot to the login prompt (floor)', round(bare, 1)],
      ['test-boot: boot to guest agent', s(report.timings.boot_to_agent_ms)],
      ['test-boot: boot to SSH', s(report.timings.boot_to_ssh_ms)],
      ['test-boot: the booted tests', s(report.timings.tests_ms)],
      ['test-boot: whole run (report)', s(report.timings.total_ms)],
      ['test-boot: whole run (wall, with setup and teardown)', round(wall, 1)],
    ];
    console.log(
      `\nBoot test of ${path.basename(built.image)} under TCG (${passed}/${report.results.length} passed)\n`,
    );
    for (const [what, seconds] of rows)
      console.log(`  ${String(what).padEnd(54)} ${String(seconds).padStart(7)} s`);
    const ssh = report.timings.boot_to_ssh_ms;
    if (ssh !== null) console.log(`\n  boot to SSH / bare boot to login: ${round(ssh / 1000 / bare, 2)}`);
    const slowest = [...report.results].sort((a, b) => b.duration_ms - a.duration_ms).slice(0, 5);
    console.log(`  slowest tests: ${slowest.map((r) => `${r.id} ${s(r.duration_ms)} s`).join(', ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// `imagetrust test-boot` end to end: boots the real Debian 12 image under TCG in a private network and
// expects every test of the default profile to pass; boots a disk nothing can boot from and expects the
// boot timeout to end the run with every test in error. Both leave no process and no namespace behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BOOT_TEST_IDS, BOOT_TOOLS, type BootReport } from '../../src/pipeline/boot/index.ts';
import { requireTool, runOk } from '../support/tools.ts';

const CLI = fileURLToPath(new URL('../../bin/imagetrust', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'imagetrust-e2e-boot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/** Runs the CLI to its end, however long a TCG boot takes; stderr (the stage lines) is passed through. */
function testBoot(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, ['test-boot', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Nothing of a run may outlive it: no process running from a run directory, no namespace of ours. */
function assertNothingLeftBehind(): void {
  const namespaces = existsSync('/run/netns')
    ? readdirSync('/run/netns').filter((name) => name.startsWith('imagetrust-boot-'))
    : [];
  assert.deepEqual(namespaces, [], 'a network namespace was left behind');
  const leftovers = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return /(qemu-system|dnsmasq).*imagetrust-boot-/.test(cmdline) ? [`${pid} ${cmdline}`] : [];
      } catch {
        return [];
      }
    });
  assert.deepEqual(leftovers, [], 'a qemu or dnsmasq process was left behind');
}

describe('imagetrust test-boot (real QEMU, TCG)', { timeout: 90 * 60_000 }, () => {
  before(() => {
    assert.equal(
      process.getuid?.(),
      0,
      'test-boot needs root for its network namespace: run the suite as root.',
    );
    for (const [command, debianPackage] of Object.entries(BOOT_TOOLS)) requireTool(command, debianPackage);
  });

  it('passes every test of the default profile on the Debian 12 image and leaves the image unchanged', async (t) => {
    const image = process.env.IMAGETRUST_BOOT_IMAGE;
    assert.ok(
      image,
      'IMAGETRUST_BOOT_IMAGE is not set: point it at a Debian 12 cloud image built by `imagetrust build` ' +
        '(the build fixture, e.g. /var/cache/imagetrust-dev/debian12.qcow2) and run again.',
    );
    assert.ok(existsSync(image), `IMAGETRUST_BOOT_IMAGE=${image} does not exist: build the image first.`);
    const before = await sha256(image);
    const out = join(dir, 'report.json');
    const run = await testBoot([image, '-f', 'json', '-o', out]);
    const report = JSON.parse(run.stdout) as BootReport;
    t.diagnostic(`timings: ${JSON.stringify(report.timings)}`);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), report, '-o writes the same report');

    const notPassed = report.results.filter((result) => result.status !== 'pass');
    assert.deepEqual(notPassed, [], 'every test of the default profile passes');
    assert.deepEqual(
      report.results.map((result) => result.id),
      [...BOOT_TEST_IDS],
    );
    assert.equal(run.code, 0);
    assert.equal(report.kind, 'boot-test');
    assert.equal(report.accelerator, 'tcg');
    assert.equal(report.image_sha512, (await runOk('sha512sum', [image])).split(' ')[0]);
    assert.match(report.serial_log, /login:|Reached target|cloud-init/);
    assert.ok(report.timings.boot_to_ssh_ms !== null && report.timings.boot_to_ssh_ms > 0);
    assert.equal(await sha256(image), before, 'the image file is unchanged');
    assertNothingLeftBehind();
  });

  it('ends a guest that never comes up at the boot timeout, every test in error, nothing left behind', async () => {
    // No bootable disk: SeaBIOS and iPXE find nothing to boot, so no guest agent ever answers.
    const blank = join(dir, 'blank.qcow2');
    await runOk('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '64M']);
    const before = await sha256(blank);
    const run = await testBoot([blank, '--boot-timeout', '30', '-f', 'json']);
    const report = JSON.parse(run.stdout) as BootReport;
    assert.equal(run.code, 1);
    assert.equal(report.results.length, BOOT_TEST_IDS.length);
    for (const result of report.results) {
      assert.equal(result.status, 'error', result.id);
      assert.match(result.message, /guest never came up: no guest agent within 30 s/);
    }
    assert.equal(report.timings.boot_to_agent_ms, null);
    assert.match(report.serial_log, /SeaBIOS|iPXE/);
    assert.equal(await sha256(blank), before);
    assertNothingLeftBehind();
  });

  it('refuses a missing image with INPUT_UNREADABLE (exit 66) before starting anything', async () => {
    const run = await testBoot([join(dir, 'no-such.qcow2')]);
    assert.equal(run.code, 66);
    assert.match(run.stderr, /\[INPUT_UNREADABLE\]/);
    assertNothingLeftBehind();
  });
});

// `imagetrust test-boot` end to end at its edges: a disk nothing can boot from ends at the boot timeout
// with every test in error and nothing left behind; a missing image is refused before anything starts.
// The full booted suite on a real built image (and a planted one, and a hung kernel) runs in
// build-boot-chain.test.ts, once, so the suite boots each image only once.
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

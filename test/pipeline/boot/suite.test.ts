import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBootProfile, verdictExitCode } from '../../../src/pipeline/boot/index.ts';
import { errorResults, runBootTests } from '../../../src/pipeline/boot/suite.ts';
import type { BootHarness, CommandResult } from '../../../src/pipeline/boot/types.ts';

/** A guest whose agent answers from a table of command → output, and whose hot-plug calls may throw. */
function fakeHarness(
  answers: Record<string, CommandResult>,
  overrides: Partial<BootHarness> = {},
): BootHarness {
  const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '' });
  return {
    facts: {
      gateway: '10.77.0.1',
      gatewayName: 'gateway.imagetrust.test',
      nics: [{ name: 'eth0', mac: '52:54:00:77:00:10', ip: '10.77.0.10', subnet: '10.77.0.0/24' }],
      volumeSerials: [],
      overlayBytes: 0,
      imageVirtualBytes: 0,
      hwRngModel: 'virtio',
    },
    async guestExec(command) {
      const answer = answers[command];
      if (!answer) throw new Error(`unexpected command ${command}`);
      return answer;
    },
    netnsExec: async () => ok(''),
    ssh: async () => ok(''),
    plugVolume: async () => 'itvol-hot',
    unplugVolume: async () => {},
    plugNic: async () => '52:54:00:77:02:10',
    unplugNic: async () => {},
    kernelBanners: () => 1,
    reboot: async () => {},
    powerCycle: async () => {},
    waitForAgent: async () => {},
    ...overrides,
  };
}

const clock = () => {
  let t = 0;
  return () => (t += 10);
};

describe('runBootTests', () => {
  it('runs only the profile tests, in catalogue order, each with its verdict and duration', async () => {
    const profile = parseBootProfile('tests: [check_kernel_boot_options, linux_check_no_swap]\n');
    const results = await runBootTests(
      fakeHarness({
        'cat /proc/swaps': { exitCode: 0, stdout: 'Filename Type Size Used Priority\n', stderr: '' },
        'cat /proc/cmdline': { exitCode: 0, stdout: 'ro console=ttyS0,115200 audit=0\n', stderr: '' },
      }),
      profile,
      { now: clock() },
    );
    assert.deepEqual(
      results.map((result) => [result.id, result.status]),
      [
        ['linux_check_no_swap', 'pass'],
        ['check_kernel_boot_options', 'fail'],
      ],
    );
    assert.equal(results[1].output, 'ro console=ttyS0,115200 audit=0');
    assert.ok(results.every((result) => result.duration_ms === 10));
    assert.equal(verdictExitCode(results), 1);
  });

  it('judges every test on its own: a broken harness call is an error for that test only', async () => {
    const profile = parseBootProfile('tests: [attach_and_detach_volume_to_vsi, linux_check_no_swap]\n');
    const results = await runBootTests(
      fakeHarness(
        { 'cat /proc/swaps': { exitCode: 0, stdout: 'Filename\n', stderr: '' } },
        {
          plugVolume: async () => {
            throw new Error('QMP blockdev-add: no such file');
          },
        },
      ),
      profile,
      { now: clock() },
    );
    assert.equal(results[0].status, 'error');
    assert.match(results[0].message, /blockdev-add/);
    assert.equal(results[1].status, 'pass');
  });

  it('ends a test that hangs past its timeout as an error naming the timeout', async () => {
    const profile = parseBootProfile(
      'tests: [linux_check_no_swap]\ntimeouts: { linux_check_no_swap: 0.2 }\n',
    );
    const hang = (_command: string, signal: AbortSignal) =>
      new Promise<CommandResult>((_, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    const [result] = await runBootTests(fakeHarness({}, { guestExec: hang }), profile, { now: clock() });
    assert.equal(result.status, 'error');
    assert.match(result.message, /timed out after 0.2 s/);
  });

  it('skips the virtio RNG test when the image does not ask for one, and a skip still exits 0', async () => {
    const profile = parseBootProfile('tests: [check_virtio_rng]\n');
    const harness = fakeHarness({});
    const results = await runBootTests(
      { ...harness, facts: { ...harness.facts, hwRngModel: undefined } },
      profile,
      {
        now: clock(),
      },
    );
    assert.equal(results[0].status, 'skip');
    assert.equal(verdictExitCode(results), 0);
  });

  it('marks every selected test as error with one reason when the guest never came up', () => {
    const results = errorResults(parseBootProfile(''), 'guest never came up');
    assert.ok(
      results.every((result) => result.status === 'error' && result.message === 'guest never came up'),
    );
    assert.equal(verdictExitCode(results), 1);
  });
});

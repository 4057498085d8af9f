// Runs the profile's booted tests one after another against a harness, each under its own timeout,
// and turns whatever a test throws into an `error` result with the reason.
import { BOOT_TESTS, TestTimedOut } from './catalogue.ts';
import { type BootProfile, testTimeoutMs } from './profile.ts';
import type { BootHarness, BootTestId, BootTestResult } from './types.ts';

/** Output kept per result: enough to see why, not a whole journal. */
const OUTPUT_LIMIT = 4000;

export function trimOutput(text: string | undefined): string {
  const trimmed = (text ?? '').trim();
  return trimmed.length > OUTPUT_LIMIT ? `…${trimmed.slice(-OUTPUT_LIMIT)}` : trimmed;
}

export interface SuiteOptions {
  /** Milliseconds on a monotonic clock, for durations. */
  now: () => number;
  /** Told when a test starts, for the progress view. */
  onTest?: (id: BootTestId, index: number, total: number) => void;
  /** Aborts the whole run (SIGINT); the running test ends as error. */
  signal?: AbortSignal;
}

/** Every selected test as `error` with one reason: the guest never came up, so nothing could be judged. */
export function errorResults(profile: BootProfile, message: string): BootTestResult[] {
  return profile.tests.map((id) => ({ id, status: 'error', message, duration_ms: 0, output: '' }));
}

export async function runBootTests(
  harness: BootHarness,
  profile: BootProfile,
  options: SuiteOptions,
): Promise<BootTestResult[]> {
  const results: BootTestResult[] = [];
  const selected = BOOT_TESTS.filter((test) => profile.tests.includes(test.id));
  for (const [index, test] of selected.entries()) {
    if (options.signal?.aborted) {
      results.push({ id: test.id, status: 'error', message: 'interrupted', duration_ms: 0, output: '' });
      continue;
    }
    options.onTest?.(test.id, index, selected.length);
    const timeoutMs = testTimeoutMs(profile, test.id);
    const signal = AbortSignal.any([
      AbortSignal.timeout(timeoutMs),
      ...(options.signal ? [options.signal] : []),
    ]);
    const started = options.now();
    let result: Omit<BootTestResult, 'duration_ms'>;
    try {
      const outcome = await test.run({ harness, profile, signal });
      const timedOut = signal.aborted && outcome.status !== 'pass';
      result = {
        id: test.id,
        status: outcome.status,
        message: timedOut ? `timed out after ${timeoutMs / 1000} s: ${outcome.message}` : outcome.message,
        output: trimOutput(outcome.output),
      };
    } catch (error) {
      const reason = (error as Error).message;
      const message =
        error instanceof TestTimedOut || signal.aborted
          ? `timed out after ${timeoutMs / 1000} s: ${reason}`
          : reason;
      result = { id: test.id, status: 'error', message, output: '' };
    }
    results.push({ ...result, duration_ms: Math.round(options.now() - started) });
  }
  return results;
}

/** Exit status of a run: 0 when every test passed or was skipped, 1 otherwise. */
export function verdictExitCode(results: readonly BootTestResult[]): 0 | 1 {
  return results.every((result) => result.status === 'pass' || result.status === 'skip') ? 0 : 1;
}

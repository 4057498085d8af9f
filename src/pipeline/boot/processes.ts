// Child processes of a boot run: short commands with captured output, and long-lived ones (qemu,
// dnsmasq) tracked by PID and ended SIGTERM-then-SIGKILL, so nothing outlives the run.
import { type ChildProcess, spawn } from 'node:child_process';
import type { CommandResult } from './types.ts';

const OUTPUT_CAP = 1024 * 1024;

/** Runs argv to completion (or until the signal aborts, which kills it) and captures its output. */
export function runCommand(
  argv: string[],
  options: { signal?: AbortSignal; input?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const input = options.input;
    const child = spawn(argv[0], argv.slice(1), {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      if (stdout.length < OUTPUT_CAP) stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < OUTPUT_CAP) stderr += chunk.toString('utf8');
    });
    const abort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', abort);
      reject(error);
    });
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', abort);
      resolve({ exitCode: code, stdout, stderr });
    });
    if (input !== undefined && child.stdin) {
      // A child that exits without reading its input closes the pipe: no error of ours.
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
  });
}

/** Runs argv and throws with its stderr when it exits non-zero: for setup steps that must work. */
export async function runChecked(argv: string[], signal?: AbortSignal): Promise<string> {
  const result = await runCommand(argv, signal ? { signal } : {});
  if (result.exitCode !== 0) {
    throw new Error(
      `${argv.join(' ')} exited ${result.exitCode}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

/** A long-lived child: its PID, a promise of its exit, and a stop that escalates to SIGKILL. */
export interface TrackedProcess {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
  stop(graceMs?: number): Promise<void>;
}

export function startTracked(
  name: string,
  argv: string[],
  options: { logFile?: number } = {},
): TrackedProcess {
  const out = options.logFile ?? 'ignore';
  const child: ChildProcess = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out] });
  if (child.pid === undefined) throw new Error(`${name} did not start (${argv[0]})`);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? (signal ? 128 : null));
    });
    child.on('error', () => {
      done = true;
      resolve(null);
    });
  });
  return {
    name,
    pid: child.pid,
    exited,
    hasExited: () => done,
    async stop(graceMs = 5000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
      if ((await Promise.race([exited, timer])) === 'late') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

// Runs the real command-line tools the end-to-end tests drive. A missing tool fails the test with the
// package to install; it never skips silently.
import { execFile, execFileSync } from 'node:child_process';

export function requireTool(command: string, debianPackage: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `'${command}' is not installed: apt-get install ${debianPackage} (scripts/test.sh installs it).`,
    );
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with extra environment; resolves with its exit code and output, never rejects on exit status. */
export function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error && typeof (error as { code?: unknown }).code !== 'number') {
          reject(error);
          return;
        }
        resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr });
      },
    );
    // Always close stdin: clients such as glance read image data from a non-TTY stdin. A tool that
    // exits without reading it makes the write fail with EPIPE, which is no error of the test's.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/** Like run, but throws with the tool's output when it exits non-zero. */
export async function runOk(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const result = await run(command, args, env);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stderr}\n${result.stdout}`);
  }
  return result.stdout;
}

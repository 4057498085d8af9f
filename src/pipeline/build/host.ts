// Running the host tools a build drives: each run's output goes to the stage log, a failure names the
// command and the log's tail, a missing tool names its Debian package, and an abort kills the child.
import { spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { BuildError } from './errors.ts';

/** The Debian package that provides each tool the build runs. */
export const TOOL_PACKAGES: Record<string, string> = {
  mmdebstrap: 'mmdebstrap',
  unshare: 'util-linux',
  tar: 'tar',
  mke2fs: 'e2fsprogs',
  'mkfs.vfat': 'dosfstools',
  mmd: 'mtools',
  mcopy: 'mtools',
  sfdisk: 'fdisk',
  'qemu-img': 'qemu-utils',
  gpgv: 'gpgv',
};

export interface RunOptions {
  /** The stage log; output is appended to it. */
  log: StageLog;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  /** Return stdout instead of logging it. */
  capture?: boolean;
}

/** One log file per stage, with the lines a failure message quotes. */
export class StageLog {
  readonly path: string;
  #stream: WriteStream;

  constructor(path: string) {
    this.path = path;
    this.#stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  }

  write(text: string | Buffer): void {
    this.#stream.write(text);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#stream.end(resolve));
  }

  /** The last `lines` lines written so far. */
  async tail(lines = 25): Promise<string> {
    // Writes reach the file in order: once an empty write is done, everything before it is in the file.
    if (!this.#stream.writableEnded)
      await new Promise<void>((resolve) => this.#stream.write('', () => resolve()));
    const handle = await open(this.path, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 16384);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer
        .toString('utf8')
        .split('\n')
        .slice(-lines - 1)
        .join('\n')
        .trimEnd();
    } finally {
      await handle.close();
    }
  }
}

/** Runs `command args`; throws BUILD_FAILED (with the log's tail) on a non-zero exit. */
export async function runTool(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<string> {
  const { log } = options;
  log.write(
    `\n$ ${[command, ...args].map((a) => (/^[\w./=:,@+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}\n`,
  );
  const chunks: Buffer[] = [];
  if (options.signal?.aborted)
    throw new BuildError('BUILD_FAILED', `${command} was not started: the build was cancelled.`);
  const code = await new Promise<number | string>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const abort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', abort);
      if (error.code === 'ENOENT') {
        const pkg = TOOL_PACKAGES[command];
        reject(
          new BuildError(
            'TOOL_MISSING',
            `${command} is not installed${pkg ? `: apt-get install ${pkg}` : ''}.`,
          ),
        );
      } else reject(error);
    });
    child.stdout?.on('data', (chunk: Buffer) => (options.capture ? chunks.push(chunk) : log.write(chunk)));
    child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.on('close', (status, signal) => {
      options.signal?.removeEventListener('abort', abort);
      resolve(status ?? signal ?? 'killed');
    });
  });
  if (options.signal?.aborted)
    throw new BuildError('BUILD_FAILED', `${command} was stopped: the build was cancelled.`);
  if (code !== 0) {
    throw new BuildError(
      'BUILD_FAILED',
      `${command} failed (${typeof code === 'number' ? `exit ${code}` : code}); the end of ${log.path}:\n${await log.tail()}`,
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Runs a shell script inside the image root, isolated from the host: new mount, PID, IPC and UTS
 * namespaces, so the proc, sys, dev and tmp mounts the script needs exist only in that namespace and
 * vanish with it (on success, failure or a kill), and no host process is visible. The script reads
 * from stdin and runs with a clean environment.
 */
export async function runInImageRoot(root: string, script: string, options: RunOptions): Promise<string> {
  const setup = [
    'set -eu',
    'R=$1',
    'mount --make-rprivate /',
    'mount -t proc -o nosuid,nodev,noexec proc "$R/proc"',
    'mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"',
    'mount -t tmpfs -o mode=0755,nosuid,size=16m dev "$R/dev"',
    'for n in null zero full random urandom tty; do : > "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done',
    'mkdir -p "$R/dev/pts" "$R/dev/shm"',
    'mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"',
    'ln -s pts/ptmx "$R/dev/ptmx"',
    'mount -t tmpfs -o nosuid,nodev tmpfs "$R/dev/shm"',
    'mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs "$R/run"',
    'mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$R/tmp"',
    'exec chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/sh -eu -s',
  ].join('\n');
  return runTool(
    'unshare',
    ['--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--', 'sh', '-c', setup, 'sh', root],
    { ...options, input: script },
  );
}

// Several `imagetrust serve` processes behind Debian's haproxy with the repository's deploy/haproxy.cfg,
// as the load-balanced end-to-end test and the scale-out benchmark run them: each process a real child
// started as the systemd unit starts it (one shared configuration, a data directory of its own), its
// JSON log lines kept for the caller to read.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface ApiProcess {
  name: string;
  child: ChildProcess;
  url: string;
  port: number;
  /** Every log line so far, parsed (a line that is not JSON is kept as `{msg}`). */
  log: Record<string, unknown>[];
}

/** Starts `imagetrust serve` on a free port; resolves once it says where it serves. */
export function startApiProcess(
  name: string,
  config: string,
  dataDir: string,
  env: Record<string, string>,
): Promise<ApiProcess> {
  const child = spawn(path.join(ROOT, 'bin/imagetrust'), ['serve'], {
    env: {
      ...process.env,
      ...env,
      IMAGETRUST_CONFIG: config,
      IMAGETRUST_DATA_DIR: dataDir,
      IMAGETRUST_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${name} exited ${code} before serving: ${JSON.stringify(log)}`)),
    );
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line);
        } catch {
          entry = { msg: line };
        }
        log.push(entry);
        const match = /serving on (\S+)/.exec(String(entry.msg));
        if (match) resolve({ name, child, url: match[1], port: Number(new URL(match[1]).port), log });
      });
    }
  });
}

/**
 * Starts haproxy in the foreground on `bind` (host:port) in front of `backends`, and resolves once the
 * balancer answers /readyz twice in a row (both checks of a process passed).
 */
export async function startBalancer(bind: string, backends: ApiProcess[]): Promise<ChildProcess> {
  const haproxy = spawn('haproxy', ['-db', '-f', path.join(ROOT, 'deploy/haproxy.cfg')], {
    env: {
      ...process.env,
      IMAGETRUST_LB_BIND: bind,
      IMAGETRUST_API1: `127.0.0.1:${backends[0].port}`,
      IMAGETRUST_API2: `127.0.0.1:${backends[1].port}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  for (let up = 0, i = 0; up < 2 && i < 600; i++) {
    const ready = await fetch(`http://${bind}/readyz`).catch(() => null);
    up = ready?.status === 200 ? up + 1 : 0;
    if (up < 2) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return haproxy;
}

/** Stops the children with SIGTERM and waits for each to exit. */
export async function stopAll(children: (ChildProcess | undefined)[]): Promise<void> {
  await Promise.all(
    children.map((child) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return null;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    }),
  );
}

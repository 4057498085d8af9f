// What both benchmarks share: environment knobs, logging, statistics, and process bookkeeping so that
// everything a benchmark starts is recorded and stopped by PID, also on failure or Ctrl-C.
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, not '${raw}'`);
  return value;
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const round = (value: number, digits = 3) => Number(value.toFixed(digits));

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: everything started is recorded and stopped by PID.

export const livePids = new Set<number>();
export const stoppingPids = new Set<number>();

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; treat it as gone.
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z';
  } catch {
    return false;
  }
}

/** Direct and indirect children of `pid`, from /proc (used for Glance's forked worker). */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = (await readFile(`/proc/${name}/stat`, 'utf8')).split(') ')[1].split(' ');
      const ppid = Number(fields[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const result: number[] = [];
  const walk = (p: number) => {
    for (const child of parents.get(p) ?? []) {
      result.push(child);
      walk(child);
    }
  };
  walk(pid);
  return result;
}

export async function stopPid(pid: number, label: string): Promise<void> {
  stoppingPids.add(pid);
  const children = await descendants(pid);
  for (const p of [pid, ...children]) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 100 && [pid, ...children].some(isAlive); i++) await sleep(100);
  for (const p of [pid, ...children].filter(isAlive)) {
    log(`${label}: pid ${p} ignored SIGTERM, sending SIGKILL`);
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  livePids.delete(pid);
}

export function killAllNow(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping started processes`);
    killAllNow();
    process.exit(130);
  });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** The result table every benchmark prints: metric, value (right-aligned), target, result. */
export function metricTable(rows: string[][]): string[] {
  const header = ['metric', 'value', 'target', 'result'];
  // The result column is as wide as its values (PASS, MISS, empty), not its header.
  const widths = [0, 1, 2, 3].map((c) =>
    Math.max(...rows.map((r) => r[c].length), c === 3 ? 0 : header[c].length),
  );
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 1 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Runs a benchmark's main: on failure every child is stopped and the exit status says so. */
export async function runBenchmark(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    killAllNow();
    log(`benchmark failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  }
}

/** Peak resident memory of a process since its counter was last reset (VmHWM), in bytes. */
export function peakRss(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/**
 * CPU seconds (user + system, every thread) the processes have used so far; one that ended meanwhile
 * counts nothing. Take it before and after the work and subtract.
 */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      // utime and stime, fields 14 and 15 of stat(5), in clock ticks (USER_HZ: 100 on Linux).
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // ended
    }
  }
  return ticks / 100;
}

/**
 * CPU seconds every core of the machine has spent busy since boot: user, nice, system, irq and softirq
 * of /proc/stat's first line (guest time is inside user). Taken before and after a piece of work on a quiet
 * machine, the difference is what the work cost everything involved (client, service, kernel), and that
 * divided by the cores is the least wall time the work could take here, however well it overlapped.
 */
export function machineBusySeconds(): number {
  const total = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const [user, nice, system, , , irq, softirq] = total.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq) / 100;
}

/** Sets a process's peak back to its current RSS, so the next figure is this run's (clear_refs 5). */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/**
 * PUTs `blocks` copies of `block` as one image upload, with back-pressure; resolves with the seconds it
 * took, and rejects unless the answer is 204.
 */
export function uploadRepeated(
  url: string,
  token: string,
  id: string,
  block: Buffer,
  blocks: number,
  /** Where the images API lives under `url` (real Glance serves it at /v2/images). */
  imagesPath = '/image/v2/images',
): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL(`${url}${imagesPath}/${id}/file`), {
      method: 'PUT',
      headers: {
        'x-auth-token': token,
        'content-type': 'application/octet-stream',
        'content-length': block.length * blocks,
      },
    });
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        if (body.length < 2000) body += text;
      });
      response.on('end', () =>
        response.statusCode === 204
          ? resolve((performance.now() - start) / 1000)
          : reject(new Error(`upload answered ${response.statusCode}: ${body.slice(0, 500)}`)),
      );
    });
    request.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < blocks) {
        sent++;
        if (!request.write(block)) return void request.once('drain', pump);
      }
      request.end();
    };
    pump();
  });
}

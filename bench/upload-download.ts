// Upload/download benchmark for imagetrust (run with `npm run bench`). It is a report, not a test:
// it always exits 0 unless the benchmark itself cannot run, and marks missed targets with "MISS".
//
// In one run it:
//  1. makes bench/.work/random-<N>MiB.bin (N = $BENCH_SIZE_MIB, default 1024) from /dev/urandom,
//     reusing it when present with the right size, and warms the page cache (`cat FILE > /dev/null`);
//  2. times `openssl dgst -md5` and `openssl dgst -sha512` on it: their sum is the "hardware limit"
//     of a server that must compute both digests of the upload;
//  3. starts `bin/imagetrust serve` on a free port, gets a Keystone token, and $BENCH_REPS times
//     (default 3): creates an image, uploads the file with `curl -T` (timed), checks checksum and
//     os_hash_value against openssl's digests, downloads it whole and from an offset (Range) three
//     times each, in turn, with curl and with a client reading 1 MiB at a time (timed), deletes it;
//     then reads the server's peak RSS (VmHWM in /proc/<pid>/status); `openssl dgst -md5` is timed
//     again before each upload, as the ratio's floor; then signed uploads, each after an unsigned one,
//     and the boot gate (`imagetrust fetch`, with a token as Nova calls it; what a password login adds
//     is timed apart) against `openssl dgst -sha256`;
//  4. starts the real Glance 25.1 (noauth, file store) with /work/shared/peers/run_glance_noauth.sh,
//     installing the Debian packages if missing, and times the same uploads and downloads;
//     Every peak RSS (VmHWM) is the peak of the work measured: it is reset once the server is up;
//  5. uploads $BENCH_RSS_GIB GiB (default 4; 0 skips; the random file repeated, streamed to
//     `curl -T -`, i.e. chunked) to a fresh imagetrust and reports its VmHWM, to show memory stays flat;
//  6. uploads 10 copies of the 1 GiB file and 50 of a 20 MiB file at once, each level to a fresh server,
//     and reports its peak RSS (VmHWM) and the aggregate throughput ($BENCH_CONCURRENCY="10x1024,50x20"
//     changes the levels: COUNTxMIB);
//  7. times the same downloads (curl and the 1 MiB client) from a server doing almost nothing (Python's
//     os.sendfile, no HTTP library), a reference for the client's and the loopback's own cost;
//  8. times the same curl upload into a Python server that discards the bytes, and the hashes with
//     `openssl speed`: with dd's page-cache write, the CPU no server can avoid here, over every core, is
//     the least time any server could take; a ratio target that this floor already misses is BEYOND reach;
//  9. prints a table with the targets, then the results as JSON, also kept in bench/results/ with the
//     machine's load before and after, to compare runs over time.
// Every process it starts is stopped by PID, also on failure or Ctrl-C.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { availableParallelism, release, totalmem } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  descendants,
  freePort,
  livePids,
  log,
  machineBusySeconds,
  median,
  metricTable,
  positiveInt,
  resetPeakRss,
  round,
  runBenchmark,
  stopPid,
  stoppingPids,
} from './processes.ts';

const execFileP = promisify(execFile);

const ROOT = path.resolve(import.meta.dirname, '..');
const WORK = path.join(ROOT, 'bench', '.work');
/** Every run's JSON, to compare runs over time (commit the ones a change is judged by). */
const RESULTS = path.join(ROOT, 'bench', 'results');
const PEERS = process.env.BENCH_PEERS_DIR ?? '/work/shared/peers';
const SIZE_MIB = positiveInt('BENCH_SIZE_MIB', 1024);
const REPS = positiveInt('BENCH_REPS', 3);
const RSS_GIB = process.env.BENCH_RSS_GIB === '0' ? 0 : positiveInt('BENCH_RSS_GIB', 4);
const SKIP_GLANCE = process.env.BENCH_SKIP_GLANCE === '1';
const CONCURRENCY_LEVELS = (process.env.BENCH_CONCURRENCY ?? '10x1024,50x20').split(',').map((level) => {
  const [count, mib] = level.split('x').map(Number);
  if (!(count > 0) || !(mib > 0)) throw new Error(`BENCH_CONCURRENCY: '${level}' is not COUNTxMIB`);
  return { count, mib };
});
const SIZE = SIZE_MIB * 1024 * 1024;
const GIB = 1024 ** 3;
const ADMIN_PASSWORD = 'bench-admin-password';

const TARGETS = {
  signedVsUnsignedMax: 1.1,
  gateReverifyVsOpensslSha256Max: 1.3,
  /** First fetch against max(curl download, openssl dgst -sha256) of the same file. */
  gateFirstFetchVsLimitMax: 1.3,
  /** Against `openssl dgst -md5` alone: one md5 stream cannot be split, so it is the serial floor. */
  uploadVsOpensslMd5Max: 1.25,
  uploadVsGlanceMax: 0.85,
  /** Download throughput against real Glance's. */
  downloadVsGlanceMin: 1.2,
  /** A Range download's throughput against the whole file's. */
  rangeVsWholeMin: 0.9,
  peakRssMBMax: 150,
  /** Peak RSS with 10 concurrent 1 GiB uploads. */
  peakRssAt10UploadsMBMax: 200,
  peakRssAt50UploadsMBMax: 200,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * Runs a command with stdout discarded (or captured) and returns its wall time in seconds, and the CPU
 * seconds the whole machine was busy meanwhile (`busy`: the command, the server it talks to, the kernel).
 */
async function timed(
  command: string,
  args: string[],
  options: { capture?: boolean; stdin?: (child: ChildProcess) => Promise<void> } = {},
): Promise<{ seconds: number; stdout: string; busy: number }> {
  const busyBefore = machineBusySeconds();
  const started = performance.now();
  const child = spawn(command, args, {
    stdio: [options.stdin ? 'pipe' : 'ignore', options.capture ? 'pipe' : 'ignore', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = once(child, 'close');
  let feedError: unknown = null;
  const feeding = options.stdin?.(child).catch((error) => {
    feedError = error;
  });
  const [code] = (await exited) as [number | null];
  await feeding;
  const seconds = (performance.now() - started) / 1000;
  const busy = machineBusySeconds() - busyBefore;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
  if (feedError) throw feedError;
  return { seconds, stdout, busy };
}

async function waitFor(url: string, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function json(response: Response, expected: number, what: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  if (response.status !== expected) {
    throw new Error(`${what}: expected HTTP ${expected}, got ${response.status}: ${text.slice(0, 300)}`);
  }
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  if (!line) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(line.split(/\s+/)[1]) / 1024; // kB → MiB
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User and system CPU seconds used so far by `pid` and its descendants (all threads). */
async function cpuSeconds(pid: number): Promise<{ user: number; sys: number }> {
  let user = 0;
  let sys = 0;
  for (const p of [pid, ...(await descendants(pid))]) {
    try {
      const fields = (await readFile(`/proc/${p}/stat`, 'utf8')).split(') ')[1].split(' ');
      user += Number(fields[11]) / CLOCK_TICKS; // utime (field 14 of the full line)
      sys += Number(fields[12]) / CLOCK_TICKS; // stime
    } catch {
      // gone
    }
  }
  return { user, sys };
}

// ---------------------------------------------------------------------------------------------
// 1. Data file and the openssl baseline

async function prepareFile(): Promise<string> {
  await mkdir(WORK, { recursive: true });
  const file = path.join(WORK, `random-${SIZE_MIB}MiB.bin`);
  const existing = await stat(file).catch(() => null);
  if (existing?.size === SIZE) {
    log(`reusing ${file}`);
  } else {
    log(`writing ${SIZE_MIB} MiB of random data to ${file}`);
    await pipeline(createReadStream('/dev/urandom', { end: SIZE - 1 }), createWriteStream(file));
  }
  return file;
}

/**
 * dd of the file into a new scratch file, deleted at once; wall and machine CPU. On this VM a page the
 * guest has left alone for a while is slow to touch again (the hypervisor takes free memory back), so a
 * write costs 0.3 s per GiB into pages freed a moment ago and up to 2.7 s into pages left alone, and which
 * a server gets depends on what ran before it. Run just before every timed write (each server's uploads,
 * each first fetch of the gate), it measures that cost at that moment and hands every timed write the same
 * just-freed pages, whichever server's turn it is.
 */
async function pageCacheWrite(file: string): Promise<{ seconds: number; busy: number }> {
  const target = path.join(WORK, 'dd-write-test.bin');
  const { seconds, busy } = await timed('dd', [`if=${file}`, `of=${target}`, 'bs=1M', 'status=none']);
  await rm(target, { force: true });
  return { seconds, busy };
}

async function opensslDigest(algorithm: 'md5' | 'sha512', file: string) {
  const { seconds, stdout } = await timed('openssl', ['dgst', `-${algorithm}`, file], { capture: true });
  const hex = stdout.trim().split('= ').pop() ?? '';
  if (!/^[0-9a-f]+$/.test(hex)) throw new Error(`cannot parse openssl output: ${stdout}`);
  return { seconds, hex };
}

// ---------------------------------------------------------------------------------------------
// 2. imagetrust

interface Server {
  url: string;
  pid: number;
  token: string;
}

async function startImagetrust(dataDir: string): Promise<Server> {
  await rm(dataDir, { recursive: true, force: true });
  const port = await freePort();
  const child = spawn(
    path.join(ROOT, 'bin', 'imagetrust'),
    ['serve', '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn'],
    {
      cwd: ROOT,
      env: { ...process.env, IMAGETRUST_ADMIN_PASSWORD: ADMIN_PASSWORD },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  if (child.pid === undefined) throw new Error('could not start bin/imagetrust');
  const pid = child.pid;
  livePids.add(pid);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  child.once('exit', (code, signal) => {
    if (!stoppingPids.has(pid)) log(`imagetrust exited early (${code ?? signal}): ${stderr.trim()}`);
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/image/versions`, 'imagetrust');
  // bin/imagetrust is a sh script that execs node, so this pid is the server itself.
  const exe = path.basename(await readlink(`/proc/${pid}/exe`));
  if (exe !== 'node') log(`warning: server pid ${pid} runs '${exe}', not node; VmHWM may be wrong`);
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'admin', domain: { name: 'Default' }, password: ADMIN_PASSWORD } },
        },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    }),
  });
  await json(response, 201, 'POST /identity/v3/auth/tokens');
  const token = response.headers.get('x-subject-token');
  if (!token) throw new Error('no X-Subject-Token in the token response');
  return { url, pid, token };
}

interface Api {
  images: string; // e.g. http://h:p/image/v2/images
  headers: Record<string, string>;
  curlHeaders: string[];
}

async function createImage(api: Api, name: string): Promise<string> {
  const response = await fetch(api.images, {
    method: 'POST',
    headers: { ...api.headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare' }),
  });
  const image = await json(response, 201, `POST ${api.images}`);
  return String(image.id);
}

async function getImage(api: Api, id: string): Promise<Record<string, unknown>> {
  return json(await fetch(`${api.images}/${id}`, { headers: api.headers }), 200, `GET image ${id}`);
}

async function deleteImage(api: Api, id: string): Promise<void> {
  const response = await fetch(`${api.images}/${id}`, { method: 'DELETE', headers: api.headers });
  await response.arrayBuffer();
}

/** The timed command: `curl -T FILE -X PUT .../file` (or `-T -` with a stdin feeder). */
async function curlUpload(api: Api, id: string, source: string, stdin?: (c: ChildProcess) => Promise<void>) {
  const args = [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-T',
    source,
    '-H',
    'Content-Type: application/octet-stream',
    ...api.curlHeaders,
    '-X',
    'PUT',
    `${api.images}/${id}/file`,
  ];
  const { seconds, stdout, busy } = await timed('curl', args, { capture: true, stdin });
  if (stdout.trim() !== '204') throw new Error(`upload of ${id}: HTTP ${stdout.trim()} instead of 204`);
  return { seconds, busy };
}

/** Where the timed Range download starts: past the first MiB and not on a block boundary. */
const RANGE_START = (1 << 20) + 1;
/** Whole and Range downloads timed after each upload, in turn. */
const DOWNLOAD_PAIRS = 3;

/** `curl -o /dev/null` of the data, or of `-r FROM-` (through the end); checks the byte count. */
async function curlDownload(api: Api, id: string, from?: number): Promise<number> {
  const range = from === undefined ? [] : ['-r', `${from}-`];
  const args = ['-sS', '-f', '-o', '/dev/null', '-w', '%{size_download}', ...range, ...api.curlHeaders];
  const { seconds, stdout } = await timed('curl', [...args, `${api.images}/${id}/file`], { capture: true });
  const expected = SIZE - (from ?? 0);
  if (Number(stdout.trim()) !== expected) {
    throw new Error(`download of ${id}: ${stdout.trim()} bytes instead of ${expected}`);
  }
  return seconds;
}

/** What the wide client reads per receive: 1 MiB, where curl reads at most 100 KiB. */
const WIDE_READ = 1 << 20;

/**
 * The same GET as {@link curlDownload}, from a client that costs almost nothing: one connection, the
 * response read into one reused 1 MiB buffer (node:net's `onread`), the body only counted. curl spends
 * 0.4 CPU-s per GiB receiving in 100 KiB reads, about as long as a fast server takes to send, so its
 * time measures curl; this one measures the server. Checks the status, Content-Length and byte count.
 */
async function wideDownload(api: Api, id: string, from?: number): Promise<number> {
  const url = new URL(`${api.images}/${id}/file`);
  const expected = SIZE - (from ?? 0);
  const headers = { ...api.headers, ...(from === undefined ? {} : { Range: `bytes=${from}-` }) };
  const request = [
    `GET ${url.pathname} HTTP/1.1`,
    `Host: ${url.host}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  const buffer = Buffer.allocUnsafe(WIDE_READ);
  const started = performance.now();
  const { head, body } = await new Promise<{ head: string; body: number }>((resolve, reject) => {
    let head = '';
    let headDone = false;
    let body = 0;
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      onread: {
        buffer,
        callback: (length: number, chunk: Uint8Array) => {
          if (headDone) {
            body += length;
            return true;
          }
          // Headers are ASCII: latin1 keeps one character per byte, so the body's offset is exact.
          head += Buffer.from(chunk.subarray(0, length)).toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          if (end === -1) return true;
          headDone = true;
          body = head.length - (end + 4);
          head = head.slice(0, end);
          return true;
        },
      },
    });
    socket.on('connect', () => socket.write(request));
    socket.on('error', reject);
    socket.on('end', () => resolve({ head, body }));
  });
  const seconds = (performance.now() - started) / 1000;
  const status = head.slice(0, head.indexOf('\r\n'));
  const wantStatus = from === undefined ? ' 200 ' : ' 206 ';
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (!status.includes(wantStatus) || Number(length) !== expected || body !== expected) {
    throw new Error(
      `wide download of ${id}: '${status}', Content-Length ${length}, ${body} body bytes; expected ${expected}`,
    );
  }
  return seconds;
}

interface UploadRun {
  uploadSeconds: number[];
  /** CPU seconds the server process tree used during each upload. */
  uploadCpu: { user: number; sys: number }[];
  /** CPU seconds the whole machine (curl, server, kernel) was busy during each upload. */
  uploadBusy: number[];
  /** `openssl dgst -md5` of the file, timed just before each upload: the floor under the same conditions. */
  md5Seconds: number[];
  /** {@link pageCacheWrite} just before each upload (after the md5): wall seconds and machine CPU. */
  ddSeconds: number[];
  ddBusy: number[];
  downloadSeconds: number[];
  /** `Range: bytes=RANGE_START-` downloads, as GiB/s (their size differs from the whole file's). */
  rangeGiBps: number[];
  /** The same downloads from the wide client ({@link wideDownload}). */
  wideDownloadSeconds: number[];
  wideRangeGiBps: number[];
  digestsMatch: boolean;
}

async function uploadRuns(
  api: Api,
  serverPid: number,
  label: string,
  file: string,
  expected: { md5: string; sha512: string },
  download: boolean,
): Promise<UploadRun> {
  const run: UploadRun = {
    uploadSeconds: [],
    uploadCpu: [],
    uploadBusy: [],
    md5Seconds: [],
    ddSeconds: [],
    ddBusy: [],
    downloadSeconds: [],
    rangeGiBps: [],
    wideDownloadSeconds: [],
    wideRangeGiBps: [],
    digestsMatch: true,
  };
  for (let rep = 1; rep <= REPS; rep++) {
    // The reference is timed next to each upload: on a shared VM the same command's time drifts by a
    // fifth over a run, so one openssl figure from the start would decide the ratio by itself.
    const md5 = await opensslDigest('md5', file);
    if (md5.hex !== expected.md5) throw new Error(`openssl md5 of ${file} changed: ${md5.hex}`);
    run.md5Seconds.push(md5.seconds);
    const dd = await pageCacheWrite(file);
    run.ddSeconds.push(dd.seconds);
    run.ddBusy.push(dd.busy);
    const id = await createImage(api, `bench-${rep}`);
    try {
      const cpuBefore = await cpuSeconds(serverPid);
      const { seconds, busy } = await curlUpload(api, id, file);
      const cpuAfter = await cpuSeconds(serverPid);
      const cpu = { user: cpuAfter.user - cpuBefore.user, sys: cpuAfter.sys - cpuBefore.sys };
      run.uploadSeconds.push(seconds);
      run.uploadCpu.push(cpu);
      run.uploadBusy.push(busy);
      const image = await getImage(api, id);
      const ok =
        image.status === 'active' &&
        image.size === SIZE &&
        image.checksum === expected.md5 &&
        image.os_hash_value === expected.sha512;
      if (!ok) {
        run.digestsMatch = false;
        log(
          `${label}: image ${id} mismatch: status=${image.status} size=${image.size} ` +
            `checksum=${image.checksum} os_hash_value=${String(image.os_hash_value).slice(0, 16)}…`,
        );
      }
      let line =
        `${label} rep ${rep}: openssl md5 ${md5.seconds.toFixed(2)} s, dd ${dd.seconds.toFixed(2)} s, upload ${seconds.toFixed(2)} s (server CPU user ${cpu.user.toFixed(2)} s, ` +
        `sys ${cpu.sys.toFixed(2)} s; machine ${busy.toFixed(2)} CPU-s), digests ${ok ? 'ok' : 'MISMATCH'}`;
      if (download) {
        // Whole and Range downloads in turn, DOWNLOAD_PAIRS of each: a download takes under half a second,
        // so one pair per upload left the medians (and their ratio) to whatever else the VM was doing.
        // Each client in turn too, so a slow moment of the VM falls on neither alone.
        const whole: number[] = [];
        const ranged: number[] = [];
        const wide: number[] = [];
        const wideRanged: number[] = [];
        for (let pair = 0; pair < DOWNLOAD_PAIRS; pair++) {
          whole.push(await curlDownload(api, id));
          wide.push(await wideDownload(api, id));
          ranged.push(await curlDownload(api, id, RANGE_START));
          wideRanged.push(await wideDownload(api, id, RANGE_START));
        }
        const rate = (seconds: number) => (SIZE - RANGE_START) / GIB / seconds;
        run.downloadSeconds.push(...whole);
        run.rangeGiBps.push(...ranged.map(rate));
        run.wideDownloadSeconds.push(...wide);
        run.wideRangeGiBps.push(...wideRanged.map(rate));
        const list = (xs: number[]) => `${xs.map((d) => d.toFixed(2)).join(' ')} s`;
        line +=
          `, curl downloads ${list(whole)} (${(SIZE / GIB / median(whole)).toFixed(2)} GiB/s), ranges ${list(ranged)}` +
          `; wide ${list(wide)} (${(SIZE / GIB / median(wide)).toFixed(2)} GiB/s), ranges ${list(wideRanged)}`;
      }
      log(line);
    } finally {
      await deleteImage(api, id);
    }
  }
  return run;
}

function imagetrustApi(server: Server): Api {
  return {
    images: `${server.url}/image/v2/images`,
    headers: { 'X-Auth-Token': server.token },
    curlHeaders: ['-H', `X-Auth-Token: ${server.token}`],
  };
}

async function benchImagetrust(file: string, expected: { md5: string; sha512: string }) {
  const server = await startImagetrust(path.join(WORK, 'data'));
  try {
    log(`imagetrust up at ${server.url}, pid ${server.pid}`);
    const idleRssMiB = procStatus(server.pid, 'VmRSS');
    resetPeakRss(server.pid);
    const run = await uploadRuns(imagetrustApi(server), server.pid, 'imagetrust', file, expected, true);
    const peakRssMiB = procStatus(server.pid, 'VmHWM');
    const signatures = await benchSignatures(server, file);
    return { ...run, idleRssMiB, peakRssMiB, signatures };
  } finally {
    await stopPid(server.pid, 'imagetrust');
  }
}

/**
 * Signed uploads (RSA-PSS, SHA-256, as the OpenStack guide signs) against the same server, then the boot
 * gate: `imagetrust fetch` once (download + verify), and again REPS times from the cache, which verifies
 * the cached copy in full; compared with `openssl dgst -sha256` over the same file.
 */
async function benchSignatures(server: Server, file: string) {
  const key = path.join(WORK, 'signing.key');
  const cert = path.join(WORK, 'signing.pem');
  const signature = path.join(WORK, 'image.sig');
  await execFileP('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=bench signer',
  ]);
  await execFileP('openssl', [
    'dgst',
    '-sha256',
    '-sign',
    key,
    '-sigopt',
    'rsa_padding_mode:pss',
    '-out',
    signature,
    file,
  ]);
  const stored = await json(
    await fetch(`${server.url}/key-manager/v1/secrets/`, {
      method: 'POST',
      headers: { 'X-Auth-Token': server.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: 'bench signing certificate',
        secret_type: 'certificate',
        payload: (await readFile(cert)).toString('base64'),
        payload_content_type: 'application/octet-stream',
        payload_content_encoding: 'base64',
      }),
    }),
    201,
    'POST /key-manager/v1/secrets',
  );
  const properties = {
    img_signature: (await readFile(signature)).toString('base64'),
    img_signature_hash_method: 'SHA-256',
    img_signature_key_type: 'RSA-PSS',
    img_signature_certificate_uuid: String(stored.secret_ref).split('/').at(-1),
  };
  const api = imagetrustApi(server);
  const signedSeconds: number[] = [];
  const signedBusy: number[] = [];
  // Each signed upload follows an unsigned one of the same file, so each pair meets the same machine.
  const pairedUnsignedSeconds: number[] = [];
  const pairedUnsignedBusy: number[] = [];
  let keptId = '';
  const pairDdSeconds: number[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    pairDdSeconds.push((await pageCacheWrite(file)).seconds);
    const unsignedId = await createImage(api, `bench-unsigned-${rep}`);
    try {
      const unsigned = await curlUpload(api, unsignedId, file);
      pairedUnsignedSeconds.push(unsigned.seconds);
      pairedUnsignedBusy.push(unsigned.busy);
    } finally {
      await deleteImage(api, unsignedId);
    }
    const created = await json(
      await fetch(api.images, {
        method: 'POST',
        headers: { ...api.headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          name: `bench-signed-${rep}`,
          disk_format: 'raw',
          container_format: 'bare',
          ...properties,
        }),
      }),
      201,
      'POST signed image',
    );
    const id = String(created.id);
    const { seconds, busy } = await curlUpload(api, id, file);
    const image = await getImage(api, id);
    if (image.status !== 'active') throw new Error(`signed image ${id} is ${image.status} after upload`);
    signedSeconds.push(seconds);
    signedBusy.push(busy);
    log(
      `imagetrust signed rep ${rep}: dd ${pairDdSeconds.at(-1)!.toFixed(2)} s, unsigned upload ${pairedUnsignedSeconds.at(-1)!.toFixed(2)} s, ` +
        `then signed ${seconds.toFixed(2)} s (machine ${busy.toFixed(2)} CPU-s)`,
    );
    if (rep === REPS) keptId = id;
    else await deleteImage(api, id);
  }

  // The gate runs as Nova's image download does: with the user's token (OS_TOKEN), not a password.
  // A password login costs a deliberately slow scrypt on the server, timed separately below.
  const { OS_PASSWORD: _password, OS_CLOUD: _cloud, ...inherited } = process.env;
  const env = { ...inherited, OS_AUTH_URL: `${server.url}/identity/v3`, OS_TOKEN: server.token };
  const passwordEnv = {
    ...inherited,
    OS_AUTH_URL: `${server.url}/identity/v3`,
    OS_USERNAME: 'admin',
    OS_PASSWORD: ADMIN_PASSWORD,
    OS_PROJECT_NAME: 'admin',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
  };
  const cache = path.join(WORK, 'gate-cache');
  await rm(cache, { recursive: true, force: true });
  const gate = async (credentials: NodeJS.ProcessEnv = env) => {
    const busyBefore = machineBusySeconds();
    const started = performance.now();
    const { stdout } = await execFileP(
      path.join(ROOT, 'bin', 'imagetrust'),
      ['fetch', keptId, '--cache-dir', cache, '--format', 'json'],
      { env: credentials },
    );
    return {
      seconds: (performance.now() - started) / 1000,
      busy: machineBusySeconds() - busyBefore,
      result: JSON.parse(stdout) as { fromCache: boolean },
    };
  };
  // The first fetch REPS times from an empty cache, the median kept: one run is too noisy to judge by.
  const firsts: number[] = [];
  const firstsBusy: number[] = [];
  const firstDdSeconds: number[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    await rm(cache, { recursive: true, force: true });
    firstDdSeconds.push((await pageCacheWrite(file)).seconds);
    const fetched = await gate();
    if (fetched.result.fromCache) throw new Error('a first fetch came from the cache');
    firsts.push(fetched.seconds);
    firstsBusy.push(fetched.busy);
    log(
      `gate first fetch rep ${rep} (download + verify + cache), after dd ${firstDdSeconds.at(-1)!.toFixed(2)} s: ${fetched.seconds.toFixed(2)} s (machine ${fetched.busy.toFixed(2)} CPU-s)`,
    );
  }
  const first = { seconds: median(firsts) };
  // What the gate cannot go below: the same bytes downloaded into a new file (the page cache's writes).
  const toFile = path.join(WORK, 'curl-to-file.bin');
  await pageCacheWrite(file);
  const curlToFile = (
    await timed('curl', ['-sS', '-f', '-o', toFile, ...api.curlHeaders, `${api.images}/${keptId}/file`])
  ).seconds;
  await rm(toFile, { force: true });
  log(`curl download of the same image into a new file: ${curlToFile.toFixed(2)} s`);
  const reverify: number[] = [];
  const sha256: number[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    const again = await gate();
    if (!again.result.fromCache) throw new Error('the second fetch did not come from the cache');
    reverify.push(again.seconds);
    sha256.push((await timed('openssl', ['dgst', '-sha256', path.join(cache, keptId)])).seconds);
    log(
      `gate re-verify of the cached copy rep ${rep}: ${again.seconds.toFixed(2)} s (openssl dgst -sha256 ${sha256.at(-1)!.toFixed(2)} s)`,
    );
  }
  // The same re-verify with a password login instead of the token, in turn with token runs.
  const withPassword: number[] = [];
  const withToken: number[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    withPassword.push((await gate(passwordEnv)).seconds);
    withToken.push((await gate()).seconds);
  }
  const passwordLoginSeconds = median(withPassword) - median(withToken);
  log(`a password login adds ${passwordLoginSeconds.toFixed(2)} s to a gate call`);
  // A command that loads the CLI and does nothing: what every gate call pays before its first request.
  const startup = performance.now();
  await execFileP(path.join(ROOT, 'bin', 'imagetrust'), ['--version'], { env });
  const startupSeconds = (performance.now() - startup) / 1000;
  return {
    signedSeconds,
    signedBusy,
    pairedUnsignedSeconds,
    pairedUnsignedBusy,
    firstFetchSeconds: first.seconds,
    firstFetchBusy: median(firstsBusy),
    pairDdSeconds,
    firstDdSeconds,
    curlToFileSeconds: curlToFile,
    reverifySeconds: reverify,
    opensslSha256Seconds: sha256,
    cliStartupSeconds: startupSeconds,
    passwordLoginSeconds,
  };
}

/** Streams the random file `gib` GiB-times (rounded to whole copies) to a fresh server, chunked. */
async function benchBigUpload(file: string, gib: number) {
  const copies = Math.max(1, Math.round((gib * GIB) / SIZE));
  const total = copies * SIZE;
  const server = await startImagetrust(path.join(WORK, 'data-rss'));
  try {
    const api = imagetrustApi(server);
    const baselineMiB = procStatus(server.pid, 'VmRSS');
    resetPeakRss(server.pid);
    const id = await createImage(api, 'bench-rss');
    let maxSampleMiB = 0;
    const sampler = setInterval(() => {
      maxSampleMiB = Math.max(maxSampleMiB, procStatus(server.pid, 'VmRSS'));
    }, 250);
    let seconds: number;
    try {
      ({ seconds } = await curlUpload(api, id, '-', async (child) => {
        for (let i = 0; i < copies; i++) {
          await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), child.stdin!, { end: false });
        }
        child.stdin!.end();
      }));
    } finally {
      clearInterval(sampler);
    }
    const image = await getImage(api, id);
    const peakRssMiB = procStatus(server.pid, 'VmHWM');
    log(
      `rss: ${(total / GIB).toFixed(2)} GiB chunked upload in ${seconds.toFixed(2)} s, ` +
        `status=${image.status} size=${image.size}, RSS idle ${baselineMiB.toFixed(0)} MiB, ` +
        `max sampled ${maxSampleMiB.toFixed(0)} MiB, VmHWM ${peakRssMiB.toFixed(0)} MiB`,
    );
    if (image.status !== 'active' || image.size !== total) throw new Error('big upload did not complete');
    await deleteImage(api, id);
    return { gib: total / GIB, seconds, idleRssMiB: baselineMiB, maxSampledRssMiB: maxSampleMiB, peakRssMiB };
  } finally {
    await stopPid(server.pid, 'imagetrust (rss)');
    await rm(path.join(WORK, 'data-rss'), { recursive: true, force: true });
  }
}

/** `level` uploads of a `mib` MiB random file at once to a fresh server: its peak RSS and the aggregate rate. */
async function benchConcurrentUploads({ count: level, mib }: { count: number; mib: number }) {
  const file = path.join(WORK, `random-${mib}MiB.bin`);
  if ((await stat(file).catch(() => null))?.size !== mib * 1024 * 1024) {
    await pipeline(createReadStream('/dev/urandom', { end: mib * 1024 * 1024 - 1 }), createWriteStream(file));
  }
  const dataDir = path.join(WORK, `data-concurrent-${level}`);
  const server = await startImagetrust(dataDir);
  try {
    const api = imagetrustApi(server);
    const ids: string[] = [];
    for (let i = 0; i < level; i++) ids.push(await createImage(api, `bench-concurrent-${i}`));
    resetPeakRss(server.pid);
    const started = process.hrtime.bigint();
    await Promise.all(ids.map((id) => curlUpload(api, id, file)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const peakRssMiB = procStatus(server.pid, 'VmHWM');
    for (const id of ids) {
      const image = await getImage(api, id);
      if (image.status !== 'active' || image.size !== mib * 1024 * 1024) {
        throw new Error(`concurrent upload ${id} ended ${image.status} with ${image.size} bytes`);
      }
    }
    const mibPerSecond = (level * mib) / seconds;
    log(
      `concurrent: ${level} x ${mib} MiB in ${seconds.toFixed(2)} s (${mibPerSecond.toFixed(0)} MiB/s), VmHWM ${peakRssMiB.toFixed(0)} MiB`,
    );
    return { level, mib, seconds, mibPerSecond, peakRssMiB };
  } finally {
    await stopPid(server.pid, `imagetrust (${level} concurrent)`);
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// A reference server: python os.sendfile, no HTTP library, for the same curl command

/** Answers every connection with the file through os.sendfile: no HTTP library, no copy in user space. */
const SENDFILE_SERVER = `
import os, socket, sys
path, port = sys.argv[1], int(sys.argv[2])
listener = socket.create_server(("127.0.0.1", port))
print("ready", flush=True)
while True:
    conn, _ = listener.accept()
    with conn, open(path, "rb") as f:
        conn.recv(65536)
        size = os.fstat(f.fileno()).st_size
        conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % size)
        sent = 0
        while sent < size:
            sent += os.sendfile(conn.fileno(), f.fileno(), sent, size - sent)
`;

/**
 * Runs `work` against a Python reference server (`script`, given its arguments and then a free port; it
 * prints a line once listening), stopped by PID afterwards whatever happens.
 */
async function withPythonServer<T>(
  name: string,
  script: string,
  args: string[],
  work: (api: Api) => Promise<T>,
): Promise<T> {
  const port = await freePort();
  const child = spawn('python3', ['-c', script, ...args, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not start python3');
  livePids.add(child.pid);
  try {
    await once(child.stdout!, 'data');
    return await work({ images: `http://127.0.0.1:${port}`, headers: {}, curlHeaders: [] });
  } finally {
    await stopPid(child.pid, name);
  }
}

function benchDownloadCeiling(file: string): Promise<{ curl: number[]; wide: number[]; wideBusy: number[] }> {
  return withPythonServer('sendfile server', SENDFILE_SERVER, [file], async (api) => {
    const curl: number[] = [];
    const wide: number[] = [];
    const wideBusy: number[] = [];
    for (let rep = 1; rep <= REPS; rep++) {
      curl.push(await curlDownload(api, 'sendfile'));
      const busyBefore = machineBusySeconds();
      wide.push(await wideDownload(api, 'sendfile'));
      wideBusy.push(machineBusySeconds() - busyBefore);
    }
    const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    log(`download reference (python os.sendfile): curl ${list(curl)} s, wide client ${list(wide)} s`);
    return { curl, wide, wideBusy };
  });
}

// ---------------------------------------------------------------------------------------------
// The machine's floor: what any server must spend here, whatever its code

/**
 * CPU seconds one core spends hashing SIZE bytes with each algorithm, from `openssl speed` on 1 MiB
 * blocks: the hash alone, without reading a file (`openssl dgst` also reads, in 8 KiB pieces).
 */
async function opensslSpeed(algorithms: string[]): Promise<Record<string, number>> {
  const { stdout } = await timed(
    'openssl',
    ['speed', '-seconds', '1', '-bytes', String(1 << 20), ...algorithms],
    {
      capture: true,
    },
  );
  const seconds: Record<string, number> = {};
  for (const algorithm of algorithms) {
    // The result line: the algorithm, then thousands of bytes per second ("md5  848393.31k").
    const match = new RegExp(`^${algorithm}\\s+([\\d.]+)k\\s*$`, 'm').exec(stdout);
    if (!match) throw new Error(`cannot parse openssl speed output for ${algorithm}: ${stdout}`);
    seconds[algorithm] = SIZE / (Number(match[1]) * 1000);
  }
  return seconds;
}

/**
 * Reads every request body into one reused 1 MiB buffer and throws it away: no HTTP library, no hash,
 * no file. The same curl upload against it costs what moving the bytes costs (curl, both sides' kernel).
 */
const DISCARD_SERVER = `
import re, socket, sys
listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
view = memoryview(bytearray(1 << 20))
while True:
    conn, _ = listener.accept()
    with conn:
        head = b""
        while b"\\r\\n\\r\\n" not in head:
            data = conn.recv(65536)
            if not data:
                break
            head += data
        end = head.find(b"\\r\\n\\r\\n") + 4
        fields = head[:end].decode("latin1").lower()
        if "\\r\\nexpect: 100-continue" in fields:
            conn.sendall(b"HTTP/1.1 100 Continue\\r\\n\\r\\n")
        left = int(re.search(r"\\r\\ncontent-length: *(\\d+)", fields).group(1)) - (len(head) - end)
        while left > 0:
            got = conn.recv_into(view, min(left, len(view)))
            if not got:
                break
            left -= got
        conn.sendall(b"HTTP/1.1 204 No Content\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n")
`;

/** Machine CPU seconds of the bench's curl upload of `file` into the discard server, one per rep. */
function benchUploadTransfer(file: string): Promise<number[]> {
  return withPythonServer('discard server', DISCARD_SERVER, [], async (api) => {
    const busy: number[] = [];
    for (let rep = 1; rep <= REPS; rep++) busy.push((await curlUpload(api, 'discard', file)).busy);
    log(
      `upload transfer reference (curl into a discard server): ${busy.map((b) => b.toFixed(2)).join(', ')} CPU-s`,
    );
    return busy;
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Real Glance 25.1 (noauth pipeline, sqlite + file store)

async function commandExists(name: string): Promise<boolean> {
  try {
    await execFileP('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

async function benchGlance(file: string, expected: { md5: string; sha512: string }) {
  if (!(await commandExists('glance-api'))) {
    log('installing glance-api (Debian packages; takes a minute)');
    await execFileP(
      'apt-get',
      ['install', '-y', '--no-install-recommends', 'glance-api', 'glance-common', 'python3-glance'],
      { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 << 20 },
    );
  }
  const workdir = path.join(WORK, 'glance');
  await rm(workdir, { recursive: true, force: true });
  const port = await freePort();
  const env = { ...process.env, GLANCE_WORKDIR: workdir, GLANCE_PORT: String(port), GLANCE_MODE: 'noauth' };
  const script = path.join(PEERS, 'run_glance_noauth.sh');
  const pidFile = path.join(workdir, 'glance.pid');
  let pid: number | null = null;
  try {
    await execFileP('bash', [script, 'start'], { env, timeout: 120_000 }).catch((error) => {
      throw new Error(`run_glance_noauth.sh start failed: ${error.stderr || error.message}`);
    });
    pid = Number(readFileSync(pidFile, 'utf8').trim());
    livePids.add(pid);
    log(`glance up on :${port}, pid ${pid}`);
    const api: Api = { images: `http://127.0.0.1:${port}/v2/images`, headers: {}, curlHeaders: [] };
    for (const p of [pid, ...(await descendants(pid))]) resetPeakRss(p);
    const run = await uploadRuns(api, pid, 'glance', file, expected, true);
    const pids = [pid, ...(await descendants(pid))];
    return { ...run, peakRssMiB: Math.max(...pids.map((p) => procStatus(p, 'VmHWM'))) };
  } finally {
    if (pid === null && existsSync(pidFile)) pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid !== null) await stopPid(pid, 'glance');
    await rm(path.join(workdir, 'images'), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function mark(ok: boolean | null): string {
  if (ok === null) return 'n/a';
  return ok ? 'ok' : 'MISS';
}

async function main(): Promise<void> {
  const loadBefore = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  log(`size ${SIZE_MIB} MiB, reps ${REPS}, load average ${loadBefore}`);
  const file = await prepareFile();

  const cat = await timed('cat', [file]);
  const catAgain = await timed('cat', [file]);
  const catGiBps = SIZE / GIB / catAgain.seconds;
  log(
    `cat > /dev/null: ${cat.seconds.toFixed(2)} s, then ${catAgain.seconds.toFixed(2)} s (${catGiBps.toFixed(1)} GiB/s)`,
  );
  if (catGiBps < 2)
    log('warning: the file does not seem to stay in the page cache; timings include disk reads');

  const md5 = await opensslDigest('md5', file);
  const sha512 = await opensslDigest('sha512', file);
  const opensslSum = md5.seconds + sha512.seconds;
  log(`openssl md5 ${md5.seconds.toFixed(2)} s, sha512 ${sha512.seconds.toFixed(2)} s`);
  const expected = { md5: md5.hex, sha512: sha512.hex };

  // Writing the upload into the page cache is part of every server's work; on this VM its cost varies a
  // lot (fresh guest pages are slow to fault in), so it is measured here and again before every timed write.
  const ddSeconds: number[] = [];
  const ddBusy: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const dd = await pageCacheWrite(file);
    ddSeconds.push(dd.seconds);
    ddBusy.push(dd.busy);
  }
  log(`dd write of the file: ${ddSeconds.map((d) => d.toFixed(2)).join(', ')} s`);

  const it = await benchImagetrust(file, expected);
  const rss = RSS_GIB ? await benchBigUpload(file, RSS_GIB) : null;
  const concurrent = [];
  for (const level of CONCURRENCY_LEVELS) concurrent.push(await benchConcurrentUploads(level));
  const ceiling = await benchDownloadCeiling(file);
  const uploadTransfer = await benchUploadTransfer(file);
  const hashSeconds = await opensslSpeed(['md5', 'sha512', 'sha256']);
  log(
    `openssl speed, CPU-s per ${SIZE_MIB} MiB: ${Object.entries(hashSeconds)
      .map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`)
      .join(', ')}`,
  );
  let glance: (UploadRun & { peakRssMiB: number }) | null = null;
  let glanceError: string | null = null;
  if (!SKIP_GLANCE) {
    try {
      glance = await benchGlance(file, expected);
    } catch (error) {
      glanceError = (error as Error).message;
      log(`glance: ${glanceError}`);
    }
  }
  const loadAfter = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');

  const up = median(it.uploadSeconds);
  const dl = median(it.downloadSeconds);
  const dlGiBps = SIZE / GIB / dl;
  const rangeGiBps = median(it.rangeGiBps);
  const rangeRatio = rangeGiBps / dlGiBps;
  const ceilingGiBps = SIZE / GIB / median(ceiling.curl);
  // The same from the wide client, which the server bounds rather than the client: the targets' figures.
  const wideGiBps = SIZE / GIB / median(it.wideDownloadSeconds);
  const wideRangeGiBps = median(it.wideRangeGiBps);
  const wideRangeRatio = wideRangeGiBps / wideGiBps;
  const wideCeilingGiBps = SIZE / GIB / median(ceiling.wide);
  const glanceUp = glance ? median(glance.uploadSeconds) : null;
  const md5Paired = median(it.md5Seconds);
  const vsMd5 = up / md5Paired;
  const vsGlance = glanceUp ? up / glanceUp : null;
  const mb = (mib: number) => `${(mib * 1.048576).toFixed(0)} MB`;
  const cpuMedian = (run: UploadRun) => {
    const user = median(run.uploadCpu.map((c) => c.user));
    const sys = median(run.uploadCpu.map((c) => c.sys));
    return { user: round(user, 2), sys: round(sys, 2) };
  };
  const perGiB = (cpu: { user: number; sys: number }) =>
    `${round(cpu.user / (SIZE / GIB), 2)} / ${round(cpu.sys / (SIZE / GIB), 2)} s`;
  const itCpu = cpuMedian(it);
  const glanceCpu = glance ? cpuMedian(glance) : null;
  const glanceDl = glance ? SIZE / GIB / median(glance.downloadSeconds) : null;
  const dlVsGlance = glanceDl ? dlGiBps / glanceDl : null;
  const glanceWide = glance ? SIZE / GIB / median(glance.wideDownloadSeconds) : null;
  const wideVsGlance = glanceWide ? wideGiBps / glanceWide : null;
  const signedUp = median(it.signatures.signedSeconds);
  const pairedUnsigned = median(it.signatures.pairedUnsignedSeconds);
  const signedRatio = signedUp / pairedUnsigned;
  const reverify = median(it.signatures.reverifySeconds);
  const opensslSha256 = median(it.signatures.opensslSha256Seconds);
  const reverifyRatio = reverify / opensslSha256;
  const gateLimit = Math.max(dl, opensslSha256);
  const gateRatio = it.signatures.firstFetchSeconds / gateLimit;
  // The least wall time this run's work could take on these cores, whatever the overlap: the CPU the
  // whole machine spent on it (curl, the server, the kernel) spread over every core. Held against the same
  // limits as the times, it says whether a miss is overlap (time above this floor) or CPU (the floor itself).
  const cores = availableParallelism();
  const upFloor = median(it.uploadBusy) / cores;
  const signedFloor = median(it.signatures.signedBusy) / cores;
  const pairedUnsignedFloor = median(it.signatures.pairedUnsignedBusy) / cores;
  const gateFloor = it.signatures.firstFetchBusy / cores;
  // The least any server could take on this machine: the CPU nothing can avoid (the hashes the API
  // requires, at openssl speed; moving the bytes, as curl into a discard server costs it; the page-cache
  // write, as dd's fastest) spread over every core, and never less than the one md5 stream, which cannot
  // be split. A target below its floor is out of reach here, whatever the code does.
  const transferUp = Math.min(...uploadTransfer);
  const transferDown = Math.min(...ceiling.wideBusy);
  const pageCacheWriteCpu = Math.min(...ddBusy, ...it.ddBusy, ...(glance?.ddBusy ?? []));
  const hashed = hashSeconds.md5 + hashSeconds.sha512;
  const floorUpload = Math.max(hashSeconds.md5, (transferUp + hashed + pageCacheWriteCpu) / cores);
  const floorSigned = Math.max(
    hashSeconds.md5,
    (transferUp + hashed + hashSeconds.sha256 + pageCacheWriteCpu) / cores,
  );
  const floorGate =
    it.signatures.cliStartupSeconds +
    Math.max(hashSeconds.sha256, (transferDown + hashSeconds.sha256 + pageCacheWriteCpu) / cores);
  const floors = {
    uploadVsOpensslMd5: floorUpload / md5Paired,
    signedVsUnsigned: floorSigned / floorUpload,
    gateFirstFetchVsLimit: floorGate / gateLimit,
  };
  const reach = (floor: number, max: number): [string, string] => [
    `<= ${max}`,
    floor <= max ? 'reachable' : 'BEYOND',
  ];
  const at10 = concurrent.find((c) => c.level === 10 && c.mib === SIZE_MIB);
  const at50 = concurrent.find((c) => c.level === 50);
  const below = (mib: number | undefined, max: number) => (mib === undefined ? null : mib * 1.048576 < max);

  const rows: [string, string, string, string][] = [
    [
      `openssl dgst -md5 (the upload's serial floor), median of ${REPS}, one before each upload`,
      `${md5Paired.toFixed(2)} s`,
      '',
      '',
    ],
    [
      'openssl dgst -md5, then -sha512, at the start',
      `${md5.seconds.toFixed(2)} s, ${sha512.seconds.toFixed(2)} s`,
      '',
      '',
    ],
    ['  md5 + sha512, one after the other', `${opensslSum.toFixed(2)} s`, '', ''],
    ['cat > /dev/null (page cache)', `${catAgain.seconds.toFixed(2)} s`, '', ''],
    [
      `dd write of the file (page cache), ${REPS} at the start`,
      ddSeconds.map((d) => d.toFixed(2)).join(', ') + ' s',
      '',
      '',
    ],
    [
      '  dd just before each timed write: median (imagetrust uploads, Glance uploads, signed pairs, first fetches)',
      [it.ddSeconds, glance?.ddSeconds ?? [], it.signatures.pairDdSeconds, it.signatures.firstDdSeconds]
        .map((xs) => (xs.length ? median(xs).toFixed(2) : 'n/a'))
        .join(', ') + ' s',
      '',
      '',
    ],
    [`imagetrust upload, median of ${REPS}`, `${up.toFixed(2)} s`, '', ''],
    ['  server CPU per GiB uploaded (user / sys)', perGiB(itCpu), '', ''],
    [
      '  upload / openssl md5',
      vsMd5.toFixed(2),
      `<= ${TARGETS.uploadVsOpensslMd5Max}`,
      mark(vsMd5 <= TARGETS.uploadVsOpensslMd5Max),
    ],
    [
      `  machine CPU per upload (curl, server, kernel) / ${cores} cores`,
      `${median(it.uploadBusy).toFixed(2)} CPU-s / ${cores} = ${upFloor.toFixed(2)} s`,
      '',
      '',
    ],
    [
      '  that least time / openssl md5 (the ratio at full use of every core)',
      (upFloor / md5Paired).toFixed(2),
      '',
      '',
    ],
    [`real Glance 25.1 upload, median of ${REPS}`, glanceUp ? `${glanceUp.toFixed(2)} s` : 'not run', '', ''],
    ['  server CPU per GiB uploaded (user / sys)', glanceCpu ? perGiB(glanceCpu) : 'n/a', '', ''],
    [
      `  machine CPU per upload (curl, server, kernel) / ${cores} cores`,
      glance
        ? `${median(glance.uploadBusy).toFixed(2)} CPU-s / ${cores} = ${(median(glance.uploadBusy) / cores).toFixed(2)} s`
        : 'n/a',
      '',
      '',
    ],
    [
      '  imagetrust upload / Glance upload',
      vsGlance ? vsGlance.toFixed(2) : 'n/a',
      `<= ${TARGETS.uploadVsGlanceMax}`,
      mark(vsGlance === null ? null : vsGlance <= TARGETS.uploadVsGlanceMax),
    ],
    [`imagetrust signed upload (RSA-PSS SHA-256), median of ${REPS}`, `${signedUp.toFixed(2)} s`, '', ''],
    [`  unsigned upload just before each signed one, median`, `${pairedUnsigned.toFixed(2)} s`, '', ''],
    [
      '  signed / unsigned upload (those pairs)',
      signedRatio.toFixed(2),
      `<= ${TARGETS.signedVsUnsignedMax}`,
      mark(signedRatio <= TARGETS.signedVsUnsignedMax),
    ],
    [
      `  machine CPU per signed upload / ${cores} cores, / the unsigned one's`,
      `${signedFloor.toFixed(2)} s, ${(signedFloor / pairedUnsignedFloor).toFixed(2)}`,
      '',
      '',
    ],
    [`downloads, read ${WIDE_READ >> 20} MiB at a time (the server's speed), medians:`, '', '', ''],
    ['  reference: a python os.sendfile server', `${wideCeilingGiBps.toFixed(2)} GiB/s`, '', ''],
    ['  imagetrust download', `${wideGiBps.toFixed(2)} GiB/s`, '', ''],
    ['  real Glance download', glanceWide ? `${glanceWide.toFixed(2)} GiB/s` : 'n/a', '', ''],
    [
      '  imagetrust download / Glance download (throughput)',
      wideVsGlance ? wideVsGlance.toFixed(2) : 'n/a',
      `>= ${TARGETS.downloadVsGlanceMin}`,
      mark(wideVsGlance === null ? null : wideVsGlance >= TARGETS.downloadVsGlanceMin),
    ],
    [
      '  imagetrust download / sendfile server (throughput)',
      (wideGiBps / wideCeilingGiBps).toFixed(2),
      '',
      '',
    ],
    [`  imagetrust Range download (bytes=${RANGE_START}-)`, `${wideRangeGiBps.toFixed(2)} GiB/s`, '', ''],
    [
      '  Range / whole download (throughput)',
      wideRangeRatio.toFixed(2),
      `>= ${TARGETS.rangeVsWholeMin}`,
      mark(wideRangeRatio >= TARGETS.rangeVsWholeMin),
    ],
    ["downloads with curl (curl's own receive bounds them), medians:", '', '', ''],
    ['  reference: a python os.sendfile server', `${ceilingGiBps.toFixed(2)} GiB/s`, '', ''],
    ['  imagetrust download', `${dlGiBps.toFixed(2)} GiB/s`, '', ''],
    ['  real Glance download', glanceDl ? `${glanceDl.toFixed(2)} GiB/s` : 'n/a', '', ''],
    [
      '  imagetrust download / Glance download (throughput)',
      dlVsGlance ? dlVsGlance.toFixed(2) : 'n/a',
      '',
      '',
    ],
    ['  imagetrust download / sendfile server (throughput)', (dlGiBps / ceilingGiBps).toFixed(2), '', ''],
    [`  imagetrust Range download (bytes=${RANGE_START}-)`, `${rangeGiBps.toFixed(2)} GiB/s`, '', ''],
    ['  Range / whole download (throughput)', rangeRatio.toFixed(2), '', ''],
    [
      'boot gate: first fetch (download + verify + cache, whole command), median',
      `${it.signatures.firstFetchSeconds.toFixed(2)} s`,
      '',
      '',
    ],
    [
      '  first fetch / max(download, openssl sha256)',
      gateRatio.toFixed(2),
      `<= ${TARGETS.gateFirstFetchVsLimitMax}`,
      mark(gateRatio <= TARGETS.gateFirstFetchVsLimitMax),
    ],
    [
      `  machine CPU per first fetch / ${cores} cores, / max(download, openssl sha256)`,
      `${gateFloor.toFixed(2)} s, ${(gateFloor / gateLimit).toFixed(2)}`,
      '',
      '',
    ],
    [
      '  first fetch / max(curl download into a new file, openssl sha256)',
      (it.signatures.firstFetchSeconds / Math.max(it.signatures.curlToFileSeconds, opensslSha256)).toFixed(2),
      '',
      '',
    ],
    [
      `boot gate: re-verify cached copy (whole command), median of ${REPS}`,
      `${reverify.toFixed(2)} s`,
      '',
      '',
    ],
    [
      '  what a password login adds (instead of a token)',
      `${it.signatures.passwordLoginSeconds.toFixed(2)} s`,
      '',
      '',
    ],
    [
      '  of which command start-up (imagetrust --version)',
      `${it.signatures.cliStartupSeconds.toFixed(2)} s`,
      '',
      '',
    ],
    ['openssl dgst -sha256 of the cached file, median', `${opensslSha256.toFixed(2)} s`, '', ''],
    [
      '  gate re-verify / openssl sha256',
      reverifyRatio.toFixed(2),
      `<= ${TARGETS.gateReverifyVsOpensslSha256Max}`,
      mark(reverifyRatio <= TARGETS.gateReverifyVsOpensslSha256Max),
    ],
    ['imagetrust RSS idle, before uploads', mb(it.idleRssMiB), '', ''],
    [`imagetrust peak RSS (VmHWM, ${SIZE_MIB} MiB runs + downloads)`, mb(it.peakRssMiB), '', ''],
    [
      `imagetrust peak RSS (VmHWM, ${rss ? `${rss.gib.toFixed(0)} GiB chunked upload` : 'BENCH_RSS_GIB=0: not run'})`,
      rss ? mb(rss.peakRssMiB) : 'n/a',
      `< ${TARGETS.peakRssMBMax}`,
      mark(below(rss?.peakRssMiB, TARGETS.peakRssMBMax)),
    ],
    ['Glance peak RSS (VmHWM, largest process)', glance ? mb(glance.peakRssMiB) : 'n/a', '', ''],
    ...concurrent.map((c): [string, string, string, string] => {
      const max =
        c === at10 ? TARGETS.peakRssAt10UploadsMBMax : c === at50 ? TARGETS.peakRssAt50UploadsMBMax : null;
      return [
        `${c.level} concurrent ${c.mib} MiB uploads: peak RSS, aggregate rate`,
        `${mb(c.peakRssMiB)}, ${c.mibPerSecond.toFixed(0)} MiB/s`,
        max === null ? '' : `< ${max} MB`,
        max === null ? '' : mark(below(c.peakRssMiB, max)),
      ];
    }),
    [
      `the least any server could take here: unavoidable CPU over ${cores} cores (never under one md5 stream)`,
      '',
      '',
      '',
    ],
    [
      `  hashes (openssl speed): md5 ${hashSeconds.md5.toFixed(2)}, sha512 ${hashSeconds.sha512.toFixed(2)}, sha256 ${hashSeconds.sha256.toFixed(2)} CPU-s`,
      '',
      '',
      '',
    ],
    [
      `  moving the bytes (curl into a discard server / a 1 MiB client from sendfile), page-cache write (dd)`,
      `${transferUp.toFixed(2)} / ${transferDown.toFixed(2)}, ${pageCacheWriteCpu.toFixed(2)} CPU-s`,
      '',
      '',
    ],
    ['  upload (transfer + md5 + sha512 + write)', `${floorUpload.toFixed(2)} s`, '', ''],
    [
      '    least upload / openssl md5',
      floors.uploadVsOpensslMd5.toFixed(2),
      ...reach(floors.uploadVsOpensslMd5, TARGETS.uploadVsOpensslMd5Max),
    ],
    ['  signed upload (the same + sha256)', `${floorSigned.toFixed(2)} s`, '', ''],
    [
      '    least signed / least unsigned upload',
      floors.signedVsUnsigned.toFixed(2),
      ...reach(floors.signedVsUnsigned, TARGETS.signedVsUnsignedMax),
    ],
    ['  gate first fetch (start-up + transfer + sha256 + write)', `${floorGate.toFixed(2)} s`, '', ''],
    [
      '    least first fetch / max(download, openssl sha256)',
      floors.gateFirstFetchVsLimit.toFixed(2),
      ...reach(floors.gateFirstFetchVsLimit, TARGETS.gateFirstFetchVsLimitMax),
    ],
    [
      'digests equal openssl (imagetrust / Glance)',
      `${it.digestsMatch} / ${glance ? glance.digestsMatch : 'n/a'}`,
      'true',
      mark(it.digestsMatch && (glance?.digestsMatch ?? true)),
    ],
  ];
  const out: string[] = [''];
  out.push(
    `imagetrust upload/download benchmark: ${SIZE_MIB} MiB random file, ${REPS} reps, load before ${loadBefore}, after ${loadAfter}`,
  );
  out.push(...metricTable(rows));
  if (glanceError) out.push(`Glance not measured: ${glanceError}`);
  const misses = rows.filter((r) => r[3] === 'MISS').map((r) => r[0].trim());
  out.push(misses.length ? `MISSED TARGETS: ${misses.join('; ')}` : 'all measured targets met');
  const beyond = rows.filter((r) => r[3] === 'BEYOND').map((r) => r[0].trim());
  if (beyond.length) out.push(`OUT OF REACH ON THIS MACHINE (the floor itself misses): ${beyond.join('; ')}`);
  process.stdout.write(`${out.join('\n')}\n\n`);

  const result = {
    when: new Date().toISOString(),
    machine: {
      cpus: availableParallelism(),
      memoryGiB: round(totalmem() / GIB, 1),
      kernel: release(),
      node: process.version,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
    },
    sizeMiB: SIZE_MIB,
    reps: REPS,
    catSeconds: round(catAgain.seconds),
    ddWriteSeconds: ddSeconds.map((d) => round(d)),
    ddBeforeEachUploadSeconds: it.ddSeconds.map((d) => round(d)),
    ddBeforeEachSignedPairSeconds: it.signatures.pairDdSeconds.map((d) => round(d)),
    ddBeforeEachFirstFetchSeconds: it.signatures.firstDdSeconds.map((d) => round(d)),
    openssl: {
      md5Seconds: round(md5.seconds),
      md5BeforeEachUploadSeconds: it.md5Seconds.map((x) => round(x)),
      sha512Seconds: round(sha512.seconds),
      sumSeconds: round(opensslSum),
      sha256Seconds: it.signatures.opensslSha256Seconds.map((x) => round(x)),
    },
    sendfileReference: {
      seconds: ceiling.curl.map((x) => round(x)),
      GiBps: round(ceilingGiBps),
      wideSeconds: ceiling.wide.map((x) => round(x)),
      wideGiBps: round(wideCeilingGiBps),
    },
    imagetrust: {
      uploadSeconds: it.uploadSeconds.map((x) => round(x)),
      uploadMedianSeconds: round(up),
      uploadVsOpensslMd5: round(vsMd5),
      uploadCpuMedianSeconds: itCpu,
      uploadMachineCpuSeconds: it.uploadBusy.map((x) => round(x, 2)),
      uploadLeastSecondsOnTheseCores: round(upFloor),
      downloadSeconds: it.downloadSeconds.map((x) => round(x)),
      downloadGiBps: round(dlGiBps),
      rangeGiBps: it.rangeGiBps.map((x) => round(x)),
      rangeVsWhole: round(rangeRatio),
      wideDownloadSeconds: it.wideDownloadSeconds.map((x) => round(x)),
      wideDownloadGiBps: round(wideGiBps),
      wideRangeGiBps: it.wideRangeGiBps.map((x) => round(x)),
      wideRangeVsWhole: round(wideRangeRatio),
      idleRssMB: round(it.idleRssMiB * 1.048576, 1),
      peakRssMB: round(it.peakRssMiB * 1.048576, 1),
      digestsMatch: it.digestsMatch,
      signed: {
        uploadSeconds: it.signatures.signedSeconds.map((x) => round(x)),
        pairedUnsignedSeconds: it.signatures.pairedUnsignedSeconds.map((x) => round(x)),
        signedVsUnsigned: round(signedRatio),
        machineCpuSeconds: it.signatures.signedBusy.map((x) => round(x, 2)),
        leastSecondsOnTheseCores: round(signedFloor),
        gateFirstFetchSeconds: round(it.signatures.firstFetchSeconds),
        gateFirstFetchVsLimit: round(gateRatio),
        gateFirstFetchMachineCpuSeconds: round(it.signatures.firstFetchBusy, 2),
        gateFirstFetchLeastSecondsOnTheseCores: round(gateFloor),
        curlToFileSeconds: round(it.signatures.curlToFileSeconds),
        gateReverifySeconds: it.signatures.reverifySeconds.map((x) => round(x)),
        gateReverifyVsOpensslSha256: round(reverifyRatio),
        cliStartupSeconds: round(it.signatures.cliStartupSeconds),
        passwordLoginSeconds: round(it.signatures.passwordLoginSeconds),
      },
    },
    bigUpload: rss
      ? {
          gib: rss.gib,
          seconds: round(rss.seconds),
          idleRssMB: round(rss.idleRssMiB * 1.048576, 1),
          maxSampledRssMB: round(rss.maxSampledRssMiB * 1.048576, 1),
          peakRssMB: round(rss.peakRssMiB * 1.048576, 1),
        }
      : null,
    glance: glance
      ? {
          uploadSeconds: glance.uploadSeconds.map((x) => round(x)),
          uploadMedianSeconds: round(glanceUp!),
          uploadCpuMedianSeconds: glanceCpu,
          uploadMachineCpuSeconds: glance.uploadBusy.map((x) => round(x, 2)),
          ddBeforeEachUploadSeconds: glance.ddSeconds.map((d) => round(d)),
          downloadSeconds: glance.downloadSeconds.map((x) => round(x)),
          downloadGiBps: round(glanceDl!),
          wideDownloadSeconds: glance.wideDownloadSeconds.map((x) => round(x)),
          wideDownloadGiBps: round(glanceWide!),
          peakRssMB: round(glance.peakRssMiB * 1.048576, 1),
          digestsMatch: glance.digestsMatch,
        }
      : { error: glanceError ?? 'skipped' },
    imagetrustVsGlance: {
      upload: vsGlance === null ? null : round(vsGlance),
      downloadThroughput: wideVsGlance === null ? null : round(wideVsGlance),
      curlDownloadThroughput: dlVsGlance === null ? null : round(dlVsGlance),
    },
    concurrentUploads: concurrent.map((c) => ({
      level: c.level,
      mib: c.mib,
      seconds: round(c.seconds),
      mibPerSecond: round(c.mibPerSecond, 1),
      peakRssMB: round(c.peakRssMiB * 1.048576, 1),
    })),
    floor: {
      hashCpuSeconds: Object.fromEntries(Object.entries(hashSeconds).map(([name, x]) => [name, round(x)])),
      uploadTransferMachineCpuSeconds: uploadTransfer.map((x) => round(x, 2)),
      downloadTransferMachineCpuSeconds: ceiling.wideBusy.map((x) => round(x, 2)),
      pageCacheWriteMachineCpuSeconds: ddBusy.map((x) => round(x, 2)),
      uploadSeconds: round(floorUpload),
      signedUploadSeconds: round(floorSigned),
      gateFirstFetchSeconds: round(floorGate),
      ratios: Object.fromEntries(Object.entries(floors).map(([name, x]) => [name, round(x)])),
    },
    targets: TARGETS,
    misses,
    outOfReach: beyond,
  };
  const json = `${JSON.stringify(result, null, 2)}\n`;
  process.stdout.write(json);
  const kept = path.join(RESULTS, `images-${result.when.replace(/[:.]/g, '-')}.json`);
  await mkdir(RESULTS, { recursive: true });
  await writeFile(kept, json);
  log(`results kept in ${path.relative(ROOT, kept)}`);
}

await runBenchmark(main);

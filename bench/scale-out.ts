// npm run bench:scale-out — many uploads at once through haproxy to two API processes on one PostgreSQL and
// one blob store (deploy/haproxy.cfg, as test/e2e/load-balanced runs it):
//  1. starts two `imagetrust serve` processes and Debian's haproxy in front of them;
//  2. creates IMAGETRUST_BENCH_UPLOADS images (default 50) and uploads IMAGETRUST_BENCH_UPLOAD_MIB MiB
//     (default 100) to each, all at once, through the balancer;
//  3. meanwhile lists images (GET /v2/images) through the balancer in a loop, timing each call;
//  4. checks every image: active, its size and sha512 those of the bytes sent;
//  5. prints aggregate throughput, peak RSS of each process (VmHWM, reset before the run), the p50/p99
//     of the list calls, and how the uploads spread, then the JSON, also kept in bench/results/.
// IMAGETRUST_BENCH_BLOBS=s3 keeps the image data in OpenStack Swift through its S3 API (Debian's packages,
// started here on loopback, as test/e2e/load-balanced does) instead of a directory both processes share;
// `both` runs the filesystem store, then S3 (`npm run bench` runs both).
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { adminQuery, postgresUrlFor } from '../test/storage/database-backends.ts';
import { passwordLogin } from '../test/support/auth.ts';
import { type ApiProcess, startApiProcess, startBalancer, stopAll } from '../test/support/balanced.ts';
import { type ObjectStore, startObjectStore } from '../test/support/objectstore.ts';
import {
  freePort,
  log,
  metricTable,
  peakRss,
  positiveInt,
  resetPeakRss,
  round,
  runBenchmark,
  uploadRepeated,
} from './processes.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const RESULTS = path.join(ROOT, 'bench', 'results');
const ADMIN_PASSWORD = 'bench-admin-password';
const MIB = 1024 * 1024;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function api(
  url: string,
  token: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? {} : ((await response.json()) as Record<string, unknown>);
}

async function main(): Promise<void> {
  const choice = process.env.IMAGETRUST_BENCH_BLOBS ?? 'both';
  if (!['filesystem', 's3', 'both'].includes(choice))
    throw new Error(`IMAGETRUST_BENCH_BLOBS must be filesystem, s3 or both, not '${choice}'`);
  for (const store of choice === 'both' ? ['filesystem', 's3'] : [choice]) await scaleOut(store as Store);
}

type Store = 'filesystem' | 's3';

async function scaleOut(store: Store): Promise<void> {
  const uploads = positiveInt('IMAGETRUST_BENCH_UPLOADS', 50);
  const uploadMib = positiveInt('IMAGETRUST_BENCH_UPLOAD_MIB', 100);
  const schema = `bench_scale_${randomBytes(4).toString('hex')}`;
  const work = mkdtempSync(path.join(tmpdir(), 'imagetrust-bench-scale-'));
  const processes: ApiProcess[] = [];
  let haproxy: Awaited<ReturnType<typeof startBalancer>> | undefined;
  let swift: ObjectStore | undefined;
  await adminQuery(`CREATE SCHEMA ${schema}`);
  try {
    mkdirSync(path.join(work, 'keys'), { mode: 0o700 });
    const lbPort = await freePort();
    const lbUrl = `http://127.0.0.1:${lbPort}`;
    const config = path.join(work, 'imagetrust.yaml');
    let blobs = `blobs: { dir: ${path.join(work, 'blobs')} }`;
    let credentials = {};
    if (store === 's3') {
      swift = await startObjectStore();
      const s3 = { endpoint: swift.endpoint, region: swift.region, bucket: swift.bucket, pathStyle: true };
      blobs = `blobs: { backend: s3, s3: ${JSON.stringify(s3)} }`;
      credentials = { AWS_ACCESS_KEY_ID: swift.accessKeyId, AWS_SECRET_ACCESS_KEY: swift.secretAccessKey };
    }
    log(`image data: ${store === 's3' ? 'Swift through its S3 API' : 'one directory both processes share'}`);
    writeFileSync(
      config,
      [
        `database: ${postgresUrlFor(schema)}`,
        blobs,
        `audit: { signingKeyFile: ${path.join(work, 'keys', 'audit-log-key.pem')} }`,
        `publicUrl: ${lbUrl}`,
        'trustedProxies: [127.0.0.1]',
        'logLevel: warn',
      ].join('\n'),
    );
    const env = {
      ...credentials,
      IMAGETRUST_KEK: randomBytes(32).toString('base64'),
      IMAGETRUST_ADMIN_PASSWORD: ADMIN_PASSWORD,
    };
    for (const name of ['api1', 'api2']) {
      processes.push(await startApiProcess(name, config, path.join(work, `data-${name}`), env));
    }
    haproxy = await startBalancer(`127.0.0.1:${lbPort}`, processes);
    const login = await passwordLogin(lbUrl, 'admin', ADMIN_PASSWORD, 'admin');
    const token = login.headers.get('x-subject-token')!;

    // The same 1 MiB of random bytes, repeated: what decides a pass is the hash, computed once here.
    const block = randomBytes(MIB);
    const expected = createHash('sha512');
    for (let i = 0; i < uploadMib; i++) expected.update(block);
    const sha512 = expected.digest('hex');
    const ids: string[] = [];
    for (let i = 0; i < uploads; i++) {
      const image = await api(lbUrl, token, 'POST', '/image/v2/images', {
        name: `scale-${i}`,
        disk_format: 'raw',
        container_format: 'bare',
      });
      ids.push(image.id as string);
    }

    for (const p of processes) resetPeakRss(p.child.pid!);
    log(`${uploads} uploads of ${uploadMib} MiB at once through haproxy to two processes`);
    let listing = true;
    const listTimes: number[] = [];
    // A list call that fails is counted by what went wrong (and the loop goes on), never dropped.
    const listErrors: Record<string, number> = {};
    const lister = (async () => {
      while (listing) {
        const start = performance.now();
        try {
          await api(lbUrl, token, 'GET', '/image/v2/images?limit=20');
          listTimes.push(performance.now() - start);
        } catch (error) {
          const cause = (error as { cause?: { code?: string } }).cause?.code;
          const what = cause ?? String((error as Error).message).slice(0, 60);
          listErrors[what] = (listErrors[what] ?? 0) + 1;
        }
      }
    })();
    const start = performance.now();
    const statuses = await Promise.all(
      ids.map((id) =>
        uploadRepeated(lbUrl, token, id, block, uploadMib).then(
          () => 204,
          (error: Error) => {
            // Counted, and said why: a failed upload is a finding, not noise.
            log(`upload of ${id} failed: ${error.message}`);
            return 0;
          },
        ),
      ),
    );
    const seconds = (performance.now() - start) / 1000;
    listing = false;
    await lister;
    const peaks = processes.map((p) => peakRss(p.child.pid!));

    let correct = 0;
    for (const id of ids) {
      const image = await api(lbUrl, token, 'GET', `/image/v2/images/${id}`);
      if (image.status === 'active' && image.size === uploadMib * MIB && image.os_hash_value === sha512)
        correct++;
    }
    // How the balancer spread them, as each process counts its own answers.
    const spread = await Promise.all(
      processes.map(async (p) => {
        const text = await (await fetch(`${p.url}/metrics`)).text();
        const sample =
          'imagetrust_http_requests_total{route="/image/v2/images/:id/file",method="PUT",status="204"}';
        return Number(
          text
            .split('\n')
            .find((line) => line.startsWith(`${sample} `))
            ?.split(' ')[1] ?? 0,
        );
      }),
    );
    const totalMib = uploads * uploadMib;
    const result = {
      at: new Date().toISOString(),
      loadavg: loadavg(),
      store,
      uploads,
      uploadMib,
      statuses: Object.fromEntries(
        [...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]),
      ),
      correct,
      seconds: round(seconds),
      aggregateMibPerSecond: round(totalMib / seconds, 1),
      peakRssMb: peaks.map((bytes) => round(bytes / 1e6, 1)),
      listCalls: listTimes.length,
      listErrors,
      listP50Ms: round(percentile(listTimes, 50), 1),
      listP99Ms: round(percentile(listTimes, 99), 1),
      uploadsPerProcess: spread,
    };
    const rows = [
      [
        'uploads correct (active, size, sha512)',
        `${correct}/${uploads}`,
        `${uploads}/${uploads}`,
        correct === uploads ? 'PASS' : 'MISS',
      ],
      ['aggregate throughput', `${result.aggregateMibPerSecond} MiB/s`, '', ''],
      ...processes.map((p, i) => [
        `peak RSS ${p.name}`,
        `${result.peakRssMb[i]} MB`,
        '< 200 MB',
        result.peakRssMb[i] < 200 ? 'PASS' : 'MISS',
      ]),
      ['GET /v2/images p50 during uploads', `${result.listP50Ms} ms`, '', ''],
      ['GET /v2/images p99 during uploads', `${result.listP99Ms} ms`, '', ''],
      [
        'GET /v2/images that failed',
        Object.entries(listErrors)
          .map(([what, n]) => `${n} ${what}`)
          .join(', ') || '0',
        '0',
        Object.keys(listErrors).length === 0 ? 'PASS' : 'MISS',
      ],
      ['uploads taken by each process', spread.join(' / '), '', ''],
    ];
    for (const line of metricTable(rows)) process.stdout.write(`${line}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    mkdirSync(RESULTS, { recursive: true });
    const kept = path.join(RESULTS, `scale-out-${store}-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(kept, `${JSON.stringify(result, null, 2)}\n`);
    log(`results kept in ${path.relative(ROOT, kept)}`);
    if (correct !== uploads) process.exitCode = 1;
  } finally {
    await stopAll([haproxy, ...processes.map((p) => p.child)]);
    await swift?.dispose();
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    rmSync(work, { recursive: true, force: true });
  }
}

await runBenchmark(main);

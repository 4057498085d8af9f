// npm run bench:object-store — one imagetrust process with its data on the local disk, and one with its data
// in OpenStack Swift through Swift's S3 API (Debian's packages, started here on loopback), in the same run:
//  1. uploads IMAGETRUST_BENCH_MIB MiB (default 1024) to each, IMAGETRUST_BENCH_REPS times (default 2);
//  2. downloads it again from each, reading every byte;
//  3. does the same with the real Glance 25.1 (Debian's glance-api, installed when missing) storing its
//     data in the same Swift through glance_store's swift driver (Swift's own API, tempauth v1), as
//     clouds that run Glance on Swift do (IMAGETRUST_BENCH_GLANCE=0 leaves it out);
//  4. times the store alone: the same bytes PUT to Swift with curl through Swift's own API (one request,
//     no hashing, no service in between), the floor any service storing there sits on;
//  5. counts the CPU seconds each upload costs the service's processes and Swift's servers (all on the same
//     two cores here, so their sum over the cores is the floor of the upload's time);
//  6. prints medians, the S3/filesystem ratios (target: upload within 1.3x), S3 vs Glance-on-Swift
//     (target: faster) and vs Swift alone, and each process's peak RSS, then the JSON, also kept in
//     bench/results/.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { passwordLogin } from '../test/support/auth.ts';
import { type ApiProcess, startApiProcess, stopAll } from '../test/support/balanced.ts';
import { type ObjectStore, startObjectStore } from '../test/support/objectstore.ts';
import {
  cpuSeconds,
  descendants,
  freePort,
  livePids,
  log,
  median,
  metricTable,
  peakRss,
  positiveInt,
  resetPeakRss,
  round,
  runBenchmark,
  stopPid,
  uploadRepeated,
} from './processes.ts';

const execFileP = promisify(execFile);

const ROOT = new URL('..', import.meta.url).pathname;
const RESULTS = path.join(ROOT, 'bench', 'results');
const ADMIN_PASSWORD = 'bench-admin-password';
const MIB = 1024 * 1024;

/** GETs the data, hashing it; resolves with the seconds and the sha512. */
async function download(
  url: string,
  token: string,
  id: string,
  imagesPath = '/image/v2/images',
): Promise<{ seconds: number; sha512: string }> {
  const start = performance.now();
  const response = await fetch(`${url}${imagesPath}/${id}/file`, { headers: { 'x-auth-token': token } });
  if (response.status !== 200) throw new Error(`download answered ${response.status}`);
  const hash = createHash('sha512');
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  return { seconds: (performance.now() - start) / 1000, sha512: hash.digest('hex') };
}

/**
 * The store's own speed: `mib` MiB PUT with curl through Swift's native API (tempauth v1), one request,
 * `reps` times; the seconds of each.
 */
async function swiftFloor(swift: ObjectStore, work: string, block: Buffer, mib: number, reps: number) {
  const file = path.join(work, 'floor.bin');
  const out = openSync(file, 'w');
  for (let i = 0; i < mib; i++) writeSync(out, block);
  closeSync(out);
  const auth = await fetch(`${swift.endpoint}/auth/v1.0`, {
    headers: { 'x-auth-user': swift.accessKeyId, 'x-auth-key': swift.secretAccessKey },
  });
  const storage = auth.headers.get('x-storage-url');
  const token = auth.headers.get('x-auth-token');
  if (!auth.ok || !storage || !token) throw new Error(`Swift tempauth answered ${auth.status}`);
  const container = await fetch(`${storage}/floor`, { method: 'PUT', headers: { 'x-auth-token': token } });
  if (!container.ok) throw new Error(`creating the floor container answered ${container.status}`);
  const seconds: number[] = [];
  try {
    for (let rep = 0; rep < reps; rep++) {
      const start = performance.now();
      await execFileP('curl', [
        '-sS',
        '-f',
        '-T',
        file,
        '-H',
        `x-auth-token: ${token}`,
        `${storage}/floor/object`,
      ]);
      seconds.push((performance.now() - start) / 1000);
      log(`swift alone rep ${rep + 1}: curl PUT ${round(seconds[rep])} s`);
    }
  } finally {
    await fetch(`${storage}/floor/object`, { method: 'DELETE', headers: { 'x-auth-token': token } });
    rmSync(file, { force: true });
  }
  return seconds;
}

/** One service under test: where its images API is, how to authenticate, which processes to weigh. */
interface Target {
  url: string;
  token: string;
  imagesPath: string;
  pids(): Promise<number[]>;
}

interface Figures {
  upload: number[];
  download: number[];
  /** CPU seconds per upload: the service's processes, and Swift's servers. */
  uploadCpu: { service: number[]; store: number[] };
  peakRssMb: number;
}

/** Swift's server processes (their recorded pids and children), whose CPU an upload also costs. */
async function swiftPids(swift: ObjectStore): Promise<number[]> {
  const run = path.join(swift.dir, 'run');
  const pids = readdirSync(run)
    .filter((name) => name.endsWith('.pid'))
    .map((name) => Number(readFileSync(path.join(run, name), 'utf8').trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
  return [...pids, ...(await Promise.all(pids.map(descendants))).flat()];
}

/** Uploads and downloads `mib` MiB `reps` times, checking every download against `sha512`. */
async function measure(
  name: string,
  target: Target,
  block: Buffer,
  mib: number,
  reps: number,
  sha512: string,
  store: () => Promise<number[]>,
) {
  const figures: Figures = { upload: [], download: [], uploadCpu: { service: [], store: [] }, peakRssMb: 0 };
  // The peak of the work measured, not of start-up.
  for (const pid of await target.pids()) resetPeakRss(pid);
  for (let rep = 0; rep < reps; rep++) {
    const created = await fetch(`${target.url}${target.imagesPath}`, {
      method: 'POST',
      headers: { 'x-auth-token': target.token, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `bench-${rep}`, disk_format: 'raw', container_format: 'bare' }),
    });
    if (created.status !== 201) throw new Error(`${name}: creating an image answered ${created.status}`);
    const id = ((await created.json()) as { id: string }).id;
    const [servicePids, storePids] = [await target.pids(), await store()];
    const [serviceBefore, storeBefore] = [cpuSeconds(servicePids), cpuSeconds(storePids)];
    figures.upload.push(await uploadRepeated(target.url, target.token, id, block, mib, target.imagesPath));
    figures.uploadCpu.service.push(cpuSeconds(servicePids) - serviceBefore);
    figures.uploadCpu.store.push(cpuSeconds(storePids) - storeBefore);
    const got = await download(target.url, target.token, id, target.imagesPath);
    if (got.sha512 !== sha512) throw new Error(`${name}: the download differs from the upload`);
    figures.download.push(got.seconds);
    await fetch(`${target.url}${target.imagesPath}/${id}`, {
      method: 'DELETE',
      headers: { 'x-auth-token': target.token },
    });
    log(
      `${name} rep ${rep + 1}: upload ${round(figures.upload[rep])} s (CPU: service ${round(figures.uploadCpu.service[rep], 2)} s, Swift ${round(figures.uploadCpu.store[rep], 2)} s), download ${round(got.seconds)} s`,
    );
  }
  figures.peakRssMb = round(Math.max(...(await target.pids()).map(peakRss)) / 1e6, 1);
  return figures;
}

/**
 * Starts Debian's glance-api (noauth pipeline, as ../shared/peers/run_glance_noauth.sh does) with its
 * image data in `swift` through glance_store's swift driver, authenticating with tempauth (v1) as the
 * object store's own user. Resolves with its URL, pid and a stop function.
 */
async function startGlanceOnSwift(swift: ObjectStore, work: string) {
  const installed = await execFileP('sh', ['-c', 'command -v glance-api']).then(
    () => true,
    () => false,
  );
  if (!installed) {
    log('installing glance-api (Debian packages; takes a minute)');
    await execFileP(
      'apt-get',
      ['install', '-y', '--no-install-recommends', 'glance-api', 'glance-common', 'python3-glance'],
      { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 << 20 },
    );
  }
  const dir = path.join(work, 'glance');
  mkdirSync(path.join(dir, 'staging'), { recursive: true });
  const port = await freePort();
  writeFileSync(path.join(dir, 'policy.yaml'), '"context_is_admin": ""\n"default": ""\n');
  writeFileSync(
    path.join(dir, 'swift-store.conf'),
    [
      '[objectstore]',
      `auth_address = ${swift.endpoint}/auth/v1.0`,
      `user = ${swift.accessKeyId}`,
      `key = ${swift.secretAccessKey}`,
      'auth_version = 1',
      '',
    ].join('\n'),
  );
  const config = path.join(dir, 'glance-api.conf');
  writeFileSync(
    config,
    [
      '[DEFAULT]',
      'bind_host = 127.0.0.1',
      `bind_port = ${port}`,
      'workers = 1',
      `log_file = ${path.join(dir, 'glance-api.log')}`,
      'use_stderr = false',
      `node_staging_uri = file://${path.join(dir, 'staging')}`,
      '[database]',
      `connection = sqlite:///${path.join(dir, 'glance.sqlite')}`,
      '[glance_store]',
      'stores = swift,http',
      'default_store = swift',
      `swift_store_config_file = ${path.join(dir, 'swift-store.conf')}`,
      'default_swift_reference = objectstore',
      'swift_store_container = glance',
      'swift_store_create_container_on_put = true',
      '[paste_deploy]',
      'flavor =',
      'config_file = /etc/glance/glance-api-paste.ini',
      '[oslo_policy]',
      `policy_file = ${path.join(dir, 'policy.yaml')}`,
      'enforce_scope = false',
      'enforce_new_defaults = false',
      '',
    ].join('\n'),
  );
  await execFileP('glance-manage', ['--config-file', config, 'db_sync'], { maxBuffer: 64 << 20 });
  const child = spawn('glance-api', ['--config-file', config], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('could not start glance-api');
  const pid = child.pid;
  livePids.add(pid);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${url}/versions`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 240) throw new Error(`glance-api did not come up; see ${path.join(dir, 'glance-api.log')}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  log(`glance up on :${port}, pid ${pid}, data in Swift`);
  return { url, pid, stop: () => stopPid(pid, 'glance') };
}

async function main(): Promise<void> {
  const mib = positiveInt('IMAGETRUST_BENCH_MIB', 1024);
  const reps = positiveInt('IMAGETRUST_BENCH_REPS', 2);
  const withGlance = process.env.IMAGETRUST_BENCH_GLANCE !== '0';
  const work = mkdtempSync(path.join(tmpdir(), 'imagetrust-bench-objectstore-'));
  let swift: ObjectStore | undefined;
  const processes: ApiProcess[] = [];
  let glance: { stop(): Promise<void> } | undefined;
  try {
    swift = await startObjectStore();
    const store = swift;
    const storePids = () => swiftPids(store);
    const s3 = {
      endpoint: swift.endpoint,
      region: swift.region,
      bucket: swift.bucket,
      pathStyle: true,
      prefix: 'bench',
    };
    const backends = {
      filesystem: 'blobs: { backend: filesystem }',
      s3: `blobs: { backend: s3, s3: ${JSON.stringify(s3)} }`,
    };
    const env = {
      IMAGETRUST_ADMIN_PASSWORD: ADMIN_PASSWORD,
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
    };
    const block = randomBytes(MIB);
    const expected = createHash('sha512');
    for (let i = 0; i < mib; i++) expected.update(block);
    const sha512 = expected.digest('hex');
    const figures: Record<string, Figures> = {};
    for (const [name, blobs] of Object.entries(backends)) {
      const config = path.join(work, `${name}.yaml`);
      writeFileSync(config, `${blobs}\nlogLevel: warn\n`);
      const p = await startApiProcess(name, config, path.join(work, `data-${name}`), env);
      processes.push(p);
      const token = (await passwordLogin(p.url, 'admin', ADMIN_PASSWORD, 'admin')).headers.get(
        'x-subject-token',
      )!;
      const target = { url: p.url, token, imagesPath: '/image/v2/images', pids: async () => [p.child.pid!] };
      figures[name] = await measure(name, target, block, mib, reps, sha512, storePids);
      await stopAll([p.child]);
    }
    const swiftAlone = await swiftFloor(swift, work, block, mib, reps);
    if (withGlance) {
      const started = await startGlanceOnSwift(swift, work);
      glance = started;
      const target = {
        url: started.url,
        token: 'noauth',
        imagesPath: '/v2/images',
        pids: async () => [started.pid, ...(await descendants(started.pid))],
      };
      figures.glanceSwift = await measure('glance on swift', target, block, mib, reps, sha512, storePids);
      await started.stop();
      glance = undefined;
    }
    const up = (name: string) => median(figures[name].upload);
    const down = (name: string) => median(figures[name].download);
    const result = {
      at: new Date().toISOString(),
      loadavg: loadavg(),
      mib,
      reps,
      seconds: Object.fromEntries(
        Object.keys(figures).map((n) => [n, { upload: round(up(n)), download: round(down(n)) }]),
      ),
      uploadRatioS3ToFilesystem: round(up('s3') / up('filesystem'), 2),
      downloadRatioS3ToFilesystem: round(down('s3') / down('filesystem'), 2),
      uploadRatioS3ToGlanceSwift: figures.glanceSwift ? round(up('s3') / up('glanceSwift'), 2) : null,
      swiftAloneUploadSeconds: round(median(swiftAlone)),
      uploadRatioS3ToSwiftAlone: round(up('s3') / median(swiftAlone), 2),
      uploadRatioSwiftAloneToFilesystem: round(median(swiftAlone) / up('filesystem'), 2),
      downloadRatioS3ToGlanceSwift: figures.glanceSwift ? round(down('s3') / down('glanceSwift'), 2) : null,
      peakRssMb: Object.fromEntries(Object.entries(figures).map(([n, f]) => [n, f.peakRssMb])),
      // Median CPU seconds per GiB uploaded; on one machine, (service + store) / cores bounds the time.
      uploadCpuSecondsPerGiB: Object.fromEntries(
        Object.entries(figures).map(([n, f]) => [
          n,
          {
            service: round(median(f.uploadCpu.service) / (mib / 1024), 2),
            store: round(median(f.uploadCpu.store) / (mib / 1024), 2),
          },
        ]),
      ),
      cores: availableParallelism(),
    };
    const ratioRow = (label: string, value: number | null, target: string, ok: boolean) => [
      label,
      value === null ? 'n/a' : `${value}`,
      target,
      value === null ? 'n/a' : ok ? 'PASS' : 'MISS',
    ];
    const rows = [
      ['upload, filesystem', `${result.seconds.filesystem.upload} s`, '', ''],
      ['upload, S3 (Swift)', `${result.seconds.s3.upload} s`, '', ''],
      [
        'upload, real Glance on Swift',
        result.seconds.glanceSwift ? `${result.seconds.glanceSwift.upload} s` : 'n/a',
        '',
        '',
      ],
      ['upload, Swift alone (curl PUT, no service)', `${result.swiftAloneUploadSeconds} s`, '', ''],
      [
        '  Swift alone / filesystem upload (the floor of any S3 ratio)',
        `${result.uploadRatioSwiftAloneToFilesystem}`,
        '',
        '',
      ],
      ['  upload S3 / Swift alone', `${result.uploadRatioS3ToSwiftAlone}`, '', ''],
      ratioRow(
        'upload S3 / filesystem',
        result.uploadRatioS3ToFilesystem,
        '<= 1.3',
        result.uploadRatioS3ToFilesystem <= 1.3,
      ),
      ratioRow(
        'upload S3 / Glance on Swift',
        result.uploadRatioS3ToGlanceSwift,
        '< 1',
        (result.uploadRatioS3ToGlanceSwift ?? 1) < 1,
      ),
      ['download, filesystem', `${result.seconds.filesystem.download} s`, '', ''],
      ['download, S3 (Swift)', `${result.seconds.s3.download} s`, '', ''],
      [
        'download, real Glance on Swift',
        result.seconds.glanceSwift ? `${result.seconds.glanceSwift.download} s` : 'n/a',
        '',
        '',
      ],
      ['download S3 / filesystem', `${result.downloadRatioS3ToFilesystem}`, '', ''],
      ['download S3 / Glance on Swift', `${result.downloadRatioS3ToGlanceSwift ?? 'n/a'}`, '', ''],
      ...Object.entries(result.uploadCpuSecondsPerGiB).map(([n, cpu]) => [
        `upload CPU per GiB, ${n}: service + Swift (floor on ${result.cores} cores)`,
        `${cpu.service} + ${cpu.store} s (${round((cpu.service + cpu.store) / result.cores, 2)} s)`,
        '',
        '',
      ]),
      ...Object.entries(result.peakRssMb).map(([n, mb]) =>
        n === 'glanceSwift'
          ? [`peak RSS, ${n} (largest process)`, `${mb} MB`, '', '']
          : [`peak RSS, ${n}`, `${mb} MB`, '< 200 MB', mb < 200 ? 'PASS' : 'MISS'],
      ),
    ];
    for (const line of metricTable(rows)) process.stdout.write(`${line}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    mkdirSync(RESULTS, { recursive: true });
    const kept = path.join(RESULTS, `object-store-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(kept, `${JSON.stringify(result, null, 2)}\n`);
    log(`results kept in ${path.relative(ROOT, kept)}`);
  } finally {
    await glance?.stop();
    await stopAll(processes.map((p) => p.child));
    await swift?.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

await runBenchmark(main);

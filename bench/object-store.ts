// npm run bench:object-store — one imagetrust process with its data on the local disk, and one with its data
// in OpenStack Swift through Swift's S3 API (Debian's packages, started here on loopback), in the same run:
//  1. uploads IMAGETRUST_BENCH_MIB MiB (default 1024) to each, IMAGETRUST_BENCH_REPS times (default 2);
//  2. downloads it again from each, reading every byte;
//  3. prints medians, the S3/filesystem ratios (target: upload within 1.3x) and each process's peak RSS,
//     then the JSON, also kept in bench/results/.
// Real Glance on the same Swift is not in this run yet (see the notes).
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { passwordLogin } from '../test/support/auth.ts';
import { type ApiProcess, startApiProcess, stopAll } from '../test/support/balanced.ts';
import { type ObjectStore, startObjectStore } from '../test/support/objectstore.ts';
import {
  log,
  median,
  metricTable,
  peakRss,
  positiveInt,
  round,
  runBenchmark,
  uploadRepeated,
} from './processes.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const RESULTS = path.join(ROOT, 'bench', 'results');
const ADMIN_PASSWORD = 'bench-admin-password';
const MIB = 1024 * 1024;

/** GETs the data, hashing it; resolves with the seconds and the sha512. */
async function download(
  url: string,
  token: string,
  id: string,
): Promise<{ seconds: number; sha512: string }> {
  const start = performance.now();
  const response = await fetch(`${url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token } });
  const hash = createHash('sha512');
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  return { seconds: (performance.now() - start) / 1000, sha512: hash.digest('hex') };
}

async function main(): Promise<void> {
  const mib = positiveInt('IMAGETRUST_BENCH_MIB', 1024);
  const reps = positiveInt('IMAGETRUST_BENCH_REPS', 2);
  const work = mkdtempSync(path.join(tmpdir(), 'imagetrust-bench-objectstore-'));
  let swift: ObjectStore | undefined;
  const processes: ApiProcess[] = [];
  try {
    swift = await startObjectStore();
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
    const figures: Record<string, { upload: number[]; download: number[]; peakRssMb: number }> = {};
    for (const [name, blobs] of Object.entries(backends)) {
      const config = path.join(work, `${name}.yaml`);
      writeFileSync(config, `${blobs}\nlogLevel: warn\n`);
      const p = await startApiProcess(name, config, path.join(work, `data-${name}`), env);
      processes.push(p);
      const token = (await passwordLogin(p.url, 'admin', ADMIN_PASSWORD, 'admin')).headers.get(
        'x-subject-token',
      )!;
      figures[name] = { upload: [], download: [], peakRssMb: 0 };
      for (let rep = 0; rep < reps; rep++) {
        const created = await fetch(`${p.url}/image/v2/images`, {
          method: 'POST',
          headers: { 'x-auth-token': token, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `bench-${rep}`, disk_format: 'raw', container_format: 'bare' }),
        });
        const id = ((await created.json()) as { id: string }).id;
        figures[name].upload.push(await uploadRepeated(p.url, token, id, block, mib));
        const got = await download(p.url, token, id);
        if (got.sha512 !== sha512) throw new Error(`${name}: the download differs from the upload`);
        figures[name].download.push(got.seconds);
        await fetch(`${p.url}/image/v2/images/${id}`, {
          method: 'DELETE',
          headers: { 'x-auth-token': token },
        });
        log(
          `${name} rep ${rep + 1}: upload ${round(figures[name].upload[rep])} s, download ${round(got.seconds)} s`,
        );
      }
      figures[name].peakRssMb = round(peakRss(p.child.pid!) / 1e6, 1);
      await stopAll([p.child]);
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
      peakRssMb: Object.fromEntries(Object.entries(figures).map(([n, f]) => [n, f.peakRssMb])),
    };
    const rows = [
      ['upload, filesystem', `${result.seconds.filesystem.upload} s`, '', ''],
      ['upload, S3 (Swift)', `${result.seconds.s3.upload} s`, '', ''],
      [
        'upload S3 / filesystem',
        `${result.uploadRatioS3ToFilesystem}`,
        '<= 1.3',
        result.uploadRatioS3ToFilesystem <= 1.3 ? 'PASS' : 'MISS',
      ],
      ['download, filesystem', `${result.seconds.filesystem.download} s`, '', ''],
      ['download, S3 (Swift)', `${result.seconds.s3.download} s`, '', ''],
      ['download S3 / filesystem', `${result.downloadRatioS3ToFilesystem}`, '', ''],
      ...Object.entries(result.peakRssMb).map(([n, mb]) => [
        `peak RSS, ${n}`,
        `${mb} MB`,
        '< 200 MB',
        mb < 200 ? 'PASS' : 'MISS',
      ]),
    ];
    for (const line of metricTable(rows)) process.stdout.write(`${line}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    mkdirSync(RESULTS, { recursive: true });
    const kept = path.join(RESULTS, `object-store-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(kept, `${JSON.stringify(result, null, 2)}\n`);
    log(`results kept in ${path.relative(ROOT, kept)}`);
  } finally {
    await stopAll(processes.map((p) => p.child));
    await swift?.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

await runBenchmark(main);

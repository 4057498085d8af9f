// Posture scan benchmark (run with `node bench/posture.ts`). It is a report, not a test: it times
// `imagetrust posture scan` (catalogue load, reading and statting every file, oslo.config parsing, policy
// evaluation, every check) over a full /etc set as Debian 12's nova, glance, cinder, barbican and libvirt
// packages install it (the .debs come from apt-get download, cached), with 200 flavors and 500 images
// exports; cold (first scan in the process) and warm (p50, p95 of $BENCH_POSTURE_RUNS, default 50). The
// target is under 300 ms warm. Results as text, then as one JSON line.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scanPosture } from '../src/cli/posture.ts';
import { installedEtc, unpackOpenStackPackages } from '../test/support/openstack-etc.ts';

const RUNS = Number(process.env.BENCH_POSTURE_RUNS ?? 50);
const TARGET_MS = 300;

function filesUnder(dir: string): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const stat = statSync(p);
    if (stat.isDirectory()) {
      const inner = filesUnder(p);
      count += inner.count;
      bytes += inner.bytes;
    } else {
      count++;
      bytes += stat.size;
    }
  }
  return { count, bytes };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const work = mkdtempSync(path.join(tmpdir(), 'bench-posture-'));
try {
  const etc = installedEtc(unpackOpenStackPackages(path.join(work, 'packages')), work);
  const flavors = path.join(work, 'flavors.json');
  writeFileSync(
    flavors,
    JSON.stringify(
      Array.from({ length: 200 }, (_, i) => ({
        ID: String(i),
        Name: `f${i}`,
        Properties: i % 10 === 0 ? { 'hw_rng:allowed': 'False' } : { 'hw_rng:rate_bytes': '24' },
      })),
    ),
  );
  const images = path.join(work, 'images.json');
  writeFileSync(
    images,
    JSON.stringify(
      Array.from({ length: 500 }, (_, i) => ({
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        name: `image-${i}`,
        visibility: i % 3 === 0 ? 'public' : 'private',
        properties: i % 2 === 0 ? { hw_rng_model: 'virtio', img_signature: 'x' } : {},
      })),
    ),
  );
  const options = { flavors: [flavors], images: [images] };
  const coldStart = performance.now();
  const first = await scanPosture([etc], options);
  const coldMs = performance.now() - coldStart;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await scanPosture([etc], options);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const set = filesUnder(etc);
  const result = {
    files: set.count,
    kilobytes: Math.round(set.bytes / 1024),
    checks: first.catalogue.length,
    findings: first.findings.length,
    runs: RUNS,
    coldMs: Number(coldMs.toFixed(1)),
    warmP50Ms: Number(percentile(times, 50).toFixed(1)),
    warmP95Ms: Number(percentile(times, 95).toFixed(1)),
    targetMs: TARGET_MS,
    warmShareOfTarget: Number((percentile(times, 50) / TARGET_MS).toFixed(3)),
  };
  const rows: [string, string][] = [
    [
      '/etc set',
      `${result.files} files, ${result.kilobytes} KiB (Debian 12 nova, glance, cinder, barbican, libvirt)`,
    ],
    ['exports', '200 flavors, 500 images'],
    ['checks / findings', `${result.checks} / ${result.findings}`],
    ['cold (first scan)', `${result.coldMs} ms`],
    [
      'warm p50',
      `${result.warmP50Ms} ms (${(result.warmShareOfTarget * 100).toFixed(1)} % of the ${TARGET_MS} ms target)`,
    ],
    ['warm p95', `${result.warmP95Ms} ms`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write('posture scan (scanPosture over a full /etc set)\n');
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

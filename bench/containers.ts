// Container signature verification benchmark (run with `npm run bench:containers`). It is a report, not
// a test: it always exits 0 unless the benchmark itself cannot run, and marks missed targets with "MISS".
//
// In one run it:
//  1. makes a throwaway GNUPGHOME in bench/.work with an ed25519 signing key (gpg), starts Debian's
//     docker-registry on loopback, pushes one tiny image with skopeo into $BENCH_REPOS repositories
//     (default 10), then PUTs $BENCH_TAGS (default 100) distinct manifests per repository (the same
//     blobs, a per-tag annotation) through the registry API: REPOS × TAGS distinct signed references;
//  2. signs every reference with the project's skopeo-compatible signer (signDockerManifest), serves the
//     signatures from an in-process lookaside HTTP server, and writes a registries.d and a policy.json
//     (`signedBy` GPGKeys, default reject);
//  3. times verifying all references in one batch in-process with what `containers check` uses
//     (readPolicyFile, readRegistriesDir, openPolicyImage, evaluatePolicy with the real mechanisms) at
//     concurrency $BENCH_CONCURRENCY (default 12); every decision must be "allowed";
//  4. times `skopeo standalone-verify MANIFEST REF FPR SIGNATURE` for every reference, sequentially as a
//     CI script would (files prepared beforehand); when the first 100 project beyond $BENCH_SKOPEO_MAX_S
//     seconds (default 240) it stops there and extrapolates, labelled as such;
//  5. measures policy parse + decision latency for one `dir:` image (no network): readPolicyFile +
//     openPolicyImage + evaluatePolicy, $BENCH_LATENCY_ITERATIONS times (default 2,000) after a warm-up;
//  6. prints a table with the targets, then the results as JSON.
// Every process it starts is stopped by PID, also on failure or Ctrl-C.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { systemClock } from '../src/app/clock.ts';
import {
  createPolicyMechanisms,
  evaluatePolicy,
  openPolicyImage,
  type PolicyDecision,
  parsePolicy,
  readOpenPgpPrivateKeys,
  readPolicyFile,
  readRegistriesDir,
  signatureStorageFor,
  signDockerManifest,
} from '../src/containers/index.ts';
import { writeOciImage } from '../test/support/registry.ts';
import {
  freePort,
  livePids,
  log,
  metricTable,
  positiveInt,
  round,
  runBenchmark,
  stopPid,
} from './processes.ts';

const execFileP = promisify(execFile);

const ROOT = path.resolve(import.meta.dirname, '..');
const WORK = path.join(ROOT, 'bench', '.work', 'containers');
const REPOS = positiveInt('BENCH_REPOS', 10);
const TAGS = positiveInt('BENCH_TAGS', 100);
const CONCURRENCY = positiveInt('BENCH_CONCURRENCY', 12);
const SKOPEO_MAX_S = positiveInt('BENCH_SKOPEO_MAX_S', 240);
const SKOPEO_SAMPLE = 100;
const LATENCY_ITERATIONS = positiveInt('BENCH_LATENCY_ITERATIONS', 2000);
const LATENCY_WARMUP = 100;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const TARGETS = {
  skopeoVsImagetrustMin: 10,
};

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: everything started is recorded and stopped by PID.

// ---------------------------------------------------------------------------------------------
// Helpers

async function run(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await execFileP(command, args, {
      env: { ...process.env, ...env },
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Runs `worker` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, worker: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index]);
    }
  });
  await Promise.all(lanes);
  return results;
}

// ---------------------------------------------------------------------------------------------
// 1. GPG key, registry, images

interface GpgKey {
  env: Record<string, string>;
  fingerprint: string;
  publicKeyFile: string;
  secretArmored: Buffer;
}

async function makeGpgKey(): Promise<GpgKey> {
  const home = path.join(WORK, 'gnupg');
  await mkdir(home, { recursive: true, mode: 0o700 });
  const env = { GNUPGHOME: home };
  const quiet = ['--batch', '--pinentry-mode', 'loopback', '--passphrase', ''];
  await run(
    'gpg',
    [...quiet, '--quick-generate-key', 'bench <bench@example.com>', 'ed25519', 'sign', '1d'],
    env,
  );
  const listing = await run('gpg', ['--with-colons', '--list-keys', 'bench@example.com'], env);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in gpg output: ${listing}`);
  const publicKeyFile = path.join(WORK, 'bench.asc');
  await writeFile(publicKeyFile, await run('gpg', ['--armor', '--export', fingerprint], env));
  const secretArmored = Buffer.from(
    await run('gpg', [...quiet, '--armor', '--export-secret-keys', fingerprint], env),
  );
  return { env, fingerprint, publicKeyFile, secretArmored };
}

async function stopGpgAgent(env: Record<string, string>): Promise<void> {
  await run('gpgconf', ['--kill', 'gpg-agent'], env).catch(() => {});
}

interface Registry {
  host: string;
  pid: number;
}

async function startRegistry(): Promise<Registry> {
  const dir = path.join(WORK, 'registry');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not start docker-registry');
  const pid = child.pid;
  livePids.add(pid);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v2/`);
      await response.arrayBuffer();
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await sleep(100);
  }
  return { host: `127.0.0.1:${port}`, pid };
}

interface SignedRef {
  repository: string; // bench/rN
  reference: string; // host/bench/rN:tM
  manifest: Buffer;
  digest: string;
  manifestFile: string;
  signatureFile: string;
}

/** Pushes the tiny image into every repository, then one distinct manifest per tag. */
async function pushImages(host: string): Promise<SignedRef[]> {
  const layout = path.join(WORK, 'oci');
  await rm(layout, { recursive: true, force: true });
  writeOciImage(layout, 'hello from the imagetrust containers benchmark\n');
  const repositories = Array.from({ length: REPOS }, (_, r) => `bench/r${r}`);
  for (const repository of repositories) {
    await run('skopeo', [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${layout}:latest`,
      `docker://${host}/${repository}:base`,
    ]);
  }
  const base = JSON.parse(
    await (
      await fetch(`http://${host}/v2/bench/r0/manifests/base`, { headers: { accept: OCI_MANIFEST } })
    ).text(),
  ) as Record<string, unknown>;
  const items = repositories.flatMap((repository) =>
    Array.from({ length: TAGS }, (_, t) => ({ repository, tag: `t${t}` })),
  );
  const files = path.join(WORK, 'refs');
  await mkdir(files, { recursive: true });
  return pool(items, 16, async ({ repository, tag }) => {
    const manifest = Buffer.from(
      JSON.stringify({ ...base, annotations: { 'org.example.bench.tag': `${repository}:${tag}` } }),
    );
    const response = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
      method: 'PUT',
      body: new Uint8Array(manifest),
      headers: { 'content-type': OCI_MANIFEST },
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`PUT ${repository}:${tag}: ${response.status} ${text}`);
    const stem = path.join(files, `${repository.replace('/', '_')}_${tag}`);
    return {
      repository,
      reference: `${host}/${repository}:${tag}`,
      manifest,
      digest: sha256(manifest),
      manifestFile: `${stem}.manifest.json`,
      signatureFile: `${stem}.signature`,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Signatures, lookaside, registries.d, policy

async function signAll(refs: SignedRef[], key: GpgKey, lookaside: Map<string, Buffer>): Promise<number> {
  const privateKeys = await readOpenPgpPrivateKeys(key.secretArmored);
  const started = performance.now();
  const now = new Date();
  for (const ref of refs) {
    const signature = Buffer.from(
      await signDockerManifest({
        manifest: ref.manifest,
        dockerReference: ref.reference,
        privateKeys,
        fingerprint: key.fingerprint,
        now,
      }),
    );
    lookaside.set(`/${ref.repository}@${ref.digest.replace(':', '=')}/signature-1`, signature);
    await writeFile(ref.manifestFile, ref.manifest);
    await writeFile(ref.signatureFile, signature);
  }
  return (performance.now() - started) / 1000;
}

async function startLookaside(files: Map<string, Buffer>): Promise<{ url: string; server: Server }> {
  const server = createHttpServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const body = files.get(pathname);
    if (body) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server };
}

// ---------------------------------------------------------------------------------------------
// 3. imagetrust: the building blocks of `containers check`

async function imagetrustBatch(refs: SignedRef[], policyFile: string, registriesDir: string) {
  const started = performance.now();
  const policy = await readPolicyFile(policyFile);
  const config = await readRegistriesDir(registriesDir);
  const storage = signatureStorageFor(config);
  const mechs = createPolicyMechanisms({ now: systemClock.now });
  const decisions = await pool(refs, CONCURRENCY, async (ref): Promise<PolicyDecision> => {
    try {
      const image = openPolicyImage(`docker://${ref.reference}`, {
        signatureStorage: storage,
        tlsVerify: false,
        manifestDigest: mechs.manifestDigest,
      });
      await image.manifest();
      return await evaluatePolicy(policy, image, mechs);
    } catch (error) {
      return { allowed: false, reason: `error: ${(error as Error).message}`, scope: {}, requirements: [] };
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const other = decisions.filter((d) => !d.allowed);
  for (const d of other.slice(0, 3)) log(`imagetrust: not allowed: ${d.reason}`);
  return { seconds, allowed: decisions.length - other.length, notAllowed: other.length };
}

// ---------------------------------------------------------------------------------------------
// 4. skopeo standalone-verify, sequential

async function skopeoRuns(refs: SignedRef[], key: GpgKey) {
  const env = { ...process.env, ...key.env };
  const perRun: number[] = [];
  let failures = 0;
  let extrapolated = false;
  const started = performance.now();
  for (const ref of refs) {
    const t0 = performance.now();
    const ok = await new Promise<boolean>((resolve, reject) => {
      const child = spawn(
        'skopeo',
        ['standalone-verify', ref.manifestFile, ref.reference, key.fingerprint, ref.signatureFile],
        { env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      if (child.pid !== undefined) livePids.add(child.pid);
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      child.once('error', reject);
      child.once('close', (code) => {
        if (child.pid !== undefined) livePids.delete(child.pid);
        if (code !== 0 && failures < 3) log(`skopeo standalone-verify ${ref.reference}: ${stderr.trim()}`);
        resolve(code === 0);
      });
    });
    perRun.push((performance.now() - t0) / 1000);
    if (!ok) failures++;
    if (perRun.length === SKOPEO_SAMPLE && refs.length > SKOPEO_SAMPLE) {
      const projected = ((performance.now() - started) / 1000 / SKOPEO_SAMPLE) * refs.length;
      if (projected > SKOPEO_MAX_S) {
        log(`skopeo: ${SKOPEO_SAMPLE} runs project to ${projected.toFixed(0)} s; stopping and extrapolating`);
        extrapolated = true;
        break;
      }
    }
  }
  const measuredSeconds = (performance.now() - started) / 1000;
  const totalSeconds = extrapolated ? (measuredSeconds / perRun.length) * refs.length : measuredSeconds;
  return { runs: perRun.length, measuredSeconds, totalSeconds, extrapolated, failures, perRun };
}

// ---------------------------------------------------------------------------------------------
// 5. Parse + decision latency for one dir: image

async function latency(dirImage: string, policyFile: string) {
  const mechs = createPolicyMechanisms({ now: systemClock.now });
  const once = async () => {
    const t0 = performance.now();
    const policy = await readPolicyFile(policyFile);
    const image = openPolicyImage(`dir:${dirImage}`, { manifestDigest: mechs.manifestDigest });
    await image.manifest();
    const decision = await evaluatePolicy(policy, image, mechs);
    const ms = performance.now() - t0;
    if (!decision.allowed) throw new Error(`dir: image not allowed: ${decision.reason}`);
    return ms;
  };
  for (let i = 0; i < LATENCY_WARMUP; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_ITERATIONS; i++) samples.push(await once());
  // Parse alone, for the split.
  const text = await readFile(policyFile, 'utf8');
  const parseSamples: number[] = [];
  for (let i = 0; i < LATENCY_ITERATIONS; i++) {
    const t0 = performance.now();
    parsePolicy(text);
    parseSamples.push(performance.now() - t0);
  }
  return {
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    maxMs: Math.max(...samples),
    parseP50Ms: percentile(parseSamples, 50),
    parseP99Ms: percentile(parseSamples, 99),
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function mark(ok: boolean | null): string {
  if (ok === null) return 'n/a';
  return ok ? 'ok' : 'MISS';
}

async function main(): Promise<void> {
  for (const tool of ['skopeo', 'gpg', 'gpgconf', 'docker-registry']) {
    await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(`'${tool}' is not installed (apt-get install skopeo gnupg docker-registry)`);
    });
  }
  const loadBefore = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  const count = REPOS * TAGS;
  log(
    `${REPOS} repositories × ${TAGS} tags = ${count} references, concurrency ${CONCURRENCY}, load ${loadBefore}`,
  );
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  const skopeoVersion = (await run('skopeo', ['--version'])).trim();

  const key = await makeGpgKey();
  let registry: Registry | null = null;
  let lookasideServer: Server | null = null;
  try {
    registry = await startRegistry();
    log(`docker-registry on ${registry.host}, pid ${registry.pid}`);
    const t0 = performance.now();
    const refs = await pushImages(registry.host);
    const pushSeconds = (performance.now() - t0) / 1000;
    log(`pushed ${REPOS} images and ${refs.length} distinct manifests in ${pushSeconds.toFixed(1)} s`);

    const lookasideFiles = new Map<string, Buffer>();
    const signSeconds = await signAll(refs, key, lookasideFiles);
    log(`signed ${refs.length} references with signDockerManifest in ${signSeconds.toFixed(2)} s`);
    const lookaside = await startLookaside(lookasideFiles);
    lookasideServer = lookaside.server;

    const registriesDir = path.join(WORK, 'registries.d');
    await mkdir(registriesDir, { recursive: true });
    await writeFile(
      path.join(registriesDir, 'bench.yaml'),
      `docker:\n  ${registry.host}:\n    lookaside: ${lookaside.url}\n`,
    );
    // A dir: copy of the first reference (manifest + signature-1), for the latency measurement.
    const first = refs[0];
    const dirImage = path.join(WORK, 'dir-image');
    await mkdir(dirImage, { recursive: true });
    await writeFile(path.join(dirImage, 'version'), 'Directory Transport Version: 1.1\n');
    await writeFile(path.join(dirImage, 'manifest.json'), first.manifest);
    await writeFile(path.join(dirImage, 'signature-1'), await readFile(first.signatureFile));
    const policyFile = path.join(WORK, 'policy.json');
    await writeFile(
      policyFile,
      `${JSON.stringify(
        {
          default: [{ type: 'reject' }],
          transports: {
            docker: {
              [registry.host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: key.publicKeyFile }],
            },
            dir: {
              [dirImage]: [
                {
                  type: 'signedBy',
                  keyType: 'GPGKeys',
                  keyPath: key.publicKeyFile,
                  signedIdentity: { type: 'exactReference', dockerReference: first.reference },
                },
              ],
            },
          },
        },
        null,
        2,
      )}\n`,
    );

    // skopeo is the oracle that our signatures are what skopeo standalone-sign makes.
    await run(
      'skopeo',
      ['standalone-verify', first.manifestFile, first.reference, key.fingerprint, first.signatureFile],
      key.env,
    );
    log('skopeo standalone-verify accepts a signDockerManifest signature');

    // Warm-up with a handful of references (module loading, JIT), not counted.
    await imagetrustBatch(refs.slice(0, 20), policyFile, registriesDir);
    const batch = await imagetrustBatch(refs, policyFile, registriesDir);
    log(
      `imagetrust batch: ${refs.length} references in ${batch.seconds.toFixed(2)} s, ${batch.allowed} allowed, ${batch.notAllowed} other`,
    );

    const skopeo = await skopeoRuns(refs, key);
    log(
      `skopeo standalone-verify: ${skopeo.runs} runs in ${skopeo.measuredSeconds.toFixed(1)} s` +
        `${skopeo.extrapolated ? ` (extrapolated to ${refs.length}: ${skopeo.totalSeconds.toFixed(1)} s)` : ''}, ${skopeo.failures} failed`,
    );

    const lat = await latency(dirImage, policyFile);
    log(`policy parse + decision (dir:): p50 ${lat.p50Ms.toFixed(3)} ms, p99 ${lat.p99Ms.toFixed(3)} ms`);

    const ratio = skopeo.totalSeconds / batch.seconds;
    const skopeoMedianMs = percentile(skopeo.perRun, 50) * 1000;
    const skopeoLabel = skopeo.extrapolated
      ? `skopeo standalone-verify × ${refs.length} (EXTRAPOLATED from ${skopeo.runs} runs)`
      : `skopeo standalone-verify × ${refs.length}, sequential`;
    const rows: [string, string, string, string][] = [
      [`push: ${REPOS} skopeo copies + ${refs.length} manifest PUTs`, `${pushSeconds.toFixed(2)} s`, '', ''],
      [`sign ${refs.length} references (signDockerManifest)`, `${signSeconds.toFixed(2)} s`, '', ''],
      [
        `imagetrust batch verify × ${refs.length}, concurrency ${CONCURRENCY}`,
        `${batch.seconds.toFixed(2)} s`,
        '',
        '',
      ],
      ['  per reference', `${((batch.seconds / refs.length) * 1000).toFixed(2)} ms`, '', ''],
      [
        '  decisions allowed / other',
        `${batch.allowed} / ${batch.notAllowed}`,
        `${refs.length} / 0`,
        mark(batch.notAllowed === 0),
      ],
      [skopeoLabel, `${skopeo.totalSeconds.toFixed(2)} s`, '', ''],
      ['  per run (median)', `${skopeoMedianMs.toFixed(1)} ms`, '', ''],
      ['  runs failed', String(skopeo.failures), '0', mark(skopeo.failures === 0)],
      [
        '  skopeo / imagetrust batch',
        `${ratio.toFixed(1)}x`,
        `>= ${TARGETS.skopeoVsImagetrustMin}x`,
        mark(ratio >= TARGETS.skopeoVsImagetrustMin),
      ],
      [
        `policy parse + decision, dir: image, p50 of ${LATENCY_ITERATIONS}`,
        `${lat.p50Ms.toFixed(3)} ms`,
        '',
        '',
      ],
      [
        `policy parse + decision, dir: image, p99 of ${LATENCY_ITERATIONS}`,
        `${lat.p99Ms.toFixed(3)} ms`,
        '',
        '',
      ],
      [
        '  of which parsePolicy alone, p50 / p99',
        `${(lat.parseP50Ms * 1000).toFixed(0)} / ${(lat.parseP99Ms * 1000).toFixed(0)} µs`,
        '',
        '',
      ],
    ];
    const out: string[] = [''];
    out.push(
      `imagetrust containers benchmark: ${refs.length} signed references (${REPOS} repos × ${TAGS} tags), ${skopeoVersion}, load before ${loadBefore}`,
    );
    out.push(...metricTable(rows));
    const misses = rows.filter((r) => r[3] === 'MISS').map((r) => r[0].trim());
    out.push(misses.length ? `MISSED TARGETS: ${misses.join('; ')}` : 'all measured targets met');
    process.stdout.write(`${out.join('\n')}\n\n`);

    const result = {
      references: refs.length,
      repositories: REPOS,
      tagsPerRepository: TAGS,
      concurrency: CONCURRENCY,
      loadAverageBefore: loadBefore,
      skopeoVersion,
      pushSeconds: round(pushSeconds),
      signSeconds: round(signSeconds),
      imagetrust: {
        batchSeconds: round(batch.seconds),
        perReferenceMs: round((batch.seconds / refs.length) * 1000),
        allowed: batch.allowed,
        notAllowed: batch.notAllowed,
      },
      skopeo: {
        runs: skopeo.runs,
        measuredSeconds: round(skopeo.measuredSeconds),
        totalSeconds: round(skopeo.totalSeconds),
        extrapolated: skopeo.extrapolated,
        perRunMedianMs: round(skopeoMedianMs, 2),
        failures: skopeo.failures,
      },
      skopeoVsImagetrust: round(ratio, 2),
      latency: {
        iterations: LATENCY_ITERATIONS,
        warmup: LATENCY_WARMUP,
        p50Us: round(lat.p50Ms * 1000, 1),
        p99Us: round(lat.p99Ms * 1000, 1),
        maxUs: round(lat.maxMs * 1000, 1),
        parseOnlyP50Us: round(lat.parseP50Ms * 1000, 1),
        parseOnlyP99Us: round(lat.parseP99Ms * 1000, 1),
      },
      targets: TARGETS,
      misses,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (lookasideServer) {
      lookasideServer.closeAllConnections();
      lookasideServer.close();
    }
    if (registry) await stopPid(registry.pid, 'docker-registry');
    await stopGpgAgent(key.env);
  }
}

await runBenchmark(main);

// Several stateless API processes behind Debian's haproxy, run with the repository's own deploy/haproxy.cfg:
// two `imagetrust serve` processes share one PostgreSQL, one object store (OpenStack Swift with its S3 API,
// started here from Debian's packages), the key-encryption key and the tree-head signing key, and the real openstack and glance clients talk only to the balancer. What one
// process stores the other serves byte for byte; a refused signed upload leaves no data; a process killed
// with SIGKILL mid-upload costs the client one retry, and the survivor takes over the background jobs the
// dead process held (one process at a time runs them, by lease), puts the image back to queued and
// removes the dead process's partial data. deploy/imagetrust@.service is checked by systemd-analyze.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BlobStore } from '../../src/catalog/index.ts';
import { openS3BlobStore, type S3BlobStore } from '../../src/storage/index.ts';
import { loadSigningFixtures } from '../fixtures/signing-fixtures.ts';
import { adminQuery, postgresUrlFor } from '../storage/database-backends.ts';
import { passwordLogin } from '../support/auth.ts';
import { type ApiProcess, startApiProcess, startBalancer, stopAll } from '../support/balanced.ts';
import { apiCall } from '../support/http.ts';
import { type ObjectStore, startObjectStore } from '../support/objectstore.ts';
import { freePort } from '../support/registry.ts';
import { ADMIN_PASSWORD, clientEnvironment } from '../support/server.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/** The processes that served `method` on the image data route of `id`, from their request lines. */
function servedBy(processes: ApiProcess[], method: string, id: string): string[] {
  return processes
    .filter((p) =>
      p.log.some(
        (l) =>
          l.msg === 'request completed' &&
          l.method === method &&
          l.path === `/image/v2/images/${id}/file` &&
          Number(l.status) < 300,
      ),
    )
    .map((p) => p.name);
}

/** One sample of a process's own /metrics (0 when absent). */
async function metric(p: ApiProcess, sample: string): Promise<number> {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return Number(line?.slice(sample.length + 1) ?? 0);
}

const uploadsInFlight = (p: ApiProcess) => metric(p, 'imagetrust_uploads_in_flight');
const LIFECYCLE_RUNS = 'imagetrust_background_job_runs_total{job="lifecycle_schedules",outcome="ok"}';
const LIFECYCLE_STANDBY = 'imagetrust_background_job_runs_total{job="lifecycle_schedules",outcome="standby"}';

describe('two imagetrust processes behind haproxy', { timeout: 10 * 60_000 }, () => {
  const schema = `it_lb_${randomBytes(4).toString('hex')}`;
  let work: string;
  let swift: ObjectStore;
  /** The bucket as the processes see it, to ask what is stored and what uploads are open. */
  let bucket: S3BlobStore;
  let lbUrl: string;
  let haproxy: ChildProcess;
  const processes: ApiProcess[] = [];
  let env: Record<string, string>;
  let token: string;
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  before(async () => {
    requireTool('haproxy', 'haproxy');
    requireTool('openstack', 'python3-openstackclient');
    requireTool('glance', 'python3-glanceclient');
    await adminQuery(`CREATE SCHEMA ${schema}`);
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-lb-'));
    swift = await startObjectStore();
    const s3 = {
      endpoint: swift.endpoint,
      region: swift.region,
      bucket: swift.bucket,
      pathStyle: true,
      prefix: 'lb',
      partSizeMiB: 5,
      credentialsFile: '',
      profile: '',
    };
    const credentials = {
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
    };
    bucket = await openS3BlobStore(s3, { env: credentials, stagingDir: path.join(work, 'bucket-staging') });
    mkdirSync(path.join(work, 'shared-keys'), { mode: 0o700 });
    const lbPort = await freePort();
    lbUrl = `http://127.0.0.1:${lbPort}`;
    const config = path.join(work, 'imagetrust.yaml');
    writeFileSync(
      config,
      [
        `database: ${postgresUrlFor(schema)}`,
        `blobs: { backend: s3, s3: ${JSON.stringify(s3)} }`,
        `audit: { signingKeyFile: ${path.join(work, 'shared-keys', 'audit-log-key.pem')} }`,
        `identity: { loginNameKeyFile: ${path.join(work, 'shared-keys', 'login-name-key')} }`,
        `publicUrl: ${lbUrl}`,
        'trustedProxies: [127.0.0.1]',
        // A dead process's upload is found by the survivor within a lease.
        'uploads: { leaseSeconds: 2 }',
        'lifecycle: { scheduleIntervalSeconds: 0.2 }',
        'logLevel: info',
      ].join('\n'),
    );
    const shared = {
      ...credentials,
      IMAGETRUST_KEK: randomBytes(32).toString('base64'),
      IMAGETRUST_ADMIN_PASSWORD: ADMIN_PASSWORD,
    };
    // One after the other: the first start creates the shared signing key and the admin.
    for (const name of ['api1', 'api2']) {
      processes.push(await startApiProcess(name, config, path.join(work, `data-${name}`), shared));
    }
    haproxy = await startBalancer(`127.0.0.1:${lbPort}`, processes);
    env = clientEnvironment(lbUrl, work);
    const login = await passwordLogin(lbUrl, 'admin', ADMIN_PASSWORD, 'admin');
    assert.equal(login.status, 201);
    token = login.headers.get('x-subject-token')!;
  });

  after(async () => {
    await stopAll([haproxy, ...processes.map((p) => p.child)]);
    bucket?.close();
    await swift?.dispose();
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('serves from either process what the other stored, byte for byte, to the real openstack client', async () => {
    const file = path.join(work, 'disk.raw');
    const data = randomBytes(4 * 1024 * 1024 + 5);
    writeFileSync(file, data);
    const created = JSON.parse(
      await runOk(
        'openstack',
        [
          'image',
          'create',
          '--file',
          file,
          '--disk-format',
          'raw',
          '--container-format',
          'bare',
          'lb',
          '-f',
          'json',
        ],
        env,
      ),
    );
    const shown = JSON.parse(await runOk('openstack', ['image', 'show', created.id, '-f', 'json'], env));
    assert.equal(shown.status, 'active');
    // Several downloads through the balancer: it spreads them, and every one is the same bytes.
    for (let i = 0; i < 4; i++) {
      const out = path.join(work, `out-${i}`);
      await runOk('openstack', ['image', 'save', '--file', out, created.id], env);
      assert.equal(sha256(readFileSync(out)), sha256(data));
    }
    const uploader = servedBy(processes, 'PUT', created.id);
    assert.equal(uploader.length, 1, 'one process took the upload');
    const downloaders = servedBy(processes, 'GET', created.id);
    assert.ok(
      downloaders.some((name) => name !== uploader[0]),
      `the other process served a download too (uploaded by ${uploader}, downloaded from ${downloaders})`,
    );
    // The balancer's request id reaches the process and comes back.
    const answer = await fetch(`${lbUrl}/image/v2/images/${created.id}`, {
      headers: { 'x-auth-token': token },
    });
    const id = answer.headers.get('x-openstack-request-id')!;
    assert.match(id, /^req-[0-9a-f-]{36}$/);
    // Its line is written as the response finishes and read from the process's output: wait for it.
    const logged = () => processes.some((p) => p.log.some((l) => l.requestId === id));
    for (let i = 0; i < 500 && !logged(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(logged(), `no process logged ${id}`);
  });

  it('leaves no data when a process refuses a signed upload', async () => {
    const f = loadSigningFixtures();
    const secret = await apiCall(lbUrl, token, 'POST', '/key-manager/v1/secrets', {
      name: 'cert',
      secret_type: 'certificate',
      payload: f.file('certs/rsa2048.pem').toString('base64'),
      payload_content_type: 'application/octet-stream',
      payload_content_encoding: 'base64',
    });
    assert.equal(secret.status, 201);
    const before = await listBlobs(bucket);
    const created = await apiCall(lbUrl, token, 'POST', '/image/v2/images', {
      name: 'tampered',
      disk_format: 'raw',
      container_format: 'bare',
      img_signature: f.signature('rsa2048.sha256.pss'),
      img_signature_hash_method: 'SHA-256',
      img_signature_key_type: 'RSA-PSS',
      img_signature_certificate_uuid: String(secret.json.secret_ref).split('/').at(-1),
    });
    // The signature is over the fixture image; these bytes differ in their last one.
    const tampered = Buffer.from(f.image);
    tampered[tampered.length - 1] ^= 1;
    const put = await apiCall(lbUrl, token, 'PUT', `/image/v2/images/${created.json.id}/file`, tampered, {
      'content-type': 'application/octet-stream',
    });
    assert.equal(put.status, 400);
    const image = await apiCall(lbUrl, token, 'GET', `/image/v2/images/${created.json.id}`);
    assert.equal(image.json.status, 'queued');
    assert.deepEqual(await listBlobs(bucket), before, 'no object was added');
    assert.equal(await bucket.countTemporaries(), 0, 'no multipart upload is left open');
  });

  it('hashes an unknown name of a failed login alike whichever process refused it (one shared key)', async () => {
    const typed = `not-a-user-${randomBytes(4).toString('hex')}`;
    for (const p of processes) {
      const refused = await passwordLogin(p.url, typed, 'wrong-password');
      assert.equal(refused.status, 401);
      await refused.body?.cancel();
    }
    const head = await apiCall(lbUrl, token, 'GET', '/audit/v1/tree-head');
    const size = Number(head.json.tree_size);
    const page = await apiCall(
      lbUrl,
      token,
      'GET',
      `/audit/v1/entries?start=${Math.max(0, size - 50)}&end=${size}`,
    );
    const hashes = (page.json.entries as { leaf: string }[])
      .map((entry) => JSON.parse(entry.leaf) as { type: string; details: { user_hmac?: string } })
      .filter((leaf) => leaf.type === 'identity.login_failed')
      .map((leaf) => leaf.details.user_hmac);
    assert.equal(hashes.length, 2, 'each process logged its refusal');
    assert.match(String(hashes[0]), /^[0-9a-f]{64}$/);
    assert.equal(hashes[0], hashes[1]);
  });

  it('deprecates on schedule exactly once, whichever process gets there', async () => {
    const created = await apiCall(lbUrl, token, 'POST', '/image/v2/images', {
      name: 'scheduled',
      disk_format: 'raw',
      container_format: 'bare',
    });
    const id = created.json.id as string;
    await apiCall(lbUrl, token, 'PUT', `/image/v2/images/${id}/file`, Buffer.from('x'), {
      'content-type': 'application/octet-stream',
    });
    const set = await apiCall(lbUrl, token, 'PUT', `/image/v2/images/${id}/lifecycle`, {
      deprecation_at: new Date(Date.now() + 1500).toISOString(),
    });
    assert.equal(set.status, 200, set.text);
    const deprecations = async () => {
      const history = await apiCall(lbUrl, token, 'GET', `/audit/v1/images/${id}`);
      return (history.json.entries as { leaf: string }[])
        .map((entry) => JSON.parse(entry.leaf) as { type: string; details: { to?: string } })
        .filter((leaf) => leaf.type === 'image.lifecycle_changed' && leaf.details.to === 'deprecated').length;
    };
    let seen = 0;
    for (let i = 0; i < 600 && seen === 0; i++) {
      seen = await deprecations();
      if (seen === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(seen > 0, 'the schedule fired');
    // One process holds the job's lease and runs it; the other stands by and never runs it. Both tick
    // twice more after the change: neither may record it again.
    const ran = await Promise.all(processes.map((p) => metric(p, LIFECYCLE_RUNS)));
    assert.equal(ran.filter((n) => n > 0).length, 1, `exactly one process ran the schedules: ${ran}`);
    const standby = processes[ran.findIndex((n) => n === 0)];
    const counters = [LIFECYCLE_RUNS, LIFECYCLE_STANDBY];
    const ticks = await Promise.all(processes.map((p) => metric(p, counters[p === standby ? 1 : 0])));
    for (const [i, p] of processes.entries()) {
      const counter = counters[p === standby ? 1 : 0];
      for (let j = 0; j < 600 && (await metric(p, counter)) < ticks[i] + 2; j++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok((await metric(p, counter)) >= ticks[i] + 2, `${p.name} ticked`);
    }
    assert.equal(await metric(standby, LIFECYCLE_RUNS), 0, 'the standby never ran the schedules');
    assert.equal(await deprecations(), 1);
  });

  it('recovers from a process killed mid-upload: the client retries, the survivor requeues and cleans up', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const created = await apiCall(lbUrl, token, 'POST', '/image/v2/images', {
      name: 'interrupted',
      disk_format: 'raw',
      container_format: 'bare',
    });
    const id = created.json.id as string;
    // The upload goes to the process that holds the background jobs, so its death must also move them.
    const ran = await Promise.all(processes.map((p) => metric(p, LIFECYCLE_RUNS)));
    const holder = processes[ran.findIndex((n) => n > 0)];
    assert.ok(holder, 'one process holds the lifecycle job');
    const upload = httpRequest(new URL(`${holder.url}/image/v2/images/${id}/file`), {
      method: 'PUT',
      headers: {
        'x-auth-token': token,
        'content-type': 'application/octet-stream',
        'content-length': data.length,
      },
    });
    const failed = new Promise<string>((resolve) => {
      upload.on('response', (response) => {
        response.resume();
        resolve(`answered ${response.statusCode}`);
      });
      upload.on('error', (error) => resolve(error.message));
    });
    upload.write(data.subarray(0, 1024 * 1024));
    // The process that holds the upload, as its own metrics say.
    let victim: ApiProcess | undefined;
    for (let i = 0; i < 500 && !victim; i++) {
      for (const p of processes) if ((await uploadsInFlight(p)) === 1) victim = p;
    }
    assert.equal(victim, holder, 'the job holder reports the upload in flight');
    const survivor = processes.find((p) => p !== victim)!;
    victim.child.kill('SIGKILL');
    await new Promise((resolve) => victim!.child.once('exit', resolve));
    const outcome = await failed;
    assert.doesNotMatch(outcome, /answered 204/, 'the interrupted upload did not succeed');
    // The survivor finds the dead process's upload within a lease and puts the image back to queued.
    let status = '';
    for (let i = 0; i < 600 && status !== 'queued'; i++) {
      status = String((await apiCall(survivor.url, token, 'GET', `/image/v2/images/${id}`)).json.status);
      if (status !== 'queued') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 'queued');
    // Its partial data goes in the same recovery pass, just after the image is queued again.
    const store = bucket;
    for (let i = 0; i < 600 && (await store.countTemporaries()) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await store.countTemporaries(), 0, 'the partial data is gone');
    // The client's retry goes through the balancer and lands on the survivor.
    const file = path.join(work, 'retry.raw');
    writeFileSync(file, data);
    const retried = await run('glance', ['image-upload', '--file', file, id], {
      ...env,
      OS_AUTH_URL: `${lbUrl}/identity/v3`,
    });
    assert.equal(retried.code, 0, retried.stderr);
    const shown = await apiCall(lbUrl, token, 'GET', `/image/v2/images/${id}`);
    assert.equal(shown.json.status, 'active');
    const served = await apiCall(lbUrl, token, 'GET', `/image/v2/images/${id}/file`);
    assert.equal(sha256(served.bytes), sha256(data));
    assert.deepEqual(servedBy([survivor], 'PUT', id), [survivor.name]);
    // The survivor took the dead process's jobs as soon as it saw that process gone (same host; another
    // host's would lapse with its lease): it runs the schedules now, which it never did before.
    assert.equal(ran[processes.indexOf(survivor)], 0);
    const runs = await metric(survivor, LIFECYCLE_RUNS);
    for (let i = 0; i < 600 && (await metric(survivor, LIFECYCLE_RUNS)) < runs + 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok((await metric(survivor, LIFECYCLE_RUNS)) >= runs + 2, 'the survivor runs the schedules');
  });

  it('ships a systemd unit systemd itself accepts', async () => {
    requireTool('systemd-analyze', 'systemd');
    const unit = path.join(work, 'imagetrust@9301.service');
    // As installed: the command at the path the unit names (here the repository's).
    writeFileSync(
      unit,
      readFileSync(path.join(ROOT, 'deploy/imagetrust@.service'), 'utf8').replace(
        'ExecStart=/usr/bin/imagetrust',
        `ExecStart=${path.join(ROOT, 'bin/imagetrust')}`,
      ),
    );
    const verified = await run('systemd-analyze', ['verify', unit]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stderr.trim(), '');
  });
});

/** Committed blobs, by key. */
async function listBlobs(store: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list()) keys.push(key);
  return keys.sort();
}

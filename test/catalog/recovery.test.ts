// Crash recovery decisions as a pure plan, and the lease of a live upload taken over by another
// process once it stops renewing (on a test clock, two sets of services sharing one store).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openServices } from '../../src/app/index.ts';
import { planReconciliation, type ReconcileInput } from '../../src/catalog/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import { TestClock } from '../support/clock.ts';
import { testCredentials } from '../support/credentials.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const LEASE = 60_000;
const at = (msAgo: number) => new Date(NOW.getTime() - msAgo).toISOString();
const dead = 'host_999_dead';
const alive = 'host_1_alive';

function input(overrides: Partial<ReconcileInput>): ReconcileInput {
  return {
    uploads: [],
    holders: [],
    blobs: [],
    temporaries: [],
    now: NOW,
    leaseMs: LEASE,
    isOwnerAlive: (owner) => owner !== dead,
    ...overrides,
  };
}

describe('planReconciliation', () => {
  it('takes back uploads whose owner is gone, whose lease ran out, or that have no owner', () => {
    const plan = planReconciliation(
      input({
        uploads: [
          { id: 'a', status: 'saving', owner: dead, heartbeat: at(1000), temp: 't-a' },
          { id: 'b', status: 'saving', owner: alive, heartbeat: at(LEASE + 1), temp: null },
          { id: 'c', status: 'saving', owner: '', heartbeat: '', temp: null },
          { id: 'd', status: 'saving', owner: alive, heartbeat: at(LEASE - 1), temp: 't-d' },
        ],
      }),
    );
    assert.deepEqual(
      plan.stranded.map((u) => u.id),
      ['a', 'b', 'c'],
    );
  });

  it('keeps the data of active images and of live uploads, and removes every other blob', () => {
    const plan = planReconciliation(
      input({
        uploads: [
          { id: 'live', status: 'saving', owner: alive, heartbeat: at(0), temp: null },
          { id: 'gone', status: 'saving', owner: dead, heartbeat: at(0), temp: null },
        ],
        holders: [
          { id: 'img', status: 'active', blobKey: 'img' },
          { id: 'live', status: 'saving', blobKey: null },
          { id: 'gone', status: 'saving', blobKey: null },
        ],
        blobs: ['img', 'live', 'gone', 'deleted-image'],
      }),
    );
    assert.deepEqual(plan.orphanBlobs, ['gone', 'deleted-image']);
    assert.deepEqual(plan.missingBlobs, []);
  });

  it('keeps the staged data of images uploading or importing, and removes staged data nobody holds', () => {
    const plan = planReconciliation(
      input({
        holders: [
          { id: 'staged', status: 'uploading', blobKey: null },
          { id: 'importing', status: 'importing', blobKey: null },
        ],
        blobs: ['staged.staging', 'importing.staging', 'queued.staging'],
      }),
    );
    assert.deepEqual(plan.orphanBlobs, ['queued.staging']);
  });

  it('reports an active or deactivated image whose data is missing', () => {
    const plan = planReconciliation(
      input({
        holders: [
          { id: 'x', status: 'active', blobKey: 'x' },
          { id: 'y', status: 'deactivated', blobKey: 'y' },
          { id: 'z', status: 'active', blobKey: 'z' },
        ],
        blobs: ['z'],
      }),
    );
    assert.deepEqual(plan.missingBlobs, [
      { imageId: 'x', key: 'x' },
      { imageId: 'y', key: 'y' },
    ]);
  });

  it('removes temporaries of dead owners at once and unknown ones only after a lease', () => {
    const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const plan = planReconciliation(
      input({
        uploads: [{ id: 'd', status: 'saving', owner: alive, heartbeat: at(0), temp: `${alive}.${uuid}` }],
        temporaries: [
          { id: `${alive}.${uuid}`, modifiedAt: new Date(at(LEASE * 10)) },
          { id: `${dead}.${uuid}`, modifiedAt: new Date(at(0)) },
          { id: `${alive}.1${uuid.slice(1)}`, modifiedAt: new Date(at(1000)) },
          { id: `${alive}.2${uuid.slice(1)}`, modifiedAt: new Date(at(LEASE + 1)) },
        ],
      }),
    );
    assert.deepEqual(plan.orphanTemporaries, [`${dead}.${uuid}`, `${alive}.2${uuid.slice(1)}`]);
  });
});

describe('an upload whose process stops renewing its lease', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('is taken back by another process once the lease runs out, and the stalled writer gives up', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'imagetrust-lease-'));
    dirs.push(dataDir);
    const clock = new TestClock('2026-06-01T12:00:00Z');
    const config = validateConfig({ dataDir, logLevel: 'silent', uploads: { leaseSeconds: 60 } });
    const first = await openServices(config, { clock });
    const second = await openServices(config, { clock });
    const admin = testCredentials('admin-user', 'admin-project', ['admin', 'member', 'reader']);
    try {
      const image = await first.catalog.createImage(admin, {
        name: 'stalled',
        disk_format: 'raw',
        container_format: 'bare',
      });
      let release!: () => void;
      const stalled = new Promise<void>((resolve) => {
        release = resolve;
      });
      const body = (async function* () {
        yield Buffer.alloc(4096, 1);
        await stalled;
        yield Buffer.alloc(4096, 2);
      })();
      const upload = first.catalog.uploadImageData(admin, image.id, body);
      // Wait until the upload is recorded as saving under the first process's lease.
      while ((await second.catalog.getImage(admin, image.id)).status !== 'saving') {
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Within the lease, the second process leaves it alone...
      clock.advance(30_000);
      assert.deepEqual((await second.recovery.reconcile()).requeued, []);
      // ...past it, with no renewal recorded, it takes the image back.
      clock.advance(31_000);
      assert.deepEqual((await second.recovery.reconcile()).requeued, [image.id]);
      assert.equal((await second.catalog.getImage(admin, image.id)).status, 'queued');
      // The stalled writer cannot activate an image it no longer holds.
      release();
      await assert.rejects(upload, { code: 'IMAGE_GONE' });
      const after = await second.catalog.getImage(admin, image.id);
      assert.equal(after.status, 'queued');
      assert.equal(after.size, null);
    } finally {
      await first.close();
      await second.close();
    }
  });

  /** Two processes on one store; `work` runs with the first stalled mid-stream, the second recovers. */
  const withTwoProcesses = async (
    work: (ctx: {
      first: Awaited<ReturnType<typeof openServices>>;
      second: Awaited<ReturnType<typeof openServices>>;
      clock: TestClock;
      blobDir: string;
    }) => Promise<void>,
  ) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'imagetrust-lease-'));
    dirs.push(dataDir);
    const clock = new TestClock('2026-06-01T12:00:00Z');
    const config = validateConfig({ dataDir, logLevel: 'silent', uploads: { leaseSeconds: 60 } });
    const first = await openServices(config, { clock });
    const second = await openServices(config, { clock });
    try {
      await work({ first, second, clock, blobDir: path.join(dataDir, 'blobs') });
    } finally {
      await first.close();
      await second.close();
    }
  };
  const stalledBody = () => {
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const body = (async function* () {
      yield Buffer.alloc(4096, 1);
      await stalled;
      yield Buffer.alloc(4096, 2);
    })();
    return { body, release };
  };

  it('takes back an interrupted stage: queued again, its staged and temporary data removed', async () => {
    await withTwoProcesses(async ({ first, second, clock, blobDir }) => {
      const admin = testCredentials('admin-user', 'admin-project', ['admin', 'member', 'reader']);
      const image = await first.catalog.createImage(admin, {
        name: 'stalled-stage',
        disk_format: 'raw',
        container_format: 'bare',
      });
      const { body, release } = stalledBody();
      const stage = first.catalog.stageImageData(admin, image.id, body);
      while ((await second.catalog.getImage(admin, image.id)).status !== 'uploading') {
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.deepEqual((await second.recovery.reconcile()).requeued, [], 'a live stage is left alone');
      clock.advance(61_000);
      const report = await second.recovery.reconcile();
      assert.deepEqual(report.requeued, [image.id]);
      const queued = await second.catalog.getImage(admin, image.id);
      assert.equal(queued.status, 'queued');
      assert.equal(queued.blob_key, null);
      release();
      await assert.rejects(stage, { code: 'IMAGE_GONE' });
      assert.deepEqual(readdirSync(path.join(blobDir, 'images')), [], 'no staged data');
      assert.deepEqual(readdirSync(path.join(blobDir, 'tmp')), [], 'no temporary');
    });
  });

  it('keeps a finished stage waiting for its import however long it waits', async () => {
    await withTwoProcesses(async ({ first, second, clock, blobDir }) => {
      const admin = testCredentials('admin-user', 'admin-project', ['admin', 'member', 'reader']);
      const image = await first.catalog.createImage(admin, {
        name: 'stalled-import',
        disk_format: 'raw',
        container_format: 'bare',
      });
      await first.catalog.stageImageData(
        admin,
        image.id,
        (async function* () {
          yield Buffer.alloc(4096, 7);
        })(),
      );
      clock.advance(3_600_000);
      assert.deepEqual((await second.recovery.reconcile()).requeued, [], 'staged data waits for its import');
      assert.deepEqual(readdirSync(path.join(blobDir, 'images')), [`${image.id}.staging`]);
    });
  });

  it('takes back an import whose process stopped renewing, failing its task, and the import cannot finish after', async () => {
    // A web server that sends part of the image and then nothing: the import stalls mid-stream.
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const files = createServer(async (_request, response) => {
      response.writeHead(200, { 'content-length': 8192 });
      response.write(Buffer.alloc(4096, 1));
      await stalled;
      response.end(Buffer.alloc(4096, 2));
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    const port = (files.address() as AddressInfo).port;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'imagetrust-lease-'));
    dirs.push(dataDir);
    const clock = new TestClock('2026-06-01T12:00:00Z');
    const config = validateConfig({
      dataDir,
      logLevel: 'silent',
      uploads: { leaseSeconds: 60 },
      import: { webDownload: { allowedPorts: [port], internalHosts: [`127.0.0.1:${port}`] } },
    });
    const first = await openServices(config, { clock });
    const second = await openServices(config, { clock });
    const admin = testCredentials('admin-user', 'admin-project', ['admin', 'member', 'reader']);
    try {
      const image = await first.catalog.createImage(admin, {
        name: 'stalled-import',
        disk_format: 'raw',
        container_format: 'bare',
      });
      const { task, done } = await first.catalog.importImage(admin, image.id, {
        method: { name: 'web-download', uri: `http://127.0.0.1:${port}/image` },
      });
      assert.equal((await second.catalog.getImage(admin, image.id)).status, 'importing');
      assert.deepEqual((await second.recovery.reconcile()).requeued, [], 'a live import is left alone');
      clock.advance(61_000);
      assert.deepEqual((await second.recovery.reconcile()).requeued, [image.id]);
      assert.equal((await second.catalog.getImage(admin, image.id)).status, 'queued');
      const failed = (await second.catalog.listImageTasks(admin, image.id)).find((t) => t.id === task.id)!;
      assert.equal(failed.status, 'failure');
      assert.match(failed.message, /interrupted/);
      // The stalled import resumes, but the image is no longer its to activate.
      release();
      await done;
      const after = await second.catalog.getImage(admin, image.id);
      assert.equal(after.status, 'queued');
      assert.equal(after.blob_key, null);
      assert.equal((await second.catalog.listImageTasks(admin, image.id))[0].status, 'failure');
      assert.deepEqual(readdirSync(path.join(dataDir, 'blobs', 'images')), []);
      assert.deepEqual(readdirSync(path.join(dataDir, 'blobs', 'tmp')), []);
    } finally {
      release();
      await first.close();
      await second.close();
      files.close();
    }
  });
});

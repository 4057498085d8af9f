// Release requests and compliance reports on both metadata backends: decisions are conditional, so
// two approvers acting at once cannot both decide one request.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { ImageReport, ReleaseRequest } from '../../src/catalog/index.ts';
import { type SqlDatabase, SqlImageRepository, SqlReleaseRepository } from '../../src/storage/index.ts';
import { activeImageRecord } from '../support/images.ts';
import { databaseBackends } from './database-backends.ts';

const request = (overrides: Partial<ReleaseRequest> = {}): ReleaseRequest => ({
  id: randomUUID(),
  image_id: 'image-1',
  target: 'stock',
  status: 'pending',
  requested_by: 'builder',
  requested_at: '2026-06-01T12:00:00Z',
  reason: 'Ünïcødé reason',
  decided_by: null,
  decided_at: null,
  decision_reason: null,
  ...overrides,
});

for (const backend of databaseBackends()) {
  describe(`SqlReleaseRepository on ${backend.name}`, () => {
    let db: SqlDatabase;
    let repo: SqlReleaseRepository;
    before(() => backend.ready());
    after(() => backend.dispose());
    beforeEach(async () => {
      db = await backend.open();
      repo = new SqlReleaseRepository(db);
    });
    afterEach(() => db.close());

    it('round-trips a request and lists by image and status in request order', async () => {
      const first = request();
      const second = request({ requested_at: '2026-06-01T12:00:01Z', target: 'catalog', reason: null });
      const other = request({ image_id: 'image-2' });
      for (const r of [second, first, other]) await repo.createRelease(r);
      assert.deepEqual(await repo.findRelease(first.id), first);
      assert.equal(await repo.findRelease(randomUUID()), null);
      assert.deepEqual(
        (await repo.listReleases({ imageId: 'image-1' })).map((r) => r.id),
        [first.id, second.id],
      );
      assert.equal((await repo.listReleases({ status: 'pending' })).length, 3);
      assert.equal((await repo.listReleases({ status: 'approved' })).length, 0);
    });

    it('decides a pending request once: the second decision loses', async () => {
      const r = request();
      await repo.createRelease(r);
      const decision = { decided_by: 'approver', decided_at: '2026-06-02T00:00:00Z', decision_reason: 'ok' };
      const results = await Promise.all([
        repo.decideRelease(r.id, { status: 'approved', ...decision }),
        repo.decideRelease(r.id, { status: 'rejected', ...decision, decision_reason: 'no' }),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
      const stored = await repo.findRelease(r.id);
      assert.notEqual(stored?.status, 'pending');
      assert.equal(stored?.decided_by, 'approver');
    });

    it('approves and publishes together, or neither when the request or the image changed', async () => {
      const images = new SqlImageRepository(db);
      const image = activeImageRecord({ id: randomUUID() });
      await images.createImage(image);
      const decision = { decided_by: 'approver', decided_at: '2026-06-02T00:00:00Z', decision_reason: null };
      const publish = {
        imageId: image.id,
        expectedLifecycle: 'available' as const,
        imageClass: 'stock' as const,
      };

      // The image moved on (deprecated meanwhile): nothing is decided, nothing published.
      const stale = request({ image_id: image.id });
      await repo.createRelease(stale);
      assert.equal(
        await repo.approveAndPublish(stale.id, decision, { ...publish, expectedLifecycle: 'deprecated' }),
        'image-changed',
      );
      assert.equal((await repo.findRelease(stale.id))?.status, 'pending', 'the decision was rolled back');
      assert.equal((await images.findImage(image.id))?.visibility, 'shared');

      assert.equal(await repo.approveAndPublish(stale.id, decision, publish), 'approved');
      const published = await images.findImage(image.id);
      assert.equal(published?.visibility, 'public');
      assert.equal(published?.image_class, 'stock');
      assert.equal((await repo.findRelease(stale.id))?.decided_by, 'approver');
      assert.equal(await repo.approveAndPublish(stale.id, decision, publish), 'already-decided');
    });

    it('keeps the latest report per image and kind, byte for byte', async () => {
      const report: ImageReport = {
        image_id: 'image-1',
        kind: 'compliance',
        document: '{"results": [ {"id": "a", "status": "pass"} ]}',
        digest: `sha256:${'ab'.repeat(32)}`,
        passed: true,
        attached_by: 'builder',
        attached_at: '2026-06-01T12:00:00Z',
      };
      await repo.saveReport(report);
      assert.deepEqual(await repo.findReport('image-1', 'compliance'), report);
      const failing = { ...report, document: '{"results":[{"id":"a","status":"fail"}]}', passed: false };
      await repo.saveReport(failing);
      assert.deepEqual(await repo.findReport('image-1', 'compliance'), failing);
      assert.equal(await repo.findReport('image-2', 'compliance'), null);

      // Other kinds sit beside the compliance report and replace only their own kind.
      const boot: ImageReport = { ...report, kind: 'boot-test', document: '{"kind":"boot-test"}' };
      const provenance: ImageReport = { ...report, kind: 'provenance', document: '{"payloadType":"x"}' };
      await repo.saveReport(boot);
      await repo.saveReport(provenance);
      assert.deepEqual(await repo.findReport('image-1', 'boot-test'), boot);
      assert.deepEqual(await repo.findReport('image-1', 'provenance'), provenance);
      assert.deepEqual(await repo.findReport('image-1', 'compliance'), failing);
      const again = { ...boot, passed: false, attached_at: '2026-06-02T00:00:00Z' };
      await repo.saveReport(again);
      assert.deepEqual(await repo.findReport('image-1', 'boot-test'), again);
      assert.deepEqual(await repo.findReport('image-1', 'provenance'), provenance);
    });
  });
}

// A change is stored if and only if its event is: the event is written in the change's own
// transaction, and the transparency log appends it from there. Failures are injected through the
// composition root (a failing adapter), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { openServices, type Services } from '../../src/app/index.ts';
import type { ImageRepository } from '../../src/catalog/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import type { EventOutbox } from '../../src/events/index.ts';
import { openDatabase, SqlEventOutbox } from '../../src/storage/index.ts';
import { databaseBackends } from '../storage/database-backends.ts';
import { TestClock } from '../support/clock.ts';
import { testCredentials } from '../support/credentials.ts';

const admin = testCredentials('admin-user', 'admin-project', ['admin', 'member', 'reader']);
const storeFailure = () => new ImageTrustError('INTERNAL', 'Metadata store error: no space left on device');

/** Every entry of the transparency log, as [type, subject]. */
async function logged(services: Services): Promise<[string, string | null][]> {
  const head = await services.audit.latestTreeHead();
  if (head.tree_size === 0) return [];
  const entries = await services.audit.entries(0, head.tree_size);
  return entries.map((entry) => [entry.eventType, entry.subjectId]);
}

for (const backend of databaseBackends()) {
  describe(`domain events commit with their change (${backend.name})`, () => {
    let dir: string;
    let databaseUrl: string;
    let services: Services;
    let failOutbox = false;
    let failImageWrites = false;
    const clock = new TestClock('2026-06-01T12:00:00Z');

    before(() => backend.ready());
    after(() => backend.dispose());
    beforeEach(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-events-'));
      databaseUrl = await backend.freshUrl();
      failOutbox = false;
      failImageWrites = false;
      services = await openServices(
        validateConfig({ dataDir: dir, database: databaseUrl, logLevel: 'silent' }),
        {
          clock,
          adapters: {
            eventOutbox: (outbox): EventOutbox => ({
              async add(events) {
                if (failOutbox) throw storeFailure();
                await outbox.add(events);
              },
            }),
            images: (images): ImageRepository =>
              new Proxy(images, {
                get(target, name, receiver) {
                  const value = Reflect.get(target, name, receiver);
                  if (typeof value !== 'function') return value;
                  const writes = ['createImage', 'saveImage', 'transitionImage', 'updateGovernance'];
                  return async (...args: unknown[]) => {
                    // The write itself runs, then fails: only a rollback can undo it.
                    const result = await value.apply(target, args);
                    if (failImageWrites && writes.includes(String(name))) throw storeFailure();
                    return result;
                  };
                },
              }),
          },
        },
      );
    });
    afterEach(async () => {
      await services.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const create = (name: string) =>
      services.catalog.createImage(admin, { name, disk_format: 'raw', container_format: 'bare' });

    it('rolls the image creation back when its event cannot be written, and says why', async () => {
      failOutbox = true;
      await assert.rejects(create('never-stored'), (error: ImageTrustError) => {
        assert.equal(error.code, 'INTERNAL');
        assert.match(error.message, /no space left/);
        return true;
      });
      failOutbox = false;
      const { images } = await services.catalog.listImages(admin, {});
      assert.deepEqual(
        images.map((image) => image.name),
        [],
      );
      assert.deepEqual(await logged(services), []);
    });

    it('keeps the stored image as it was when the event of an update cannot be written', async () => {
      const image = await create('original');
      failOutbox = true;
      await assert.rejects(
        services.catalog.updateImage(admin, image.id, [{ op: 'replace', path: 'name', value: 'renamed' }]),
        { code: 'INTERNAL' },
      );
      failOutbox = false;
      assert.equal((await services.catalog.getImage(admin, image.id)).name, 'original');
      assert.deepEqual(await logged(services), [['image.created', image.id]]);
    });

    it('rolls a lifecycle change back with its event, and a scheduled change stays due', async () => {
      const image = await create('scheduled');
      failOutbox = true;
      await assert.rejects(services.governance.setLifecycle(admin, image.id, { state: 'deprecated' }), {
        code: 'INTERNAL',
      });
      failOutbox = false;
      assert.equal((await services.catalog.getImage(admin, image.id)).lifecycle_state, 'available');
      assert.deepEqual(await logged(services), [['image.created', image.id]]);
    });

    it('logs no event when the catalog write itself fails', async () => {
      const image = await create('kept');
      failImageWrites = true;
      await assert.rejects(
        services.catalog.updateImage(admin, image.id, [{ op: 'replace', path: 'name', value: 'lost' }]),
        { code: 'INTERNAL' },
      );
      await assert.rejects(create('also-lost'), { code: 'INTERNAL' });
      failImageWrites = false;
      assert.equal((await services.catalog.getImage(admin, image.id)).name, 'kept');
      const { images } = await services.catalog.listImages(admin, {});
      assert.deepEqual(
        images.map((i) => i.name),
        ['kept'],
      );
      assert.deepEqual(await logged(services), [['image.created', image.id]]);
    });

    it('records each committed change exactly once, in order, with the time of the change', async () => {
      const first = await create('one');
      clock.advance(60_000);
      await services.catalog.updateImage(admin, first.id, [{ op: 'replace', path: 'name', value: 'two' }]);
      await services.catalog.deleteImage(admin, first.id);
      assert.deepEqual(await logged(services), [
        ['image.created', first.id],
        ['image.updated', first.id],
        ['image.deleted', first.id],
      ]);
      const [created, updated] = await services.audit.entries(0, 2);
      assert.equal(JSON.parse(created.leaf).recorded_at, '2026-06-01T12:00:00.000Z');
      assert.equal(JSON.parse(updated.leaf).recorded_at, '2026-06-01T12:01:00.000Z');
    });

    it('delivers at start the events a process committed but died before delivering', async () => {
      // What a crash between the commit and the delivery leaves: rows in the outbox, nothing in the log.
      const db = await openDatabase(databaseUrl);
      try {
        await new SqlEventOutbox(db).add([
          {
            event: { type: 'image.created', actor: null, subjectId: 'left-behind', details: {} },
            occurredAt: clock.now(),
          },
        ]);
      } finally {
        await db.close();
      }
      await services.close();
      services = await openServices(
        validateConfig({ dataDir: dir, database: databaseUrl, logLevel: 'silent' }),
        { clock },
      );
      assert.deepEqual(await logged(services), [['image.created', 'left-behind']]);
    });
  });
}

// Import tasks on both metadata backends: round trip of every field (JSON input and result included),
// lists by owner, status and type with keyset pages, tasks by image, and conditional status changes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { ImportTask } from '../../src/catalog/index.ts';
import { type SqlDatabase, SqlTaskRepository } from '../../src/storage/index.ts';
import { databaseBackends } from './database-backends.ts';

const task = (overrides: Partial<ImportTask> = {}): ImportTask => ({
  id: randomUUID(),
  type: 'api_image_import',
  status: 'pending',
  input: {
    image_id: 'image-1',
    import_req: { method: { name: 'web-download', uri: 'http://x/ü' } },
    backend: [null],
  },
  result: null,
  message: '',
  owner: 'project-a',
  image_id: 'image-1',
  request_id: 'req-1',
  user_id: 'user-1',
  created_at: '2026-06-01T12:00:00Z',
  updated_at: '2026-06-01T12:00:00Z',
  expires_at: null,
  ...overrides,
});

for (const backend of databaseBackends()) {
  describe(`SqlTaskRepository on ${backend.name}`, () => {
    let db: SqlDatabase;
    let repo: SqlTaskRepository;
    before(() => backend.ready());
    after(() => backend.dispose());
    beforeEach(async () => {
      db = await backend.open();
      repo = new SqlTaskRepository(db);
    });
    afterEach(() => db.close());

    it('round-trips every field, and finds no task that was never created', async () => {
      const created = task();
      await repo.createTask(created);
      assert.deepEqual(await repo.findTask(created.id), created);
      assert.equal(await repo.findTask(randomUUID()), null);
    });

    it('refuses a duplicate id with CONFLICT', async () => {
      const created = task();
      await repo.createTask(created);
      await assert.rejects(repo.createTask(created), { code: 'CONFLICT' });
    });

    it('changes a task only from the expected status', async () => {
      const created = task();
      await repo.createTask(created);
      const processing = { ...created, status: 'processing' as const, updated_at: '2026-06-01T12:00:01Z' };
      assert.equal(await repo.updateTask(processing, 'pending'), true);
      const done = {
        ...processing,
        status: 'success' as const,
        result: { image_id: 'image-1' },
        updated_at: '2026-06-01T12:00:02Z',
        expires_at: '2026-06-03T12:00:02Z',
      };
      assert.equal(await repo.updateTask({ ...done, status: 'failure' }, 'pending'), false);
      assert.equal(await repo.updateTask(done, 'processing'), true);
      assert.deepEqual(await repo.findTask(created.id), done);
    });

    it('lists by owner, status and type, newest first, in keyset pages', async () => {
      const tasks = [0, 1, 2, 3].map((i) =>
        task({ created_at: `2026-06-01T12:00:0${i}Z`, status: i % 2 ? 'success' : 'pending' }),
      );
      const other = task({ owner: 'project-b', created_at: '2026-06-01T12:00:09Z' });
      for (const t of [...tasks, other]) await repo.createTask(t);
      const ids = (list: ImportTask[]) => list.map((t) => t.id);
      const base = { owner: 'project-a', sortDir: 'desc' as const, limit: 10 };
      assert.deepEqual(ids(await repo.listTasks(base)), ids([...tasks].reverse()));
      assert.deepEqual(
        ids(await repo.listTasks({ ...base, owner: null })),
        ids([other, ...[...tasks].reverse()]),
      );
      assert.deepEqual(ids(await repo.listTasks({ ...base, status: 'success' })), ids([tasks[3], tasks[1]]));
      assert.deepEqual(await repo.listTasks({ ...base, type: 'import' }), []);
      const first = await repo.listTasks({ ...base, limit: 2 });
      const second = await repo.listTasks({ ...base, limit: 2, marker: first.at(-1) });
      assert.deepEqual(ids([...first, ...second]), ids([...tasks].reverse()));
      const ascending = await repo.listTasks({ ...base, sortDir: 'asc', limit: 3, marker: tasks[0] });
      assert.deepEqual(ids(ascending), ids(tasks.slice(1)));
    });

    it('pages through tasks created in the same second by id', async () => {
      const same = [0, 1, 2].map(() => task());
      for (const t of same) await repo.createTask(t);
      const seen: string[] = [];
      let marker: ImportTask | undefined;
      for (;;) {
        const page = await repo.listTasks({ owner: null, sortDir: 'desc', limit: 1, marker });
        if (!page.length) break;
        seen.push(page[0].id);
        marker = page[0];
      }
      assert.deepEqual(
        seen,
        same
          .map((t) => t.id)
          .sort()
          .reverse(),
      );
    });

    it('lists the tasks of one image, oldest first', async () => {
      const later = task({ created_at: '2026-06-01T12:00:05Z' });
      const earlier = task({ created_at: '2026-06-01T12:00:01Z' });
      await repo.createTask(later);
      await repo.createTask(earlier);
      await repo.createTask(task({ image_id: 'image-2' }));
      assert.deepEqual(
        (await repo.listImageTasks('image-1')).map((t) => t.id),
        [earlier.id, later.id],
      );
      assert.deepEqual(await repo.listImageTasks('image-3'), []);
    });
  });
}

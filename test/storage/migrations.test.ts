// Schema migrations: applied once, safe to run again, safe to run from many processes at once, and
// refused when the database was migrated by a newer imagetrust.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import { migrateDatabase, openDatabase, SCHEMA_VERSION, type SqlDatabase } from '../../src/storage/index.ts';
import { openPostgresDatabase } from '../../src/storage/sql/postgres.ts';
import { openSqliteDatabase } from '../../src/storage/sql/sqlite.ts';
import { databaseBackends, postgresBackend } from './database-backends.ts';

const allVersions = Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1);

/** Opens a URL without migrating it, so the test decides when migrations run. */
function openUnmigrated(url: string): SqlDatabase {
  return url.startsWith('sqlite:')
    ? openSqliteDatabase(url.slice('sqlite:'.length))
    : openPostgresDatabase(url);
}

async function appliedVersions(db: SqlDatabase): Promise<number[]> {
  const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  return rows.map((row) => Number(row.version));
}

for (const backend of databaseBackends()) {
  describe(`migrateDatabase on ${backend.name}`, () => {
    before(() => backend.ready());
    after(() => backend.dispose());

    it('applies every migration to an empty database, and nothing the second time', async () => {
      const db = openUnmigrated(await backend.freshUrl());
      try {
        assert.deepEqual(await migrateDatabase(db), allVersions);
        assert.deepEqual(await migrateDatabase(db), []);
        assert.deepEqual(await appliedVersions(db), allVersions);
        // The schema works after the second run.
        assert.equal(await db.run("INSERT INTO roles (id, name) VALUES ('r1', 'reader')"), 1);
      } finally {
        await db.close();
      }
    });

    it('finds an already migrated database up to date when it is opened again', async () => {
      const url = await backend.freshUrl();
      await (await openDatabase(url)).close();
      const db = await openDatabase(url);
      try {
        assert.deepEqual(await migrateDatabase(db), []);
        assert.deepEqual(await appliedVersions(db), allVersions);
      } finally {
        await db.close();
      }
    });

    it('keeps the reports of a version 8 database as compliance reports, one per image and kind after', async () => {
      const db = openUnmigrated(await backend.freshUrl());
      try {
        assert.deepEqual(await migrateDatabase(db, undefined, 8), allVersions.slice(0, 8));
        await db.run(
          'INSERT INTO image_reports (image_id, document, digest, passed, attached_by, attached_at) VALUES (?, ?, ?, ?, ?, ?)',
          ['image-1', '{"results":[]}', `sha256:${'ab'.repeat(32)}`, 1, 'builder', '2026-06-01T12:00:00Z'],
        );
        assert.deepEqual(await migrateDatabase(db, undefined, 9), [9]);
        const rows = await db.query(
          'SELECT image_id, kind, document, passed, attached_by FROM image_reports',
        );
        assert.deepEqual(
          rows.map((r) => ({ ...r, passed: Number(r.passed) })),
          [
            {
              image_id: 'image-1',
              kind: 'compliance',
              document: '{"results":[]}',
              passed: 1,
              attached_by: 'builder',
            },
          ],
        );
        // Another kind for the same image is a second row; the same kind again is refused by the key.
        await db.run(
          'INSERT INTO image_reports (image_id, kind, document, digest, passed, attached_by, attached_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          ['image-1', 'boot-test', '{}', `sha256:${'cd'.repeat(32)}`, 0, 'builder', '2026-06-01T12:00:01Z'],
        );
        await assert.rejects(
          db.run(
            'INSERT INTO image_reports (image_id, kind, document, digest, passed, attached_by, attached_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
            [
              'image-1',
              'compliance',
              '{}',
              `sha256:${'ef'.repeat(32)}`,
              0,
              'builder',
              '2026-06-01T12:00:02Z',
            ],
          ),
        );
      } finally {
        await db.close();
      }
    });

    it('refuses a database whose schema is newer than this code, and leaves it untouched', async () => {
      const url = await backend.freshUrl();
      const db = await openDatabase(url);
      try {
        await db.run('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)', [
          SCHEMA_VERSION + 1,
          'from the future',
          '2030-01-01T00:00:00.000Z',
        ]);
        await assert.rejects(migrateDatabase(db));
        assert.deepEqual(await appliedVersions(db), [...allVersions, SCHEMA_VERSION + 1]);
      } finally {
        await db.close();
      }
      await assert.rejects(openDatabase(url), (error: unknown) => {
        assert.ok(error instanceof ImageTrustError);
        assert.equal(error.code, 'CONFIG_INVALID');
        return true;
      });
    });
  });
}

describe('migrateDatabase on postgres from many processes', () => {
  const backend = postgresBackend();
  before(() => backend.ready());
  after(() => backend.dispose());

  it('lets two pools migrate one database at once: both succeed and each migration applies once', async () => {
    for (let round = 0; round < 5; round++) {
      const url = await backend.freshUrl();
      const first = openPostgresDatabase(url);
      const second = openPostgresDatabase(url);
      try {
        // Connect both pools first, so the two migrations really race.
        await Promise.all([first.query('SELECT 1'), second.query('SELECT 1')]);
        const results = await Promise.all([migrateDatabase(first), migrateDatabase(second)]);
        assert.deepEqual(
          results.flat().sort((a, b) => a - b),
          allVersions,
          `round ${round}: ${JSON.stringify(results)}`,
        );
        assert.ok(results.some((applied) => applied.length === 0));
        assert.deepEqual(await appliedVersions(first), allVersions);
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
    }
  });
});

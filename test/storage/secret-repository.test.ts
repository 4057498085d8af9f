// The SecretRepository contract on both metadata backends (SQLite in a temporary file, PostgreSQL on
// loopback, a fresh schema per test): rows round-trip sealed, listing follows Barbican's scoping, filters
// and paging, payload storage and data-key re-wrapping are conditional, and ACLs go with their secret.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import type { SecretAcl, SecretListQuery, SecretRecord } from '../../src/keys/index.ts';
import { type SqlDatabase, SqlSecretRepository } from '../../src/storage/index.ts';
import { databaseBackends } from './database-backends.ts';

const NOW = '2024-03-01T10:00:00.000Z';

function makeSecret(overrides: Partial<SecretRecord> = {}): SecretRecord {
  return {
    id: randomUUID(),
    projectId: 'project-a',
    creatorId: 'user-a',
    name: null,
    secretType: 'opaque',
    algorithm: null,
    bitLength: null,
    mode: null,
    expiration: null,
    status: 'ACTIVE',
    contentType: null,
    sealed: null,
    createdAt: '2024-02-01T00:00:00.000Z',
    updatedAt: '2024-02-01T00:00:00.000Z',
    ...overrides,
  };
}

const sealed = (kekId = 'kek-1', tag = 'x') => ({
  kekId,
  wrappedKey: Buffer.from(`wrapped-${tag}`).toString('base64'),
  ciphertext: Buffer.from(`cipher-${tag}`).toString('base64'),
});

function query(overrides: Partial<SecretListQuery> = {}): SecretListQuery {
  return { projectId: 'project-a', now: NOW, dateFilters: [], sort: [], offset: 0, limit: 10, ...overrides };
}

for (const backend of databaseBackends()) {
  describe(`SqlSecretRepository on ${backend.name}`, () => {
    let db: SqlDatabase;
    let repo: SqlSecretRepository;
    before(() => backend.ready());
    after(() => backend.dispose());
    beforeEach(async () => {
      db = await backend.open();
      repo = new SqlSecretRepository(db);
    });
    afterEach(async () => {
      await db.close();
    });

    it('round-trips a secret with its sealed payload, and one without', async () => {
      const full = makeSecret({
        name: 'signing cert',
        secretType: 'certificate',
        algorithm: 'aes',
        bitLength: 256,
        mode: 'cbc',
        expiration: '2099-01-01T00:00:00.000Z',
        contentType: 'application/octet-stream',
        sealed: sealed(),
      });
      const bare = makeSecret();
      await repo.createSecret(full);
      await repo.createSecret(bare);
      assert.deepEqual(await repo.findSecret(full.id), full);
      assert.deepEqual(await repo.findSecret(bare.id), bare);
      assert.equal(await repo.findSecret(randomUUID()), null);
    });

    it('refuses a second secret with the same id as CONFLICT', async () => {
      const secret = makeSecret();
      await repo.createSecret(secret);
      await assert.rejects(repo.createSecret(secret), (error: unknown) => {
        assert.ok(error instanceof ImageTrustError);
        assert.equal(error.code, 'CONFLICT');
        return true;
      });
    });

    it("lists only the project's unexpired secrets, in creation order, with the total and paging", async () => {
      const mine = [1, 2, 3, 4].map((n) =>
        makeSecret({ name: `s${n}`, createdAt: `2024-02-0${n}T00:00:00.000Z` }),
      );
      for (const s of [...mine].reverse()) await repo.createSecret(s);
      await repo.createSecret(makeSecret({ projectId: 'project-b', name: 'theirs' }));
      await repo.createSecret(makeSecret({ name: 'expired', expiration: '2024-03-01T09:59:59.000Z' }));
      await repo.createSecret(makeSecret({ name: 'expiring-now', expiration: NOW }));
      await repo.createSecret(
        makeSecret({
          name: 'later',
          expiration: '2024-03-01T10:00:01.000Z',
          createdAt: '2024-02-09T00:00:00.000Z',
        }),
      );

      const all = await repo.listSecrets(query());
      assert.equal(all.total, 5);
      assert.deepEqual(
        all.secrets.map((s) => s.name),
        ['s1', 's2', 's3', 's4', 'later'],
      );
      const page = await repo.listSecrets(query({ offset: 1, limit: 2 }));
      assert.equal(page.total, 5);
      assert.deepEqual(
        page.secrets.map((s) => s.name),
        ['s2', 's3'],
      );
      const beyond = await repo.listSecrets(query({ offset: 10 }));
      assert.deepEqual([beyond.secrets.length, beyond.total], [0, 5]);
    });

    it('filters by name, algorithm and mode patterns case-insensitively, and by bits, type and dates', async () => {
      await repo.createSecret(
        makeSecret({
          name: 'Web-Cert',
          secretType: 'certificate',
          algorithm: 'AES',
          bitLength: 256,
          mode: 'cbc',
        }),
      );
      await repo.createSecret(
        makeSecret({ name: 'db-pass', secretType: 'passphrase', createdAt: '2024-02-20T00:00:00.000Z' }),
      );
      const names = async (q: Partial<SecretListQuery>) =>
        (await repo.listSecrets(query(q))).secrets.map((s) => s.name);
      assert.deepEqual(await names({ name: 'web-cert' }), ['Web-Cert']);
      assert.deepEqual(await names({ name: '%cert' }), ['Web-Cert']);
      assert.deepEqual(await names({ algorithm: 'aes', mode: 'CBC' }), ['Web-Cert']);
      assert.deepEqual(await names({ bitLength: 256 }), ['Web-Cert']);
      assert.deepEqual(await names({ secretType: 'passphrase' }), ['db-pass']);
      assert.deepEqual(
        await names({ dateFilters: [{ column: 'created', op: 'gt', value: '2024-02-10T00:00:00.000Z' }] }),
        ['db-pass'],
      );
      assert.deepEqual(
        await names({ dateFilters: [{ column: 'created', op: 'lte', value: '2024-02-01T00:00:00.000Z' }] }),
        ['Web-Cert'],
      );
    });

    it('sorts by the requested keys with missing values first ascending and last descending', async () => {
      await repo.createSecret(makeSecret({ name: 'b', createdAt: '2024-02-01T00:00:00.000Z' }));
      await repo.createSecret(makeSecret({ name: null, createdAt: '2024-02-02T00:00:00.000Z' }));
      await repo.createSecret(makeSecret({ name: 'a', createdAt: '2024-02-03T00:00:00.000Z' }));
      const names = async (dir: 'asc' | 'desc') =>
        (await repo.listSecrets(query({ sort: [{ key: 'name', dir }] }))).secrets.map((s) => s.name);
      assert.deepEqual(await names('asc'), [null, 'a', 'b']);
      assert.deepEqual(await names('desc'), ['b', 'a', null]);
    });

    it('stores a payload once: a second store, or a store on a missing secret, changes nothing', async () => {
      const secret = makeSecret();
      await repo.createSecret(secret);
      assert.equal(await repo.storePayload(secret.id, 'text/plain', sealed('kek-1', 'first'), NOW), true);
      assert.equal(await repo.storePayload(secret.id, 'text/plain', sealed('kek-1', 'second'), NOW), false);
      assert.equal(await repo.storePayload(randomUUID(), 'text/plain', sealed(), NOW), false);
      const stored = await repo.findSecret(secret.id);
      assert.deepEqual(stored?.sealed, sealed('kek-1', 'first'));
      assert.equal(stored?.contentType, 'text/plain');
      assert.equal(stored?.updatedAt, NOW);
    });

    it('deletes a secret and its ciphertext', async () => {
      const secret = makeSecret({ contentType: 'text/plain', sealed: sealed() });
      await repo.createSecret(secret);
      assert.equal(await repo.deleteSecret(secret.id), true);
      assert.equal(await repo.deleteSecret(secret.id), false);
      assert.equal(await repo.findSecret(secret.id), null);
      assert.deepEqual(await repo.countByKek(), {});
    });

    it("stores a secret's ACLs whole, replaces them, stamps the secret when asked, and removes them", async () => {
      const secret = makeSecret();
      await repo.createSecret(secret);
      assert.deepEqual(await repo.findAcls(secret.id), []);
      const read: SecretAcl = {
        operation: 'read',
        projectAccess: false,
        users: ['user-b', 'user-c'],
        createdAt: NOW,
        updatedAt: NOW,
      };
      await repo.replaceAcls(secret.id, [read], NOW);
      assert.deepEqual(await repo.findAcls(secret.id), [read]);
      assert.equal((await repo.findSecret(secret.id))?.updatedAt, NOW);

      const later = '2024-03-02T00:00:00.000Z';
      const opened = { ...read, projectAccess: true, users: [], updatedAt: later };
      await repo.replaceAcls(secret.id, [opened], null);
      assert.deepEqual(await repo.findAcls(secret.id), [opened]);
      assert.equal((await repo.findSecret(secret.id))?.updatedAt, NOW, 'not stamped without a time');

      await repo.replaceAcls(secret.id, [], null);
      assert.deepEqual(await repo.findAcls(secret.id), []);
    });

    it('lists, for acl_only, the unexpired secrets of any project whose ACLs list the user', async () => {
      const read = (users: string[]): SecretAcl => ({
        operation: 'read',
        projectAccess: true,
        users,
        createdAt: NOW,
        updatedAt: NOW,
      });
      const shared = makeSecret({ projectId: 'project-b', name: 'shared' });
      const expired = makeSecret({ projectId: 'project-b', name: 'expired', expiration: NOW });
      const others = makeSecret({ projectId: 'project-b', name: 'others' });
      const unlisted = makeSecret({ name: 'own project, not listed' });
      for (const secret of [shared, expired, others, unlisted]) await repo.createSecret(secret);
      await repo.replaceAcls(shared.id, [read(['user-x', 'user-a'])], null);
      await repo.replaceAcls(expired.id, [read(['user-a'])], null);
      await repo.replaceAcls(others.id, [read(['user-aa', 'user'])], null);
      const listed = await repo.listSecrets(query({ aclUserId: 'user-a' }));
      assert.deepEqual(
        listed.secrets.map((s) => s.name),
        ['shared'],
      );
      assert.equal(listed.total, 1);
      assert.equal((await repo.listSecrets(query({ aclUserId: 'nobody' }))).total, 0);
    });

    it("deletes a secret's ACLs with it, and only its own", async () => {
      const [doomed, kept] = [makeSecret(), makeSecret()];
      const read: SecretAcl = {
        operation: 'read',
        projectAccess: true,
        users: ['u'],
        createdAt: NOW,
        updatedAt: NOW,
      };
      for (const secret of [doomed, kept]) {
        await repo.createSecret(secret);
        await repo.replaceAcls(secret.id, [read], null);
      }
      assert.equal(await repo.deleteSecret(doomed.id), true);
      const rows = await db.query('SELECT secret_id FROM secret_acls');
      assert.deepEqual(
        rows.map((row) => row.secret_id),
        [kept.id],
      );
    });

    it("stores a secret's metadata whole, adds, sets and removes one key, and refuses a duplicate add", async () => {
      const secret = makeSecret();
      await repo.createSecret(secret);
      assert.deepEqual(await repo.findMetadata(secret.id), {});
      await repo.replaceMetadata(secret.id, { b: '2', a: '1' }, NOW);
      assert.deepEqual(await repo.findMetadata(secret.id), { a: '1', b: '2' });
      await repo.replaceMetadata(secret.id, { c: '3' }, NOW);
      assert.deepEqual(await repo.findMetadata(secret.id), { c: '3' });
      assert.equal(await repo.addMetadatum(secret.id, 'd', '4', NOW), true);
      assert.equal(await repo.addMetadatum(secret.id, 'd', 'other', NOW), false);
      await repo.setMetadatum(secret.id, 'd', '5', NOW);
      await repo.setMetadatum(secret.id, 'e', '6', NOW);
      await repo.deleteMetadatum(secret.id, 'c');
      await repo.deleteMetadatum(secret.id, 'absent');
      assert.deepEqual(await repo.findMetadata(secret.id), { d: '5', e: '6' });
      await repo.replaceMetadata(secret.id, {}, NOW);
      assert.deepEqual(await repo.findMetadata(secret.id), {});
    });

    it("deletes a secret's metadata with it, and only its own", async () => {
      const [gone, kept] = [makeSecret(), makeSecret()];
      for (const s of [gone, kept]) {
        await repo.createSecret(s);
        await repo.replaceMetadata(s.id, { a: s.id }, NOW);
      }
      assert.equal(await repo.deleteSecret(gone.id), true);
      assert.deepEqual(await repo.findMetadata(gone.id), {});
      assert.deepEqual(await repo.findMetadata(kept.id), { a: kept.id });
      const rows = await db.query('SELECT secret_id FROM secret_metadata');
      assert.deepEqual(
        rows.map((row) => row.secret_id),
        [kept.id],
      );
    });

    it('pages through wrapped keys not under a KEK, re-wraps conditionally, and counts per KEK', async () => {
      const old = [1, 2, 3].map((n) =>
        makeSecret({ contentType: 'application/octet-stream', sealed: sealed('kek-old', String(n)) }),
      );
      const current = makeSecret({ contentType: 'text/plain', sealed: sealed('kek-new', 'c') });
      for (const s of [...old, current, makeSecret()]) await repo.createSecret(s);
      assert.deepEqual(await repo.countByKek(), { 'kek-old': 3, 'kek-new': 1 });

      const first = await repo.listWrappedKeys({ exceptKekId: 'kek-new', afterId: null, limit: 2 });
      const second = await repo.listWrappedKeys({ exceptKekId: 'kek-new', afterId: first[1].id, limit: 2 });
      const seen = [...first, ...second].map((row) => row.id);
      assert.deepEqual(seen, old.map((s) => s.id).sort());
      assert.equal(first[0].contentType, 'application/octet-stream');

      const row = first[0];
      const next = { kekId: 'kek-new', wrappedKey: Buffer.from('rewrapped').toString('base64') };
      assert.equal(await repo.replaceWrappedKey(row.id, row, next), true);
      // The row no longer holds what the caller saw, so a stale replacement is refused.
      assert.equal(await repo.replaceWrappedKey(row.id, row, { ...next, wrappedKey: 'other' }), false);
      const after = await repo.findSecret(row.id);
      const original = old.find((s) => s.id === row.id)!;
      assert.deepEqual(after?.sealed, { ...next, ciphertext: original.sealed!.ciphertext });
      assert.deepEqual(await repo.countByKek(), { 'kek-old': 2, 'kek-new': 2 });
    });
  });
}

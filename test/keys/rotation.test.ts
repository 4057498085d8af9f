// KEK rotation with the real adapters (SQLite in a temporary file, the keyring file on disk): data keys
// are re-wrapped, payloads stay byte-identical, old KEKs can be retired, and nothing is lost on the way.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { systemClock } from '../../src/app/index.ts';
import type { Credentials } from '../../src/identity/index.ts';
import { retireUnusedKeks, rotateKeyEncryptionKey, SecretService } from '../../src/keys/index.ts';
import { FileKeyring, openDatabase, type SqlDatabase, SqlSecretRepository } from '../../src/storage/index.ts';
import { eventStreamFor } from '../support/events.ts';

const member: Credentials = {
  userId: 'user-a',
  userName: 'alice',
  domainId: 'default',
  projectId: 'project-a',
  projectName: 'alice-project',
  roles: ['member', 'reader'],
  isAdmin: false,
  methods: ['password'],
  issuedAt: '2024-03-01T10:00:00.000Z',
  expiresAt: '2099-03-01T10:00:00.000Z',
};

const json = (body: unknown) => ({ mediaType: 'application/json', body: Buffer.from(JSON.stringify(body)) });

describe('rotateKeyEncryptionKey', () => {
  const dirs: string[] = [];
  let dir: string;
  let db: SqlDatabase;
  let keyringFile: string;
  let service: SecretService;
  let repo: SqlSecretRepository;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-rotate-'));
    dirs.push(dir);
    keyringFile = path.join(dir, 'kek.json');
    db = await openDatabase(`sqlite:${path.join(dir, 'metadata.db')}`);
    repo = new SqlSecretRepository(db);
    service = new SecretService({
      secrets: repo,
      keyring: await new FileKeyring(keyringFile).open(),
      clock: systemClock,
      events: eventStreamFor(db, systemClock),
    });
  });
  afterEach(() => db.close());
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const store = async (text: string) =>
    (await service.createSecret(member, json({ payload: text, payload_content_type: 'text/plain' }))).id;
  const read = async (id: string) =>
    (await service.readPayload(member, id, 'text/plain')).body.toString('utf8');

  it('creates the keyring on first start with one KEK, readable by its owner only', () => {
    const doc = JSON.parse(readFileSync(keyringFile, 'utf8'));
    assert.equal(doc.keys.length, 1);
    assert.equal(doc.current, doc.keys[0].id);
    assert.equal(statSync(keyringFile).mode & 0o777, 0o600);
  });

  it('re-wraps every data key under a new KEK, keeps payloads and ciphertexts, and the server follows', async () => {
    const ids = [await store('one'), await store('two'), await store('three')];
    const before = await Promise.all(ids.map((id) => repo.findSecret(id)));
    const rotator = new FileKeyring(keyringFile, { create: false });
    const report = await rotateKeyEncryptionKey({
      secrets: repo,
      keyring: rotator,
      clock: { now: () => new Date() },
    });
    assert.equal(report.rewrapped, 3);
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.kept, { [report.previous]: 0 });
    for (const [i, id] of ids.entries()) {
      const row = await repo.findSecret(id);
      assert.equal(row?.sealed?.kekId, report.current);
      assert.equal(row?.sealed?.ciphertext, before[i]?.sealed?.ciphertext);
      assert.notEqual(row?.sealed?.wrappedKey, before[i]?.sealed?.wrappedKey);
    }
    // The running service notices the replaced keyring file: it reads old rows and seals new ones with the new KEK.
    assert.deepEqual(await Promise.all(ids.map(read)), ['one', 'two', 'three']);
    const fresh = await store('four');
    assert.equal((await repo.findSecret(fresh))?.sealed?.kekId, report.current);
  });

  it('retires the old KEK once nothing uses it, and payloads still open without it', async () => {
    const id = await store('keep me');
    const report = await rotateKeyEncryptionKey({
      secrets: repo,
      keyring: new FileKeyring(keyringFile, { create: false }),
      clock: { now: () => new Date() },
    });
    // The rotation alone retires nothing: a process still on the old keyring keeps its key.
    assert.equal(JSON.parse(readFileSync(keyringFile, 'utf8')).keys.length, 2);
    const retirement = await retireUnusedKeks({
      secrets: repo,
      keyring: new FileKeyring(keyringFile, { create: false }),
    });
    assert.deepEqual(retirement.retired, [report.previous]);
    const doc = JSON.parse(readFileSync(keyringFile, 'utf8'));
    assert.deepEqual(
      doc.keys.map((k: { id: string }) => k.id),
      [report.current],
    );
    assert.equal(await read(id), 'keep me');
  });

  it('keeps an old KEK that still wraps a data key it could not re-wrap, and reports the row', async () => {
    const good = await store('good');
    const bad = await store('bad');
    // Tamper with one wrapped key: it cannot be unwrapped, so it cannot be re-wrapped either.
    const row = (await repo.findSecret(bad))!;
    const flipped = Buffer.from(row.sealed!.wrappedKey, 'base64');
    flipped[20] ^= 1;
    await db.run('UPDATE secrets SET wrapped_key = ? WHERE id = ?', [flipped.toString('base64'), bad]);
    const report = await rotateKeyEncryptionKey({
      secrets: repo,
      keyring: new FileKeyring(keyringFile, { create: false }),
      clock: { now: () => new Date() },
    });
    assert.equal(report.rewrapped, 1);
    assert.deepEqual(
      report.failed.map((f) => f.id),
      [bad],
    );
    const retirement = await retireUnusedKeks({
      secrets: repo,
      keyring: new FileKeyring(keyringFile, { create: false }),
    });
    assert.deepEqual(retirement.retired, []);
    assert.deepEqual(retirement.kept, { [report.previous]: 1 });
    assert.equal(await read(good), 'good');
    await assert.rejects(read(bad), { code: 'SECRET_CORRUPT' });
  });

  it('refuses a keyring file that other users can read', async () => {
    const { chmodSync } = await import('node:fs');
    chmodSync(keyringFile, 0o644);
    await assert.rejects(new FileKeyring(keyringFile).open(), { code: 'CONFIG_INVALID' });
  });

  it('reports SECRET_CORRUPT, never other bytes, when the keyring holds a different KEK under the same id', async () => {
    const id = await store('original');
    const doc = JSON.parse(readFileSync(keyringFile, 'utf8'));
    doc.keys[0].key = Buffer.alloc(32, 7).toString('base64');
    writeFileSync(keyringFile, JSON.stringify(doc), { mode: 0o600 });
    const other = new SecretService({
      secrets: repo,
      keyring: await new FileKeyring(keyringFile).open(),
      clock: systemClock,
      events: eventStreamFor(db, systemClock),
    });
    await assert.rejects(other.readPayload(member, id, 'text/plain'), { code: 'SECRET_CORRUPT' });
    await assert.rejects(other.getSecretForVerification(member, id), { code: 'SECRET_CORRUPT' });
  });
});

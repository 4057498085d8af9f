// `imagetrust audit` as an operator runs it: verify the stored log of a data directory (SQLite) or of a
// PostgreSQL database, exit 1 naming the first tampered entry; fetch an image's history with proofs from
// a running server; and verify such a file offline with the right key only.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/app/clock.ts';
import { openServices } from '../../src/app/index.ts';
import { AuditLog } from '../../src/audit/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import type { DomainEvent } from '../../src/events/index.ts';
import { registerAuditRoutes } from '../../src/server/audit-routes.ts';
import { createApp } from '../../src/server/index.ts';
import {
  openAuditSigningKey,
  openDatabase,
  SqlAuditRepository,
  type SqlDatabase,
} from '../../src/storage/index.ts';
import { postgresBackend } from '../storage/database-backends.ts';
import { TestClock } from '../support/clock.ts';
import { ADMIN_PASSWORD, clientEnvironment } from '../support/server.ts';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const cli = (args: string[], env: Record<string, string> = {}) =>
  run(BIN, args, { IMAGETRUST_CONFIG: '', ...env });

function event(i: number): DomainEvent {
  return {
    type: 'image.updated',
    actor: { userId: 'alice', projectId: 'project-a' },
    projectId: 'project-a',
    subjectId: `image-${i % 2}`,
    contentDigest: `sha256:${'cd'.repeat(32)}`,
    details: { step: i },
  };
}

async function fill(db: SqlDatabase, keyFile: string, count: number): Promise<AuditLog> {
  const log = new AuditLog({
    clock: systemClock,
    repository: new SqlAuditRepository(db),
    signer: await openAuditSigningKey(keyFile),
  });
  await log.appendAll(Array.from({ length: count }, (_, i) => event(i)));
  await log.latestTreeHead();
  return log;
}

describe('imagetrust audit verify', () => {
  const dirs: string[] = [];
  const pg = postgresBackend();
  const freshDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-audit-cli-'));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await pg.dispose();
  });

  async function sqliteLog(count = 12) {
    const dir = freshDir();
    const db = await openDatabase(`sqlite:${path.join(dir, 'imagetrust.sqlite')}`);
    const log = await fill(db, path.join(dir, 'audit-log-key.pem'), count);
    return { dir, db, log };
  }

  it('makes the signing key private on first use and reports a sound log with its head', async () => {
    const { dir, db, log } = await sqliteLog();
    assert.equal(statSync(path.join(dir, 'audit-log-key.pem')).mode & 0o777, 0o600);
    const head = await log.latestTreeHead();
    await db.close();
    const result = await cli(['audit', 'verify', '--data-dir', dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^ok: 12 entries, tree head ${head.root_hash} \\(size 12\\) signed at ${head.signed_at}`),
    );
    const json = await cli(['audit', 'verify', '--data-dir', dir, '--format', 'json']);
    assert.equal(JSON.parse(json.stdout).treeSize, 12);
  });

  for (const [name, change, seq, problem] of [
    [
      'an edited event',
      `UPDATE audit_entries SET event = REPLACE(event, '"step":7', '"step":70') WHERE seq = 7`,
      7,
      'altered',
    ],
    ['a deleted entry', 'DELETE FROM audit_entries WHERE seq = 4', 4, 'removed'],
    [
      'swapped entries',
      `UPDATE audit_entries SET event = CASE seq WHEN 2 THEN (SELECT event FROM audit_entries WHERE seq = 9) ELSE (SELECT event FROM audit_entries WHERE seq = 2) END,
         leaf_hash = CASE seq WHEN 2 THEN (SELECT leaf_hash FROM audit_entries WHERE seq = 9) ELSE (SELECT leaf_hash FROM audit_entries WHERE seq = 2) END
       WHERE seq IN (2, 9)`,
      2,
      'reordered',
    ],
  ] as const) {
    it(`exits 1 naming the first bad entry after ${name} (SQLite)`, async () => {
      const { dir, db } = await sqliteLog();
      await db.run(change);
      await db.close();
      const result = await cli(['audit', 'verify', '--data-dir', dir]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^bad: entry ${seq} ${problem}:`));
      const json = JSON.parse((await cli(['audit', 'verify', '--data-dir', dir, '--format', 'json'])).stdout);
      assert.deepEqual([json.ok, json.firstBadSeq, json.problem], [false, seq, problem]);
    });
  }

  it('exits 1 at the first entry no signed head covers', async () => {
    const dir = freshDir();
    const db = await openDatabase(`sqlite:${path.join(dir, 'imagetrust.sqlite')}`);
    // A head at most once a minute of a clock that stands still: the second batch stays unsigned.
    const log = new AuditLog({
      clock: new TestClock(),
      repository: new SqlAuditRepository(db),
      signer: await openAuditSigningKey(path.join(dir, 'audit-log-key.pem')),
      signIntervalMs: 60_000,
    });
    await log.appendAll([event(0), event(1), event(2)]);
    await log.appendAll([event(3), event(4)]);
    await db.close();
    const json = await cli(['audit', 'verify', '--data-dir', dir, '--format', 'json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout);
    assert.deepEqual([report.ok, report.firstBadSeq, report.problem], [false, 3, 'unsigned']);
  });

  it('checks a PostgreSQL log and exits 1 at a deleted entry', async () => {
    await pg.ready();
    const url = await pg.freshUrl();
    const dir = freshDir();
    const db = await openDatabase(url);
    try {
      await fill(db, path.join(dir, 'audit-log-key.pem'), 20);
      const sound = await cli(['audit', 'verify', '--data-dir', dir, '--database', url]);
      assert.equal(sound.code, 0, sound.stderr);
      assert.match(sound.stdout, /^ok: 20 entries/);
      await db.run('DELETE FROM audit_entries WHERE seq = 13');
      const result = await cli(['audit', 'verify', '--data-dir', dir, '--database', url]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^bad: entry 13 removed:/);
    } finally {
      await db.close();
    }
  });

  it('fails every signed head when given another public key', async () => {
    const { dir, db } = await sqliteLog(3);
    await db.close();
    const other = path.join(dir, 'other.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const result = await cli(['audit', 'verify', '--data-dir', dir, '--public-key', other]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad-signature/);
  });
});

describe('imagetrust audit proof and verify-proof', () => {
  let dir: string;
  let url: string;
  let keyFile: string;
  let stop: () => Promise<void>;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-audit-proof-'));
    const config = validateConfig({ dataDir: dir, adminPassword: ADMIN_PASSWORD, logLevel: 'silent' });
    const services = await openServices(config);
    await services.identity.bootstrap(ADMIN_PASSWORD);
    const signer = await openAuditSigningKey(path.join(dir, 'audit-log-key.pem'));
    keyFile = path.join(dir, 'audit-public.pem');
    writeFileSync(keyFile, signer.publicKeyPem);
    await services.events.record(...Array.from({ length: 9 }, (_, i) => event(i)));
    const { app } = createApp({
      catalog: services.catalog,
      identity: services.identity,
      clock: services.clock,
      logLevel: 'silent',
    });
    registerAuditRoutes(app, { reader: services.auditReader });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    stop = async () => {
      await app.close();
      await services.close();
    };
  });
  after(async () => {
    await stop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fetches an image's history with proofs, and the file verifies offline with the log's key", async () => {
    const env = clientEnvironment(url, dir);
    const file = path.join(dir, 'history.json');
    const text = await cli(['audit', 'proof', 'image-1', '-o', file], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^image image-1: 4 entries under tree head [0-9a-f]{64} \(size 9\)/);
    const json = await cli(['audit', 'proof', 'image-1', '--format', 'json'], env);
    assert.equal(JSON.parse(json.stdout).entries.length, 4);

    const ok = await cli(['audit', 'verify-proof', file, '--public-key', keyFile]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^ok: 4 entries included in the signed tree of size 9/);

    const other = path.join(dir, 'other.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const wrongKey = await cli(['audit', 'verify-proof', file, '--public-key', other]);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /bad-signature/);

    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    bundle.entries[1].leaf = bundle.entries[1].leaf.replace('"step":3', '"step":30');
    const forged = path.join(dir, 'forged.json');
    writeFileSync(forged, JSON.stringify(bundle));
    const altered = await cli(['audit', 'verify-proof', forged, '--public-key', keyFile]);
    assert.equal(altered.code, 1);
    assert.match(altered.stderr, /^bad: entry 3 altered/);
  });
});

import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import {
  createFileOnce,
  openAuditSigningKey,
  openLoginNameKey,
  replaceFile,
  STALE_TEMPORARY_MS,
} from '../../src/storage/index.ts';

const leftovers = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.tmp'));

describe('private files written whole', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'imagetrust-private-file-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const fresh = (name: string) => mkdtempSync(path.join(root, `${name}-`));

  it('lets exactly one of many racing creators publish, whole, private, with no temporary left', async () => {
    const dir = fresh('once');
    const file = path.join(dir, 'sub', 'key');
    const contents = Array.from({ length: 24 }, (_, i) => `${String.fromCharCode(65 + i)}`.repeat(64 * 1024));
    const won = await Promise.all(contents.map((content) => createFileOnce(file, content)));
    assert.equal(won.filter(Boolean).length, 1);
    assert.equal(readFileSync(file, 'utf8'), contents[won.indexOf(true)]);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.deepEqual(leftovers(path.dirname(file)), []);
    assert.equal(await createFileOnce(file, 'later'), false);
    assert.equal(readFileSync(file, 'utf8'), contents[won.indexOf(true)]);
  });

  it('never shows a reader half of a replaced file', async () => {
    const file = path.join(fresh('replace'), 'head.json');
    const versions = Array.from({ length: 30 }, (_, i) => String(i % 10).repeat(256 * 1024));
    await replaceFile(file, versions[0]);
    let reading = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (reading) {
        const text = await readFile(file, 'utf8');
        assert.equal(text.length, 256 * 1024, 'a reader saw a partial file');
        assert.equal(text, text[0].repeat(text.length), 'a reader saw two versions mixed');
        seen.add(text[0]);
      }
    })();
    for (const version of versions) await replaceFile(file, version, { sync: false });
    reading = false;
    await reader;
    assert.ok(seen.size >= 1);
    assert.equal(readFileSync(file, 'utf8'), versions.at(-1));
    assert.deepEqual(leftovers(path.dirname(file)), []);
  });

  it("removes a dead process's temporary on the next write, and leaves a live one alone", async () => {
    const dir = fresh('stale');
    const file = path.join(dir, 'key');
    const now = Date.parse('2026-12-05T12:00:00Z');
    const dead = path.join(dir, 'key.0123456789ab.tmp');
    const live = path.join(dir, 'key.ba9876543210.tmp');
    const other = path.join(dir, 'other.0123456789ab.tmp');
    for (const leftover of [dead, live, other]) writeFileSync(leftover, 'half');
    const old = new Date(now - STALE_TEMPORARY_MS - 1000);
    utimesSync(dead, old, old);
    utimesSync(other, old, old);
    const recent = new Date(now - 1000);
    utimesSync(live, recent, recent);
    assert.equal(await createFileOnce(file, 'whole', { now: () => now }), true);
    assert.deepEqual(leftovers(dir).sort(), ['key.ba9876543210.tmp', 'other.0123456789ab.tmp']);
  });

  it('gives every process starting at once the same audit signing key', async () => {
    // Rounds in fresh directories: a reader that can meet the winner's file still empty fails one of them.
    for (let round = 0; round < 10; round++) {
      const file = path.join(fresh('audit'), 'audit-log-key.pem');
      const signers = await Promise.all(Array.from({ length: 32 }, () => openAuditSigningKey(file)));
      assert.equal(new Set(signers.map((signer) => signer.publicKeyPem)).size, 1);
      assert.equal(statSync(file).mode & 0o777, 0o600);
    }
  });

  it('refuses an audit signing key or login name key other users can read, naming the fix', async () => {
    const dir = fresh('modes');
    const auditKey = path.join(dir, 'audit-log-key.pem');
    const loginKey = path.join(dir, 'login-name.key');
    await openAuditSigningKey(auditKey);
    await openLoginNameKey(loginKey);
    for (const [file, open] of [
      [auditKey, () => openAuditSigningKey(auditKey)],
      [loginKey, () => openLoginNameKey(loginKey)],
    ] as const) {
      chmodSync(file, 0o640);
      await assert.rejects(
        open(),
        (error) =>
          error instanceof ImageTrustError &&
          error.code === 'CONFIG_INVALID' &&
          error.message.includes('readable by other users (mode 640)') &&
          error.message.includes('chmod 600'),
      );
      chmodSync(file, 0o600);
      await open();
    }
  });

  it('says the audit key is not a key when the file holds something else', async () => {
    const file = path.join(fresh('garbage'), 'audit-log-key.pem');
    writeFileSync(file, '', { mode: 0o600 });
    await assert.rejects(
      openAuditSigningKey(file),
      (error) => error instanceof ImageTrustError && /is not an Ed25519 private key/.test(error.message),
    );
  });
});

// Commands that only read the local store never create or migrate one: without a store they say where
// they looked and exit non-zero (NOT_FOUND), leaving nothing behind.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const READ_ONLY = [
  ['project', 'list'],
  ['user', 'list'],
  ['role', 'list'],
  ['audit', 'verify'],
];

describe('read-only store commands', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-readonly-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('exit 4 naming the missing data directory or database, and create nothing', async () => {
    const missing = path.join(work, 'missing');
    const empty = path.join(work, 'empty');
    mkdirSync(empty, { mode: 0o700 });
    for (const command of READ_ONLY) {
      const noDir = await run(BIN, [...command, '--data-dir', missing], { IMAGETRUST_CONFIG: '' });
      assert.equal(noDir.code, 4, `${command.join(' ')}: ${noDir.stderr}`);
      assert.ok(noDir.stderr.includes(missing), noDir.stderr);
      assert.equal(existsSync(missing), false, `${command.join(' ')} made the data directory`);
      const noDb = await run(BIN, [...command, '--data-dir', empty], { IMAGETRUST_CONFIG: '' });
      assert.equal(noDb.code, 4, `${command.join(' ')}: ${noDb.stderr}`);
      assert.ok(noDb.stderr.includes(path.join(empty, 'imagetrust.sqlite')), noDb.stderr);
      assert.deepEqual(readdirSync(empty), [], `${command.join(' ')} wrote into the empty directory`);
    }
  });

  it('read a store once a writing command made it', async () => {
    const store = path.join(work, 'store');
    const created = await run(BIN, ['project', 'create', 'p1', '--data-dir', store], {
      IMAGETRUST_CONFIG: '',
    });
    assert.equal(created.code, 0, created.stderr);
    for (const command of READ_ONLY) {
      const listed = await run(BIN, [...command, '--data-dir', store], { IMAGETRUST_CONFIG: '' });
      assert.equal(listed.code, 0, `${command.join(' ')}: ${listed.stderr}`);
    }
  });
});

// Loading definition files at start: which directory is read, each file loaded once, and a file that
// cannot be read or stored is reported, leaves nothing behind, and is loaded at the next start.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadMetadefDefinitions, resolveMetadefDirectory } from '../../src/app/metadef-definitions.ts';
import { openDatabase, type SqlDatabase, SqlMetadefRepository } from '../../src/storage/index.ts';
import { TestClock } from '../support/clock.ts';

describe('loading metadata-definition files', () => {
  let dir: string;
  let db: SqlDatabase;
  let repository: SqlMetadefRepository;
  const clock = new TestClock('2025-01-01T00:00:00Z');
  const write = (name: string, content: unknown) =>
    writeFileSync(
      path.join(dir, 'defs', name),
      typeof content === 'string' ? content : JSON.stringify(content),
    );

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-metadefs-'));
    mkdirSync(path.join(dir, 'defs'));
    db = await openDatabase(`sqlite:${path.join(dir, 'metadata.db')}`);
    repository = new SqlMetadefRepository(db);
  });
  after(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the configured directory, else the first system one present, else the shipped subset', async () => {
    const defs = path.join(dir, 'defs');
    write('good.json', { namespace: 'Test::Good', visibility: 'public', tags: [{ name: 'a' }] });
    assert.equal(await resolveMetadefDirectory(defs), defs);
    await assert.rejects(
      resolveMetadefDirectory(path.join(dir, 'missing')),
      (e) => (e as { code?: string }).code === 'CONFIG_INVALID',
    );
    assert.equal(await resolveMetadefDirectory('', [path.join(dir, 'missing'), defs]), defs);
    assert.match(await resolveMetadefDirectory('', [path.join(dir, 'missing')]), /data\/metadefs\/glance$/);
    // A directory without definition files (or whose files this process cannot read) is passed over.
    mkdirSync(path.join(dir, 'empty'));
    assert.equal(await resolveMetadefDirectory('', [path.join(dir, 'empty'), defs]), defs);
  });

  it('loads good files, reports bad ones, and loads a mended file at the next start only', async () => {
    write('good.json', { namespace: 'Test::Good', visibility: 'public', tags: [{ name: 'a' }] });
    write('broken.json', '{"namespace": "Test::Broken", ');
    write('duplicate.json', { namespace: 'Test::Dup', objects: [{ name: 'o' }, { name: 'o' }] });
    write('README', 'not json');
    const first = await loadMetadefDefinitions({ repository, directory: path.join(dir, 'defs'), clock });
    assert.deepEqual(first.created.sort(), ['OS::ImageTrust::Image', 'Test::Good']);
    assert.deepEqual(first.failed.map((f) => path.basename(f.file)).sort(), [
      'broken.json',
      'duplicate.json',
    ]);
    assert.equal(await repository.findNamespace('Test::Dup'), null);

    write('broken.json', { namespace: 'Test::Broken' });
    const second = await loadMetadefDefinitions({ repository, directory: path.join(dir, 'defs'), clock });
    assert.deepEqual(second.created, ['Test::Broken']);
    assert.deepEqual(
      second.failed.map((f) => path.basename(f.file)),
      ['duplicate.json'],
    );
    const good = await repository.findNamespace('Test::Good');
    assert.equal((await repository.listItems(good!.id, 'tag')).length, 1, 'not loaded twice');
    assert.equal(good?.owner, 'admin');
  });
});

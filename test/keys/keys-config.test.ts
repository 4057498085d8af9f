// The `keys` configuration section: where the keyring lives, and IMAGETRUST_KEK checked at load time.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, resolveStoragePaths } from '../../src/config/index.ts';

describe('keys configuration', () => {
  it('puts the keyring at <dataDir>/kek.json unless keys.kekFile or IMAGETRUST_KEK_FILE says otherwise', () => {
    const defaults = loadConfig({ env: { IMAGETRUST_DATA_DIR: '/srv/it' }, cwd: '/' });
    assert.equal(resolveStoragePaths(defaults).kekFile, path.resolve('/srv/it/kek.json'));
    const moved = loadConfig({ env: { IMAGETRUST_KEK_FILE: '/etc/imagetrust/kek.json' }, cwd: '/' });
    assert.equal(resolveStoragePaths(moved).kekFile, '/etc/imagetrust/kek.json');
  });

  it('takes IMAGETRUST_KEK as base64 of 32 bytes and names every other value an error', () => {
    const kek = randomBytes(32).toString('base64');
    assert.equal(loadConfig({ env: { IMAGETRUST_KEK: kek }, cwd: '/' }).keys.kek, kek);
    for (const bad of [randomBytes(16).toString('base64'), 'not-base64', `${kek}x`]) {
      assert.throws(() => loadConfig({ env: { IMAGETRUST_KEK: bad }, cwd: '/' }), { code: 'CONFIG_INVALID' });
    }
  });
});

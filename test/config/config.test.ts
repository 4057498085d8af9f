// Configuration: defaults < file < environment < flags, every bad key named.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';

describe('loadConfig', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has working embedded defaults', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    assert.equal(config.listen.port, 9292);
    assert.equal(config.listen.host, '127.0.0.1');
    assert.equal(config.dataDir, './imagetrust-data');
    assert.equal(config.images.sizeCap, 1024 ** 4);
    assert.ok(Object.isFrozen(config.images));
  });

  it('layers file < environment < flags', () => {
    const file = path.join(dir, 'layers.yaml');
    writeFileSync(file, 'listen:\n  port: 1000\n  host: 127.0.0.2\ndataDir: /from-file\n');
    const config = loadConfig({
      file,
      env: { IMAGETRUST_PORT: '2000', IMAGETRUST_DATA_DIR: '/from-env' },
      overrides: { dataDir: '/from-flag' },
    });
    assert.equal(config.listen.host, '127.0.0.2');
    assert.equal(config.listen.port, 2000);
    assert.equal(config.dataDir, '/from-flag');
  });

  it('names unknown keys and bad values', () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'listen:\n  prot: 1\nimages:\n  sizeCap: -5\n');
    assert.throws(
      () => loadConfig({ file, env: {} }),
      (error) =>
        error instanceof ConfigError &&
        /listen\.prot/.test(error.message) &&
        /images\.sizeCap/.test(error.message),
    );
  });

  it('refuses a non-numeric environment value and malformed YAML', () => {
    assert.throws(() => loadConfig({ env: { IMAGETRUST_PORT: 'abc' }, cwd: dir }), ConfigError);
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'listen: [\n');
    assert.throws(() => loadConfig({ file, env: {} }), ConfigError);
  });

  it('requires TLS certificate and key together', () => {
    assert.throws(
      () => loadConfig({ env: {}, cwd: dir, overrides: { tls: { cert: 'c.pem' } } }),
      ConfigError,
    );
  });

  it('reads the release gates and trusted build keys, off and empty by default', () => {
    const defaults = loadConfig({ env: {}, cwd: dir });
    assert.equal(defaults.release.requireBootTest, false);
    assert.equal(defaults.release.requireProvenance, false);
    assert.deepEqual(defaults.provenance.trustedKeys, []);
    const config = loadConfig({
      env: {
        IMAGETRUST_RELEASE_REQUIRE_BOOT_TEST: 'true',
        IMAGETRUST_RELEASE_REQUIRE_PROVENANCE: 'yes',
        IMAGETRUST_PROVENANCE_TRUSTED_KEYS: 'a.pem, b.pem',
      },
      cwd: dir,
    });
    assert.equal(config.release.requireBootTest, true);
    assert.equal(config.release.requireProvenance, true);
    assert.deepEqual(config.provenance.trustedKeys, ['a.pem', 'b.pem']);
  });

  it('refuses to require provenance with no key to verify it', () => {
    assert.throws(
      () => loadConfig({ env: {}, cwd: dir, overrides: { release: { requireProvenance: true } } }),
      ConfigError,
    );
  });
});

// `imagetrust keys rotate-kek` as an operator runs it on a data directory: counts in the report, old
// KEKs retired only by a second command (retire-kek), secrets still readable, and a refusal when the KEK is from the env.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openServices } from '../../src/app/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import type { Credentials } from '../../src/identity/index.ts';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;

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

describe('imagetrust keys rotate-kek', () => {
  let dir: string;
  const ids: string[] = [];
  const cli = (...args: string[]) => run(BIN, args, { IMAGETRUST_CONFIG: '', IMAGETRUST_KEK: '' });
  const keyIds = () =>
    JSON.parse(readFileSync(path.join(dir, 'kek.json'), 'utf8')).keys.map((k: { id: string }) => k.id);
  const readAll = async () => {
    const services = await openServices(validateConfig({ dataDir: dir, logLevel: 'silent' }));
    try {
      return await Promise.all(
        ids.map(async (id) => (await services.secrets.readPayload(member, id, 'text/plain')).body.toString()),
      );
    } finally {
      await services.close();
    }
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-rotate-cli-'));
    const services = await openServices(validateConfig({ dataDir: dir, logLevel: 'silent' }));
    try {
      for (const text of ['alpha', 'beta']) {
        const body = Buffer.from(JSON.stringify({ payload: text, payload_content_type: 'text/plain' }));
        ids.push((await services.secrets.createSecret(member, { mediaType: 'application/json', body })).id);
      }
    } finally {
      await services.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('re-wraps every data key, keeps the old KEK, and reports the counts', async () => {
    const [original] = keyIds();
    const result = await cli('keys', 'rotate-kek', '--data-dir', dir, '--format', 'json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.previous, original);
    assert.equal(report.rewrapped, 2);
    assert.deepEqual(report.kept, { [original]: 0 });
    assert.deepEqual(keyIds(), [original, report.current]);
    assert.deepEqual(await readAll(), ['alpha', 'beta']);
  });

  it('retires the old KEKs only as a second step (keys retire-kek), and the secrets still open', async () => {
    assert.notEqual((await cli('keys', 'rotate-kek', '--retire-old', '--data-dir', dir)).code, 0);
    const rotated = await cli('keys', 'rotate-kek', '--data-dir', dir, '--format', 'json');
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal(keyIds().length, 3, 'rotate-kek keeps every old key');
    const retired = await cli('keys', 'retire-kek', '--data-dir', dir, '--format', 'json');
    assert.equal(retired.code, 0, retired.stderr);
    const report = JSON.parse(retired.stdout);
    assert.equal(report.retired.length, 2);
    assert.deepEqual(keyIds(), [JSON.parse(rotated.stdout).current]);
    assert.deepEqual(await readAll(), ['alpha', 'beta']);
  });

  it('refuses to rotate a KEK given in IMAGETRUST_KEK', async () => {
    const result = await run(BIN, ['keys', 'rotate-kek', '--data-dir', dir], {
      IMAGETRUST_CONFIG: '',
      IMAGETRUST_KEK: Buffer.alloc(32, 1).toString('base64'),
    });
    assert.equal(result.code, 78);
    assert.match(result.stderr, /CONFIG_INVALID/);
  });

  it('refuses a data directory that has no keyring rather than starting an empty one', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'imagetrust-rotate-empty-'));
    try {
      const result = await cli('keys', 'rotate-kek', '--data-dir', empty);
      assert.equal(result.code, 78);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

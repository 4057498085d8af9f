// Attack: another local user reads the data directory. It holds the SQLite database (password and token
// hashes, secret metadata, the log) with its WAL and SHM files, the keys and the blobs: the service
// makes the directory 0700 and every file in it 0600 whatever the umask, and refuses to start on a
// directory other users can enter.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openServices } from '../../src/app/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';

const SRC = new URL('../../src/', import.meta.url).pathname;

/**
 * Opens the services in a child process under `umask`, records events (so the WAL and SHM files exist)
 * and fails one login, then reports the mode of everything in the data directory while it is open.
 */
const CHILD = `
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
const [dataDir, umask] = process.argv.slice(1);
process.umask(Number.parseInt(umask, 8));
const { openServices } = await import(${JSON.stringify(`${SRC}app/index.ts`)});
const { validateConfig } = await import(${JSON.stringify(`${SRC}config/index.ts`)});
const services = await openServices(validateConfig({ dataDir, logLevel: 'silent' }));
await services.identity.bootstrap('a-long-admin-password');
await services.events.record({ type: 'policy.loaded', actor: null, details: { files: [], digest: 'x' } });
const modes = {};
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const info = statSync(file);
    modes[path.relative(dataDir, file)] = { dir: info.isDirectory(), mode: info.mode & 0o777 };
    if (info.isDirectory()) walk(file);
  }
};
modes['.'] = { dir: true, mode: statSync(dataDir).mode & 0o777 };
walk(dataDir);
await services.close();
process.stdout.write(JSON.stringify(modes));
`;

function modesUnder(dataDir: string, umask: string): Promise<Record<string, { dir: boolean; mode: number }>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', CHILD, dataDir, umask],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

describe('the data directory and its files are private to the service user', () => {
  const parents: string[] = [];
  const parent = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-perm-'));
    parents.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of parents) rmSync(dir, { recursive: true, force: true });
  });

  for (const umask of ['022', '000']) {
    it(`creates the directory 0700 and every file 0600 under umask ${umask}`, async () => {
      const dataDir = path.join(parent(), 'data');
      const modes = await modesUnder(dataDir, umask);
      // The database with its WAL and SHM files must be there, or the test proves nothing about them.
      for (const file of [
        'imagetrust.sqlite',
        'imagetrust.sqlite-wal',
        'imagetrust.sqlite-shm',
        'audit-log-key.pem',
        'audit-log-head.json',
        'login-name-key',
      ]) {
        assert.ok(modes[file], `${file} exists`);
      }
      for (const [name, { dir, mode }] of Object.entries(modes)) {
        assert.equal(mode.toString(8), dir ? '700' : '600', `${name} (${dir ? 'directory' : 'file'})`);
      }
    });
  }

  for (const mode of [0o755, 0o750, 0o711, 0o701]) {
    it(`refuses to start on a data directory of mode ${mode.toString(8)}`, async () => {
      const dataDir = path.join(parent(), 'data');
      mkdirSync(dataDir);
      chmodSync(dataDir, mode);
      await assert.rejects(
        openServices(validateConfig({ dataDir, logLevel: 'silent' })),
        (error) => error instanceof ImageTrustError && error.code === 'CONFIG_INVALID',
      );
    });
  }
});

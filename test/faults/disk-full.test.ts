// With the data directory's disk full, requests that must write metadata (a login, a new secret) get
// 503 METADATA_STORE_FULL, not a 500, and work again once space is freed. A real 8 MiB tmpfs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { passwordLogin } from '../support/auth.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';

/** Writes zeros until the filesystem refuses: the disk is then full. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

const login = (t: TestServer) => passwordLogin(t.url, 'admin', ADMIN_PASSWORD, 'admin');

describe('a full metadata disk', () => {
  let mountPoint: string;
  let t: TestServer;
  before(async () => {
    mountPoint = mkdtempSync(path.join(tmpdir(), 'imagetrust-diskfull-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
    t = await startTestServer({ dataDir: path.join(mountPoint, 'data') });
  });
  after(async () => {
    await t?.stop().catch(() => undefined);
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('answers a login and a secret creation with 503 METADATA_STORE_FULL, and recovers when space returns', async () => {
    const token = await t.token();
    const filler = path.join(mountPoint, 'filler');
    fillDisk(filler);
    try {
      const refused = await login(t);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('x-imagetrust-error-code'), 'METADATA_STORE_FULL');
      const secret = await fetch(`${t.url}/key-manager/v1/secrets`, {
        method: 'POST',
        headers: { 'x-auth-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'x'.repeat(200),
          payload: 'y'.repeat(4000),
          payload_content_type: 'text/plain',
        }),
      });
      assert.equal(secret.status, 503);
    } finally {
      unlinkSync(filler);
    }
    assert.equal((await login(t)).status, 201);
  });
});

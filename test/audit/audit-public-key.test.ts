// `imagetrust audit public-key` prints the log's public key (PEM) from the local store's key file, or
// from a server's /audit/v1 with --os-auth-url; both name the same key, and proofs verify with it.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;

describe('imagetrust audit public-key', () => {
  let t: TestServer;
  let work: string;
  before(async () => {
    t = await startTestServer();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-pubkey-'));
  });
  after(async () => {
    await t?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('prints the same Ed25519 PEM from the store and from the server, and exit 4 without a store', async () => {
    const local = await run(BIN, ['audit', 'public-key', '--data-dir', t.dataDir], { IMAGETRUST_CONFIG: '' });
    assert.equal(local.code, 0, local.stderr);
    assert.equal(createPublicKey(local.stdout).asymmetricKeyType, 'ed25519');
    const env = clientEnvironment(t.url, work);
    const remote = await run(BIN, ['audit', 'public-key', '--os-auth-url', env.OS_AUTH_URL], env);
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(remote.stdout, local.stdout);
    const missing = await run(BIN, ['audit', 'public-key', '--data-dir', path.join(work, 'none')], {
      IMAGETRUST_CONFIG: '',
    });
    assert.equal(missing.code, 4, missing.stderr);
  });
});

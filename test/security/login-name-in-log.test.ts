// Attack: read passwords out of the transparency log. People type their password into the user field;
// a failed login logs the user name, so the log must name only users that exist and record an unknown
// name as a keyed hash (a per-deployment key, so the hash cannot be reversed by guessing offline).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { passwordLogin } from '../support/auth.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const TYPED_PASSWORD = 'Tr0ub4dor&3-typed-as-a-user-name';

describe('failed logins in the transparency log', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t?.stop();
  });

  async function failLogin(name: string): Promise<void> {
    const response = await passwordLogin(t.url, name, 'wrong-password');
    assert.equal(response.status, 401);
    await response.body?.cancel();
  }

  async function failedLogins(): Promise<{ text: string; details: Record<string, unknown> }[]> {
    const entries = await t.server.services.audit.entries(0, 1000);
    return entries
      .map((entry) => ({ text: entry.leaf, leaf: JSON.parse(entry.leaf) }))
      .filter(({ leaf }) => leaf.type === 'identity.login_failed')
      .map(({ text, leaf }) => ({ text, details: leaf.details }));
  }

  it('never stores an unknown user name; records a keyed hash of it instead', async () => {
    await failLogin(TYPED_PASSWORD);
    await failLogin(TYPED_PASSWORD);
    const logged = await failedLogins();
    assert.equal(logged.length, 2);
    for (const { text, details } of logged) {
      assert.ok(!text.includes(TYPED_PASSWORD), 'the typed name is not in the log');
      assert.equal(details.user, null);
      assert.match(String(details.user_hmac), /^[0-9a-f]{64}$/);
      // Keyed: not the plain digest anyone could compute from a guess.
      assert.notEqual(details.user_hmac, createHash('sha256').update(TYPED_PASSWORD).digest('hex'));
    }
    // The same name hashes the same way, so repeated attempts can still be told apart and counted.
    assert.equal(logged[0].details.user_hmac, logged[1].details.user_hmac);
  });

  it('names a user that exists', async () => {
    await failLogin('admin');
    const logged = await failedLogins();
    const last = logged[logged.length - 1].details;
    assert.equal(last.user, 'admin');
    assert.equal(last.user_hmac, undefined);
  });

  it('keeps its key in a private file in the data directory', () => {
    assert.equal(statSync(path.join(t.dataDir, 'login-name-key')).mode & 0o777, 0o600);
  });
});

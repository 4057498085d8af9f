// Attack: keep a token alive forever by trading it, before it expires, for a new one with the `token`
// method. Keystone gives the new token the original's expires_at, so a stolen token dies on time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClock } from '../support/clock.ts';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const TTL_SECONDS = 600;

describe('attack: renewing a token with the token method', () => {
  const clock = new TestClock(new Date());
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ tokens: { ttlSeconds: TTL_SECONDS } }, { clock });
  });
  after(() => t.stop());

  const renew = (token: string) =>
    apiCall(t.url, null, 'POST', '/identity/v3/auth/tokens', {
      auth: {
        identity: { methods: ['token'], token: { id: token } },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    });

  it('keeps the original expires_at, so the chain of tokens expires with the first', async () => {
    const first = await t.token();
    const original = await apiCall(t.url, first, 'GET', '/identity/v3/auth/tokens', undefined, {
      'x-subject-token': first,
    });
    assert.equal(original.status, 200);
    const expiresAt = (original.json.token as { expires_at: string }).expires_at;

    // Renew shortly before each expiry, as an attacker holding the token would.
    let token = first;
    clock.advance((TTL_SECONDS - 60) * 1000);
    for (let i = 0; i < 3; i++) {
      clock.advance(10_000);
      const renewed = await renew(token);
      assert.equal(renewed.status, 201, renewed.text);
      assert.equal((renewed.json.token as { expires_at: string }).expires_at, expiresAt);
      token = renewed.headers.get('x-subject-token')!;
    }
    clock.set(new Date(Date.parse(expiresAt) + 1000));
    assert.equal((await apiCall(t.url, token, 'GET', '/image/v2/images')).status, 401);
    // Keystone answers a token method with an expired token as TokenNotFound: 404.
    assert.equal((await renew(token)).status, 404);
  });
});

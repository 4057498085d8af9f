// Secret payloads that decode to nothing: Barbican refuses base64 text with no base64 in it (400)
// rather than storing an empty secret.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('hostile secret payloads', () => {
  let t: TestServer;
  let admin: string;
  before(async () => {
    t = await startTestServer();
    admin = await t.token();
  });
  after(async () => t?.stop());

  const store = (payload: string) =>
    apiCall(t.url, admin, 'POST', '/key-manager/v1/secrets', {
      name: 'hostile',
      payload,
      payload_content_type: 'application/octet-stream',
      payload_content_encoding: 'base64',
    });

  it('refuses base64 payload "!!!%%%" (no base64 characters) with 400', async () => {
    const r = await store('!!!%%%');
    assert.equal(r.status, 400);
    const listed = await apiCall(t.url, admin, 'GET', '/key-manager/v1/secrets?name=hostile');
    assert.equal(listed.json.total, 0);
  });

  it('refuses a base64 payload of only padding with 400', async () => {
    assert.equal((await store('====')).status, 400);
  });

  it('still stores a base64 payload Python decodes leniently', async () => {
    const r = await store('aGVs!bG8=');
    assert.equal(r.status, 201);
  });
});

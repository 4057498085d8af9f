// Hostile JSON bodies: nesting deep enough to overflow a recursive reader, bytes that are not UTF-8,
// operations of the wrong JSON type and unparseable Content-Type headers. Each gets a 4xx, never a 500.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const DEPTH = 100_000;
const deepArray = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
const deepObject = '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH);
const PATCH = { 'content-type': 'application/openstack-images-v2.1-json-patch' };

/** A JSON text with one string value made of bytes that are not UTF-8. */
const notUtf8 = (before: string, after: string) =>
  Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(after)]);

describe('hostile JSON bodies', () => {
  let t: TestServer;
  let admin: string;
  let imageId: string;

  before(async () => {
    t = await startTestServer();
    admin = await t.token();
    const image = await apiCall(t.url, admin, 'POST', '/image/v2/images', {
      name: 'target',
      disk_format: 'raw',
      container_format: 'bare',
    });
    imageId = image.json.id as string;
  });
  after(async () => t?.stop());

  const call = (method: string, url: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    apiCall(t.url, admin, method, url, body, headers);

  describe('nested 100,000 deep', () => {
    it('refuses a secret whose JSON is nested 100,000 deep with 400', async () => {
      for (const body of [deepArray, deepObject]) {
        const r = await call('POST', '/key-manager/v1/secrets', body);
        assert.equal(r.status, 400);
      }
    });

    it('refuses a container policy nested 100,000 deep with 400 POLICY_INVALID or BAD_REQUEST', async () => {
      const r = await call('PUT', '/containers/v1/policy', deepObject);
      assert.equal(r.status, 400);
    });

    it('refuses a release request with a value nested 100,000 deep with 400', async () => {
      const r = await call('POST', `/image/v2/images/${imageId}/releases`, `{"target":${deepArray}}`);
      assert.equal(r.status, 400);
    });

    it('refuses an image whose extra property is nested 100,000 deep with 400', async () => {
      const r = await call('POST', '/image/v2/images', `{"name":"x","extra":${deepObject}}`);
      assert.equal(r.status, 400);
    });

    it('refuses a JSON patch whose op is nested 100,000 deep with 400', async () => {
      const r = await call(
        'PATCH',
        `/image/v2/images/${imageId}`,
        `[{"op":${deepArray},"path":"/name","value":"y"}]`,
        PATCH,
      );
      assert.equal(r.status, 400);
    });
  });

  describe('bytes that are not UTF-8', () => {
    it('refuses an image name that is not UTF-8 instead of storing U+FFFD', async () => {
      const r = await call(
        'POST',
        '/image/v2/images',
        notUtf8('{"name":"', '","disk_format":"raw","container_format":"bare"}'),
      );
      assert.equal(r.status, 400);
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'MALFORMED_JSON');
    });

    it('refuses a secret name that is not UTF-8', async () => {
      const r = await call('POST', '/key-manager/v1/secrets', notUtf8('{"name":"', '"}'));
      assert.equal(r.status, 400);
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'MALFORMED_JSON');
    });

    it('refuses a release reason that is not UTF-8', async () => {
      const r = await call(
        'POST',
        `/image/v2/images/${imageId}/releases`,
        notUtf8('{"target":"stock","reason":"', '"}'),
      );
      assert.equal(r.status, 400);
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'MALFORMED_JSON');
    });
  });

  describe('JSON patch operations of the wrong type', () => {
    it('refuses an op that is an object with 400 INVALID_PATCH', async () => {
      const r = await call(
        'PATCH',
        `/image/v2/images/${imageId}`,
        '[{"op":{"toString":1},"path":"/name","value":"y"}]',
        PATCH,
      );
      assert.equal(r.status, 400);
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'INVALID_PATCH');
    });

    it('refuses a path that is an object with 400 INVALID_PATCH', async () => {
      const r = await call(
        'PATCH',
        `/image/v2/images/${imageId}`,
        '[{"op":"replace","path":{"toString":1},"value":"y"}]',
        PATCH,
      );
      assert.equal(r.status, 400);
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'INVALID_PATCH');
    });
  });

  describe('a Content-Type of ";;;"', () => {
    it('answers Glance with 415', async () => {
      const r = await call('POST', '/image/v2/images', '{}', { 'content-type': ';;;' });
      assert.equal(r.status, 415);
    });

    it('answers Barbican with 415', async () => {
      const r = await call('POST', '/key-manager/v1/secrets', '{}', { 'content-type': ';;;' });
      assert.equal(r.status, 415);
    });

    it('answers Keystone with 400', async () => {
      const r = await apiCall(t.url, null, 'POST', '/identity/v3/auth/tokens', '{}', {
        'content-type': ';;;',
      });
      assert.equal(r.status, 400);
    });
  });
});

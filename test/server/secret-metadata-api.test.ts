// Barbican's secret user metadata over a real socket: GET and PUT of the whole map, POST, GET, PUT and
// DELETE of one key, with Barbican's statuses, bodies and validator texts; who may read and change it
// (as for the secret itself, a read ACL included), and metadata going with its secret.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('key-manager secret metadata', () => {
  let t: TestServer;
  let alice: string; // member of alice-project, creator of the secrets below
  let amos: string; // another member of alice-project
  let rita: string; // reader of alice-project
  let bob: string; // member of bob-project
  let bobId: string;

  const call = (
    token: string | null,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => apiCall(`${t.url}/key-manager`, token, method, url, body, headers);

  const storeText = async (token: string, text: string) => {
    const r = await call(token, 'POST', '/v1/secrets/', {
      payload: text,
      payload_content_type: 'text/plain',
    });
    assert.equal(r.status, 201, r.text);
    return String(r.json.secret_ref).split('/').pop()!;
  };
  const meta = (id: string) => `/v1/secrets/${id}/metadata`;
  const metadataOf = async (token: string, id: string) => {
    const r = await call(token, 'GET', meta(id));
    assert.equal(r.status, 200, r.text);
    return r.json.metadata;
  };

  before(async () => {
    t = await startTestServer();
    const { identity } = t.server.services;
    await t.addUser('alice', 'member');
    const aliceProject = await identity.resolveProject('alice-project');
    for (const [name, role] of [
      ['amos', 'member'],
      ['rita', 'reader'],
    ] as const) {
      const user = await identity.createUser({ name, password: `${name}-password` });
      await identity.grantRole(user.id, aliceProject.id, role);
    }
    bobId = (await t.addUser('bob', 'member')).userId;
    alice = await t.token('alice', 'alice-password');
    amos = await t.token('amos', 'amos-password', 'alice-project');
    rita = await t.token('rita', 'rita-password', 'alice-project');
    bob = await t.token('bob', 'bob-password');
  });
  after(async () => t?.stop());

  describe('the whole map', () => {
    it('answers an empty map for a secret without metadata', async () => {
      const id = await storeText(alice, 'plain');
      assert.deepEqual(await metadataOf(alice, id), {});
      const slash = await call(alice, 'GET', `${meta(id)}/`);
      assert.deepEqual(slash.json, { metadata: {} });
    });

    it('PUT replaces it all, answers 201 with its ref, and lowers keys (an upper-case variant wins)', async () => {
      const id = await storeText(alice, 'described');
      const first = await call(alice, 'PUT', meta(id), { metadata: { old: 'gone', keep: 'no' } });
      assert.equal(first.status, 201, first.text);
      assert.deepEqual(first.json, { metadata_ref: `${t.url}/key-manager/v1/secrets/${id}/metadata` });
      const long = 'v'.repeat(1000);
      const second = await call(alice, 'PUT', `${meta(id)}/`, {
        metadata: { Geo: 'north', geo: 'south', Use_Case: ' signing ', 'long-one': long },
      });
      assert.equal(second.status, 201, second.text);
      assert.deepEqual(await metadataOf(alice, id), {
        geo: 'north',
        'long-one': long,
        use_case: 'signing',
      });
      // An empty map removes everything.
      assert.equal((await call(alice, 'PUT', meta(id), { metadata: {} })).status, 201);
      assert.deepEqual(await metadataOf(alice, id), {});
    });

    it("refuses bad bodies with Barbican's texts, and stores nothing", async () => {
      const id = await storeText(alice, 'validated');
      await call(alice, 'PUT', meta(id), { metadata: { kept: 'yes' } });
      const cases: [unknown, string][] = [
        [
          {},
          "Provided object does not match schema 'SecretMetadata': 'metadata' is a required property. Invalid property: 'metadata'",
        ],
        [
          { metadata: [] },
          "Provided object does not match schema 'SecretMetadata': [] is not of type 'object'. Invalid property: 'metadata'",
        ],
        [{ metadata: { a: 1 } }, 'Invalid Metadata. Keys and Values must be Strings.'],
        [{ metadata: { 'a.b': 'x' } }, 'Invalid Key. Key must be URL safe.'],
      ];
      for (const [body, description] of cases) {
        const r = await call(alice, 'PUT', meta(id), body);
        assert.equal(r.status, 400, r.text);
        assert.deepEqual(r.json, { code: 400, title: 'Bad Request', description });
      }
      const malformed = await call(alice, 'PUT', meta(id), '{"metadata":', {
        'content-type': 'application/json',
      });
      assert.equal(malformed.json.description, 'Malformed JSON');
      const text = await call(alice, 'PUT', meta(id), '{}', { 'content-type': 'text/plain' });
      assert.equal(text.status, 415);
      assert.deepEqual(await metadataOf(alice, id), { kept: 'yes' });
    });
  });

  describe('one key', () => {
    it('POST adds a key: 201 with it and a Location; 409 when it exists', async () => {
      const id = await storeText(alice, 'keyed');
      const r = await call(alice, 'POST', meta(id), { key: 'Owner', value: 'team-a' });
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(r.json, { key: 'owner', value: 'team-a' });
      assert.equal(r.headers.get('location'), `${t.url}/key-manager/v1/secrets/${id}/metadata/owner`);
      const again = await call(alice, 'POST', meta(id), { key: 'owner', value: 'team-b' });
      assert.equal(again.status, 409);
      assert.deepEqual(again.json, {
        code: 409,
        title: 'Conflict',
        description: 'Conflict. Key in request is already in the secret metadata',
      });
      assert.deepEqual(await metadataOf(alice, id), { owner: 'team-a' });
    });

    it('POST refuses extra fields, missing fields, non-strings, over-long strings and unsafe keys', async () => {
      const id = await storeText(alice, 'post-validated');
      const schema = (reason: string, property: string) =>
        `Provided object does not match schema 'SecretMetadatum': ${reason}. Invalid property: '${property}'`;
      const cases: [unknown, string][] = [
        [
          { key: 'a', value: 'b', extra: 'c' },
          schema("Additional properties are not allowed ('extra' was unexpected)", 'None'),
        ],
        [{ value: 'b' }, schema("'key' is a required property", 'key')],
        [{ key: 'a' }, schema("'value' is a required property", 'value')],
        [{ key: 'a', value: 5 }, schema("5 is not of type 'string'", 'value')],
        [{ key: 'k'.repeat(256), value: 'b' }, schema(`'${'k'.repeat(256)}' is too long`, 'key')],
        [{ key: 'a', value: 'v'.repeat(256) }, schema(`'${'v'.repeat(256)}' is too long`, 'value')],
        [{ key: 'a/b', value: 'b' }, 'Invalid Key. Key must be URL safe.'],
      ];
      for (const [body, description] of cases) {
        const r = await call(alice, 'POST', meta(id), body);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.description, description);
      }
      assert.deepEqual(await metadataOf(alice, id), {});
    });

    it('GET answers one key as stored; the URL key is not lowered, and a missing one is 404', async () => {
      const id = await storeText(alice, 'looked-up');
      await call(alice, 'PUT', meta(id), { metadata: { color: 'blue' } });
      const r = await call(alice, 'GET', `${meta(id)}/color`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { key: 'color', value: 'blue' });
      for (const key of ['Color', 'shape']) {
        const missing = await call(alice, 'GET', `${meta(id)}/${key}`);
        assert.equal(missing.status, 404);
        assert.deepEqual(missing.json, {
          code: 404,
          title: 'Not Found',
          description: 'Secret metadata not found.',
        });
      }
    });

    it('PUT changes an existing key: 200; 404 when absent (URL key not lowered), 409 when the keys differ', async () => {
      const id = await storeText(alice, 'updated');
      await call(alice, 'PUT', meta(id), { metadata: { color: 'blue', size: 'l' } });
      const r = await call(alice, 'PUT', `${meta(id)}/color`, { key: 'COLOR', value: 'red' });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { key: 'color', value: 'red' });
      const upper = await call(alice, 'PUT', `${meta(id)}/Color`, { key: 'color', value: 'green' });
      assert.equal(upper.status, 404);
      assert.equal(upper.json.description, 'Secret metadata not found.');
      const differs = await call(alice, 'PUT', `${meta(id)}/color`, { key: 'size', value: 'green' });
      assert.equal(differs.status, 409);
      assert.deepEqual(differs.json, {
        code: 409,
        title: 'Conflict',
        description: 'Key in request data does not match key in the ',
      });
      const bad = await call(alice, 'PUT', `${meta(id)}/color`, { key: 'color' });
      assert.equal(bad.status, 400);
      assert.deepEqual(await metadataOf(alice, id), { color: 'red', size: 'l' });
    });

    it('DELETE removes a key with 204, and answers 204 for an absent key too', async () => {
      const id = await storeText(alice, 'pruned');
      await call(alice, 'PUT', meta(id), { metadata: { a: '1', b: '2' } });
      const r = await call(alice, 'DELETE', `${meta(id)}/a`);
      assert.equal(r.status, 204);
      assert.equal(r.text, '');
      assert.equal((await call(alice, 'DELETE', `${meta(id)}/a`)).status, 204);
      assert.deepEqual(await metadataOf(alice, id), { b: '2' });
    });

    it('answers 405 for methods Barbican does not route, and 404 for an unknown secret', async () => {
      const id = await storeText(alice, 'routed');
      assert.equal((await call(alice, 'POST', `${meta(id)}/a`, { key: 'a', value: 'b' })).status, 405);
      assert.equal((await call(alice, 'DELETE', meta(id))).status, 405);
      assert.equal((await call(alice, 'PATCH', meta(id), {})).status, 405);
      for (const secretId of ['5f5a0fa1-1c9e-4b4a-9c53-0d7f0b6a1e21', 'not-a-uuid']) {
        assert.equal((await call(alice, 'GET', meta(secretId))).status, 404);
        assert.equal((await call(alice, 'GET', `${meta(secretId)}/a`)).status, 404);
        assert.equal((await call(alice, 'PUT', meta(secretId), { metadata: {} })).status, 404);
      }
    });
  });

  describe('who may', () => {
    it("refuses another project's member and the project's reader with 403, as for the secret", async () => {
      const id = await storeText(alice, 'guarded');
      await call(alice, 'PUT', meta(id), { metadata: { a: '1' } });
      for (const token of [bob, rita]) {
        const requests: [string, string, unknown][] = [
          ['GET', meta(id), undefined],
          ['PUT', meta(id), { metadata: { b: '2' } }],
          ['POST', meta(id), { key: 'b', value: '2' }],
          ['GET', `${meta(id)}/a`, undefined],
          ['PUT', `${meta(id)}/a`, { key: 'a', value: '2' }],
          ['DELETE', `${meta(id)}/a`, undefined],
        ];
        for (const [method, url, body] of requests) {
          const r = await call(token, method, url, body);
          assert.equal(r.status, 403, `${method} ${url}: ${r.text}`);
        }
      }
      const denied = await call(bob, 'GET', meta(id));
      assert.deepEqual(denied.json, {
        code: 403,
        title: 'Forbidden',
        description:
          'Secret metadata retrieval attempt not allowed - please review your user/project privileges',
      });
      // Another member of the project reads and writes, as with the secret.
      assert.equal((await call(amos, 'POST', meta(id), { key: 'b', value: '2' })).status, 201);
      assert.deepEqual(await metadataOf(alice, id), { a: '1', b: '2' });
    });

    it('lets a user the read ACL lists read the metadata, but not change it', async () => {
      const id = await storeText(alice, 'shared');
      await call(alice, 'PUT', meta(id), { metadata: { a: '1' } });
      const acl = await call(alice, 'PUT', `/v1/secrets/${id}/acl`, { read: { users: [bobId] } });
      assert.equal(acl.status, 200);
      assert.deepEqual(await metadataOf(bob, id), { a: '1' });
      assert.equal((await call(bob, 'GET', `${meta(id)}/a`)).status, 200);
      assert.equal((await call(bob, 'PUT', meta(id), { metadata: {} })).status, 403);
      assert.equal((await call(bob, 'POST', meta(id), { key: 'b', value: '2' })).status, 403);
      assert.equal((await call(bob, 'PUT', `${meta(id)}/a`, { key: 'a', value: '2' })).status, 403);
      assert.equal((await call(bob, 'DELETE', `${meta(id)}/a`)).status, 403);
      assert.deepEqual(await metadataOf(alice, id), { a: '1' });
    });
  });

  it('goes with its secret', async () => {
    const id = await storeText(alice, 'short-lived');
    await call(alice, 'PUT', meta(id), { metadata: { a: '1' } });
    assert.equal((await call(alice, 'DELETE', `/v1/secrets/${id}`)).status, 204);
    assert.equal((await call(alice, 'GET', meta(id))).status, 404);
  });
});

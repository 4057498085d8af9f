// The Barbican v1 key-manager API over a real socket: discovery, store and fetch with Accept negotiation,
// two-step upload, paging, per-project ownership, Barbican's error bodies, and encryption at rest.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../src/storage/index.ts';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('key-manager API', () => {
  let t: TestServer;
  let admin: string;
  let alice: string; // member of alice-project
  let amos: string; // another member of alice-project
  let bob: string; // member of bob-project
  let reader: string; // reader of alice-project

  const call = (
    token: string | null,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => apiCall(`${t.url}/key-manager`, token, method, url, body, headers);

  const store = async (token: string, body: Record<string, unknown>) => {
    const r = await call(token, 'POST', '/v1/secrets/', body);
    assert.equal(r.status, 201, r.bytes.toString());
    return String(r.json.secret_ref).split('/').pop()!;
  };
  const storeText = (token: string, text: string, extra: Record<string, unknown> = {}) =>
    store(token, { payload: text, payload_content_type: 'text/plain', ...extra });

  before(async () => {
    t = await startTestServer();
    admin = await t.token();
    const { identity } = t.server.services;
    await t.addUser('alice', 'member');
    const amosUser = await identity.createUser({ name: 'amos', password: 'amos-password' });
    const ritaUser = await identity.createUser({ name: 'rita', password: 'rita-password' });
    const aliceProject = await identity.resolveProject('alice-project');
    await identity.grantRole(amosUser.id, aliceProject.id, 'member');
    await identity.grantRole(ritaUser.id, aliceProject.id, 'reader');
    await t.addUser('bob', 'member');
    alice = await t.token('alice', 'alice-password');
    amos = await t.token('amos', 'amos-password', 'alice-project');
    reader = await t.token('rita', 'rita-password', 'alice-project');
    bob = await t.token('bob', 'bob-password');
  });
  after(async () => t?.stop());

  describe('discovery', () => {
    it('answers the unversioned root with 300 and the v1 link, without a token', async () => {
      for (const url of ['/key-manager', '/key-manager/']) {
        const response = await fetch(`${t.url}${url}`);
        assert.equal(response.status, 300);
        assert.equal(response.headers.get('openstack-api-version'), 'key-manager 1.0');
        assert.deepEqual(await response.json(), {
          versions: {
            values: [
              {
                id: 'v1',
                status: 'stable',
                links: [
                  { rel: 'self', href: `${t.url}/key-manager/v1/` },
                  { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' },
                ],
                'media-types': [
                  { base: 'application/json', type: 'application/vnd.openstack.key-manager-v1+json' },
                ],
              },
            ],
          },
        });
      }
    });

    it('serves the v1 document to authenticated callers', async () => {
      const r = await call(alice, 'GET', '/v1');
      assert.equal(r.status, 200);
      assert.equal((r.json.version as { id: string }).id, 'v1');
    });

    it('lists the key manager in the token catalog as key-manager/barbican', async () => {
      const response = await fetch(`${t.url}/identity/v3/auth/tokens`, {
        headers: { 'x-auth-token': alice, 'x-subject-token': alice },
      });
      const { token } = (await response.json()) as {
        token: { catalog: { type: string; name: string; endpoints: { url: string }[] }[] };
      };
      const entry = token.catalog.find((service) => service.type === 'key-manager');
      assert.equal(entry?.name, 'barbican');
      assert.equal(entry?.endpoints[0].url, `${t.url}/key-manager`);
    });

    it('refuses missing and invalid tokens with keystonemiddleware’s 401', async () => {
      for (const token of [null, 'not-a-token']) {
        const r = await call(token, 'GET', '/v1/secrets');
        assert.equal(r.status, 401);
        assert.deepEqual(r.json, {
          error: {
            code: 401,
            title: 'Unauthorized',
            message: 'The request you have made requires authentication.',
          },
        });
        assert.match(r.headers.get('www-authenticate') ?? '', /^Keystone uri=/);
      }
    });
  });

  describe('store and fetch', () => {
    it('stores a base64 octet-stream certificate (trailing slash) and returns 201, Location and secret_ref', async () => {
      const pem = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n');
      const r = await call(alice, 'POST', '/v1/secrets/', {
        name: 'signing-cert',
        algorithm: 'aes',
        mode: 'cbc',
        bit_length: 256,
        secret_type: 'certificate',
        payload: pem.toString('base64'),
        payload_content_type: 'application/octet-stream',
        payload_content_encoding: 'base64',
      });
      assert.equal(r.status, 201);
      const ref = String(r.json.secret_ref);
      assert.match(ref, new RegExp(`^${t.url}/key-manager/v1/secrets/[0-9a-f-]{36}$`));
      assert.equal(r.headers.get('location'), ref);
      const id = ref.split('/').pop()!;

      const meta = await call(alice, 'GET', `/v1/secrets/${id}`);
      assert.equal(meta.status, 200);
      assert.deepEqual(Object.keys(meta.json), [
        'created',
        'updated',
        'status',
        'name',
        'secret_type',
        'expiration',
        'algorithm',
        'bit_length',
        'mode',
        'creator_id',
        'content_types',
        'secret_ref',
      ]);
      assert.equal(meta.json.status, 'ACTIVE');
      assert.equal(meta.json.secret_type, 'certificate');
      assert.deepEqual(meta.json.content_types, { default: 'application/octet-stream' });
      assert.equal(meta.json.secret_ref, ref);
      assert.match(String(meta.json.created), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);

      for (const [accept, type] of [
        ['application/octet-stream', 'application/octet-stream'],
        ['text/plain', 'text/plain; charset=UTF-8'],
      ]) {
        const payload = await call(alice, 'GET', `/v1/secrets/${id}/payload`, undefined, { accept });
        assert.equal(payload.status, 200);
        assert.equal(payload.headers.get('content-type'), type);
        assert.deepEqual(payload.bytes, pem);
      }
      // A non-JSON Accept on the secret itself returns the payload, as Barbican's deprecated call does.
      const viaSecret = await call(alice, 'GET', `/v1/secrets/${id}`, undefined, { accept: 'text/plain' });
      assert.deepEqual(viaSecret.bytes, pem);
    });

    it('returns arbitrary binary byte for byte, and refuses it as text/plain with 406', async () => {
      const data = randomBytes(4096);
      data[0] = 0xff;
      const id = await store(alice, {
        payload: data.toString('base64'),
        payload_content_type: 'application/octet-stream',
        payload_content_encoding: 'base64',
      });
      const payload = await call(alice, 'GET', `/v1/secrets/${id}/payload`, undefined, { accept: '' });
      assert.deepEqual(payload.bytes, data);
      const text = await call(alice, 'GET', `/v1/secrets/${id}/payload`, undefined, { accept: 'text/plain' });
      assert.equal(text.status, 406);
      assert.deepEqual(text.json, {
        code: 406,
        title: 'Not Acceptable',
        description: 'Secret payload retrieval issue seen - Wrong payload content-type.',
      });
      assert.equal(text.headers.get('x-imagetrust-error-code'), 'NOT_ACCEPTABLE');
    });

    it('answers invalid requests with Barbican’s status and {code, title, description}', async () => {
      const missing = await call(alice, 'POST', '/v1/secrets', { payload: 'abc' });
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.json, {
        code: 400,
        title: 'Bad Request',
        description:
          "Provided object does not match schema 'Secret': If 'payload' is supplied, 'payload_content_type' must also be supplied.. Invalid property: 'payload_content_type'",
      });
      const past = await call(alice, 'POST', '/v1/secrets', {
        payload: 'abc',
        payload_content_type: 'text/plain',
        expiration: '2001-01-01T00:00:00Z',
      });
      assert.equal(past.status, 400);
      const unsupported = await call(alice, 'POST', '/v1/secrets', {
        payload: 'abc',
        payload_content_type: 'text/html',
      });
      assert.equal(unsupported.status, 400);
      const wrongType = await call(alice, 'POST', '/v1/secrets/', '{}', { 'content-type': 'text/plain' });
      assert.equal(wrongType.status, 415);
      const malformed = await call(alice, 'POST', '/v1/secrets/', '{"name":');
      assert.deepEqual([malformed.status, malformed.json.description], [400, 'Malformed JSON']);
      const tooBig = await call(alice, 'POST', '/v1/secrets/', {
        payload: 'a'.repeat(20001),
        payload_content_type: 'text/plain',
      });
      assert.deepEqual([tooBig.status, tooBig.json.title], [413, 'Request Entity Too Large']);
    });

    it('tells an invalid id, an unknown id, an unknown path and a wrong method apart', async () => {
      const invalid = await call(alice, 'GET', '/v1/secrets/abc');
      assert.deepEqual(
        [invalid.status, invalid.json.description],
        [404, 'Not Found. Provided secret id is invalid.'],
      );
      const unknown = await call(alice, 'GET', '/v1/secrets/0b8b6b1e-1111-4222-8333-444455556666');
      assert.deepEqual([unknown.status, unknown.json.description], [404, 'Secret not found.']);
      const id = await storeText(alice, 'x');
      assert.equal((await call(alice, 'POST', `/v1/secrets/${id}`, {})).status, 405);
      assert.equal(
        (await call(alice, 'PUT', `/v1/secrets/${id}/payload`, 'x', { 'content-type': 'text/plain' })).status,
        405,
      );
      assert.equal((await call(alice, 'PATCH', '/v1/secrets')).status, 405);
      assert.equal((await call(alice, 'GET', `/v1/secrets/${id}/acl-or-whatever`)).status, 404);
      assert.equal((await call(alice, 'GET', '/v1/orders')).status, 404);
    });

    it('takes the payload of a metadata-only secret once, with PUT (two-step creation)', async () => {
      const id = await store(alice, { name: 'two-step' });
      const meta = await call(alice, 'GET', `/v1/secrets/${id}`);
      assert.equal('content_types' in meta.json, false);
      const none = await call(alice, 'GET', `/v1/secrets/${id}/payload`, undefined, { accept: 'text/plain' });
      assert.deepEqual(
        [none.status, none.json.description],
        [404, 'Not Found. Sorry but your secret has no payload.'],
      );
      const json = await call(alice, 'PUT', `/v1/secrets/${id}`, '{}', {
        'content-type': 'application/json',
      });
      assert.equal(json.status, 415);
      const put = await call(alice, 'PUT', `/v1/secrets/${id}`, 'c2VjcmV0', {
        'content-type': 'application/octet-stream',
        'content-encoding': 'base64',
      });
      assert.equal(put.status, 204);
      const again = await call(alice, 'PUT', `/v1/secrets/${id}`, 'x', { 'content-type': 'text/plain' });
      assert.deepEqual(
        [again.status, again.json.description],
        [409, 'Secret already has data, cannot modify it.'],
      );
      const after = await call(alice, 'GET', `/v1/secrets/${id}`);
      assert.deepEqual(after.json.content_types, { default: 'application/octet-stream' });
      const payload = await call(alice, 'GET', `/v1/secrets/${id}/payload`, undefined, {
        accept: 'text/plain',
      });
      assert.equal(payload.bytes.toString(), 'secret');
    });

    it('speaks microversion 1.1 on request (consumers listed) and refuses unknown ones', async () => {
      const id = await storeText(alice, 'versioned');
      const v11 = await call(alice, 'GET', `/v1/secrets/${id}`, undefined, {
        'openstack-api-version': 'key-manager 1.1',
      });
      assert.equal(v11.headers.get('openstack-api-version'), 'key-manager 1.1');
      assert.deepEqual(v11.json.consumers, []);
      const v10 = await call(alice, 'GET', `/v1/secrets/${id}`);
      assert.equal(v10.headers.get('openstack-api-version'), 'key-manager 1.0');
      assert.equal('consumers' in v10.json, false);
      const unknown = await call(alice, 'GET', `/v1/secrets/${id}`, undefined, {
        'openstack-api-version': 'key-manager 9.9',
      });
      assert.equal(unknown.status, 406);
    });

    it('deletes with 204, after which the secret is 404', async () => {
      const id = await storeText(alice, 'bye');
      assert.equal((await call(alice, 'DELETE', `/v1/secrets/${id}`)).status, 204);
      assert.equal((await call(alice, 'DELETE', `/v1/secrets/${id}`)).status, 404);
      assert.equal((await call(alice, 'GET', `/v1/secrets/${id}`)).status, 404);
    });
  });

  describe('listing', () => {
    it('pages with limit and offset, total, and Barbican’s previous/next hrefs', async () => {
      await t.addUser('paula', 'member');
      const paula = await t.token('paula', 'paula-password');
      for (const n of [1, 2, 3])
        await storeText(paula, `p${n}`, { name: `page-${n}`, secret_type: 'passphrase' });
      const first = await call(paula, 'GET', '/v1/secrets?limit=2');
      assert.deepEqual(Object.keys(first.json), ['secrets', 'next', 'total']);
      assert.equal(first.json.total, 3);
      assert.deepEqual(
        (first.json.secrets as { name: string }[]).map((s) => s.name),
        ['page-1', 'page-2'],
      );
      assert.equal(first.json.next, `${t.url}/key-manager/v1/secrets?limit=2&offset=2`);
      const second = await call(paula, 'GET', '/v1/secrets/?limit=2&offset=2');
      assert.deepEqual(Object.keys(second.json), ['secrets', 'previous', 'total']);
      assert.equal(second.json.previous, `${t.url}/key-manager/v1/secrets?limit=2&offset=0`);
      const beyond = await call(paula, 'GET', '/v1/secrets?offset=10');
      assert.deepEqual(beyond.json, { secrets: [], total: 3 });
      const named = await call(paula, 'GET', '/v1/secrets?name=PAGE-2&secret_type=passphrase');
      assert.deepEqual(
        (named.json.secrets as { name: string }[]).map((s) => s.name),
        ['page-2'],
      );
      const sorted = await call(paula, 'GET', '/v1/secrets?sort=name:desc');
      assert.equal((sorted.json.secrets as { name: string }[])[0].name, 'page-3');
      const bad = await call(paula, 'GET', '/v1/secrets?sort=colour');
      assert.deepEqual(
        [bad.status, bad.json.description],
        [400, 'URI provided invalid query string parameters.'],
      );
    });
  });

  describe('ownership', () => {
    it('shares secrets within the project, and answers other projects with 403 and an empty list', async () => {
      const id = await storeText(alice, 'project secret', { name: 'alice-only' });
      const byAmos = await call(amos, 'GET', `/v1/secrets/${id}/payload`, undefined, {
        accept: 'text/plain',
      });
      assert.equal(byAmos.bytes.toString(), 'project secret');
      for (const token of [bob, admin]) {
        const denied = await call(token, 'GET', `/v1/secrets/${id}`);
        assert.equal(denied.status, 403);
        assert.deepEqual(denied.json, {
          code: 403,
          title: 'Forbidden',
          description: 'Secret retrieval attempt not allowed - please review your user/project privileges',
        });
        assert.equal((await call(token, 'DELETE', `/v1/secrets/${id}`)).status, 403);
        const listed = await call(token, 'GET', '/v1/secrets?limit=100');
        assert.ok(!(listed.json.secrets as { secret_ref: string }[]).some((s) => s.secret_ref.endsWith(id)));
      }
    });

    it('gives a reader role nothing, as Barbican’s defaults', async () => {
      const id = await storeText(alice, 'not for readers');
      assert.equal((await call(reader, 'GET', '/v1/secrets')).status, 403);
      assert.equal((await call(reader, 'GET', `/v1/secrets/${id}`)).status, 403);
      const create = await call(reader, 'POST', '/v1/secrets/', { name: 'x' });
      assert.equal(create.status, 403);
      assert.equal(
        create.json.description,
        'Secret creation attempt not allowed - please review your user/project privileges',
      );
    });

    it("hands signature verification a certificate only with the caller's rights", async () => {
      const id = await store(alice, {
        secret_type: 'certificate',
        payload: Buffer.from('PEM').toString('base64'),
        payload_content_type: 'application/octet-stream',
        payload_content_encoding: 'base64',
      });
      const { identity, secrets } = t.server.services;
      const asAmos = await secrets.getSecretForVerification(await identity.validateToken(amos), id);
      assert.deepEqual(asAmos, {
        secretType: 'certificate',
        payload: Buffer.from('PEM'),
        contentType: 'application/octet-stream',
        // The signer of what the certificate verifies: whoever stored it.
        creatorId: (await identity.validateToken(alice)).userId,
        projectId: (await identity.validateToken(alice)).projectId,
      });
      await assert.rejects(secrets.getSecretForVerification(await identity.validateToken(bob), id), {
        code: 'FORBIDDEN',
      });
    });
  });

  describe('encryption at rest', () => {
    it('keeps no payload in clear anywhere in the data directory, and the keyring private', async () => {
      const marker = `clear-text-marker-${randomBytes(8).toString('hex')}`;
      await storeText(alice, marker);
      const files = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
        );
      for (const file of files(t.dataDir)) {
        const content = readFileSync(file);
        assert.ok(!content.includes(Buffer.from(marker)), `${file} holds the payload in clear`);
        assert.ok(
          !content.includes(Buffer.from(Buffer.from(marker).toString('base64'))),
          `${file} holds it in base64`,
        );
      }
      assert.equal(statSync(path.join(t.dataDir, 'kek.json')).mode & 0o777, 0o600);
    });

    it('answers a tampered row with 500 SECRET_CORRUPT and Barbican’s generic description', async (test) => {
      const id = await storeText(alice, 'tamper with me');
      // The attacker's view: the database file itself, not the service.
      const db = await openDatabase(`sqlite:${path.join(t.dataDir, 'imagetrust.sqlite')}`);
      test.after(() => db.close());
      const [row] = await db.query<{ payload: string }>('SELECT payload FROM secrets WHERE id = ?', [id]);
      const bytes = Buffer.from(row.payload, 'base64');
      bytes[bytes.length - 1] ^= 0x80;
      await db.run('UPDATE secrets SET payload = ? WHERE id = ?', [bytes.toString('base64'), id]);
      const r = await call(alice, 'GET', `/v1/secrets/${id}/payload`, undefined, { accept: 'text/plain' });
      assert.equal(r.status, 500);
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'SECRET_CORRUPT');
      assert.deepEqual(r.json, {
        code: 500,
        title: 'Internal Server Error',
        description: 'Secret payload retrieval failure seen - please contact site administrator.',
      });
      // Metadata does not need the payload and still answers.
      assert.equal((await call(alice, 'GET', `/v1/secrets/${id}`)).status, 200);
    });
  });
});

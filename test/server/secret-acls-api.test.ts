// Barbican's secret ACLs over a real socket: GET, PUT, PATCH and DELETE /v1/secrets/{id}/acl with
// Barbican's statuses and bodies, who may manage an ACL, and what an ACL does to reading a secret:
// listed users read from another project, and project access off keeps the project's other members out.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('key-manager secret ACLs', () => {
  let t: TestServer;
  let cloudAdmin: string; // admin of the admin project, not of alice-project
  let alice: string; // member of alice-project, creator of the secrets below
  let amos: string; // another member of alice-project
  let ada: string; // admin of alice-project
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
  const acl = (id: string) => `/v1/secrets/${id}/acl`;
  const readsMetadata = async (token: string, id: string) =>
    (await call(token, 'GET', `/v1/secrets/${id}`)).status;
  const readsPayload = async (token: string, id: string) =>
    (await call(token, 'GET', `/v1/secrets/${id}/payload`, undefined, { accept: 'text/plain' })).status;

  before(async () => {
    t = await startTestServer();
    cloudAdmin = await t.token();
    const { identity } = t.server.services;
    await t.addUser('alice', 'member');
    const aliceProject = await identity.resolveProject('alice-project');
    for (const [name, role] of [
      ['amos', 'member'],
      ['ada', 'admin'],
      ['rita', 'reader'],
    ] as const) {
      const user = await identity.createUser({ name, password: `${name}-password` });
      await identity.grantRole(user.id, aliceProject.id, role);
    }
    bobId = (await t.addUser('bob', 'member')).userId;
    alice = await t.token('alice', 'alice-password');
    amos = await t.token('amos', 'amos-password', 'alice-project');
    ada = await t.token('ada', 'ada-password', 'alice-project');
    rita = await t.token('rita', 'rita-password', 'alice-project');
    bob = await t.token('bob', 'bob-password');
  });
  after(async () => t?.stop());

  it("answers a secret without an ACL with Barbican's implicit default", async () => {
    const id = await storeText(alice, 'plain');
    const r = await call(alice, 'GET', acl(id));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { read: { 'project-access': true } });
  });

  it('PUT sets the read ACL and answers its ref; a listed user of another project then reads the secret', async () => {
    const id = await storeText(alice, 'shared with bob');
    assert.equal(await readsMetadata(bob, id), 403);
    const put = await call(alice, 'PUT', acl(id), { read: { users: [bobId], 'project-access': true } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.json, { acl_ref: `${t.url}/key-manager/v1/secrets/${id}/acl` });

    const shown = await call(alice, 'GET', acl(id));
    assert.equal(shown.status, 200);
    const read = shown.json.read as Record<string, unknown>;
    assert.deepEqual(Object.keys(read), ['project-access', 'users', 'created', 'updated']);
    assert.equal(read['project-access'], true);
    assert.deepEqual(read.users, [bobId]);
    assert.match(String(read.created), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);

    assert.equal(await readsMetadata(bob, id), 200);
    const payload = await call(bob, 'GET', `/v1/secrets/${id}/payload`, undefined, { accept: 'text/plain' });
    assert.equal(payload.status, 200);
    assert.equal(payload.text, 'shared with bob');
    // Reading is all the ACL grants: no deletion, no ACL management, no listing in bob's project.
    assert.equal((await call(bob, 'DELETE', `/v1/secrets/${id}`)).status, 403);
    assert.equal((await call(bob, 'GET', acl(id))).status, 403);
    const listed = await call(bob, 'GET', '/v1/secrets?limit=100');
    assert.ok(!(listed.json.secrets as { secret_ref: string }[]).some((s) => s.secret_ref.endsWith(id)));
  });

  it('lists, with acl_only=true, the secrets whose ACLs list the caller, whatever their project', async () => {
    const id = await storeText(alice, 'listed for bob');
    await storeText(bob, "bob's own");
    await call(alice, 'PUT', acl(id), { read: { users: [bobId] } });
    const listed = await call(bob, 'GET', '/v1/secrets?acl_only=true&limit=100');
    assert.equal(listed.status, 200);
    const refs = (listed.json.secrets as { secret_ref: string }[]).map((s) => s.secret_ref.split('/').pop());
    assert.ok(refs.includes(id));
    assert.ok(refs.every((ref) => ref !== undefined) && listed.json.total === refs.length);
    const own = await call(bob, 'GET', '/v1/secrets?limit=100');
    assert.ok(!(own.json.secrets as { secret_ref: string }[]).some((s) => s.secret_ref.endsWith(id)));
    assert.equal((own.json.secrets as unknown[]).length, 1);
    // Readers may not list at all, acl_only or not (secrets:get).
    assert.equal((await call(rita, 'GET', '/v1/secrets?acl_only=true')).status, 403);
  });

  it("project-access false keeps the project's other members out, but not the creator, its admins or listed users", async () => {
    const id = await storeText(alice, 'private');
    const put = await call(alice, 'PUT', acl(id), { read: { users: [bobId], 'project-access': false } });
    assert.equal(put.status, 200);
    for (const token of [alice, ada, bob]) {
      assert.equal(await readsMetadata(token, id), 200);
      assert.equal(await readsPayload(token, id), 200);
    }
    assert.equal(await readsMetadata(amos, id), 403);
    assert.equal(await readsPayload(amos, id), 403);
    const denied = await call(amos, 'DELETE', `/v1/secrets/${id}`);
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.json, {
      code: 403,
      title: 'Forbidden',
      description: 'Secret deletion attempt not allowed - please review your user/project privileges',
    });
    // Back to project access: amos reads again.
    assert.equal((await call(alice, 'PATCH', acl(id), { read: { 'project-access': true } })).status, 200);
    assert.equal(await readsPayload(amos, id), 200);
  });

  it('PATCH changes only the fields it names; an empty user list takes the ACL away from its users', async () => {
    const id = await storeText(alice, 'patched');
    await call(alice, 'PUT', acl(id), { read: { users: [bobId], 'project-access': false } });
    const before = (await call(alice, 'GET', acl(id))).json.read as Record<string, unknown>;

    const patched = await call(alice, 'PATCH', acl(id), { read: { users: [] } });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json, { acl_ref: `${t.url}/key-manager/v1/secrets/${id}/acl` });
    const after = (await call(alice, 'GET', acl(id))).json.read as Record<string, unknown>;
    assert.equal(after['project-access'], false);
    assert.deepEqual(after.users, []);
    assert.equal(after.created, before.created);
    assert.equal(await readsMetadata(bob, id), 403);
  });

  it('PUT without project-access turns it back on, and DELETE returns to the default', async () => {
    const id = await storeText(alice, 'reset');
    await call(alice, 'PUT', acl(id), { read: { users: [bobId], 'project-access': false } });
    await call(alice, 'PUT', acl(id), { read: { users: [bobId] } });
    assert.equal(
      ((await call(alice, 'GET', acl(id))).json.read as Record<string, unknown>)['project-access'],
      true,
    );

    const removed = await call(alice, 'DELETE', acl(id));
    assert.equal(removed.status, 200);
    assert.equal(removed.text, 'null');
    assert.match(removed.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual((await call(alice, 'GET', acl(id))).json, { read: { 'project-access': true } });
    assert.equal(await readsMetadata(bob, id), 403);
    // Deleting again, with nothing to delete, is still 200.
    assert.equal((await call(alice, 'DELETE', acl(id))).status, 200);
  });

  it("lets the secret's creator and its project's admins manage the ACL, and nobody else", async () => {
    const id = await storeText(alice, 'managed');
    for (const token of [alice, ada]) {
      assert.equal((await call(token, 'GET', acl(id))).status, 200);
      assert.equal((await call(token, 'PUT', acl(id), { read: { users: [bobId] } })).status, 200);
      assert.equal((await call(token, 'PATCH', acl(id), { read: { users: [bobId] } })).status, 200);
      assert.equal((await call(token, 'DELETE', acl(id))).status, 200);
    }
    // Another member, a reader, another project's member (even one the ACL lists), the cloud admin.
    await call(alice, 'PUT', acl(id), { read: { users: [bobId] } });
    for (const token of [amos, rita, bob, cloudAdmin]) {
      const get = await call(token, 'GET', acl(id));
      assert.equal(get.status, 403);
      assert.equal(
        get.json.description,
        'SecretACL(s) retrieval attempt not allowed - please review your user/project privileges',
      );
      const put = await call(token, 'PUT', acl(id), { read: { users: [] } });
      assert.equal(put.status, 403);
      assert.equal(
        put.json.description,
        'SecretACL(s) Update attempt not allowed - please review your user/project privileges',
      );
      assert.equal((await call(token, 'PATCH', acl(id), { read: { users: [] } })).status, 403);
      assert.equal((await call(token, 'DELETE', acl(id))).status, 403);
    }
    assert.deepEqual(((await call(alice, 'GET', acl(id))).json.read as Record<string, unknown>).users, [
      bobId,
    ]);
  });

  it('refuses bad ACL bodies with 400, and a body that is not JSON by its content type with 415', async () => {
    const id = await storeText(alice, 'validated');
    for (const method of ['PUT', 'PATCH']) {
      for (const body of [
        { write: { users: [bobId] } },
        { read: { users: bobId } },
        { read: { users: [7] } },
        { read: { 'project-access': 'false' } },
        { read: { users: [], extra: true } },
        { read: [] },
        [],
      ]) {
        const r = await call(alice, method, acl(id), body);
        assert.equal(r.status, 400, `${method} ${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.json.code, 400);
      }
      const malformed = await call(alice, method, acl(id), '{"read":', {
        'content-type': 'application/json',
      });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.json.description, 'Malformed JSON');
      const text = await call(alice, method, acl(id), '{}', { 'content-type': 'text/plain' });
      assert.equal(text.status, 415);
    }
    // Barbican reads 25000 bytes of a body at most, so a longer ACL is cut off: malformed JSON.
    const users = Array.from({ length: 700 }, (_, i) => `user-${String(i).padStart(30, '0')}`);
    const long = await call(alice, 'PUT', acl(id), { read: { users } });
    assert.equal(long.status, 400);
    assert.equal(long.json.description, 'Malformed JSON');
    const wrong = await call(alice, 'PUT', acl(id), { read: { 'project-access': 'no' } });
    assert.equal(
      wrong.json.description,
      "Provided object does not match schema 'ACL': 'no' is not of type 'boolean'. Invalid property: 'read'",
    );
    // Nothing was stored by the refused requests.
    assert.deepEqual((await call(alice, 'GET', acl(id))).json, { read: { 'project-access': true } });
  });

  it('answers 404 for an unknown or malformed secret id, and 405 for another method', async () => {
    for (const secretId of ['5f5a0fa1-1c9e-4b4a-9c53-0d7f0b6a1e21', 'not-a-uuid']) {
      for (const [method, body] of [
        ['GET', undefined],
        ['PUT', { read: { users: [] } }],
        ['PATCH', { read: { users: [] } }],
        ['DELETE', undefined],
      ] as const) {
        const r = await call(alice, method, acl(secretId), body);
        assert.equal(r.status, 404, `${method} ${secretId}`);
      }
    }
    const id = await storeText(alice, 'methods');
    assert.equal((await call(alice, 'POST', acl(id), { read: {} })).status, 405);
  });

  it('forgets the ACL with its secret', async () => {
    const id = await storeText(alice, 'short-lived');
    await call(alice, 'PUT', acl(id), { read: { users: [bobId] } });
    assert.equal((await call(alice, 'DELETE', `/v1/secrets/${id}`)).status, 204);
    assert.equal((await call(alice, 'GET', acl(id))).status, 404);
    assert.equal(await readsMetadata(bob, id), 404);
  });
});

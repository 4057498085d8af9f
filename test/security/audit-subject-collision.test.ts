// Attack: a project names its image after another project's secret (whose id it learned from a shared
// image's img_signature_certificate_uuid) and asks the audit API for that "image's" history, hoping to
// read the secret's events with their user and project.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('attack: audit history of an image named after another subject', () => {
  let t: TestServer;
  let alice: string;
  let bob: string;
  let bobProject: string;
  let secretId: string;

  before(async () => {
    t = await startTestServer();
    await t.addUser('alice', 'member');
    bobProject = (await t.addUser('bob', 'member')).projectId;
    alice = await t.token('alice', 'alice-password');
    bob = await t.token('bob', 'bob-password');
    const stored = await apiCall(t.url, bob, 'POST', '/key-manager/v1/secrets', {
      name: 'bob-signing-cert',
      payload: 'not really a certificate',
      payload_content_type: 'text/plain',
    });
    assert.equal(stored.status, 201, stored.text);
    secretId = String(stored.json.secret_ref).split('/').pop()!;
    // Bob shares an image whose signature names his certificate: Alice now knows the secret's id.
    const shared = await apiCall(t.url, bob, 'POST', '/image/v2/images', {
      name: 'bob-shared',
      visibility: 'shared',
      img_signature_certificate_uuid: secretId,
    });
    assert.equal(shared.status, 201, shared.text);
    const aliceProject = (await t.server.services.identity.resolveProject('alice-project')).id;
    const member = await apiCall(t.url, bob, 'POST', `/image/v2/images/${shared.json.id}/members`, {
      member: aliceProject,
    });
    assert.equal(member.status, 200, member.text);
    const seen = await apiCall(t.url, alice, 'GET', `/image/v2/images/${shared.json.id}`);
    assert.equal(seen.json.img_signature_certificate_uuid, secretId);
  });
  after(() => t.stop());

  it("gives Alice only her image's events, never the secret's", async () => {
    const created = await apiCall(t.url, alice, 'POST', '/image/v2/images', { id: secretId, name: 'decoy' });
    assert.equal(created.status, 201, created.text);
    const history = await apiCall(t.url, alice, 'GET', `/audit/v1/images/${secretId}`);
    assert.equal(history.status, 200, history.text);
    const leaves = (history.json.entries as { leaf: string }[]).map((entry) => JSON.parse(entry.leaf));
    assert.ok(leaves.length > 0);
    for (const leaf of leaves) {
      assert.match(leaf.type, /^(image|release)\./);
      assert.notEqual(leaf.project_id, bobProject);
      assert.notEqual(leaf.actor?.project_id, bobProject);
    }
  });

  it("does not show Bob the decoy image's history through his secret's id", async () => {
    // The image is Alice's: Bob's own events about the secret give him no claim on it.
    const history = await apiCall(t.url, bob, 'GET', `/audit/v1/images/${secretId}`);
    assert.equal(history.status, 404);
  });

  it('has no image history for a subject that is only a secret', async () => {
    const other = await apiCall(t.url, bob, 'POST', '/key-manager/v1/secrets', {
      payload: 'another',
      payload_content_type: 'text/plain',
    });
    const id = String(other.json.secret_ref).split('/').pop()!;
    assert.equal((await apiCall(t.url, bob, 'GET', `/audit/v1/images/${id}`)).status, 404);
  });
});

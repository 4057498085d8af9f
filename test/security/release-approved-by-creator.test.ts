// Attack: an approver creates an image record (its name, properties, visibility), lets a colleague
// upload data into it and another ask for its release, then approves it: the image they shaped goes
// public with only their own say. Separation of duties counts the creator as well as the uploader,
// signer and requester.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('attack: approving the release of an image you created', () => {
  let t: TestServer;
  let creator: string; // member and approver
  let uploader: string;
  let requester: string;
  let approver: string;

  const call = (token: string, method: string, url: string, body?: unknown) =>
    apiCall(`${t.url}/image`, token, method, url, body);

  before(async () => {
    t = await startTestServer();
    const { identity } = t.server.services;
    const c = await t.addUser('creator', 'member', 'images');
    await identity.grantRole(c.userId, c.projectId, 'approver');
    creator = await t.token('creator', c.password, 'images');
    const u = await t.addUser('uploader', 'member', 'images');
    uploader = await t.token('uploader', u.password, 'images');
    const r = await t.addUser('requester', 'member', 'images');
    requester = await t.token('requester', r.password, 'images');
    const a = await t.addUser('second', 'member', 'images');
    await identity.grantRole(a.userId, a.projectId, 'approver');
    approver = await t.token('second', a.password, 'images');
  });
  after(() => t.stop());

  /** An image `creator` made, `uploader` filled and `requester` asked to release; the request's id. */
  const requestedRelease = async (): Promise<string> => {
    const created = await call(creator, 'POST', '/v2/images', {
      name: 'looks-official',
      disk_format: 'raw',
      container_format: 'bare',
    });
    assert.equal(created.status, 201, created.text);
    const upload = await fetch(`${t.url}/image/v2/images/${created.json.id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': uploader, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(1024, 3),
    });
    assert.equal(upload.status, 204, await upload.text());
    const asked = await call(requester, 'POST', `/v2/images/${created.json.id}/releases`, {
      target: 'stock',
    });
    assert.equal(asked.status, 201, asked.text);
    return String(asked.json.id);
  };

  it('refuses the creator as approver with SEPARATION_OF_DUTIES', async () => {
    const requestId = await requestedRelease();
    const r = await call(creator, 'POST', `/v2/releases/${requestId}/approve`, {});
    assert.equal(r.status, 403, r.text);
    assert.equal(r.headers.get('x-imagetrust-error-code'), 'SEPARATION_OF_DUTIES');
  });

  it('lets an approver who took no part approve it', async () => {
    const requestId = await requestedRelease();
    const r = await call(approver, 'POST', `/v2/releases/${requestId}/approve`, {});
    assert.equal(r.status, 200, r.text);
  });
});

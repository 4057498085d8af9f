// Attack: a user who is `admin` of their own project (as a project owner often is) uses that role to act
// on the whole cloud: list and create users, grant themselves roles elsewhere, read other projects'
// images and the audit log. Cloud-wide administration belongs to the admin role on the configured admin
// project alone (Keystone's admin_project_name); a project admin administers only its project.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';

describe('attack: a project admin acting as a cloud admin', () => {
  let t: TestServer;
  let admin: string;
  let owner: string;
  let ownerProject: string;
  let otherProject: string;
  let otherImage: string;
  let adminRoleId: string;

  before(async () => {
    t = await startTestServer();
    admin = await t.token();
    ({ projectId: ownerProject } = await t.addUser('owner', 'admin'));
    ({ projectId: otherProject } = await t.addUser('neighbour', 'member'));
    owner = await t.token('owner', 'owner-password');
    const neighbour = await t.token('neighbour', 'neighbour-password');
    const image = await apiCall(t.url, neighbour, 'POST', '/image/v2/images', { name: 'private-one' });
    otherImage = String(image.json.id);
    adminRoleId = (await t.server.services.identity.repository.findRoleByName('admin'))!.id;
  });
  after(() => t.stop());

  const as = (token: string, method: string, url: string, body?: unknown) =>
    apiCall(t.url, token, method, url, body);

  it('refuses the cloud-wide identity API to a project admin', async () => {
    assert.equal((await as(owner, 'GET', '/identity/v3/users')).status, 403);
    assert.equal(
      (await as(owner, 'POST', '/identity/v3/users', { user: { name: 'sock', password: 'puppet-pw' } }))
        .status,
      403,
    );
    assert.equal(
      (await as(owner, 'POST', '/identity/v3/projects', { project: { name: 'mine2' } })).status,
      403,
    );
    assert.equal((await as(owner, 'GET', `/identity/v3/projects/${otherProject}`)).status, 403);
    const grant = await as(
      owner,
      'PUT',
      `/identity/v3/projects/${otherProject}/users/${(await t.server.services.identity.resolveUser('owner')).id}/roles/${adminRoleId}`,
    );
    assert.equal(grant.status, 403);
    const subject = await apiCall(t.url, owner, 'GET', '/identity/v3/auth/tokens', undefined, {
      'x-subject-token': admin,
    });
    assert.equal(subject.status, 403);
  });

  it("hides other projects' private images and the whole audit log from a project admin", async () => {
    assert.equal((await as(owner, 'GET', `/image/v2/images/${otherImage}`)).status, 404);
    const listed = (await as(owner, 'GET', '/image/v2/images')).json.images as { id: string }[];
    assert.ok(!listed.some((image) => image.id === otherImage));
    assert.equal((await as(owner, 'GET', '/audit/v1/entries?start=0')).status, 403);
    assert.equal((await as(owner, 'GET', `/audit/v1/images/${otherImage}`)).status, 404);
  });

  it('lets a project admin administer its own project', async () => {
    const created = await as(owner, 'POST', '/image/v2/images', { name: 'owned' });
    assert.equal(created.status, 201);
    assert.equal(created.json.owner, ownerProject);
    assert.equal((await as(owner, 'GET', `/identity/v3/projects/${ownerProject}`)).status, 200);
    assert.equal((await as(owner, 'DELETE', `/image/v2/images/${created.json.id}`)).status, 204);
  });

  it('keeps the admin of the admin project a cloud admin', async () => {
    assert.equal((await as(admin, 'GET', '/identity/v3/users')).status, 200);
    assert.equal((await as(admin, 'GET', `/image/v2/images/${otherImage}`)).status, 200);
    assert.equal((await as(admin, 'GET', '/audit/v1/entries?start=0')).status, 200);
  });
});

describe('a configured admin project', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ identity: { adminProject: 'operators' } });
  });
  after(() => t.stop());

  it('makes the bootstrap admin an admin of that project, and only it cloud-wide', async () => {
    const opsToken = await t.token('admin', ADMIN_PASSWORD, 'operators');
    assert.equal((await apiCall(t.url, opsToken, 'GET', '/identity/v3/users')).status, 200);
    await t.addUser('elsewhere', 'admin', 'admin');
    const other = await t.token('elsewhere', 'elsewhere-password', 'admin');
    assert.equal((await apiCall(t.url, other, 'GET', '/identity/v3/users')).status, 403);
  });
});

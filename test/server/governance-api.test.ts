// Image governance over a real socket: lifecycle changes and schedules, what obsolete and deprecated
// images may still do, compliance reports, and releases decided by a second person.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const PATCH = 'application/openstack-images-v2.1-json-patch';
const future = (seconds: number) =>
  new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const PASSING_REPORT = JSON.stringify({ image: 'disk.qcow2', results: [{ id: 'no-swap', status: 'pass' }] });
const FAILING_REPORT = JSON.stringify({
  image: 'disk.qcow2',
  results: [
    { id: 'no-swap', status: 'pass' },
    { id: 'no-vagrant-account', status: 'fail' },
  ],
});

describe('governance API', () => {
  let t: TestServer;
  let admin: string;
  let builder: string; // member of the images project
  let builderId: string;
  let approver: string; // approver (and member) in the images project
  let outsider: string; // member of another project
  let imagesProject: string;

  const call = (
    token: string,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => apiCall(`${t.url}/image`, token, method, url, body, headers);

  const activeImage = async (token = builder, size = 4096): Promise<string> => {
    const created = await call(token, 'POST', '/v2/images', { disk_format: 'raw', container_format: 'bare' });
    assert.equal(created.status, 201, created.text);
    const id = created.json.id as string;
    const upload = await fetch(`${t.url}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(size, 7),
    });
    assert.equal(upload.status, 204, await upload.text());
    return id;
  };

  before(async () => {
    t = await startTestServer({ lifecycle: { scheduleIntervalSeconds: 0.5 } });
    admin = await t.token();
    const b = await t.addUser('builder', 'member', 'images');
    builderId = b.userId;
    imagesProject = b.projectId;
    builder = await t.token('builder', b.password, 'images');
    const a = await t.addUser('approver', 'member', 'images');
    await t.server.services.identity.grantRole(a.userId, imagesProject, 'approver');
    approver = await t.token('approver', a.password, 'images');
    const o = await t.addUser('outsider', 'member');
    outsider = await t.token('outsider', o.password);
  });
  after(() => t?.stop());

  describe('lifecycle', () => {
    it('shows every image as a custom, available image through the Glance API', async () => {
      const id = await activeImage();
      const image = (await call(builder, 'GET', `/v2/images/${id}`)).json;
      assert.equal(image.image_class, 'custom');
      assert.equal(image.lifecycle_state, 'available');
      assert.equal(image.deprecation_at, undefined);
    });

    it('refuses to set lifecycle keys with a plain PATCH', async () => {
      const id = await activeImage();
      const r = await call(
        builder,
        'PATCH',
        `/v2/images/${id}`,
        [{ op: 'add', path: '/lifecycle_state', value: 'obsolete' }],
        {
          'content-type': PATCH,
        },
      );
      assert.equal(r.status, 403);
      assert.equal((await call(builder, 'GET', `/v2/images/${id}`)).json.lifecycle_state, 'available');
    });

    it('deprecates now with a replacement, and warns every reader and downloader', async () => {
      const id = await activeImage();
      const successor = await activeImage();
      const r = await call(builder, 'PUT', `/v2/images/${id}/lifecycle`, {
        state: 'deprecated',
        replacement: successor,
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.lifecycle_state, 'deprecated');
      assert.equal(r.json.replacement, successor);
      assert.ok(Date.parse(r.json.deprecation_at as string) <= Date.now());
      const shown = await call(outsider, 'GET', `/v2/images/${id}`);
      // Not visible to another project: private by default is "shared" without members.
      assert.equal(shown.status, 404);
      const mine = await call(builder, 'GET', `/v2/images/${id}`);
      assert.match(
        mine.headers.get('warning') ?? '',
        /^299 imagetrust ".*deprecated.*use [0-9a-f-]+ instead/,
      );
      const download = await fetch(`${t.url}/image/v2/images/${id}/file`, {
        headers: { 'x-auth-token': builder },
      });
      assert.equal(download.status, 200);
      assert.match(download.headers.get('warning') ?? '', /deprecated/);
      await download.arrayBuffer();
    });

    it('validates schedules: future times, deprecation before obsolescence, known keys, a real replacement', async () => {
      const id = await activeImage();
      const put = (body: unknown) => call(builder, 'PUT', `/v2/images/${id}/lifecycle`, body);
      const past = await put({ deprecation_at: '2020-01-01T00:00:00Z' });
      assert.equal(past.status, 409);
      assert.equal(past.headers.get('x-imagetrust-error-code'), 'LIFECYCLE_INVALID');
      const order = await put({ deprecation_at: future(7200), obsolescence_at: future(3600) });
      assert.equal(order.status, 409);
      assert.match(order.text, /must come before obsolescence_at/);
      assert.equal((await put({ deprecation_at: 'tomorrow' })).status, 400);
      assert.equal(
        (await put({ deprecation_at: '2030-01-01T00:00:00' })).status,
        400,
        'a time without a zone',
      );
      assert.equal((await put({ state: 'gone' })).status, 400);
      assert.equal((await put({ colour: 'red' })).status, 400);
      const replacement = await put({ replacement: '00000000-0000-4000-8000-000000000000' });
      assert.equal(replacement.status, 409);
      assert.equal((await put({ replacement: id })).status, 409);
      const malformed = await fetch(`${t.url}/image/v2/images/${id}/lifecycle`, {
        method: 'PUT',
        headers: { 'x-auth-token': builder, 'content-type': 'application/json' },
        body: '{"state":',
      });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.headers.get('x-imagetrust-error-code'), 'MALFORMED_JSON');
      assert.equal((await call(builder, 'GET', `/v2/images/${id}`)).json.lifecycle_state, 'available');
    });

    it('lets only the owner change the lifecycle', async () => {
      const id = await activeImage();
      const r = await call(outsider, 'PUT', `/v2/images/${id}/lifecycle`, { state: 'deprecated' });
      assert.equal(r.status, 404);
    });

    it('applies scheduled deprecation and obsolescence on time, without an operator', async () => {
      const id = await activeImage();
      const r = await call(builder, 'PUT', `/v2/images/${id}/lifecycle`, {
        deprecation_at: future(1),
        obsolescence_at: future(3),
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.lifecycle_state, 'available');
      const stored = async () =>
        (await t.server.services.catalog.getImage(await t.server.services.identity.validateToken(admin), id))
          .lifecycle_state;
      const waitFor = async (state: string) => {
        const deadline = Date.now() + 10_000;
        while ((await stored()) !== state) {
          assert.ok(Date.now() < deadline, `the scheduler never stored ${state}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      await waitFor('deprecated');
      await waitFor('obsolete');
      assert.equal((await call(builder, 'GET', `/v2/images/${id}`)).json.lifecycle_state, 'obsolete');
    });

    it('removing a due deprecation makes the image available again', async () => {
      const id = await activeImage();
      await call(builder, 'PUT', `/v2/images/${id}/lifecycle`, { state: 'deprecated' });
      const r = await call(builder, 'PUT', `/v2/images/${id}/lifecycle`, { deprecation_at: null });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.lifecycle_state, 'available');
    });

    it('keeps obsolete images from being shared, published or downloaded, and only an admin brings them back', async () => {
      const id = await activeImage();
      assert.equal(
        (await call(builder, 'PUT', `/v2/images/${id}/lifecycle`, { state: 'obsolete' })).status,
        200,
      );
      const community = await call(
        builder,
        'PATCH',
        `/v2/images/${id}`,
        [{ op: 'replace', path: '/visibility', value: 'community' }],
        {
          'content-type': PATCH,
        },
      );
      assert.equal(community.status, 409);
      assert.equal(community.headers.get('x-imagetrust-error-code'), 'IMAGE_OBSOLETE');
      const share = await call(builder, 'POST', `/v2/images/${id}/members`, { member: 'someone' });
      assert.equal(share.status, 409);
      const download = await fetch(`${t.url}/image/v2/images/${id}/file`, {
        headers: { 'x-auth-token': builder },
      });
      assert.equal(download.status, 409);
      assert.equal(download.headers.get('x-imagetrust-error-code'), 'IMAGE_OBSOLETE');
      const release = await call(builder, 'POST', `/v2/images/${id}/releases`, { target: 'stock' });
      assert.equal(release.status, 409);
      assert.match(release.text, /obsolete/);
      const back = await call(builder, 'PUT', `/v2/images/${id}/lifecycle`, { state: 'available' });
      assert.equal(back.status, 403);
      assert.match(back.text, /only an administrator/);
      const byAdmin = await call(admin, 'PUT', `/v2/images/${id}/lifecycle`, { state: 'available' });
      assert.equal(byAdmin.status, 200, byAdmin.text);
      assert.equal(byAdmin.json.lifecycle_state, 'available');
    });
  });

  describe('releases', () => {
    it('refuses to publish directly, even for an admin', async () => {
      const id = await activeImage();
      const r = await call(
        admin,
        'PATCH',
        `/v2/images/${id}`,
        [{ op: 'replace', path: '/visibility', value: 'public' }],
        {
          'content-type': PATCH,
        },
      );
      assert.equal(r.status, 403);
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'RELEASE_REQUIRED');
    });

    it('needs an approver other than the uploader and requester; approval makes the image a public stock image', async () => {
      const id = await activeImage();
      const asked = await call(builder, 'POST', `/v2/images/${id}/releases`, {
        target: 'stock',
        reason: 'Debian 12 November build',
      });
      assert.equal(asked.status, 201, asked.text);
      assert.equal(asked.json.status, 'pending');
      assert.equal(asked.json.requested_by, builderId);
      const requestId = asked.json.id as string;

      const again = await call(builder, 'POST', `/v2/images/${id}/releases`, { target: 'stock' });
      assert.equal(again.status, 409, 'one pending request per image');
      const byBuilder = await call(builder, 'POST', `/v2/releases/${requestId}/approve`, {});
      assert.equal(byBuilder.status, 403, 'the builder has no approver role');
      assert.equal((await call(outsider, 'GET', `/v2/releases/${requestId}`)).status, 404);

      const pending = await call(approver, 'GET', '/v2/releases?status=pending');
      assert.ok((pending.json.releases as { id: string }[]).some((r) => r.id === requestId));

      const approved = await call(approver, 'POST', `/v2/releases/${requestId}/approve`, {
        reason: 'checked',
      });
      assert.equal(approved.status, 200, approved.text);
      assert.equal(approved.json.status, 'approved');
      const image = (await call(outsider, 'GET', `/v2/images/${id}`)).json;
      assert.equal(image.visibility, 'public');
      assert.equal(image.image_class, 'stock');
      const twice = await call(approver, 'POST', `/v2/releases/${requestId}/approve`, {});
      assert.equal(twice.status, 409);
      assert.match(twice.text, /already approved/);
    });

    it('never lets an approver approve an image they uploaded, whatever the roles', async () => {
      const id = await activeImage(approver);
      const asked = await call(builder, 'POST', `/v2/images/${id}/releases`, { target: 'catalog' });
      assert.equal(asked.status, 201, asked.text);
      const r = await call(approver, 'POST', `/v2/releases/${asked.json.id}/approve`, {});
      assert.equal(r.status, 403);
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'SEPARATION_OF_DUTIES');
      assert.match(r.text, /uploaded the image/);
      // Not even an admin who also holds the approver role may approve their own request.
      const adminId = (await t.server.services.identity.validateToken(admin)).userId;
      const adminProject = (await t.server.services.identity.validateToken(admin)).projectId!;
      await t.server.services.identity.grantRole(adminId, adminProject, 'approver');
      const adminToken = await t.token();
      const own = await activeImage();
      const adminAsked = await call(adminToken, 'POST', `/v2/images/${own}/releases`, { target: 'stock' });
      assert.equal(adminAsked.status, 201, adminAsked.text);
      const self = await call(adminToken, 'POST', `/v2/releases/${adminAsked.json.id}/approve`, {});
      assert.equal(self.status, 403);
      assert.match(self.text, /asked for the release/);
      assert.equal((await call(builder, 'GET', `/v2/images/${own}`)).json.visibility, 'shared');
    });

    it('rejects with a required reason, and the image stays unpublished', async () => {
      const id = await activeImage();
      const asked = await call(builder, 'POST', `/v2/images/${id}/releases`, { target: 'stock' });
      const noReason = await call(approver, 'POST', `/v2/releases/${asked.json.id}/reject`, {});
      assert.equal(noReason.status, 400);
      const rejected = await call(approver, 'POST', `/v2/releases/${asked.json.id}/reject`, {
        reason: 'kernel too old',
      });
      assert.equal(rejected.status, 200, rejected.text);
      assert.equal(rejected.json.decision_reason, 'kernel too old');
      assert.equal((await call(builder, 'GET', `/v2/images/${id}`)).json.visibility, 'shared');
      const history = await call(builder, 'GET', `/v2/images/${id}/releases`);
      assert.deepEqual(
        (history.json.releases as { status: string }[]).map((r) => r.status),
        ['rejected'],
      );
    });

    it('refuses to release an image that is not active', async () => {
      const created = await call(builder, 'POST', '/v2/images', {
        disk_format: 'raw',
        container_format: 'bare',
      });
      const r = await call(builder, 'POST', `/v2/images/${created.json.id}/releases`, { target: 'stock' });
      assert.equal(r.status, 409);
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'RELEASE_NOT_READY');
      assert.match(r.text, /queued/);
    });
  });

  describe('when releases require a passing compliance report', () => {
    let s: TestServer;
    let member: string;
    let checker: string;
    before(async () => {
      s = await startTestServer({ release: { requireComplianceReport: true } });
      const m = await s.addUser('builder', 'member', 'images');
      member = await s.token('builder', m.password, 'images');
      const c = await s.addUser('checker', 'member', 'images');
      await s.server.services.identity.grantRole(c.userId, m.projectId, 'approver');
      checker = await s.token('checker', c.password, 'images');
    });
    after(() => s?.stop());

    it('refuses without a report, with a failing one, and releases with a passing one', async () => {
      const base = (
        token: string,
        method: string,
        url: string,
        body?: unknown,
        headers: Record<string, string> = {},
      ) => apiCall(`${s.url}/image`, token, method, url, body, headers);
      const created = await base(member, 'POST', '/v2/images', {
        disk_format: 'raw',
        container_format: 'bare',
      });
      const id = created.json.id as string;
      await fetch(`${s.url}/image/v2/images/${id}/file`, {
        method: 'PUT',
        headers: { 'x-auth-token': member, 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(1024, 1),
      });
      const none = await base(member, 'POST', `/v2/images/${id}/releases`, { target: 'stock' });
      assert.equal(none.status, 409);
      assert.match(none.text, /compliance report is required/);

      const attach = (document: string) =>
        fetch(`${s.url}/image/v2/images/${id}/compliance-report`, {
          method: 'PUT',
          headers: { 'x-auth-token': member, 'content-type': 'application/json' },
          body: document,
        });
      const failing = await attach(FAILING_REPORT);
      assert.equal(failing.status, 200);
      assert.equal((await failing.json()).passed, false);
      const refused = await base(member, 'POST', `/v2/images/${id}/releases`, { target: 'stock' });
      assert.equal(refused.status, 409);
      assert.match(refused.text, /has failed checks/);
      assert.equal((await attach('{"results": []}')).status, 400, 'a report with no results proves nothing');
      assert.equal((await attach('not json')).status, 400);

      // A passing report that does not name the data proves nothing about this image.
      const unbound = await attach(PASSING_REPORT);
      assert.equal(unbound.status, 200);
      const notBound = await base(member, 'POST', `/v2/images/${id}/releases`, { target: 'stock' });
      assert.equal(notBound.status, 409);
      assert.match(notBound.text, /does not name this image&#x27;s data|does not name this image's data/);
      const report = (sha512: string) =>
        JSON.stringify({
          image: 'disk.raw',
          image_sha512: sha512,
          results: [{ id: 'no-swap', status: 'pass' }],
        });
      const other = await attach(report(createHash('sha512').update('other data').digest('hex')));
      assert.equal(other.status, 409);
      assert.match(await other.text(), /made for other data/);

      const passing = await attach(report(createHash('sha512').update(Buffer.alloc(1024, 1)).digest('hex')));
      const summary = await passing.json();
      assert.equal(summary.passed, true);
      assert.match(summary.digest, /^sha256:[0-9a-f]{64}$/);
      const asked = await base(member, 'POST', `/v2/images/${id}/releases`, { target: 'stock' });
      assert.equal(asked.status, 201, asked.text);
      const approved = await base(checker, 'POST', `/v2/releases/${asked.json.id}/approve`, {});
      assert.equal(approved.status, 200, approved.text);
      assert.equal((await base(member, 'GET', `/v2/images/${id}`)).json.visibility, 'public');
    });
  });

  describe('with allowDirectPublish, as plain Glance', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ release: { allowDirectPublish: true } });
    });
    after(() => s?.stop());

    it('lets an admin create a public image directly', async () => {
      const r = await apiCall(`${s.url}/image`, await s.token(), 'POST', '/v2/images', {
        visibility: 'public',
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.visibility, 'public');
    });
  });
});

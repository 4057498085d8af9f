// Interoperable import over the HTTP API, as Glance 25 does it: stage (queued → uploading), import with
// glance-direct and web-download (→ importing → active, or queued again with the task failed), the
// signature checked during import, Glance's URI filter and the destination guard for web-download, the
// tasks API, and that a failed import leaves no data of any kind behind.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** A loopback HTTP server with named files, a redirect, an error and a body that lies about its length. */
async function startFileServer(files: Map<string, Buffer>): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const url = request.url ?? '/';
    if (url.startsWith('/redirect-to-metadata')) {
      response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
      return;
    }
    if (url === '/huge') {
      response.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      response.end();
      return;
    }
    const data = files.get(url);
    if (!data) {
      response.writeHead(404).end('not here');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
    response.end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('interoperable import', () => {
  let t: TestServer;
  let admin: string;
  let alice: string;
  let bob: string;
  let files: { server: Server; port: number };
  let f: SigningFixtures;
  const served = new Map<string, Buffer>();

  const call = (
    token: string | null,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => apiCall(`${t.url}/image`, token, method, url, body, headers);
  const create = async (token: string, body: Record<string, unknown> = {}) => {
    const r = await call(token, 'POST', '/v2/images', {
      disk_format: 'raw',
      container_format: 'bare',
      ...body,
    });
    assert.equal(r.status, 201, r.text);
    return r.json as Record<string, string> & { id: string };
  };
  const stage = (token: string, id: string, data: Uint8Array) =>
    call(token, 'PUT', `/v2/images/${id}/stage`, data, { 'content-type': 'application/octet-stream' });
  const importAs = (token: string, id: string, method: Record<string, unknown>, extra = {}) =>
    call(token, 'POST', `/v2/images/${id}/import`, { method, ...extra });
  const show = async (token: string, id: string) =>
    (await call(token, 'GET', `/v2/images/${id}`)).json as Record<string, unknown>;
  const settled = () => t.server.services.catalog.settleImports();
  const tasksOf = async (token: string, id: string) =>
    (await call(token, 'GET', `/v2/images/${id}/tasks`)).json.tasks as Record<string, unknown>[];
  /** Every key the blob store holds that belongs to the image (its data, its staged data). */
  const blobsOf = async (id: string) => {
    const keys: string[] = [];
    for await (const key of t.blobs.list()) if (key.startsWith(id)) keys.push(key);
    return keys.sort();
  };
  const sha512 = (data: Buffer) => createHash('sha512').update(data).digest('hex');
  const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
  const url = (path: string) => `http://127.0.0.1:${files.port}${path}`;

  /** What a failed import must leave: the image queued without data, no blob, no temporary, the task failed. */
  const assertFailedCleanly = async (token: string, id: string) => {
    const image = await show(token, id);
    assert.equal(image.status, 'queued');
    assert.equal(image.size, null);
    assert.equal(image.checksum, null);
    assert.equal(image.os_glance_failed_import, '');
    assert.deepEqual(await blobsOf(id), []);
    assert.equal(await t.blobs.countTemporaries(), 0);
    const tasks = await tasksOf(token, id);
    assert.equal(tasks.at(-1)?.status, 'failure');
    assert.notEqual(tasks.at(-1)?.message, '');
    const data = await call(token, 'GET', `/v2/images/${id}/file`);
    assert.equal(data.status, 204, 'no data to download');
    return tasks.at(-1)!;
  };

  before(async () => {
    f = loadSigningFixtures();
    files = await startFileServer(served);
    t = await startTestServer({
      images: { sizeCap: 4 * 1024 * 1024 },
      // The test's own file server is on loopback: allowed here by port and host, explicitly.
      import: {
        webDownload: { allowedPorts: [80, 443, files.port], internalHosts: [`127.0.0.1:${files.port}`] },
      },
    });
    admin = await t.token();
    await t.addUser('alice', 'member');
    await t.addUser('bob', 'member');
    alice = await t.token('alice', 'alice-password');
    bob = await t.token('bob', 'bob-password');
  });
  after(async () => {
    await t?.stop();
    files?.server.close();
  });

  describe('discovery', () => {
    it('advertises glance-direct and web-download, and not copy-image, in /info/import and on create', async () => {
      const info = await call(admin, 'GET', '/v2/info/import');
      assert.deepEqual((info.json as { 'import-methods': { value: string[] } })['import-methods'].value, [
        'glance-direct',
        'web-download',
      ]);
      const created = await call(alice, 'POST', '/v2/images', { name: 'x' });
      assert.equal(created.headers.get('openstack-image-import-methods'), 'glance-direct,web-download');
    });

    it('answers /info/stores as Glance without several stores: 404', async () => {
      const stores = await call(admin, 'GET', '/v2/info/stores');
      assert.equal(stores.status, 404);
      assert.match(stores.text, /Multi backend is not supported at this site\./);
    });

    it('serves the task schemas', async () => {
      const task = (await call(admin, 'GET', '/v2/schemas/task')).json as {
        name: string;
        properties: object;
      };
      assert.equal(task.name, 'task');
      assert.ok('input' in task.properties && 'image_id' in task.properties);
      const tasks = (await call(admin, 'GET', '/v2/schemas/tasks')).json as {
        properties: { tasks: { items: { properties: object } } };
      };
      assert.ok(!('input' in tasks.properties.tasks.items.properties), 'the list shows stubs');
    });
  });

  describe('stage and glance-direct', () => {
    it('stages to uploading with the size, then imports to active with the data and its hashes', async () => {
      const data = randomBytes(300_000);
      const image = await create(alice, { name: 'direct' });
      const staged = await stage(alice, image.id, data);
      assert.equal(staged.status, 204, staged.text);
      const uploading = await show(alice, image.id);
      assert.equal(uploading.status, 'uploading');
      assert.equal(uploading.size, data.length);
      assert.equal(uploading.checksum, null, 'no hashes before the import');
      assert.deepEqual(await blobsOf(image.id), [`${image.id}.staging`]);

      const accepted = await importAs(alice, image.id, { name: 'glance-direct' });
      assert.equal(accepted.status, 202, accepted.text);
      assert.equal(accepted.text, '');
      const requestId = accepted.headers.get('x-openstack-request-id');
      assert.match(String(requestId), /^req-[0-9a-f-]{36}$/);
      await settled();
      const active = await show(alice, image.id);
      assert.equal(active.status, 'active');
      assert.equal(active.size, data.length);
      assert.equal(active.checksum, md5(data));
      assert.equal(active.os_hash_value, sha512(data));
      assert.equal(active.os_glance_importing_to_stores, '');
      assert.equal(active.os_glance_failed_import, '');
      assert.deepEqual(await blobsOf(image.id), [image.id], 'the staged copy is gone');
      const download = await call(alice, 'GET', `/v2/images/${image.id}/file`);
      assert.deepEqual(download.bytes, data);

      const [task] = await tasksOf(alice, image.id);
      assert.equal(task.type, 'api_image_import');
      assert.equal(task.status, 'success');
      assert.deepEqual(task.result, { image_id: image.id });
      assert.equal(task.image_id, image.id);
      assert.equal(task.request_id, requestId, 'the task records the import response’s request id');
      assert.deepEqual((task.input as { import_req: unknown }).import_req, {
        method: { name: 'glance-direct' },
      });
      assert.equal(task.deleted, false);
      assert.match(String(task.expires_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    });

    it('imports staged data after a PATCH of the staged image, and deleting a staged image deletes its staged data', async () => {
      const data = randomBytes(5000);
      const image = await create(alice);
      await stage(alice, image.id, data);
      const patched = await call(
        alice,
        'PATCH',
        `/v2/images/${image.id}`,
        [{ op: 'add', path: '/k', value: 'v' }],
        {
          'content-type': 'application/openstack-images-v2.1-json-patch',
        },
      );
      assert.equal(patched.status, 200, patched.text);
      await importAs(alice, image.id, { name: 'glance-direct' });
      await settled();
      assert.equal((await show(alice, image.id)).os_hash_value, sha512(data));

      const doomed = await create(alice);
      await stage(alice, doomed.id, data);
      assert.equal((await call(alice, 'DELETE', `/v2/images/${doomed.id}`)).status, 204);
      assert.deepEqual(await blobsOf(doomed.id), []);
    });

    it('refuses a second stage, a stage of an active image, and a body that is not octet-stream', async () => {
      const image = await create(alice);
      assert.equal((await stage(alice, image.id, randomBytes(10))).status, 204);
      const again = await stage(alice, image.id, randomBytes(10));
      assert.equal(again.status, 409);
      await importAs(alice, image.id, { name: 'glance-direct' });
      await settled();
      assert.equal((await stage(alice, image.id, randomBytes(10))).status, 409);
      const other = await create(alice);
      const json = await call(alice, 'PUT', `/v2/images/${other.id}/stage`, { a: 1 });
      assert.equal(json.status, 415);
      assert.equal((await show(alice, other.id)).status, 'queued');
    });

    it('refuses a stage over the size cap and leaves the image queued with nothing stored', async () => {
      const image = await create(alice);
      const r = await stage(alice, image.id, randomBytes(4 * 1024 * 1024 + 1));
      assert.equal(r.status, 413);
      assert.equal((await show(alice, image.id)).status, 'queued');
      assert.deepEqual(await blobsOf(image.id), []);
      assert.equal(await t.blobs.countTemporaries(), 0);
    });

    it("answers Glance's 409s for the wrong status and 400s for a bad body", async () => {
      const queued = await create(alice);
      const direct = await importAs(alice, queued.id, { name: 'glance-direct' });
      assert.equal(direct.status, 409);
      assert.match(direct.text, /Image needs to be staged before 'glance-direct' method can be used/);
      await stage(alice, queued.id, randomBytes(10));
      const web = await importAs(alice, queued.id, { name: 'web-download', uri: url('/x') });
      assert.equal(web.status, 409);
      assert.match(web.text, /Image needs to be in 'queued' state to use 'web-download' method/);
      for (const [body, message] of [
        [{}, "Import request requires a 'method' field."],
        [{ method: {} }, "Import request requires a 'name' field."],
        [{ method: { name: 'copy-image' } }, "Unknown import method name 'copy-image'."],
        [{ method: { name: 'glance-direct' }, all_stores: 'yes' }, "'all_stores' must be boolean value only"],
      ] as const) {
        const r = await call(alice, 'POST', `/v2/images/${queued.id}/import`, body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.ok(r.text.includes(message), r.text);
      }
      const allStores = await importAs(
        alice,
        queued.id,
        { name: 'glance-direct' },
        { all_stores_must_succeed: false },
      );
      assert.equal(allStores.status, 400);
      const noFormat = await create(alice, { disk_format: undefined });
      await stage(alice, noFormat.id, randomBytes(10));
      const formats = await importAs(alice, noFormat.id, { name: 'glance-direct' });
      assert.equal(formats.status, 409);
      assert.match(formats.text, /'disk_format' needs to be set before import/);
    });

    it('lets only the owner stage and import', async () => {
      const image = await create(alice, { visibility: 'shared' });
      await call(alice, 'POST', `/v2/images/${image.id}/members`, {
        member: (await t.server.services.identity.resolveProject('bob-project')).id,
      });
      assert.equal((await stage(bob, image.id, randomBytes(10))).status, 403);
      await stage(alice, image.id, randomBytes(10));
      assert.equal((await importAs(bob, image.id, { name: 'glance-direct' })).status, 403);
      assert.equal((await show(alice, image.id)).status, 'uploading');
    });
  });

  describe('web-download', () => {
    it('fetches from an explicitly allowed server into an active image', async () => {
      const data = randomBytes(200_000);
      served.set('/image.raw', data);
      const image = await create(alice, { name: 'web' });
      const accepted = await importAs(alice, image.id, { name: 'web-download', uri: url('/image.raw') });
      assert.equal(accepted.status, 202, accepted.text);
      await settled();
      const active = await show(alice, image.id);
      assert.equal(active.status, 'active');
      assert.equal(active.os_hash_value, sha512(data));
      assert.deepEqual(await blobsOf(image.id), [image.id]);
      const [task] = await tasksOf(alice, image.id);
      assert.equal(task.status, 'success');
    });

    it('refuses a URI the filter does not pass with 400, before any task, leaving the image queued', async () => {
      const image = await create(alice);
      for (const uri of ['http://127.0.0.1:1/x', 'ftp://example.com/x', 'file:///etc/passwd', '']) {
        const r = await importAs(alice, image.id, { name: 'web-download', uri });
        assert.equal(r.status, 400, uri);
        assert.ok(r.text.includes('URI for web-download does not pass filtering'), r.text);
      }
      assert.equal((await show(alice, image.id)).status, 'queued');
      assert.deepEqual(await tasksOf(alice, image.id), []);
    });

    it('fails the import for the metadata address, a redirect to it, an error status and an oversized body', async () => {
      for (const uri of [
        'http://169.254.169.254/latest/meta-data',
        url('/redirect-to-metadata'),
        url('/missing'),
        url('/huge'),
      ]) {
        const image = await create(alice);
        const r = await importAs(alice, image.id, { name: 'web-download', uri });
        assert.equal(r.status, 202, `${uri}: ${r.text}`);
        await settled();
        await assertFailedCleanly(alice, image.id);
      }
    });

    it('refuses loopback unless the operator allowed that host', async () => {
      // Another server on loopback whose port passes the filter but whose host:port is not allowed.
      const other = await startFileServer(new Map([['/x', randomBytes(10)]]));
      const strict = await startTestServer({
        import: { webDownload: { allowedPorts: [other.port] } },
      });
      try {
        const token = await strict.token();
        const created = await apiCall(`${strict.url}/image`, token, 'POST', '/v2/images', {
          disk_format: 'raw',
          container_format: 'bare',
        });
        const id = (created.json as { id: string }).id;
        const r = await apiCall(`${strict.url}/image`, token, 'POST', `/v2/images/${id}/import`, {
          method: { name: 'web-download', uri: `http://127.0.0.1:${other.port}/x` },
        });
        assert.equal(r.status, 202);
        await strict.server.services.catalog.settleImports();
        const image = (await apiCall(`${strict.url}/image`, token, 'GET', `/v2/images/${id}`)).json;
        assert.equal(image.status, 'queued');
        const tasks = (await apiCall(`${strict.url}/image`, token, 'GET', `/v2/images/${id}/tasks`)).json
          .tasks as { status: string; message: string }[];
        assert.equal(tasks[0].status, 'failure');
        assert.match(tasks[0].message, /internal address/);
      } finally {
        await strict.stop();
        other.server.close();
      }
    });
  });

  describe('signatures during import', () => {
    const storeCertificate = async (token: string, name: string) => {
      const r = await apiCall(t.url, token, 'POST', '/key-manager/v1/secrets', {
        name,
        secret_type: 'certificate',
        payload: f.file(`certs/${name}.pem`).toString('base64'),
        payload_content_type: 'application/octet-stream',
        payload_content_encoding: 'base64',
      });
      assert.equal(r.status, 201, r.text);
      return String(r.json.secret_ref).split('/').at(-1)!;
    };
    const signed = (signature: string, certificate: string) => ({
      img_signature: signature,
      img_signature_hash_method: 'SHA-256',
      img_signature_key_type: 'RSA-PSS',
      img_signature_certificate_uuid: certificate,
    });

    it('activates a glance-direct import whose signature verifies', async () => {
      const cert = await storeCertificate(alice, 'rsa2048');
      const image = await create(alice, signed(f.signature('rsa2048.sha256.pss'), cert));
      await stage(alice, image.id, f.image);
      assert.equal((await importAs(alice, image.id, { name: 'glance-direct' })).status, 202);
      await settled();
      const active = await show(alice, image.id);
      assert.equal(active.status, 'active');
    });

    it('never activates an import whose signature fails, and keeps no data (staged or imported)', async () => {
      const cert = await storeCertificate(alice, 'rsa2048');
      const image = await create(alice, signed(f.signature('rsa2048.sha256.pss'), cert));
      const tampered = Buffer.from(f.image);
      tampered[0] ^= 1;
      await stage(alice, image.id, tampered);
      assert.equal((await importAs(alice, image.id, { name: 'glance-direct' })).status, 202);
      await settled();
      const task = await assertFailedCleanly(alice, image.id);
      assert.match(String(task.message), /Signature verification failed/);

      served.set('/tampered.raw', tampered);
      const web = await create(alice, signed(f.signature('rsa2048.sha256.pss'), cert));
      await importAs(alice, web.id, { name: 'web-download', uri: url('/tampered.raw') });
      await settled();
      await assertFailedCleanly(alice, web.id);
    });
  });

  describe('tasks API', () => {
    it('shows tasks to admins (tasks_api_access) and to nobody else, and image tasks to whoever sees the image', async () => {
      const image = await create(alice);
      await stage(alice, image.id, randomBytes(10));
      await importAs(alice, image.id, { name: 'glance-direct' });
      await settled();
      const [imageTask] = await tasksOf(alice, image.id);
      const list = await call(admin, 'GET', '/v2/tasks');
      assert.equal(list.status, 200);
      assert.equal(list.json.schema, '/v2/schemas/tasks');
      const stub = (list.json.tasks as Record<string, unknown>[]).find((task) => task.id === imageTask.id)!;
      assert.ok(stub && !('input' in stub));
      const one = await call(admin, 'GET', `/v2/tasks/${imageTask.id}`);
      assert.equal(one.status, 200);
      assert.equal(one.json.status, 'success');
      assert.equal(one.json.self, `/v2/tasks/${imageTask.id}`);
      assert.match(String(one.json.created_at), /Z$/);
      assert.equal((await call(alice, 'GET', '/v2/tasks')).status, 403);
      assert.equal((await call(alice, 'GET', `/v2/tasks/${imageTask.id}`)).status, 403);
      assert.equal((await call(bob, 'GET', `/v2/images/${image.id}/tasks`)).status, 404);
      assert.equal((await call(admin, 'GET', '/v2/tasks/00000000-0000-0000-0000-000000000000')).status, 404);
      const page = await call(admin, 'GET', '/v2/tasks?limit=1&status=success');
      assert.equal((page.json.tasks as unknown[]).length, 1);
      assert.match(String(page.json.next), /^\/v2\/tasks\?limit=1&status=success&marker=/);
      assert.equal((await call(admin, 'GET', '/v2/tasks?status=bogus')).status, 400);
      for (const [method, url, allow] of [
        ['POST', '/v2/tasks', 'GET'],
        ['DELETE', `/v2/tasks/${imageTask.id}`, 'GET'],
        ['GET', `/v2/images/${image.id}/stage`, 'PUT'],
        ['GET', `/v2/images/${image.id}/import`, 'POST'],
      ]) {
        const r = await call(admin, method, url);
        assert.equal(r.status, 405, `${method} ${url}`);
        assert.equal(r.headers.get('allow'), allow);
      }
    });
  });

  describe('shutdown', () => {
    it('counts a running import among the uploads, and aborts it and waits until its image is queued again and its task failed', async () => {
      // A web server that sends part of the image and then nothing, until the test ends.
      let release!: () => void;
      const stalled = new Promise<void>((resolve) => {
        release = resolve;
      });
      const slow = createServer(async (_request, response) => {
        response.writeHead(200, { 'content-length': 8192 });
        response.write(Buffer.alloc(4096, 1));
        await stalled;
        response.end(Buffer.alloc(4096, 2));
      });
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      const port = (slow.address() as AddressInfo).port;
      const own = await startTestServer({
        uploads: { maxConcurrent: 1 },
        import: { webDownload: { allowedPorts: [port], internalHosts: [`127.0.0.1:${port}`] } },
      });
      try {
        const token = await own.token();
        const created = await apiCall(`${own.url}/image`, token, 'POST', '/v2/images', {
          disk_format: 'raw',
          container_format: 'bare',
        });
        const id = (created.json as { id: string }).id;
        const r = await apiCall(`${own.url}/image`, token, 'POST', `/v2/images/${id}/import`, {
          method: { name: 'web-download', uri: `http://127.0.0.1:${port}/image` },
        });
        assert.equal(r.status, 202);
        // The running import holds this process's only upload place.
        const other = await apiCall(`${own.url}/image`, token, 'POST', '/v2/images', {
          disk_format: 'raw',
          container_format: 'bare',
        });
        const busy = await apiCall(
          `${own.url}/image`,
          token,
          'PUT',
          `/v2/images/${(other.json as { id: string }).id}/file`,
          new Uint8Array(10),
          { 'content-type': 'application/octet-stream' },
        );
        assert.equal(busy.status, 503);
        assert.equal(busy.headers.get('x-imagetrust-error-code'), 'TOO_MANY_UPLOADS');
        await own.server.app.shutdown();
        const { catalog } = own.server.services;
        const admin = await own.server.services.identity.validateToken(token);
        const image = await catalog.getImage(admin, id);
        assert.equal(image.status, 'queued');
        const [task] = await catalog.listImageTasks(admin, id);
        assert.equal(task.status, 'failure');
        let keys = 0;
        for await (const _ of own.blobs.list()) keys++;
        assert.equal(keys, 0);
        assert.equal(await own.blobs.countTemporaries(), 0);
      } finally {
        release();
        await own.server.services.close();
        rmSync(own.dataDir, { recursive: true, force: true });
        slow.close();
      }
    });
  });

  describe('size filter', () => {
    it('lists images of exactly the size given, and refuses a size that is not a number', async () => {
      const image = await create(alice, { name: 'sized' });
      await call(alice, 'PUT', `/v2/images/${image.id}/file`, randomBytes(12_345), {
        'content-type': 'application/octet-stream',
      });
      const found = await call(alice, 'GET', '/v2/images?size=12345');
      assert.deepEqual(
        (found.json.images as { id: string }[]).map((i) => i.id),
        [image.id],
      );
      assert.deepEqual((await call(alice, 'GET', '/v2/images?size=12344')).json.images, []);
      for (const bad of ['abc', '-1', '1.5']) {
        assert.equal((await call(alice, 'GET', `/v2/images?size=${bad}`)).status, 400, bad);
      }
    });
  });
});

// The Glance v2 images API over a real socket: every status transition, every rejected input, and that
// nothing is left half-written after a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, runOk } from '../support/tools.ts';

const PATCH = 'application/openstack-images-v2.1-json-patch';

describe('images API', () => {
  let t: TestServer;
  let admin: string;
  let alice: string; // member of project alice-project
  let bob: string; // member of project bob-project
  let bobProject: string;
  let reader: string; // reader of alice-project

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
  const upload = (token: string, id: string, data: Uint8Array) =>
    call(token, 'PUT', `/v2/images/${id}/file`, data, { 'content-type': 'application/octet-stream' });
  const show = async (token: string, id: string) => (await call(token, 'GET', `/v2/images/${id}`)).json;
  const patch = (token: string, id: string, ops: unknown, type = PATCH) =>
    call(token, 'PATCH', `/v2/images/${id}`, ops, { 'content-type': type });
  const errorCode = (r: { headers: Headers }) => r.headers.get('x-imagetrust-error-code');
  // Temporaries neither committed nor discarded, as the blob store reports them: none once uploads end.
  const leftovers = () => t.blobs.countTemporaries();

  before(async () => {
    t = await startTestServer({ images: { sizeCap: 1024 * 1024 } });
    admin = await t.token();
    await t.addUser('alice', 'member');
    bobProject = (await t.addUser('bob', 'member')).projectId;
    const readerUser = await t.server.services.identity.createUser({
      name: 'rita',
      password: 'rita-password',
    });
    const aliceProject = await t.server.services.identity.resolveProject('alice-project');
    await t.server.services.identity.grantRole(readerUser.id, aliceProject.id, 'reader');
    alice = await t.token('alice', 'alice-password');
    bob = await t.token('bob', 'bob-password');
    reader = await t.token('rita', 'rita-password', 'alice-project');
  });
  after(async () => t?.stop());

  describe('discovery and schemas', () => {
    it('answers the unversioned root with 300 and /versions with 200, v2.16 current', async () => {
      const root = await fetch(`${t.url}/image/`);
      assert.equal(root.status, 300);
      const versions = await (await fetch(`${t.url}/image/versions`)).json();
      assert.equal(versions.versions[0].id, 'v2.16');
      assert.equal(versions.versions[0].status, 'CURRENT');
      assert.equal(versions.versions[0].links[0].href, `${t.url}/image/v2/`);
    });

    it('serves the image schema without stores', async () => {
      const r = await call(alice, 'GET', '/v2/schemas/image');
      assert.equal(r.status, 200);
      const properties = (r.json as { properties: Record<string, unknown> }).properties;
      assert.ok('os_hash_value' in properties);
      assert.ok(!('stores' in properties));
    });

    it('requires a valid token', async () => {
      assert.equal((await call(null, 'GET', '/v2/images')).status, 401);
      assert.equal((await call('not-a-token', 'GET', '/v2/images')).status, 401);
    });
  });

  describe('status transitions', () => {
    it('moves queued → saving → active while data streams in, with md5, sha512 and size', async () => {
      const image = await create(alice);
      assert.equal(image.status, 'queued');
      assert.equal(image.size, null);
      const data = randomBytes(300_000);
      // Send half, look, then send the rest.
      const url = new URL(`${t.url}/image/v2/images/${image.id}/file`);
      const done = new Promise<number>((resolve, reject) => {
        const req = httpRequest(url, {
          method: 'PUT',
          headers: {
            'x-auth-token': alice,
            'content-type': 'application/octet-stream',
            'content-length': data.length,
          },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.write(data.subarray(0, 150_000));
        setTimeout(async () => {
          try {
            assert.equal((await show(alice, image.id)).status, 'saving');
            req.end(data.subarray(150_000));
          } catch (error) {
            reject(error);
          }
        }, 300);
      });
      assert.equal(await done, 204);
      const active = await show(alice, image.id);
      assert.equal(active.status, 'active');
      assert.equal(active.size, data.length);
      assert.equal(active.virtual_size, data.length);
      assert.equal(active.checksum, createHash('md5').update(data).digest('hex'));
      assert.equal(active.os_hash_algo, 'sha512');
      assert.equal(active.os_hash_value, createHash('sha512').update(data).digest('hex'));
    });

    it('stores a large upload byte for byte: the download equals what was sent', async () => {
      const big = await startTestServer();
      try {
        const token = await big.token();
        const created = await fetch(`${big.url}/image/v2/images`, {
          method: 'POST',
          headers: { 'x-auth-token': token, 'content-type': 'application/json' },
          body: JSON.stringify({ disk_format: 'raw', container_format: 'bare' }),
        });
        const { id } = (await created.json()) as { id: string };
        const data = randomBytes(48 * 1024 * 1024 + 11);
        const up = await fetch(`${big.url}/image/v2/images/${id}/file`, {
          method: 'PUT',
          headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
          body: new Uint8Array(data),
        });
        assert.equal(up.status, 204);
        const down = Buffer.from(
          await (
            await fetch(`${big.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token } })
          ).arrayBuffer(),
        );
        assert.ok(down.equals(data), 'downloaded bytes differ from the upload');
        // A range across several of the store's read blocks, starting off a block boundary.
        const [from, to] = [(1 << 20) - 3, 5 * (1 << 20) + 7];
        const ranged = await fetch(`${big.url}/image/v2/images/${id}/file`, {
          headers: { 'x-auth-token': token, range: `bytes=${from}-${to}` },
        });
        assert.equal(ranged.status, 206);
        assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(from, to + 1)));
        // A client that leaves mid-download: the server stops reading and closes the blob file.
        const openFiles = () => readdirSync('/proc/self/fd').length;
        const before = openFiles();
        await new Promise<void>((resolve, reject) => {
          const request = httpGet(`${big.url}/image/v2/images/${id}/file`, {
            headers: { 'x-auth-token': token },
          });
          request.on('response', (response) => {
            response.once('data', () => {
              request.destroy();
              resolve();
            });
          });
          request.on('error', (error) => {
            if (!request.destroyed) reject(error);
          });
        });
        for (let i = 0; i < 200 && openFiles() > before; i++) await sleep(25);
        // Not more than before: other descriptors of this process (an idle keep-alive socket) may close meanwhile.
        assert.ok(openFiles() <= before, 'the abandoned download left a file or socket open');
        const again = await fetch(`${big.url}/image/v2/images/${id}/file`, {
          headers: { 'x-auth-token': token },
        });
        assert.ok(Buffer.from(await again.arrayBuffer()).equals(data), 'the next download is whole');
      } finally {
        await big.stop();
      }
    });

    it('refuses a second upload to an active image with 409', async () => {
      const image = await create(alice);
      assert.equal((await upload(alice, image.id, randomBytes(10))).status, 204);
      const again = await upload(alice, image.id, randomBytes(10));
      assert.equal(again.status, 409);
      assert.equal(errorCode(again), 'INVALID_STATUS_TRANSITION');
    });

    it('refuses data before disk_format and container_format are set, and leaves the image queued', async () => {
      const r = await call(alice, 'POST', '/v2/images', { name: 'no-formats' });
      const id = (r.json as { id: string }).id;
      const up = await upload(alice, id, randomBytes(10));
      assert.equal(up.status, 400);
      assert.equal(errorCode(up), 'FORMATS_NOT_SET');
      assert.equal((await show(alice, id)).status, 'queued');
    });

    it('deactivates and reactivates an active image; only admins download a deactivated one', async () => {
      const image = await create(alice);
      await upload(alice, image.id, randomBytes(64));
      assert.equal((await call(alice, 'POST', `/v2/images/${image.id}/actions/deactivate`)).status, 204);
      assert.equal((await show(alice, image.id)).status, 'deactivated');
      const denied = await call(alice, 'GET', `/v2/images/${image.id}/file`);
      assert.equal(denied.status, 403);
      assert.equal((await call(admin, 'GET', `/v2/images/${image.id}/file`)).status, 200);
      assert.equal(
        (await call(alice, 'POST', `/v2/images/${image.id}/actions/deactivate`)).status,
        204,
        'idempotent',
      );
      assert.equal((await call(alice, 'POST', `/v2/images/${image.id}/actions/reactivate`)).status, 204);
      assert.equal((await show(alice, image.id)).status, 'active');
    });

    it('refuses to deactivate a queued image', async () => {
      const image = await create(alice);
      const r = await call(alice, 'POST', `/v2/images/${image.id}/actions/deactivate`);
      assert.equal(r.status, 403);
    });

    it('deletes an image (queued or active) and then answers 404', async () => {
      const queued = await create(alice);
      const active = await create(alice);
      await upload(alice, active.id, randomBytes(32));
      for (const id of [queued.id, active.id]) {
        assert.equal((await call(alice, 'DELETE', `/v2/images/${id}`)).status, 204);
        assert.equal((await call(alice, 'GET', `/v2/images/${id}`)).status, 404);
        assert.equal((await call(alice, 'DELETE', `/v2/images/${id}`)).status, 404);
      }
      await assert.rejects(t.blobs.read(active.id), { code: 'NOT_FOUND' }, 'data is removed');
    });

    it('refuses to delete a protected image until it is unprotected', async () => {
      const image = await create(alice, { protected: true });
      const r = await call(alice, 'DELETE', `/v2/images/${image.id}`);
      assert.equal(r.status, 403);
      assert.equal(errorCode(r), 'IMAGE_PROTECTED');
      assert.equal(
        (await patch(alice, image.id, [{ op: 'replace', path: '/protected', value: false }])).status,
        200,
      );
      assert.equal((await call(alice, 'DELETE', `/v2/images/${image.id}`)).status, 204);
    });

    it('only lets formats change while queued', async () => {
      const image = await create(alice);
      assert.equal(
        (await patch(alice, image.id, [{ op: 'replace', path: '/disk_format', value: 'qcow2' }])).status,
        200,
      );
      await upload(alice, image.id, randomBytes(8));
      const r = await patch(alice, image.id, [{ op: 'replace', path: '/disk_format', value: 'raw' }]);
      assert.equal(r.status, 403);
    });
  });

  describe('failed uploads leave nothing behind', () => {
    it('puts a truncated upload back to queued and deletes the partial data', async () => {
      const image = await create(alice);
      await new Promise<void>((resolve) => {
        const req = httpRequest(new URL(`${t.url}/image/v2/images/${image.id}/file`), {
          method: 'PUT',
          headers: {
            'x-auth-token': alice,
            'content-type': 'application/octet-stream',
            'content-length': 100_000,
          },
        });
        req.on('error', () => resolve());
        req.on('response', () => resolve());
        req.write(randomBytes(40_000), () => setTimeout(() => req.destroy(), 100));
      });
      // The server notices the disconnect asynchronously.
      for (let i = 0; i < 50 && (await show(alice, image.id)).status !== 'queued'; i++) await sleep(50);
      const after = await show(alice, image.id);
      assert.equal(after.status, 'queued');
      assert.equal(after.size, null);
      assert.equal(after.checksum, null);
      assert.equal(await leftovers(), 0);
      assert.equal(
        (await upload(alice, image.id, randomBytes(5))).status,
        204,
        'the image can be uploaded again',
      );
    });

    it('refuses an upload over image_size_cap with 413, declared or streamed', async () => {
      const declared = await create(alice);
      const r = await upload(alice, declared.id, randomBytes(1024 * 1024 + 1));
      assert.equal(r.status, 413);
      assert.equal(errorCode(r), 'IMAGE_TOO_LARGE');
      assert.equal((await show(alice, declared.id)).status, 'queued');

      const streamed = await create(alice);
      const chunked = await fetch(`${t.url}/image/v2/images/${streamed.id}/file`, {
        method: 'PUT',
        headers: { 'x-auth-token': alice, 'content-type': 'application/octet-stream' },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 20; i++) controller.enqueue(randomBytes(64 * 1024));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      assert.equal(chunked.status, 413);
      const state = await show(alice, streamed.id);
      assert.equal(state.status, 'queued');
      assert.equal(state.size, null);
      assert.equal(await leftovers(), 0);
    });

    it('answers a full disk with 413, requeues the image and removes the partial data', async () => {
      const mountPoint = mkdtempSync(path.join(tmpdir(), 'imagetrust-full-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mountPoint]);
      const full = await startTestServer({ blobs: { dir: mountPoint } });
      try {
        const token = await full.token();
        const created = await fetch(`${full.url}/image/v2/images`, {
          method: 'POST',
          headers: { 'x-auth-token': token, 'content-type': 'application/json' },
          body: JSON.stringify({ disk_format: 'raw', container_format: 'bare' }),
        });
        const { id } = (await created.json()) as { id: string };
        const r = await fetch(`${full.url}/image/v2/images/${id}/file`, {
          method: 'PUT',
          headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
          body: randomBytes(2 * 1024 * 1024),
        });
        assert.equal(r.status, 413);
        assert.equal(r.headers.get('x-imagetrust-error-code'), 'STORAGE_FULL');
        const image = (await (
          await fetch(`${full.url}/image/v2/images/${id}`, { headers: { 'x-auth-token': token } })
        ).json()) as {
          status: string;
        };
        assert.equal(image.status, 'queued');
        assert.equal(await full.blobs.countTemporaries(), 0);
      } finally {
        await full.stop();
        execFileSync('umount', [mountPoint]);
        rmSync(mountPoint, { recursive: true, force: true });
      }
    });

    it('accepts a curl upload that waits for 100-continue, and reads virtual_size from a real qcow2', async () => {
      requireTool('qemu-img', 'qemu-utils');
      requireTool('curl', 'curl');
      const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-qcow2-'));
      try {
        const file = path.join(dir, 'disk.qcow2');
        execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '5G']);
        const image = await create(alice, { disk_format: 'qcow2' });
        // Async: the server runs in this process, so a blocking call would deadlock it.
        const out = await runOk('curl', [
          '-sS',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-T',
          file,
          '-X',
          'PUT',
          '-H',
          'Expect: 100-continue',
          '-H',
          'Content-Type: application/octet-stream',
          '-H',
          `X-Auth-Token: ${alice}`,
          `${t.url}/image/v2/images/${image.id}/file`,
        ]);
        assert.equal(out, '204');
        const shown = await show(alice, image.id);
        assert.equal(shown.virtual_size, 5 * 1024 ** 3);
        assert.equal(shown.size, readFileSync(file).length);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('accepts an empty upload as a zero-byte image', async () => {
      const image = await create(alice);
      assert.equal((await upload(alice, image.id, new Uint8Array(0))).status, 204);
      const shown = await show(alice, image.id);
      assert.equal(shown.size, 0);
      assert.equal(shown.checksum, createHash('md5').digest('hex'));
    });

    it('aborts in-flight uploads on shutdown and leaves the image queued', async () => {
      const other = await startTestServer();
      const token = await other.token();
      const r = await fetch(`${other.url}/image/v2/images`, {
        method: 'POST',
        headers: { 'x-auth-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ disk_format: 'raw', container_format: 'bare' }),
      });
      const { id } = (await r.json()) as { id: string };
      const req = httpRequest(new URL(`${other.url}/image/v2/images/${id}/file`), {
        method: 'PUT',
        headers: {
          'x-auth-token': token,
          'content-type': 'application/octet-stream',
          'content-length': 10_000_000,
        },
      });
      req.on('error', () => undefined);
      req.write(randomBytes(100_000));
      await sleep(200);
      const { catalog, identity } = other.server.services;
      const credentials = await identity.validateToken(token);
      assert.equal((await catalog.getImage(credentials, id)).status, 'saving');
      // Stop the HTTP side only, then look at the record through a second handle on the same data dir.
      await other.server.app.shutdown();
      const image = await catalog.getImage(credentials, id);
      assert.equal(image.status, 'queued');
      assert.equal(await other.blobs.countTemporaries(), 0);
      await other.server.services.close();
    });
  });

  describe('rejected input', () => {
    it('answers malformed JSON with 400 in Glance JSON error form', async () => {
      const r = await call(alice, 'POST', '/v2/images', '{"name": ', { 'content-type': 'application/json' });
      assert.equal(r.status, 400);
      assert.equal(errorCode(r), 'MALFORMED_JSON');
      assert.equal(r.json.code, '400 Bad Request');
      assert.equal(r.json.title, 'Bad Request');
    });

    it('answers a non-object body with 400', async () => {
      const r = await call(alice, 'POST', '/v2/images', []);
      assert.equal(r.status, 400);
    });

    for (const key of [
      'status',
      'checksum',
      'size',
      'os_hash_value',
      'created_at',
      'self',
      'file',
      'schema',
      'stores',
      'direct_url',
    ]) {
      it(`refuses the read-only attribute ${key} on create with 403`, async () => {
        // A value the schema accepts: Glance validates the schema before it looks for read-only keys.
        const value = key === 'size' ? 1 : key === 'status' ? 'active' : 'x';
        const r = await call(alice, 'POST', '/v2/images', { [key]: value });
        assert.equal(r.status, 403);
        assert.equal(errorCode(r), 'READ_ONLY_ATTRIBUTE');
      });
    }

    for (const key of ['location', 'deleted', 'deleted_at', 'os_glance_importing_to_stores']) {
      it(`refuses the reserved attribute ${key} with 403`, async () => {
        const r = await call(alice, 'POST', '/v2/images', { [key]: 'x' });
        assert.equal(r.status, 403);
        assert.equal(errorCode(r), 'RESERVED_ATTRIBUTE');
      });
    }

    it('refuses invalid disk and container formats, non-string properties and long keys with 400', async () => {
      for (const body of [
        { disk_format: 'floppy' },
        { container_format: 'zip' },
        { visibility: 'everyone' },
        { min_ram: -1 },
        { min_disk: 'big' },
        { protected: 'yes' },
        { custom: 5 },
        { ['k'.repeat(256)]: 'v' },
        { name: 'n'.repeat(256) },
        { id: 'not-a-uuid' },
        { tags: ['t'.repeat(256)] },
      ]) {
        const r = await call(alice, 'POST', '/v2/images', body);
        assert.equal(r.status, 400, JSON.stringify(body).slice(0, 60));
      }
      const listed = await call(alice, 'GET', '/v2/images?limit=1000');
      assert.ok(!(listed.json.images as { name: string }[]).some((i) => i.name === 'n'.repeat(256)));
    });

    it('refuses a duplicate image id with 409', async () => {
      const id = '1d0c2a4e-7f33-4c43-9b2f-0d7c5a1e9b11';
      await create(alice, { id });
      const r = await call(alice, 'POST', '/v2/images', { id });
      assert.equal(r.status, 409);
    });

    it('refuses bad JSON patches with 400 and keeps the image unchanged', async () => {
      const image = await create(alice, { name: 'patch-me' });
      for (const ops of [
        { op: 'add', path: '/name', value: 'x' },
        [{ op: 'move', path: '/name', value: 'x' }],
        [{ op: 'add', value: 'x' }],
        [{ op: 'add', path: 'name', value: 'x' }],
        [{ op: 'add', path: '/a/b', value: 'x' }],
        [{ op: 'add', path: '/tags/-', value: 'x' }],
        [{ op: 'add', path: '/name' }],
        ['add'],
        [{ op: 'add', path: '/min_ram', value: 'lots' }],
      ]) {
        const r = await patch(alice, image.id, ops);
        assert.equal(r.status, 400, JSON.stringify(ops));
      }
      assert.equal((await show(alice, image.id)).name, 'patch-me');
    });

    it('answers replace or remove of a missing property with 409, and removing a base attribute with 403', async () => {
      const image = await create(alice);
      assert.equal(
        (await patch(alice, image.id, [{ op: 'replace', path: '/nope', value: 'x' }])).status,
        409,
      );
      assert.equal((await patch(alice, image.id, [{ op: 'remove', path: '/nope' }])).status, 409);
      assert.equal((await patch(alice, image.id, [{ op: 'remove', path: '/name' }])).status, 403);
      assert.equal(
        (await patch(alice, image.id, [{ op: 'add', path: '/status', value: 'active' }])).status,
        403,
      );
    });

    it('applies add, replace and remove; add on an existing key replaces and /tags replaces the set', async () => {
      const image = await create(alice, { a: '1', tags: ['old'] });
      const r = await patch(alice, image.id, [
        { op: 'add', path: '/a', value: '2' },
        { op: 'add', path: '/b', value: 'x' },
        { op: 'replace', path: '/b', value: 'y' },
        { op: 'add', path: '/tags', value: ['new', 'new'] },
        { op: 'add', path: '/min_ram', value: 512 },
      ]);
      assert.equal(r.status, 200);
      assert.equal(r.json.a, '2');
      assert.equal(r.json.b, 'y');
      assert.deepEqual(r.json.tags, ['new']);
      assert.equal(r.json.min_ram, 512);
      const removed = await patch(alice, image.id, [{ op: 'remove', path: '/b' }]);
      assert.ok(!('b' in removed.json));
      // The v2.0 dialect is still accepted.
      const old = await patch(
        alice,
        image.id,
        [{ replace: '/a', value: '3' }],
        'application/openstack-images-v2.0-json-patch',
      );
      assert.equal(old.json.a, '3');
    });

    it('answers PATCH with another content type with 415 and Accept-Patch', async () => {
      const image = await create(alice);
      const r = await patch(alice, image.id, [], 'application/json');
      assert.equal(r.status, 415);
      assert.match(r.headers.get('accept-patch') ?? '', /openstack-images-v2.1-json-patch/);
    });

    it('reads a JSON body whatever its Content-Type, as Glance 25.1 does, within the same limits', async () => {
      const body = JSON.stringify({ name: 'typed', disk_format: 'raw', container_format: 'bare' });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
        const r = await call(alice, 'POST', '/v2/images', body, { 'content-type': type });
        assert.equal(r.status, 201, `${type}: ${r.text}`);
        assert.equal(r.json.name, 'typed');
      }
      // fetch sends a string body as text/plain when no type is given.
      const untyped = await fetch(`${t.url}/image/v2/images`, {
        method: 'POST',
        headers: { 'x-auth-token': alice },
        body,
      });
      assert.equal(untyped.status, 201);
      const image = await create(alice);
      const member = await call(
        alice,
        'POST',
        `/v2/images/${image.id}/members`,
        JSON.stringify({ member: bobProject }),
        {
          'content-type': 'text/plain',
        },
      );
      assert.equal(member.status, 200, member.text);
      assert.equal(member.json.member_id, bobProject);
      const form = await call(alice, 'POST', '/v2/images', 'name=x', { 'content-type': 'text/plain' });
      assert.equal(form.status, 400);
      assert.match(form.text, /Malformed JSON in request body/);
      const huge = JSON.stringify({ name: 'x', description: 'd'.repeat(2 << 20) });
      const tooBig = await call(alice, 'POST', '/v2/images', huge, { 'content-type': 'text/plain' });
      assert.equal(tooBig.status, 400);
      // Chunked, so no Content-Length warns ahead: the limit is met while reading, and the
      // connection still serves the next request.
      const chunked = await fetch(`${t.url}/image/v2/images`, {
        method: 'POST',
        headers: { 'x-auth-token': alice, 'content-type': 'text/plain' },
        body: new Blob([huge]).stream(),
        duplex: 'half',
      } as RequestInit);
      assert.equal(chunked.status, 400);
      await chunked.arrayBuffer();
      assert.equal(
        (await call(alice, 'POST', '/v2/images', body, { 'content-type': 'text/plain' })).status,
        201,
      );
      const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
      assert.equal(
        (await call(alice, 'POST', '/v2/images', deep, { 'content-type': 'text/plain' })).status,
        400,
      );
    });

    it('answers an upload with another content type with 415', async () => {
      const image = await create(alice);
      const r = await call(alice, 'PUT', `/v2/images/${image.id}/file`, 'data', {
        'content-type': 'text/plain',
      });
      assert.equal(r.status, 415);
      assert.equal((await show(alice, image.id)).status, 'queued');
    });

    it('refuses too many properties and tags with 413', async () => {
      const many = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`p${i}`, 'v']));
      assert.equal((await call(alice, 'POST', '/v2/images', many)).status, 413);
      const tags = Array.from({ length: 129 }, (_, i) => `t${i}`);
      assert.equal((await call(alice, 'POST', '/v2/images', { tags })).status, 413);
    });
  });

  describe('visibility and ownership', () => {
    it("hides another project's private image: 404 on get, patch, upload, download and delete", async () => {
      const image = await create(alice, { visibility: 'private' });
      for (const [method, url, body, type] of [
        ['GET', `/v2/images/${image.id}`],
        ['PATCH', `/v2/images/${image.id}`, [], PATCH],
        ['PUT', `/v2/images/${image.id}/file`, 'x', 'application/octet-stream'],
        ['GET', `/v2/images/${image.id}/file`],
        ['DELETE', `/v2/images/${image.id}`],
      ] as [string, string, unknown?, string?][]) {
        const r = await call(bob, method, url, body, type ? { 'content-type': type } : {});
        assert.equal(r.status, 404, `${method} ${url}`);
      }
      assert.equal((await show(alice, image.id)).status, 'queued');
      const list = await call(bob, 'GET', '/v2/images?limit=1000');
      assert.ok(!(list.json.images as { id: string }[]).some((i) => i.id === image.id));
    });

    it('publishes only through a release, even for admins; members may create community images', async () => {
      const r = await call(alice, 'POST', '/v2/images', { visibility: 'public' });
      assert.equal(r.status, 403);
      assert.equal((await call(alice, 'POST', '/v2/images', { visibility: 'community' })).status, 201);
      const byAdmin = await call(admin, 'POST', '/v2/images', { visibility: 'public' });
      assert.equal(byAdmin.status, 403);
      assert.equal(byAdmin.headers.get('x-imagetrust-error-code'), 'RELEASE_REQUIRED');
      assert.match(byAdmin.text, /only through an approved release/);
      const image = await create(alice);
      assert.equal(
        (await patch(alice, image.id, [{ op: 'replace', path: '/visibility', value: 'public' }])).status,
        403,
      );
    });

    it('refuses to create an image owned by another project, and to change the owner', async () => {
      assert.equal((await call(alice, 'POST', '/v2/images', { owner: bobProject })).status, 403);
      const image = await create(alice);
      assert.equal(
        (await patch(alice, image.id, [{ op: 'replace', path: '/owner', value: bobProject }])).status,
        403,
      );
    });

    it('lets a reader see but not create, change or upload', async () => {
      const image = await create(alice);
      assert.equal((await call(reader, 'GET', `/v2/images/${image.id}`)).status, 200);
      assert.equal((await call(reader, 'POST', '/v2/images', {})).status, 403);
      assert.equal((await patch(reader, image.id, [{ op: 'add', path: '/x', value: 'y' }])).status, 403);
      assert.equal((await upload(reader, image.id, randomBytes(4))).status, 403);
      assert.equal((await call(reader, 'DELETE', `/v2/images/${image.id}`)).status, 403);
    });

    it('shares an image: pending members can get it, only accepted ones list it, only the member decides', async () => {
      const image = await create(alice, { name: 'shared-one' });
      const added = await call(alice, 'POST', `/v2/images/${image.id}/members`, { member: bobProject });
      assert.equal(added.status, 200);
      assert.equal(added.json.status, 'pending');
      assert.equal(
        (await call(alice, 'POST', `/v2/images/${image.id}/members`, { member: bobProject })).status,
        409,
      );
      assert.equal(
        (await call(bob, 'GET', `/v2/images/${image.id}`)).status,
        200,
        'a pending member can get it',
      );
      const ids = async (query = '') =>
        ((await call(bob, 'GET', `/v2/images?limit=1000${query}`)).json.images as { id: string }[]).map(
          (i) => i.id,
        );
      assert.ok(!(await ids()).includes(image.id));
      assert.ok((await ids('&member_status=pending')).includes(image.id));
      assert.equal(
        (await call(alice, 'PUT', `/v2/images/${image.id}/members/${bobProject}`, { status: 'accepted' }))
          .status,
        403,
        'the owner cannot accept for the member',
      );
      assert.equal(
        (await call(bob, 'PUT', `/v2/images/${image.id}/members/${bobProject}`, { status: 'maybe' })).status,
        400,
      );
      assert.equal(
        (await call(bob, 'PUT', `/v2/images/${image.id}/members/${bobProject}`, { status: 'accepted' }))
          .status,
        200,
      );
      assert.ok((await ids()).includes(image.id));
      assert.equal((await call(bob, 'DELETE', `/v2/images/${image.id}/members/${bobProject}`)).status, 403);
      assert.equal((await call(alice, 'DELETE', `/v2/images/${image.id}/members/${bobProject}`)).status, 204);
      assert.equal((await call(bob, 'GET', `/v2/images/${image.id}`)).status, 404);
    });

    it('refuses members on a private image', async () => {
      const image = await create(alice, { visibility: 'private' });
      assert.equal(
        (await call(alice, 'POST', `/v2/images/${image.id}/members`, { member: bobProject })).status,
        403,
      );
    });
  });

  describe('listing', () => {
    it('pages with limit and marker through next links, without repeats or gaps', async () => {
      const names = ['pg-c', 'pg-a', 'pg-e', 'pg-b', 'pg-d'];
      for (const name of names) await create(bob, { name, tags: ['paging'] });
      const seen: string[] = [];
      let url: string | undefined = '/v2/images?tag=paging&limit=2&sort_key=name&sort_dir=asc';
      let pages = 0;
      while (url) {
        const r = await call(bob, 'GET', url);
        assert.equal(r.status, 200);
        seen.push(...(r.json.images as { name: string }[]).map((i) => i.name));
        url = r.json.next as string | undefined;
        assert.ok(!url || url.startsWith('/v2/images?'));
        pages++;
      }
      assert.deepEqual(seen, [...names].sort());
      assert.equal(pages, 3);
    });

    it('filters by name, status, tag, property, visibility and os_hidden', async () => {
      const hidden = await create(bob, { name: 'hidden-one', os_hidden: true, flavor: 'x' });
      await create(bob, { name: 'plain-one', flavor: 'x' });
      const names = async (query: string) =>
        ((await call(bob, 'GET', `/v2/images?${query}`)).json.images as { name: string }[])
          .map((i) => i.name)
          .sort();
      assert.deepEqual(await names('flavor=x'), ['plain-one']);
      assert.deepEqual(await names('flavor=x&os_hidden=true'), ['hidden-one']);
      assert.deepEqual(await names('name=in:plain-one,hidden-one'), ['plain-one']);
      assert.deepEqual(await names('name=plain-one&status=active'), []);
      assert.deepEqual(await names('name=plain-one&visibility=private'), []);
      assert.ok((await names('visibility=shared')).includes('plain-one'));
      assert.equal((await show(bob, hidden.id)).os_hidden, true);
    });

    it('refuses bad list parameters with 400', async () => {
      for (const query of [
        'limit=-1',
        'limit=abc',
        'sort_key=color',
        'sort_dir=sideways',
        'sort=name:asc&sort_key=name',
        'visibility=everyone',
        'member_status=maybe',
        'os_hidden=perhaps',
        'size_min=big',
        'marker=00000000-0000-0000-0000-000000000000',
        'created_at=gt:yesterday',
        'name=like:x',
      ]) {
        assert.equal((await call(bob, 'GET', `/v2/images?${query}`)).status, 400, query);
      }
    });
  });

  describe('downloads', () => {
    it('serves the data with Content-MD5, byte ranges with 206, and 204 for an image without data', async () => {
      const data = randomBytes(1000);
      const image = await create(alice);
      const queued = await call(alice, 'GET', `/v2/images/${image.id}/file`);
      assert.equal(queued.status, 204);
      await upload(alice, image.id, data);
      const whole = await fetch(`${t.url}/image/v2/images/${image.id}/file`, {
        headers: { 'x-auth-token': alice },
      });
      assert.equal(whole.status, 200);
      assert.equal(whole.headers.get('content-md5'), createHash('md5').update(data).digest('hex'));
      assert.deepEqual(Buffer.from(await whole.arrayBuffer()), data);
      const part = await fetch(`${t.url}/image/v2/images/${image.id}/file`, {
        headers: { 'x-auth-token': alice, range: 'bytes=10-19' },
      });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), 'bytes 10-19/1000');
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), data.subarray(10, 20));
      const tail = await fetch(`${t.url}/image/v2/images/${image.id}/file`, {
        headers: { 'x-auth-token': alice, range: 'bytes=-5' },
      });
      assert.deepEqual(Buffer.from(await tail.arrayBuffer()), data.subarray(995));
      const beyond = await call(alice, 'GET', `/v2/images/${image.id}/file`, undefined, {
        range: 'bytes=1000-',
      });
      assert.equal(beyond.status, 416);
      const multi = await call(alice, 'GET', `/v2/images/${image.id}/file`, undefined, {
        range: 'bytes=0-1,5-6',
      });
      assert.equal(multi.status, 400);
      const head = await call(alice, 'HEAD', `/v2/images/${image.id}/file`);
      assert.equal(head.status, 405);
      assert.equal(head.headers.get('allow'), 'GET, PUT');
    });

    it('reads Range as webob does and honours a legacy request Content-Range as Glance does', async () => {
      // Each case as real Glance 25.1 answered it for a 10-byte image "0123456789".
      const image = await create(alice);
      await upload(alice, image.id, Buffer.from('0123456789'));
      const get = async (headers: Record<string, string>) => {
        const r = await fetch(`${t.url}/image/v2/images/${image.id}/file`, {
          headers: { 'x-auth-token': alice, ...headers },
        });
        return { status: r.status, range: r.headers.get('content-range'), body: await r.text() };
      };
      const partial = (range: string, body: string) => ({ status: 206, range, body });
      const cases: [Record<string, string>, { status: number; range?: string; body?: string }][] = [
        [{ range: 'bytes=0-5x' }, partial('bytes 0-5/10', '012345')],
        [{ range: 'BYTES=2-4' }, partial('bytes 2-4/10', '234')],
        [{ range: 'bytes = 1 - 3' }, partial('bytes 1-3/10', '123')],
        [{ range: 'bytes=-0' }, partial('bytes 0-9/10', '0123456789')],
        [{ range: 'bytes=-20' }, partial('bytes 0-9/10', '0123456789')],
        [{ range: 'bytes=3-20' }, partial('bytes 3-9/10', '3456789')],
        [{ range: 'bytes=\t1-3' }, { status: 416 }],
        [{ range: 'xbytes=1-3' }, { status: 416 }],
        [{ range: 'bytes=5-3' }, { status: 416 }],
        [{ range: 'bytes=-' }, { status: 416 }],
        [{ 'content-range': 'bytes 0-9/*' }, partial('bytes 0-9/10', '0123456789')],
        [{ 'content-range': 'bytes 2-4/*xyz' }, partial('bytes 2-4/10', '234')],
        [{ 'content-range': 'bytes 2-4/5' }, partial('bytes 2-4/10', '234')],
        [{ 'content-range': 'bytes 0-10/*' }, { status: 416 }],
        [{ 'content-range': 'bytes 10-12/20' }, { status: 416 }],
        [{ 'content-range': 'BYTES 2-4/*' }, { status: 416 }],
        [{ 'content-range': 'bytes 4-2/*' }, { status: 416 }],
        [{ 'content-range': 'bytes 2-4/3' }, { status: 416 }],
        [{ 'content-range': 'bytes */*' }, { status: 416 }],
        // Range wins over Content-Range.
        [{ range: 'bytes=1-2', 'content-range': 'bytes 4-6/*' }, partial('bytes 1-2/10', '12')],
      ];
      for (const [headers, expected] of cases) {
        const r = await get(headers);
        const label = JSON.stringify(headers);
        assert.equal(r.status, expected.status, label);
        if (expected.range) assert.equal(r.range, expected.range, label);
        if (expected.body) assert.equal(r.body, expected.body, label);
      }
      // Glance announces 13 bytes here and sends 8; the answer stops at the image's end instead.
      assert.deepEqual(await get({ 'content-range': 'bytes 2-14/20' }), partial('bytes 2-9/10', '23456789'));
    });
  });

  describe('error representations', () => {
    it('renders webob plain text without Accept and HTML for */*', async () => {
      // fetch always sends Accept: */*, so use a bare request to send none.
      const plain = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const req = httpRequest(new URL(`${t.url}/image/v2/images/00000000-0000-0000-0000-000000000000`), {
          headers: { 'x-auth-token': alice },
        });
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c) => (body += c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }),
          );
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(plain.status, 404);
      assert.match(plain.type, /text\/plain/);
      assert.match(plain.body, /^404 Not Found\n\nNo image found with ID/);
      const html = await fetch(`${t.url}/image/v2/images/00000000-0000-0000-0000-000000000000`, {
        headers: { 'x-auth-token': alice, accept: '*/*' },
      });
      assert.match(await html.text(), /<h1>404 Not Found<\/h1>/);
    });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

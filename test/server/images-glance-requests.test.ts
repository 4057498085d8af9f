// Request bodies and list queries read as Glance 25.1 reads them: JSON-patch pointers and dialects,
// locations while they are invisible, the order of create's checks, list filters and sorting, and the
// optional properties of the image schema. Expected statuses and texts were taken from the real Glance.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApiResponse, apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const V21 = 'application/openstack-images-v2.1-json-patch';
const V20 = 'application/openstack-images-v2.0-json-patch';
const UUID_PATTERN =
  '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';
const STATUSES =
  "['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated']";

/** webob's JSON error message: the text alone, or under the status's explanation when it is a detail. */
const explanation = (text: string) => `${text}<br /><br />\n\n\n`;
const detail = (status: 403 | 409, text: string) =>
  `${status === 403 ? 'Access was denied to this resource.' : 'There was a conflict when trying to complete your request.'}<br /><br />\n${text}\n\n`;
const schema = (reason: string) => explanation(`Provided object does not match schema 'image': ${reason}`);

describe("Glance's reading of image requests", () => {
  let t: TestServer;
  let alice: string;

  const call = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    apiCall(`${t.url}/image`, alice, method, url, body, headers);
  const create = async (body: Record<string, unknown> = {}) => {
    const r = await call('POST', '/v2/images', body);
    assert.equal(r.status, 201, r.text);
    return r.json as Record<string, unknown> & { id: string };
  };
  const patch = (id: string, ops: unknown, type = V21) =>
    call('PATCH', `/v2/images/${id}`, ops, { 'content-type': type });
  const expect = (r: ApiResponse, status: number, message: string) => {
    assert.equal(r.status, status, r.text);
    assert.equal(r.json.message, message);
  };

  before(async () => {
    t = await startTestServer();
    await t.addUser('alice', 'member');
    alice = await t.token('alice', 'alice-password');
  });
  after(async () => t?.stop());

  describe('JSON-patch pointers and dialects', () => {
    it('trims whitespace around each pointer segment, as _decode_json_pointer does', async () => {
      const image = await create({ name: 'before', foo: 'bar' });
      const renamed = await patch(image.id, [{ op: 'replace', path: '/name ', value: 'renamed' }]);
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.json.name, 'renamed');
      const padded = await patch(image.id, [{ op: 'add', path: '/ foo', value: 'x' }]);
      assert.equal(padded.json.foo, 'x');
      expect(
        await patch(image.id, [{ op: 'add', path: '/status ', value: 'active' }]),
        403,
        explanation("Attribute 'status' is read-only."),
      );
      expect(
        await patch(image.id, [{ op: 'add', path: '/ id', value: 'x' }]),
        403,
        explanation("Attribute 'id' is read-only."),
      );
    });

    it("checks pointers with Glance's rules and texts", async () => {
      const image = await create();
      expect(
        await patch(image.id, [{ op: 'add', path: '/a/ /b', value: 'y' }]),
        400,
        explanation('Pointer `/a/ /b` contains adjacent "/".'),
      );
      expect(
        await patch(image.id, [{ op: 'add', path: '/ / ', value: 'y' }]),
        400,
        explanation('Pointer `/ / ` does not contains valid token.'),
      );
      expect(
        await patch(image.id, [{ op: 'add', path: '/a~1b /c ', value: 'y' }]),
        400,
        explanation("Invalid JSON pointer for this resource: '/a/b/c'"),
      );
      // Glance strips every leading slash, and "//" is not adjacent within pointer[1:].
      const doubled = await patch(image.id, [{ op: 'add', path: '//dbl', value: 'y' }]);
      assert.equal(doubled.json.dbl, 'y');
    });

    it('refuses to add an attribute or property already present with the v2.0 media type', async () => {
      const image = await create({ name: 'n', foo: 'bar' });
      expect(
        await patch(image.id, [{ add: '/foo', value: 'y' }], V20),
        409,
        detail(409, 'Property foo already present.'),
      );
      expect(
        await patch(image.id, [{ add: '/name', value: 'y' }], V20),
        409,
        detail(409, 'Property name already present.'),
      );
      // Before the domain's own check on the value.
      expect(
        await patch(image.id, [{ add: '/min_ram', value: -1 }], V20),
        409,
        detail(409, 'Property min_ram already present.'),
      );
      const added = await patch(image.id, [{ add: '/newp', value: 'y' }], V20);
      assert.equal(added.status, 200, added.text);
      assert.equal(added.json.newp, 'y');
      const replaced = await patch(image.id, [{ op: 'add', path: '/foo', value: 'z' }]);
      assert.equal(replaced.json.foo, 'z', 'v2.1 add replaces');
    });

    it("reads each body in its media type's dialect only", async () => {
      const image = await create();
      expect(
        await patch(image.id, [{ add: '/name', value: 'y' }], V21),
        400,
        explanation(
          'Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.',
        ),
      );
      const exactlyOne = explanation(
        'Operation objects must contain exactly one member named "add", "remove", or "replace".',
      );
      expect(await patch(image.id, [{ op: 'add', path: '/name', value: 'y' }], V20), 400, exactlyOne);
      expect(await patch(image.id, [{ value: 'y' }], V20), 400, exactlyOne);
      expect(
        await patch(image.id, [{ add: '/a', remove: '/b', value: 'y' }], V20),
        400,
        explanation('Operation objects must contain only one member named "add", "remove", or "replace".'),
      );
      expect(
        await patch(image.id, [{ op: null, path: '/x', value: 'y' }]),
        400,
        explanation(
          'Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.',
        ),
      );
      expect(
        await patch(image.id, [{ op: ['add'], path: '/x', value: 'y' }]),
        400,
        explanation("Invalid operation: `['add']`. It must be one of the following: add, remove, replace."),
      );
    });
  });

  describe('locations while they are invisible', () => {
    const location = { url: 'http://example.com/image', metadata: {} };

    it('refuses every change with the text of the operation', async () => {
      const image = await create();
      expect(
        await patch(image.id, [{ op: 'replace', path: '/locations', value: [] }]),
        403,
        detail(403, 'Cannot set locations to empty list.'),
      );
      expect(
        await patch(image.id, [{ op: 'replace', path: '/locations', value: [location] }]),
        403,
        explanation("It's not allowed to update locations if locations are invisible."),
      );
      for (const path of ['/locations/0', '/locations/-', '/locations /0 ']) {
        expect(
          await patch(image.id, [{ op: 'add', path, value: location }]),
          403,
          explanation("It's not allowed to add locations if locations are invisible."),
        );
      }
      expect(
        await patch(image.id, [{ op: 'remove', path: '/locations/0' }]),
        403,
        explanation("It's not allowed to remove locations if locations are invisible."),
      );
    });

    it('checks the pointer depth and the value against the schema first', async () => {
      const image = await create();
      for (const op of [
        { op: 'remove', path: '/locations' },
        { op: 'add', path: '/locations', value: location },
      ]) {
        expect(
          await patch(image.id, [op]),
          400,
          explanation("Invalid JSON pointer for this resource: '/locations'"),
        );
      }
      expect(
        await patch(image.id, [{ op: 'replace', path: '/locations/0', value: [] }]),
        400,
        explanation("Invalid JSON pointer for this resource: '/locations/0'"),
      );
      expect(
        await patch(image.id, [{ op: 'add', path: '/locations/0', value: 'bad' }]),
        400,
        schema("'bad' is not of type 'object'"),
      );
      expect(
        await patch(image.id, [{ op: 'replace', path: '/locations', value: null }]),
        400,
        schema("None is not of type 'array'"),
      );
    });
  });

  describe('create checks in order', () => {
    it('validates the schema before read-only and reserved keys', async () => {
      expect(
        await call('POST', '/v2/images', { status: 'bogus' }),
        400,
        schema(`'bogus' is not one of ${STATUSES}`),
      );
      expect(await call('POST', '/v2/images', { os_glance_x: 1 }), 400, schema("1 is not of type 'string'"));
      // jsonschema's best match: a value of the wrong type before one outside an enum.
      expect(
        await call('POST', '/v2/images', { status: 'bogus', name: 5 }),
        400,
        schema("5 is not of type 'null', 'string'"),
      );
      expect(
        await call('POST', '/v2/images', { container_format: 5 }),
        400,
        schema("5 is not of type 'null', 'string'"),
      );
      expect(await call('POST', '/v2/images', []), 400, schema("[] is not of type 'object'"));
    });

    it("then refuses reserved, read-only and locations keys with Glance's texts", async () => {
      expect(
        await call('POST', '/v2/images', { os_glance_x: '1' }),
        403,
        detail(403, "Attribute 'os_glance_x' is reserved."),
      );
      expect(
        await call('POST', '/v2/images', { min_ram: -1, deleted: 'x' }),
        403,
        detail(403, "Attribute 'deleted' is reserved."),
      );
      expect(
        await call('POST', '/v2/images', { size: 1, status: 'active' }),
        403,
        explanation("Attribute 'status' is read-only."),
      );
      expect(
        await call('POST', '/v2/images', { locations: [] }),
        403,
        explanation("Attribute 'locations' is reserved."),
      );
      expect(
        await call('POST', '/v2/images', { min_ram: -1 }),
        400,
        explanation("Invalid value '-1' for parameter 'min_ram': Cannot be a negative value"),
      );
    });
  });

  describe('list filters and sorting', () => {
    it('accepts the times parse_isotime does and parses them before the operator', async () => {
      for (const value of [
        'gt:2020-01-01',
        'gt:20200101',
        'gt:2020-01',
        'gt:2020-01-01T10',
        'gte:2020-01-01 10:00',
      ]) {
        const r = await call('GET', `/v2/images?created_at=${encodeURIComponent(value)}`);
        assert.equal(r.status, 200, `${value}: ${r.text}`);
      }
      const bad = explanation('Bad "created_at" query filter format. Use ISO 8601 DateTime notation.');
      expect(await call('GET', '/v2/images?created_at=gt:2020-13-01'), 400, bad);
      expect(await call('GET', '/v2/images?created_at=foo:bad'), 400, bad);
      expect(
        await call('GET', '/v2/images?created_at=foo:2020-01-01'),
        400,
        explanation('Unable to filter on a unknown operator.'),
      );
    });

    it('takes sort_key and sort_dir whole and defaults an empty sort direction to desc', async () => {
      expect(
        await call('GET', '/v2/images?sort_key=name,size'),
        400,
        explanation(
          'Invalid sort key: name,size. It must be one of the following: name, status, container_format, disk_format, size, id, created_at, updated_at.',
        ),
      );
      expect(
        await call('GET', '/v2/images?sort_key=name&sort_key=size&sort_dir=asc,desc'),
        400,
        explanation('Invalid sort direction: asc,desc'),
      );
      await create({ name: 'sort-a' });
      await create({ name: 'sort-b' });
      const r = await call('GET', '/v2/images?name=in:sort-a,sort-b&sort=name:');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(
        (r.json.images as { name: string }[]).map((i) => i.name),
        ['sort-b', 'sort-a'],
      );
    });

    it('breaks ties descending when several directions were given, in the one direction otherwise', async () => {
      const first = '00000000-0000-4000-8000-000000000001';
      const second = '00000000-0000-4000-8000-000000000002';
      await create({ id: first, name: 'tie' });
      await create({ id: second, name: 'tie' });
      const order = async (query: string) =>
        ((await call('GET', `/v2/images?name=tie&${query}`)).json.images as { id: string }[]).map(
          (i) => i.id,
        );
      assert.deepEqual(await order('sort=name:asc,status:asc'), [second, first]);
      assert.deepEqual(await order('sort_key=name&sort_key=status&sort_dir=asc&sort_dir=asc'), [
        second,
        first,
      ]);
      assert.deepEqual(await order('sort=name:asc'), [first, second]);
      assert.deepEqual(await order('sort_key=name&sort_key=status&sort_dir=asc'), [first, second]);
    });
  });

  describe('optional properties of the image schema', () => {
    it('checks kernel_id and ramdisk_id against the UUID pattern and accepts null', async () => {
      expect(
        await call('POST', '/v2/images', { kernel_id: 'abc' }),
        400,
        schema(`'abc' does not match '${UUID_PATTERN}'`),
      );
      expect(
        await call('POST', '/v2/images', { ramdisk_id: 5 }),
        400,
        schema("5 is not of type 'null', 'string'"),
      );
      const kernel = '8a6b5d3e-1f2a-4c3b-9d8e-7f6a5b4c3d2e';
      const image = await create({ kernel_id: null, ramdisk_id: kernel });
      assert.equal(image.ramdisk_id, kernel);
      const cleared = await patch(image.id, [{ op: 'replace', path: '/ramdisk_id', value: null }]);
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal(cleared.json.ramdisk_id, undefined);
      expect(
        await patch(image.id, [{ op: 'add', path: '/kernel_id', value: 'abc' }]),
        400,
        schema(`'abc' does not match '${UUID_PATTERN}'`),
      );
    });

    it('serves and enforces the cinder encryption key properties', async () => {
      const served = (await call('GET', '/v2/schemas/image')).json.properties as Record<
        string,
        { enum?: string[] }
      >;
      assert.ok(served.cinder_encryption_key_id);
      assert.deepEqual(served.cinder_encryption_key_deletion_policy.enum, [
        'on_image_deletion',
        'do_not_delete',
      ]);
      expect(
        await call('POST', '/v2/images', { cinder_encryption_key_deletion_policy: 'x' }),
        400,
        schema("'x' is not one of ['on_image_deletion', 'do_not_delete']"),
      );
      const image = await create({ cinder_encryption_key_deletion_policy: 'do_not_delete' });
      assert.equal(image.cinder_encryption_key_deletion_policy, 'do_not_delete');
    });
  });
});

// Glance's metadata-definitions API over a real socket, with Debian's glance-common definition files
// loaded at start as the oracle: what the API returns is what the files say, status codes and
// validation are Glance's (bad input is a 4xx, never a 5xx), and the metadef rules hold for members.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { debianMetadefDirectory, debianMetadefFiles } from '../support/glance-metadefs.ts';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

type Json = Record<string, unknown>;
const NS = '/v2/metadefs/namespaces';
const enc = encodeURIComponent;

describe('metadefs API', () => {
  let t: TestServer;
  let admin: string;
  let member: string; // member of alice-project
  let memberProject: string;
  let other: string; // member of bob-project

  const call = (
    token: string | null,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => apiCall(`${t.url}/image`, token, method, url, body, headers);
  const ok = async (token: string, method: string, url: string, body?: unknown, status = 200) => {
    const r = await call(token, method, url, body);
    assert.equal(r.status, status, `${method} ${url}: ${r.text}`);
    return r.json as Json;
  };
  const errorCode = (r: { headers: Headers }) => r.headers.get('x-imagetrust-error-code');

  before(async () => {
    t = await startTestServer({ metadefs: { directory: debianMetadefDirectory() } });
    admin = await t.token();
    memberProject = (await t.addUser('alice', 'member')).projectId;
    await t.addUser('bob', 'member');
    member = await t.token('alice', 'alice-password');
    other = await t.token('bob', 'bob-password');
  });
  after(async () => {
    await t?.stop();
  });

  describe('the standard definitions loaded at start', () => {
    it('lists one namespace per Debian file, and imagetrust own', async () => {
      const files = debianMetadefFiles();
      const listed = (await ok(admin, 'GET', `${NS}?limit=1000`)).namespaces as Json[];
      const names = listed.map((n) => n.namespace).sort();
      const expected = [...files.map((f) => f.document.namespace as string), 'OS::ImageTrust::Image'].sort();
      assert.deepEqual(names, expected);
      assert.ok(files.length >= 30, `only ${files.length} files in glance-common`);
    });

    it('shows every namespace with the properties, objects, tags and associations of its file', async () => {
      for (const { file, document } of debianMetadefFiles()) {
        const shown = await ok(admin, 'GET', `${NS}/${enc(document.namespace as string)}`);
        for (const key of ['display_name', 'description']) {
          assert.deepEqual(shown[key], document[key], `${file}: ${key}`);
        }
        // A file silent on them gets a new namespace's defaults (Glance stores nulls, which act the same).
        assert.equal(shown.visibility, document.visibility ?? 'private', `${file}: visibility`);
        assert.equal(shown.protected, document.protected ?? false, `${file}: protected`);
        assert.equal(shown.owner, 'admin', file);
        assert.deepEqual(shown.properties ?? {}, document.properties ?? {}, `${file}: properties`);
        const objects = ((shown.objects as Json[] | undefined) ?? []).map((o) => ({
          name: o.name,
          ...(o.description !== undefined ? { description: o.description } : {}),
          ...(o.required !== undefined ? { required: o.required } : {}),
          ...(o.properties !== undefined ? { properties: o.properties } : {}),
        }));
        assert.deepEqual(objects, (document.objects as Json[] | undefined) ?? [], `${file}: objects`);
        assert.deepEqual(shown.tags ?? [], document.tags ?? [], `${file}: tags`);
        const associations = ((shown.resource_type_associations as Json[] | undefined) ?? []).map((a) => {
          const { created_at, updated_at, ...rest } = a;
          assert.ok(created_at && updated_at);
          return rest;
        });
        assert.deepEqual(associations, document.resource_type_associations ?? [], `${file}: associations`);
      }
    });

    it('lists every resource type the files associate', async () => {
      const expected = new Set<string>(['OS::Glance::Image']);
      for (const { document } of debianMetadefFiles()) {
        for (const a of (document.resource_type_associations as Json[] | undefined) ?? [])
          expected.add(a.name as string);
      }
      const types = (await ok(member, 'GET', '/v2/metadefs/resource_types')).resource_types as Json[];
      assert.deepEqual(types.map((r) => r.name).sort(), [...expected].sort());
    });

    it('prefixes properties with the resource type prefix asked for', async () => {
      const shown = await ok(admin, 'GET', `${NS}/OS::Compute::Watchdog?resource_type=OS::Nova::Flavor`);
      assert.deepEqual(Object.keys(shown.properties as Json), ['hw:watchdog_action']);
      const property = await ok(
        admin,
        'GET',
        `${NS}/OS::Compute::Watchdog/properties/hw_watchdog_action?resource_type=OS::Glance::Image`,
      );
      assert.equal(property.name, 'watchdog_action');
      const wrongPrefix = await call(
        admin,
        'GET',
        `${NS}/OS::Compute::Watchdog/properties/hw:watchdog_action?resource_type=OS::Glance::Image`,
      );
      assert.equal(wrongPrefix.status, 404);
    });

    it('describes imagetrust own properties: signatures, hw_rng_model and the lifecycle', async () => {
      const shown = await ok(member, 'GET', `${NS}/OS::ImageTrust::Image`);
      const properties = shown.properties as Record<string, Json>;
      for (const name of [
        'hw_rng_model',
        'img_signature',
        'img_signature_hash_method',
        'img_signature_key_type',
        'img_signature_certificate_uuid',
        'image_class',
        'lifecycle_state',
        'deprecation_at',
        'obsolescence_at',
        'replacement',
      ]) {
        assert.ok(properties[name], name);
      }
      assert.deepEqual(properties.lifecycle_state.enum, ['available', 'deprecated', 'obsolete']);
    });

    it('is not loaded again at the next start, and a namespace deleted since stays deleted', async () => {
      await ok(admin, 'DELETE', `${NS}/OS::Glance::Signatures`, undefined, 204);
      const before = ((await ok(admin, 'GET', `${NS}?limit=1000`)).namespaces as Json[]).length;
      const again = await startTestServer({
        dataDir: t.dataDir,
        metadefs: { directory: debianMetadefDirectory() },
      });
      try {
        const token = await again.token();
        const listed = (await apiCall(`${again.url}/image`, token, 'GET', `${NS}?limit=1000`)).json
          .namespaces as Json[];
        assert.equal(listed.length, before);
        assert.ok(!listed.some((n) => n.namespace === 'OS::Glance::Signatures'));
      } finally {
        await again.server.stop();
      }
    });
  });

  describe('namespaces', () => {
    it('creates (201, Location), refuses a duplicate (409), updates (200), protects and deletes (204)', async () => {
      const created = await call(admin, 'POST', NS, {
        namespace: 'Test::One',
        display_name: 'One',
        visibility: 'public',
        protected: true,
        resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'one_' }],
        properties: { p: { title: 'P', type: 'integer', minimum: 1 } },
        objects: [{ name: 'o', properties: { q: { title: 'Q', type: 'boolean' } } }],
        tags: [{ name: 'x' }],
      });
      assert.equal(created.status, 201, created.text);
      assert.match(
        created.headers.get('location') ?? '',
        /\/image\/v2\/metadefs\/namespaces\/Test%3A%3AOne$/,
      );
      assert.equal(created.json.self, '/v2/metadefs/namespaces/Test::One');
      assert.equal(created.json.schema, '/v2/schemas/metadefs/namespace');
      assert.equal((await call(admin, 'POST', NS, { namespace: 'Test::One' })).status, 409);
      const refused = await call(admin, 'DELETE', `${NS}/Test::One`);
      assert.equal(refused.status, 403);
      assert.equal(errorCode(refused), 'METADEF_PROTECTED');
      for (const kind of ['objects', 'properties', 'tags']) {
        assert.equal((await call(admin, 'DELETE', `${NS}/Test::One/${kind}`)).status, 403, kind);
      }
      assert.equal(
        (await call(admin, 'DELETE', `${NS}/Test::One/resource_types/OS::Glance::Image`)).status,
        403,
      );
      const updated = await ok(admin, 'PUT', `${NS}/Test::One`, { namespace: 'Test::Two', description: 'd' });
      // A PUT replaces: what is left out goes back to the defaults of a new namespace.
      assert.equal(updated.visibility, 'private');
      assert.equal(updated.protected, false);
      assert.equal(updated.display_name, undefined);
      assert.equal((await call(admin, 'GET', `${NS}/Test::One`)).status, 404);
      const shown = await ok(admin, 'GET', `${NS}/Test::Two`);
      assert.deepEqual(shown.tags, [{ name: 'x' }]);
      await ok(admin, 'DELETE', `${NS}/Test::Two`, undefined, 204);
      assert.equal((await call(admin, 'GET', `${NS}/Test::Two`)).status, 404);
      assert.equal((await call(admin, 'GET', `${NS}/Test::Two/objects/o`)).status, 404);
    });

    it('records every change in the transparency log, and nothing for a refused one', async () => {
      await ok(admin, 'POST', NS, { namespace: 'Test::Audited', visibility: 'public' }, 201);
      await ok(admin, 'POST', `${NS}/Test::Audited/tags/t`, undefined, 201);
      assert.equal((await call(member, 'DELETE', `${NS}/Test::Audited`)).status, 403);
      assert.equal((await call(admin, 'POST', `${NS}/Test::Audited/tags/t`)).status, 409);
      await ok(admin, 'DELETE', `${NS}/Test::Audited`, undefined, 204);
      const entries = (await apiCall(t.url, admin, 'GET', '/audit/v1/entries?start=0&end=100000')).json
        .entries as { event: Json }[];
      const logged = entries
        .map((e) => e.event)
        .filter((e) => e.type === 'metadef.changed' && e.subject_id === 'Test::Audited')
        .map((e) => (e.details as Json).action);
      assert.deepEqual(logged, ['add_metadef_namespace', 'add_metadef_tag', 'delete_metadef_namespace']);
    });

    it('pages with limit and marker, with first and next links', async () => {
      for (const n of ['P::c', 'P::a', 'P::b']) {
        await ok(
          admin,
          'POST',
          NS,
          { namespace: n, resource_type_associations: [{ name: 'Test::Paging' }] },
          201,
        );
      }
      const query = 'resource_types=Test%3A%3APaging&limit=2&sort_key=namespace&sort_dir=asc';
      const first = await ok(admin, 'GET', `${NS}?${query}`);
      assert.deepEqual(
        (first.namespaces as Json[]).map((n) => n.namespace),
        ['P::a', 'P::b'],
      );
      assert.equal(first.first, `/v2/metadefs/namespaces?${query}`);
      assert.match(String(first.next), /marker=P%3A%3Ab/);
      const second = await ok(admin, 'GET', String(first.next));
      assert.deepEqual(
        (second.namespaces as Json[]).map((n) => n.namespace),
        ['P::c'],
      );
      assert.equal(second.next, undefined);
      const byType = await ok(
        admin,
        'GET',
        `${NS}?resource_types=OS::Nova::Flavor,OS::Nova::Server&limit=1000`,
      );
      for (const n of byType.namespaces as Json[]) {
        const names = ((n.resource_type_associations as Json[]) ?? []).map((a) => a.name);
        assert.ok(
          names.includes('OS::Nova::Flavor') || names.includes('OS::Nova::Server'),
          String(n.namespace),
        );
      }
      assert.equal((await call(admin, 'GET', `${NS}?marker=Nope`)).status, 404);
      for (const n of ['P::a', 'P::b', 'P::c']) await ok(admin, 'DELETE', `${NS}/${n}`, undefined, 204);
    });

    it('answers bad input with 400 (or 403 for read-only attributes), never 5xx', async () => {
      const cases: [unknown, number][] = [
        [{}, 400],
        [{ namespace: 'x'.repeat(81) }, 400],
        [{ namespace: 'n', visibility: 'shared' }, 400],
        [{ namespace: 'n', protected: 'yes' }, 400],
        [{ namespace: 'n', unknown: 1 }, 400],
        [{ namespace: 'n', properties: { p: { title: 'P' } } }, 400],
        [{ namespace: 'n', properties: { p: { title: 'P', type: 'colour' } } }, 400],
        [{ namespace: 'n', objects: [{ description: 'no name' }] }, 400],
        [{ namespace: 'n', objects: [{ name: 'o', required: ['a', 'a'] }] }, 400],
        [{ namespace: 'n', tags: [{ name: 'a' }, { name: 'a' }] }, 409],
        [[{ namespace: 'n' }], 400],
        ['"n"', 400],
        [{ namespace: 'n', created_at: '2020-01-01T00:00:00Z' }, 403],
        [{ namespace: 'n', self: '/x' }, 403],
      ];
      for (const [body, status] of cases) {
        const r = await call(admin, 'POST', NS, body);
        assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      }
      assert.equal((await call(admin, 'GET', `${NS}/n`)).status, 404, 'nothing was created');
      assert.equal((await call(admin, 'POST', NS, '{"namespace": ')).status, 400);
      assert.equal((await call(admin, 'POST', NS)).status, 400);
      // Glance parses the body as JSON whatever its type (Glance 25.1 answers this 400 Malformed JSON).
      const form = await call(admin, 'POST', NS, 'namespace=n', { 'content-type': 'text/plain' });
      assert.equal(form.status, 400);
      assert.match(form.text, /Malformed JSON in request body/);
      const deep = `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`;
      assert.equal((await call(admin, 'POST', NS, deep)).status, 400);
      const deepInProperty = `{"namespace":"n","properties":{"p":{"title":"P","type":"string","default":${'['.repeat(60)}${']'.repeat(60)}}}}`;
      const r = await call(admin, 'POST', NS, deepInProperty);
      assert.ok(r.status === 201 || r.status === 400, r.text);
      if (r.status === 201) await ok(admin, 'DELETE', `${NS}/n`, undefined, 204);
      const huge = { namespace: 'n', description: 'd'.repeat(2 << 20) };
      assert.equal((await call(admin, 'POST', NS, huge)).status, 400);
      for (const query of [
        'limit=abc',
        'limit=-1',
        'sort_dir=sideways',
        'sort_key=owner;drop',
        'visibility=shared',
      ]) {
        assert.equal((await call(admin, 'GET', `${NS}?${query}`)).status, 400, query);
      }
      assert.equal((await call(admin, 'PATCH', `${NS}/OS::Compute::Watchdog`, {})).status, 405);
      assert.equal((await call(admin, 'POST', '/v2/metadefs/resource_types', {})).status, 405);
    });
  });

  describe('objects, properties, tags and associations', () => {
    before(async () => {
      await ok(admin, 'POST', NS, { namespace: 'Test::Items', visibility: 'public' }, 201);
    });

    it('creates, shows, renames and deletes objects', async () => {
      const base = `${NS}/Test::Items/objects`;
      const body = {
        name: 'o1',
        description: 'd',
        required: ['a'],
        properties: { a: { title: 'A', type: 'string' } },
      };
      const created = await ok(admin, 'POST', base, body, 201);
      assert.equal(created.self, '/v2/metadefs/namespaces/Test::Items/objects/o1');
      assert.equal((await call(admin, 'POST', base, body)).status, 409);
      assert.equal(
        (await call(admin, 'POST', base, { name: 'o2', properties: { a: { title: 'A' } } })).status,
        400,
      );
      assert.equal(
        (
          await call(admin, 'POST', base, {
            name: 'o2',
            properties: { a: { title: 'A', type: 'string', extra: 1 } },
          })
        ).status,
        400,
      );
      assert.equal((await call(admin, 'POST', base, { name: 'o2', schema: 'x' })).status, 403);
      const listed = await ok(member, 'GET', base);
      assert.equal(listed.schema, 'v2/schemas/metadefs/objects');
      assert.deepEqual(
        (listed.objects as Json[]).map((o) => o.name),
        ['o1'],
      );
      const renamed = await ok(admin, 'PUT', `${base}/o1`, { name: 'o3' });
      assert.equal(renamed.description, undefined);
      assert.equal((await call(admin, 'GET', `${base}/o1`)).status, 404);
      await ok(admin, 'DELETE', `${base}/o3`, undefined, 204);
      assert.equal((await call(admin, 'DELETE', `${base}/o3`)).status, 404);
      await ok(admin, 'POST', base, { name: 'o4' }, 201);
      await ok(admin, 'DELETE', base, undefined, 204);
      assert.deepEqual((await ok(admin, 'GET', base)).objects, []);
    });

    it('creates, shows, renames and deletes properties', async () => {
      const base = `${NS}/Test::Items/properties`;
      const created = await ok(
        admin,
        'POST',
        base,
        { name: 'p1', title: 'P', type: 'string', enum: ['a', 'b'] },
        201,
      );
      assert.deepEqual(created, { name: 'p1', title: 'P', type: 'string', enum: ['a', 'b'] });
      assert.equal((await call(admin, 'POST', base, { title: 'P', type: 'string' })).status, 400);
      assert.equal((await call(admin, 'POST', base, { name: 'p1', title: 'P', type: 'string' })).status, 409);
      assert.equal(
        (await call(admin, 'POST', base, { name: 'p2', title: 'P', type: 'integer', minimum: 'low' })).status,
        400,
      );
      assert.deepEqual(Object.keys((await ok(member, 'GET', base)).properties as Json), ['p1']);
      const renamed = await ok(admin, 'PUT', `${base}/p1`, { name: 'p3', title: 'P3', type: 'integer' });
      assert.equal(renamed.type, 'integer');
      assert.equal((await ok(member, 'GET', `${base}/p3`)).title, 'P3');
      await ok(admin, 'DELETE', `${base}/p3`, undefined, 204);
      assert.equal((await call(admin, 'GET', `${base}/p3`)).status, 404);
    });

    it('creates tags one by one and in bulk (replacing, or appending), renames and deletes them', async () => {
      const base = `${NS}/Test::Items/tags`;
      const one = await ok(admin, 'POST', `${base}/t1`, undefined, 201);
      assert.equal(one.name, 't1');
      assert.ok(one.created_at && one.updated_at);
      assert.equal((await call(admin, 'POST', `${base}/t1`)).status, 409);
      assert.equal((await call(admin, 'POST', `${base}/${'x'.repeat(81)}`)).status, 400);
      assert.deepEqual(await ok(admin, 'POST', base, { tags: [{ name: 'a' }, { name: 'b' }] }, 201), {
        tags: [{ name: 'a' }, { name: 'b' }],
      });
      const names = async () =>
        ((await ok(member, 'GET', `${base}?sort_key=name&sort_dir=asc`)).tags as Json[]).map((x) => x.name);
      assert.deepEqual(await names(), ['a', 'b']);
      const appended = await call(
        admin,
        'POST',
        base,
        { tags: [{ name: 'c' }] },
        { 'x-openstack-append': 'True' },
      );
      assert.equal(appended.status, 201);
      assert.deepEqual(await names(), ['a', 'b', 'c']);
      assert.equal(
        (await call(admin, 'POST', base, { tags: [{ name: 'c' }] }, { 'x-openstack-append': 'true' })).status,
        409,
      );
      assert.equal((await call(admin, 'POST', base, { tags: [{ nom: 'c' }] })).status, 400);
      assert.equal((await call(admin, 'POST', base, {})).status, 400, 'no tags is not "delete them all"');
      assert.equal((await names()).length, 3);
      const page = await ok(member, 'GET', `${base}?sort_key=name&sort_dir=asc&marker=a&limit=1`);
      assert.deepEqual(page.tags, [{ name: 'b' }]);
      await ok(admin, 'PUT', `${base}/c`, { name: 'd' });
      assert.equal((await ok(member, 'GET', `${base}/d`)).name, 'd');
      assert.equal((await call(admin, 'PUT', `${base}/d`, { name: 'a' })).status, 409);
      await ok(admin, 'DELETE', `${base}/d`, undefined, 204);
      await ok(admin, 'DELETE', base, undefined, 204);
      assert.deepEqual(await names(), []);
    });

    it('associates resource types and removes associations', async () => {
      const base = `${NS}/Test::Items/resource_types`;
      const created = await ok(admin, 'POST', base, { name: 'OS::Nova::Flavor', prefix: 'hw:' }, 201);
      assert.equal(created.name, 'OS::Nova::Flavor');
      assert.equal((await call(admin, 'POST', base, { name: 'OS::Nova::Flavor' })).status, 409);
      assert.equal((await call(admin, 'POST', base, { prefix: 'x' })).status, 400);
      assert.equal((await call(admin, 'POST', base, { name: 'n', created_at: 'x' })).status, 403);
      await ok(admin, 'POST', base, { name: 'Test::NewType' }, 201);
      const types = (await ok(member, 'GET', '/v2/metadefs/resource_types')).resource_types as Json[];
      assert.ok(types.some((r) => r.name === 'Test::NewType'));
      const listed = (await ok(member, 'GET', base)).resource_type_associations as Json[];
      assert.deepEqual(listed.map((a) => a.name).sort(), ['OS::Nova::Flavor', 'Test::NewType']);
      await ok(admin, 'DELETE', `${base}/OS::Nova::Flavor`, undefined, 204);
      assert.equal((await call(admin, 'DELETE', `${base}/OS::Nova::Flavor`)).status, 404);
    });
  });

  describe('policy', () => {
    before(async () => {
      await ok(admin, 'POST', NS, { namespace: 'Admin::Private', objects: [{ name: 'o' }] }, 201);
      await ok(admin, 'POST', NS, { namespace: 'Alice::Private', owner: memberProject }, 201);
    });

    it('lets members read public namespaces but change nothing (403)', async () => {
      assert.equal((await call(member, 'GET', `${NS}/OS::Compute::Watchdog`)).status, 200);
      const writes: [string, string, unknown][] = [
        ['POST', NS, { namespace: 'Alice::New' }],
        ['PUT', `${NS}/OS::Compute::Watchdog`, { namespace: 'OS::Compute::Watchdog' }],
        ['DELETE', `${NS}/OS::Compute::Watchdog`, undefined],
        ['POST', `${NS}/OS::Compute::Watchdog/objects`, { name: 'o' }],
        ['POST', `${NS}/OS::Compute::Watchdog/properties`, { name: 'p', title: 'P', type: 'string' }],
        ['POST', `${NS}/OS::Compute::Watchdog/tags/t`, undefined],
        ['POST', `${NS}/OS::Compute::Watchdog/tags`, { tags: [] }],
        ['DELETE', `${NS}/OS::Compute::Watchdog/properties/watchdog_action`, undefined],
        ['POST', `${NS}/OS::Compute::Watchdog/resource_types`, { name: 'X' }],
        ['DELETE', `${NS}/OS::Compute::Watchdog/resource_types/OS::Glance::Image`, undefined],
      ];
      for (const [method, url, body] of writes) {
        const r = await call(member, method, url, body);
        assert.equal(r.status, 403, `${method} ${url}: ${r.text}`);
        assert.equal(errorCode(r), 'FORBIDDEN');
      }
      assert.equal((await ok(admin, 'GET', `${NS}/OS::Compute::Watchdog`)).protected, true);
    });

    it("hides other projects' private namespaces (404, absent from lists) and shows the project's own", async () => {
      for (const url of [
        `${NS}/Admin::Private`,
        `${NS}/Admin::Private/objects`,
        `${NS}/Admin::Private/objects/o`,
        `${NS}/Admin::Private/tags`,
        `${NS}/Admin::Private/properties`,
        `${NS}/Admin::Private/resource_types`,
      ]) {
        assert.equal((await call(member, 'GET', url)).status, 404, url);
      }
      assert.equal((await call(member, 'POST', `${NS}/Admin::Private/objects`, { name: 'x' })).status, 404);
      assert.equal((await call(member, 'DELETE', `${NS}/Admin::Private`)).status, 404);
      const listed = async (token: string) =>
        ((await ok(token, 'GET', `${NS}?limit=1000`)).namespaces as Json[]).map((n) => n.namespace);
      assert.ok(!(await listed(member)).includes('Admin::Private'));
      assert.ok((await listed(member)).includes('Alice::Private'));
      assert.ok(!(await listed(other)).includes('Alice::Private'));
      assert.equal((await call(other, 'GET', `${NS}/Alice::Private`)).status, 404);
      assert.equal((await call(member, 'GET', `${NS}/Alice::Private`)).status, 200);
      assert.ok((await listed(admin)).includes('Admin::Private'));
      assert.equal((await call(null, 'GET', NS)).status, 401);
    });
  });

  it('serves Glance metadef schemas', async () => {
    const required: Record<string, unknown> = {
      namespace: ['namespace'],
      object: ['name'],
      property: ['title', 'type', 'name'],
      tag: ['name'],
      resource_type: ['name'],
    };
    for (const name of [
      'namespace',
      'namespaces',
      'object',
      'objects',
      'property',
      'properties',
      'tag',
      'tags',
      'resource_type',
      'resource_types',
    ]) {
      const schema = await ok(member, 'GET', `/v2/schemas/metadefs/${name}`);
      if (required[name]) assert.deepEqual(schema.required, required[name], name);
      else assert.ok((schema.links as Json[]).length === 3, name);
    }
    const rt = await ok(member, 'GET', '/v2/schemas/metadefs/resource_types');
    assert.equal(rt.name, 'resource_type_associations');
    const properties = await ok(member, 'GET', '/v2/schemas/metadefs/properties');
    assert.equal((properties.properties as Record<string, Json>).properties.type, 'object');
  });
});

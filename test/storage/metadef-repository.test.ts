// The MetadefRepository contract on both metadata backends (SQLite in a temporary file, PostgreSQL on
// loopback, a fresh schema per test): a namespace and its contents are stored all or nothing, lists
// follow Glance's visibility and keyset paging, and definition files load once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { ImageTrustError } from '../../src/errors/index.ts';
import type { NamespaceContents, NamespaceListQuery, NamespaceRecord } from '../../src/metadefs/index.ts';
import { type SqlDatabase, SqlMetadefRepository } from '../../src/storage/index.ts';
import { databaseBackends } from './database-backends.ts';

function makeNamespace(name: string, overrides: Partial<NamespaceRecord> = {}): NamespaceRecord {
  return {
    id: randomUUID(),
    namespace: name,
    display_name: null,
    description: null,
    visibility: 'public',
    protected: false,
    owner: 'project-a',
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    ...overrides,
  };
}

const empty = (): NamespaceContents => ({ associations: [], objects: [], properties: [], tags: [] });

const contents = (): NamespaceContents => ({
  associations: [{ name: 'OS::Glance::Image', prefix: 'hw_', properties_target: null }],
  objects: [
    {
      name: 'obj',
      document: { description: 'd', required: ['a'], properties: { a: { title: 'A', type: 'string' } } },
    },
  ],
  properties: [{ name: 'watchdog_action', document: { title: 'W', type: 'string', enum: ['reset'] } }],
  tags: ['t1', 't2'],
});

function query(overrides: Partial<NamespaceListQuery> = {}): NamespaceListQuery {
  return {
    viewer: { isAdmin: true, projectId: 'admin' },
    sortKey: 'created_at',
    sortDir: 'desc',
    limit: 100,
    ...overrides,
  };
}

const codeOf = (error: unknown) => (error as ImageTrustError).code;

for (const backend of databaseBackends()) {
  describe(`SqlMetadefRepository on ${backend.name}`, () => {
    let db: SqlDatabase;
    let repo: SqlMetadefRepository;
    before(() => backend.ready());
    after(() => backend.dispose());
    beforeEach(async () => {
      db = await backend.open();
      repo = new SqlMetadefRepository(db);
    });
    afterEach(async () => {
      await db.close();
    });

    it('stores a namespace with its associations, objects, properties and tags', async () => {
      const ns = makeNamespace('OS::Test', { display_name: 'T', protected: true });
      await repo.createNamespace(ns, contents());
      assert.deepEqual(await repo.findNamespace('OS::Test'), ns);
      const objects = await repo.listItems(ns.id, 'object');
      assert.deepEqual(
        objects.map((o) => [o.name, o.document]),
        [['obj', { description: 'd', required: ['a'], properties: { a: { title: 'A', type: 'string' } } }]],
      );
      assert.deepEqual(
        (await repo.listItems(ns.id, 'tag')).map((t) => t.name),
        ['t1', 't2'],
      );
      assert.deepEqual(
        (await repo.listAssociations([ns.id])).map((a) => [a.name, a.prefix, a.properties_target]),
        [['OS::Glance::Image', 'hw_', null]],
      );
      assert.deepEqual(
        (await repo.listResourceTypes()).map((t) => [t.name, t.protected]),
        [['OS::Glance::Image', false]],
      );
    });

    it('creates nothing when one item of a new namespace is a duplicate', async () => {
      const withDuplicate = { ...contents(), tags: ['same', 'same'] };
      await assert.rejects(
        repo.createNamespace(makeNamespace('OS::Dup'), withDuplicate),
        (e) => codeOf(e) === 'CONFLICT',
      );
      assert.equal(await repo.findNamespace('OS::Dup'), null);
      assert.deepEqual(await repo.listResourceTypes(), []);
    });

    it('refuses a second namespace of the same name, and a rename onto a taken name, with CONFLICT', async () => {
      await repo.createNamespace(makeNamespace('a'), empty());
      const b = makeNamespace('b');
      await repo.createNamespace(b, empty());
      await assert.rejects(
        repo.createNamespace(makeNamespace('a'), empty()),
        (e) => codeOf(e) === 'CONFLICT',
      );
      await assert.rejects(repo.updateNamespace({ ...b, namespace: 'a' }), (e) => codeOf(e) === 'CONFLICT');
      await repo.updateNamespace({ ...b, namespace: 'c', visibility: 'private', protected: true });
      assert.equal((await repo.findNamespace('c'))?.protected, true);
      assert.equal(await repo.findNamespace('b'), null);
    });

    it('lists what a viewer may see: public, unowned and their own; filters by visibility and resource type', async () => {
      await repo.createNamespace(makeNamespace('pub'), empty());
      await repo.createNamespace(makeNamespace('mine', { visibility: 'private', owner: 'p1' }), contents());
      await repo.createNamespace(makeNamespace('theirs', { visibility: 'private', owner: 'p2' }), empty());
      await repo.createNamespace(makeNamespace('nobody', { visibility: 'private', owner: null }), empty());
      const names = async (q: Partial<NamespaceListQuery>) =>
        (await repo.listNamespaces(query({ sortKey: 'namespace', sortDir: 'asc', ...q }))).map(
          (n) => n.namespace,
        );
      assert.deepEqual(await names({}), ['mine', 'nobody', 'pub', 'theirs']);
      assert.deepEqual(await names({ viewer: { isAdmin: false, projectId: 'p1' } }), [
        'mine',
        'nobody',
        'pub',
      ]);
      assert.deepEqual(await names({ viewer: { isAdmin: false, projectId: null } }), ['nobody', 'pub']);
      assert.deepEqual(await names({ visibility: 'private' }), ['mine', 'nobody', 'theirs']);
      assert.deepEqual(await names({ resourceTypes: ['OS::Glance::Image', 'OS::Nova::Flavor'] }), ['mine']);
      assert.deepEqual(await names({ resourceTypes: ['OS::Nova::Flavor'] }), []);
    });

    it('pages with a marker in either direction, ties broken by creation time and id', async () => {
      for (const [i, name] of ['d', 'b', 'a', 'c', 'e'].entries()) {
        await repo.createNamespace(
          makeNamespace(name, { created_at: `2024-01-0${i + 1}T00:00:00Z` }),
          empty(),
        );
      }
      const pages = async (q: Partial<NamespaceListQuery>) => {
        const out: string[][] = [];
        let marker: NamespaceRecord | undefined;
        for (;;) {
          const page = await repo.listNamespaces(query({ ...q, limit: 2, marker }));
          if (page.length === 0) break;
          out.push(page.map((n) => n.namespace));
          marker = page[page.length - 1];
        }
        return out;
      };
      assert.deepEqual(await pages({}), [['e', 'c'], ['a', 'b'], ['d']]);
      assert.deepEqual(await pages({ sortKey: 'namespace', sortDir: 'asc' }), [
        ['a', 'b'],
        ['c', 'd'],
        ['e'],
      ]);
      assert.deepEqual(await repo.listNamespaces(query({ limit: 0 })), []);
    });

    it('renames, replaces and deletes items; a taken name is CONFLICT, a gone one NOT_FOUND', async () => {
      const ns = makeNamespace('items');
      await repo.createNamespace(ns, contents());
      const now = '2024-02-01T00:00:00Z';
      const tag = {
        namespaceId: ns.id,
        kind: 'tag' as const,
        name: 't3',
        document: {},
        created_at: now,
        updated_at: now,
      };
      await repo.createItem(tag);
      await assert.rejects(repo.createItem(tag), (e) => codeOf(e) === 'CONFLICT');
      await assert.rejects(repo.updateItem('t3', { ...tag, name: 't1' }), (e) => codeOf(e) === 'CONFLICT');
      await repo.updateItem('t3', { ...tag, name: 't4' });
      assert.equal((await repo.findItem(ns.id, 'tag', 't4'))?.name, 't4');
      await repo.deleteItem(ns.id, 'tag', 't4');
      await assert.rejects(repo.deleteItem(ns.id, 'tag', 't4'), (e) => codeOf(e) === 'NOT_FOUND');
      // A property and an object may share a name: kinds are separate.
      await repo.createItem({
        ...tag,
        kind: 'property',
        name: 'obj',
        document: { title: 'x', type: 'string' },
      });
      await repo.deleteItems(ns.id, 'object');
      assert.deepEqual(await repo.listItems(ns.id, 'object'), []);
      assert.equal((await repo.listItems(ns.id, 'property')).length, 2);
    });

    it('replaces tags unless appending, and adds none when one is a duplicate', async () => {
      const ns = makeNamespace('tags');
      await repo.createNamespace(ns, contents());
      const now = '2024-02-01T00:00:00Z';
      const tag = (name: string) => ({
        namespaceId: ns.id,
        kind: 'tag' as const,
        name,
        document: {},
        created_at: now,
        updated_at: now,
      });
      await repo.addTags(ns.id, [tag('x'), tag('y')], false);
      assert.deepEqual(
        (await repo.listItems(ns.id, 'tag')).map((t) => t.name),
        ['x', 'y'],
      );
      await repo.addTags(ns.id, [tag('z')], true);
      assert.deepEqual((await repo.listItems(ns.id, 'tag')).map((t) => t.name).sort(), ['x', 'y', 'z']);
      await assert.rejects(repo.addTags(ns.id, [tag('w'), tag('x')], true), (e) => codeOf(e) === 'CONFLICT');
      await assert.rejects(repo.addTags(ns.id, [tag('q'), tag('q')], false), (e) => codeOf(e) === 'CONFLICT');
      assert.deepEqual((await repo.listItems(ns.id, 'tag')).map((t) => t.name).sort(), ['x', 'y', 'z']);
    });

    it('associates resource types (making new ones), refuses a duplicate, and deletes a namespace whole', async () => {
      const ns = makeNamespace('assoc');
      await repo.createNamespace(ns, contents());
      const now = '2024-02-01T00:00:00Z';
      const association = {
        namespaceId: ns.id,
        name: 'OS::Nova::Flavor',
        prefix: 'hw:',
        properties_target: null,
        created_at: now,
        updated_at: now,
      };
      await repo.createAssociation(association);
      await assert.rejects(repo.createAssociation(association), (e) => codeOf(e) === 'CONFLICT');
      assert.deepEqual((await repo.listResourceTypes()).map((t) => t.name).sort(), [
        'OS::Glance::Image',
        'OS::Nova::Flavor',
      ]);
      assert.equal(await repo.deleteAssociation(ns.id, 'OS::Nova::Flavor'), true);
      assert.equal(await repo.deleteAssociation(ns.id, 'OS::Nova::Flavor'), false);
      await repo.deleteNamespace(ns.id);
      assert.equal(await repo.findNamespace('assoc'), null);
      assert.deepEqual(await repo.listItems(ns.id, 'property'), []);
      assert.deepEqual(await repo.listAssociations([ns.id]), []);
      // Resource types outlive the namespaces that used them, as in Glance.
      assert.equal((await repo.listResourceTypes()).length, 2);
    });

    it('loads a definition file once, with protected resource types, and keeps a namespace that exists', async () => {
      const ns = makeNamespace('OS::Compute::Watchdog', { owner: 'admin', protected: true });
      assert.equal(await repo.loadDefinition('compute-watchdog.json', 'd1', ns, contents()), true);
      assert.equal(
        await repo.loadDefinition('compute-watchdog.json', 'd1', { ...ns, id: randomUUID() }, contents()),
        false,
      );
      assert.deepEqual([...(await repo.loadedDefinitions())], ['compute-watchdog.json']);
      assert.deepEqual(
        (await repo.listResourceTypes()).map((t) => [t.name, t.protected]),
        [['OS::Glance::Image', true]],
      );
      // Another file naming the same namespace is recorded without touching it.
      assert.equal(
        await repo.loadDefinition(
          'copy.json',
          'd2',
          { ...ns, id: randomUUID(), description: 'other' },
          empty(),
        ),
        false,
      );
      assert.equal((await repo.findNamespace('OS::Compute::Watchdog'))?.description, null);
      assert.equal((await repo.listItems(ns.id, 'tag')).length, 2);
      // Two loads of one file at once: one creates, the other sees it done.
      const other = makeNamespace('OS::Other', { owner: 'admin' });
      const results = await Promise.all([
        repo.loadDefinition('other.json', 'd3', other, contents()),
        repo.loadDefinition('other.json', 'd3', { ...other, id: randomUUID() }, contents()),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
    });

    it('leaves nothing of a definition file that fails half-way, so the next start loads it', async () => {
      const broken = { ...contents(), objects: [contents().objects[0], contents().objects[0]] };
      await assert.rejects(repo.loadDefinition('broken.json', 'd', makeNamespace('OS::Broken'), broken));
      assert.equal(await repo.findNamespace('OS::Broken'), null);
      assert.equal((await repo.loadedDefinitions()).has('broken.json'), false);
      assert.equal(
        await repo.loadDefinition('broken.json', 'd', makeNamespace('OS::Broken'), contents()),
        true,
      );
    });
  });
}

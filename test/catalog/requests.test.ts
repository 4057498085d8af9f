// Request parsing rules of the Glance v2 API, as pure functions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ImageRecord, NEW_IMAGE_GOVERNANCE } from '../../src/catalog/index.ts';
import {
  applyImagePatch,
  readImageCreateRequest,
  readImageListQuery,
  readImagePatch,
} from '../../src/catalog/requests.ts';
import { ImageTrustError } from '../../src/errors/index.ts';

const limits = { defaultPageSize: 25, maxPageSize: 1000 };
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ImageTrustError, String(error));
    return error.code;
  }
  assert.fail('expected an error');
};

const image: ImageRecord = {
  id: '1d0c2a4e-7f33-4c43-9b2f-0d7c5a1e9b11',
  name: 'n',
  status: 'queued',
  visibility: 'shared',
  protected: false,
  os_hidden: false,
  checksum: null,
  os_hash_algo: null,
  os_hash_value: null,
  owner: 'p',
  size: null,
  virtual_size: null,
  container_format: null,
  disk_format: null,
  min_ram: 0,
  min_disk: 0,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  properties: { a: '1' },
  tags: ['t'],
  blob_key: null,
  ...NEW_IMAGE_GOVERNANCE,
};

describe('readImageListQuery', () => {
  it('defaults to 25 per page, created_at then id descending, accepted members, hidden images excluded', () => {
    const q = readImageListQuery({}, limits);
    assert.equal(q.limit, 25);
    assert.deepEqual(q.sort, [
      { key: 'created_at', dir: 'desc' },
      { key: 'id', dir: 'desc' },
    ]);
    assert.equal(q.memberStatus, 'accepted');
    assert.equal(q.osHidden, false);
  });

  it('caps the limit at the maximum silently', () => {
    assert.equal(readImageListQuery({ limit: '5000' }, limits).limit, 1000);
  });

  it('appends the tie-breakers in the single given direction', () => {
    assert.deepEqual(readImageListQuery({ sort: 'name:asc' }, limits).sort, [
      { key: 'name', dir: 'asc' },
      { key: 'created_at', dir: 'asc' },
      { key: 'id', dir: 'asc' },
    ]);
    assert.deepEqual(
      readImageListQuery({ sort_key: ['name', 'size'], sort_dir: 'asc' }, limits).sort.map((s) => s.dir),
      ['asc', 'asc', 'asc', 'asc'],
    );
    assert.deepEqual(readImageListQuery({ sort: 'name:asc,size:desc' }, limits).sort.slice(2), [
      { key: 'created_at', dir: 'desc' },
      { key: 'id', dir: 'desc' },
    ]);
  });

  it('reads in: lists with quoted values, and treats other keys as property filters', () => {
    const q = readImageListQuery({ name: 'in:a,"b,c",d', distro: 'debian', tag: [' x ', 'y'] }, limits);
    assert.deepEqual(q.anyOf.name, ['a', 'b,c', 'd']);
    assert.deepEqual(q.properties, { distro: ['debian'] });
    assert.deepEqual(q.tags, ['x', 'y']);
  });

  it('reads time comparisons and leaves a bare ISO time as equality', () => {
    const q = readImageListQuery({ created_at: ['gt:2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'] }, limits);
    assert.deepEqual(q.timeFilters, [
      { column: 'created_at', op: 'gt', value: '2026-01-01T00:00:00Z' },
      { column: 'created_at', op: 'eq', value: '2026-02-01T00:00:00Z' },
    ]);
  });

  for (const [name, params] of Object.entries({
    'a negative limit': { limit: '-1' },
    'an unknown sort key': { sort_key: 'colour' },
    'mixed sort syntaxes': { sort: 'name', sort_dir: 'asc' },
    'more dirs than keys': { sort_key: 'name', sort_dir: ['asc', 'desc'] },
    'an unknown visibility': { visibility: 'secret' },
    'an unknown operator': { status: 'like:active' },
    'an unclosed quote': { name: 'in:"a' },
    'os_hidden not a boolean': { os_hidden: 'maybe' },
    'protected in capitals (Glance does not lower-case it)': { protected: 'True' },
    'the removed changes-since filter': { 'changes-since': '2026-01-01' },
  })) {
    it(`refuses ${name}`, () =>
      assert.equal(
        code(() => readImageListQuery(params, limits)),
        'INVALID_QUERY',
      ));
  }
});

describe('readImageCreateRequest', () => {
  it('splits base attributes, tags and extra properties, and lower-cases the id', () => {
    const r = readImageCreateRequest({
      id: image.id.toUpperCase(),
      name: 'x',
      min_ram: 1,
      tags: ['a', 'a'],
      k: 'v',
    });
    assert.equal(r.id, image.id);
    assert.deepEqual(r.base, { name: 'x', min_ram: 1 });
    assert.deepEqual(r.tags, ['a']);
    assert.deepEqual(r.properties, { k: 'v' });
  });

  it('checks API read-only keys before the schema, as Glance does', () => {
    assert.equal(
      code(() => readImageCreateRequest({ self: 5 })),
      'READ_ONLY_ATTRIBUTE',
    );
  });
});

describe('readImagePatch and applyImagePatch', () => {
  it('decodes JSON pointer escapes', () => {
    const ops = readImagePatch([{ op: 'add', path: '/a~1b~0c', value: 'v' }]);
    assert.equal(ops[0].path, 'a/b~c');
  });

  it('refuses pointers with adjacent or trailing slashes and bad escapes', () => {
    // Glance's adjacency check looks past the first character only, so `//a` points at `a`.
    for (const path of ['/a//b', '/a/ /b', '/a/', '/a~2']) {
      assert.equal(
        code(() => readImagePatch([{ op: 'add', path, value: 'v' }])),
        'INVALID_PATCH',
        path,
      );
    }
  });

  it('does not touch the original record', () => {
    const { image: next } = applyImagePatch(image, readImagePatch([{ op: 'remove', path: '/a' }]));
    assert.deepEqual(next.properties, {});
    assert.deepEqual(image.properties, { a: '1' });
  });

  it('refuses a value that is not a string for an extra property', () => {
    assert.equal(
      code(() => applyImagePatch(image, [{ op: 'add', path: 'k', value: 1 }])),
      'SCHEMA_VIOLATION',
    );
  });
});

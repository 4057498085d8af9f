// The contract every ImageRepository adapter passes: records round-trip, status changes are
// conditional, and listing follows Glance v2's visibility, filter, sort and keyset-pagination rules.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type {
  ImageListQuery,
  ImageMember,
  ImageRecord,
  MemberStatus,
  SortKey,
  SortOrder,
  Viewer,
} from '../../src/catalog/index.ts';
import { NEW_IMAGE_GOVERNANCE } from '../../src/catalog/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { type SqlDatabase, SqlImageRepository } from '../../src/storage/index.ts';

const T0 = '2024-03-01T10:00:00Z';

function makeImage(overrides: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: randomUUID(),
    name: null,
    status: 'active',
    visibility: 'public',
    protected: false,
    os_hidden: false,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    owner: 'project-a',
    size: null,
    virtual_size: null,
    container_format: 'bare',
    disk_format: 'raw',
    min_ram: 0,
    min_disk: 0,
    created_at: T0,
    updated_at: T0,
    properties: {},
    tags: [],
    blob_key: null,
    ...NEW_IMAGE_GOVERNANCE,
    ...overrides,
  };
}

function makeMember(imageId: string, memberId: string, status: MemberStatus, at = T0): ImageMember {
  return { image_id: imageId, member_id: memberId, status, created_at: at, updated_at: at };
}

const ADMIN: Viewer = { projectId: 'project-admin', isAdmin: true };
const viewerOf = (projectId: string | null): Viewer => ({ projectId, isAdmin: false });

/** The query readImageListQuery builds when no parameter is given, for `viewer`. */
function listQuery(viewer: Viewer, overrides: Partial<ImageListQuery> = {}): ImageListQuery {
  return {
    viewer,
    memberStatus: 'accepted',
    anyOf: {},
    osHidden: false,
    timeFilters: [],
    tags: [],
    properties: {},
    sort: [
      { key: 'created_at', dir: 'desc' },
      { key: 'id', dir: 'desc' },
    ],
    limit: 1000,
    ...overrides,
  };
}

/** Glance's tie-breakers, as readImageListQuery appends them after the requested keys. */
function withTieBreakers(sort: SortOrder[]): SortOrder[] {
  const dirs = new Set(sort.map((s) => s.dir));
  const tieDir = dirs.size === 1 ? [...dirs][0] : 'desc';
  const full = [...sort];
  if (!full.some((s) => s.key === 'created_at')) full.push({ key: 'created_at', dir: tieDir });
  if (!full.some((s) => s.key === 'id')) full.push({ key: 'id', dir: tieDir });
  return full;
}

/** The reference order: NULL is smaller than any value, in either dialect. */
function compareBy(sort: SortOrder[]) {
  return (a: ImageRecord, b: ImageRecord): number => {
    for (const { key, dir } of sort) {
      const x = a[key];
      const y = b[key];
      let c = 0;
      if (x === y) c = 0;
      else if (x === null) c = -1;
      else if (y === null) c = 1;
      else c = x < y ? -1 : 1;
      if (c !== 0) return dir === 'asc' ? c : -c;
    }
    return 0;
  };
}

const idsOf = (images: ImageRecord[]) => images.map((image) => image.id);
const idSet = (images: ImageRecord[]) => idsOf(images).sort();

async function assertCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageTrustError, `expected an ImageTrustError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

const SORT_KEYS: SortKey[] = [
  'name',
  'status',
  'container_format',
  'disk_format',
  'size',
  'id',
  'created_at',
  'updated_at',
  'visibility',
  'owner',
  'min_ram',
  'min_disk',
];

/** Images whose sort columns repeat and hold NULLs, so every tie-breaker and NULL rule is exercised. */
function sortableImages(): ImageRecord[] {
  const names = ['alpha', 'bravo', null, 'charlie', 'alpha', null, 'delta'];
  const statuses = ['active', 'queued', 'saving', 'deactivated', 'active'] as const;
  const containers = ['bare', null, 'ovf', 'bare'];
  const disks = ['raw', 'qcow2', null, 'iso', 'raw', 'vmdk'];
  const sizes = [null, 0, 10, 2 ** 33 + 7, 10, 512];
  const visibilities = ['public', 'private', 'shared', 'community'] as const;
  const owners = ['project-a', null, 'project-b'];
  return Array.from({ length: 23 }, (_, i) =>
    makeImage({
      name: names[i % names.length],
      status: statuses[i % statuses.length],
      container_format: containers[i % containers.length],
      disk_format: disks[i % disks.length],
      size: sizes[i % sizes.length],
      visibility: visibilities[i % visibilities.length],
      owner: owners[i % owners.length],
      min_ram: (i % 3) * 512,
      min_disk: i % 4,
      // Groups of three share created_at; updated_at ties differently.
      created_at: `2024-01-${String(10 + Math.floor(i / 3)).padStart(2, '0')}T08:00:00Z`,
      updated_at: `2024-02-${String(10 + (i % 5)).padStart(2, '0')}T08:00:00Z`,
    }),
  );
}

/**
 * Defines the ImageRepository contract suite; `openFreshDatabase` must return an empty, migrated
 * database for every call. The suite closes each database it opened.
 */
export function describeImageRepositoryContract(
  label: string,
  openFreshDatabase: () => Promise<SqlDatabase>,
): void {
  describe(label, () => {
    let db: SqlDatabase;
    let repo: SqlImageRepository;

    beforeEach(async () => {
      db = await openFreshDatabase();
      repo = new SqlImageRepository(db);
    });
    afterEach(async () => {
      await db.close();
    });

    const createAll = async (images: ImageRecord[]) => {
      for (const image of images) await repo.createImage(image);
    };

    describe('createImage and findImage', () => {
      it('round-trips every field, properties and tags', async () => {
        const image = makeImage({
          name: 'ubuntu-24.04',
          status: 'active',
          visibility: 'shared',
          protected: true,
          os_hidden: true,
          checksum: 'd41d8cd98f00b204e9800998ecf8427e',
          os_hash_algo: 'sha512',
          os_hash_value: 'ab'.repeat(64),
          size: 5 * 2 ** 32 + 3,
          virtual_size: 2 ** 40,
          container_format: 'ovf',
          disk_format: 'qcow2',
          min_ram: 2048,
          min_disk: 20,
          created_at: '2024-03-01T10:00:00Z',
          updated_at: '2024-03-02T11:00:00Z',
          properties: { os_distro: 'ubuntu', description: 'Ünïcødé ✓', empty: '' },
          tags: ['lts', 'amd64', 'cloud'],
          blob_key: 'blob-1',
        });
        await repo.createImage(image);
        const found = await repo.findImage(image.id);
        assert.deepEqual(found, { ...image, tags: [...image.tags].sort() });
      });

      it('keeps NULL base fields as null', async () => {
        const image = makeImage({ owner: null, container_format: null, disk_format: null });
        await repo.createImage(image);
        assert.deepEqual(await repo.findImage(image.id), image);
      });

      it('stores a repeated tag once', async () => {
        const image = makeImage({ tags: ['a', 'b', 'a'] });
        await repo.createImage(image);
        assert.deepEqual((await repo.findImage(image.id))?.tags, ['a', 'b']);
      });

      it('returns null for an unknown id', async () => {
        assert.equal(await repo.findImage(randomUUID()), null);
      });

      it('finds deleted and killed images by id', async () => {
        const deleted = makeImage({ status: 'deleted' });
        const killed = makeImage({ status: 'killed' });
        await createAll([deleted, killed]);
        assert.equal((await repo.findImage(deleted.id))?.status, 'deleted');
        assert.equal((await repo.findImage(killed.id))?.status, 'killed');
      });

      it('refuses a duplicate id with CONFLICT and keeps the first record whole', async () => {
        const first = makeImage({ name: 'first', properties: { a: '1' }, tags: ['x'] });
        await repo.createImage(first);
        const second = { ...first, name: 'second', properties: { b: '2' }, tags: ['y'] };
        await assertCode(repo.createImage(second), 'CONFLICT');
        assert.deepEqual(await repo.findImage(first.id), first);
      });
    });

    describe('governance fields', () => {
      it('round-trips class, lifecycle, schedule, replacement, creator, uploader and signer', async () => {
        const image = makeImage({
          image_class: 'catalog',
          lifecycle_state: 'deprecated',
          deprecation_at: '2026-01-01T00:00:00Z',
          obsolescence_at: '2027-01-01T00:00:00Z',
          replacement: randomUUID(),
          created_by: 'creator',
          uploaded_by: 'builder',
          signed_by: 'signer',
        });
        await repo.createImage(image);
        assert.deepEqual(await repo.findImage(image.id), image);
      });

      it('updates governance fields only while the stored lifecycle state is the expected one', async () => {
        const image = makeImage();
        await repo.createImage(image);
        assert.equal(
          await repo.updateGovernance(image.id, 'deprecated', { lifecycle_state: 'obsolete' }, T0),
          false,
        );
        assert.equal(
          await repo.updateGovernance(
            image.id,
            'available',
            { lifecycle_state: 'deprecated', deprecation_at: T0, visibility: 'public', image_class: 'stock' },
            '2024-03-05T00:00:00Z',
          ),
          true,
        );
        const found = await repo.findImage(image.id);
        assert.equal(found?.lifecycle_state, 'deprecated');
        assert.equal(found?.visibility, 'public');
        assert.equal(found?.image_class, 'stock');
        assert.equal(found?.updated_at, '2024-03-05T00:00:00Z');
        const deleted = makeImage({ status: 'deleted' });
        await repo.createImage(deleted);
        assert.equal(
          await repo.updateGovernance(deleted.id, 'available', { lifecycle_state: 'obsolete' }, T0),
          false,
        );
      });

      it('lists exactly the images whose schedule is due and not yet stored', async () => {
        const now = '2026-06-01T12:00:00Z';
        const due = makeImage({ deprecation_at: '2026-06-01T11:59:59Z' });
        const dueObsolete = makeImage({
          lifecycle_state: 'deprecated',
          obsolescence_at: '2026-06-01T12:00:00Z',
        });
        const future = makeImage({ deprecation_at: '2026-06-01T12:00:01Z' });
        const stored = makeImage({ lifecycle_state: 'deprecated', deprecation_at: '2026-01-01T00:00:00Z' });
        const obsolete = makeImage({ lifecycle_state: 'obsolete', obsolescence_at: '2026-01-01T00:00:00Z' });
        const gone = makeImage({ status: 'deleted', deprecation_at: '2026-01-01T00:00:00Z' });
        await createAll([due, dueObsolete, future, stored, obsolete, gone]);
        const listed = (await repo.listDueLifecycle(now, 10)).map((i) => i.id).sort();
        assert.deepEqual(listed, [due.id, dueObsolete.id].sort());
        assert.equal((await repo.listDueLifecycle(now, 1)).length, 1);
      });

      it('filters on class and on the lifecycle state as it is at the given time', async () => {
        const now = '2026-06-01T12:00:00Z';
        const due = makeImage({ deprecation_at: '2026-06-01T11:00:00Z' });
        const stored = makeImage({ lifecycle_state: 'deprecated', deprecation_at: '2026-01-01T00:00:00Z' });
        const future = makeImage({ deprecation_at: '2026-07-01T00:00:00Z', image_class: 'stock' });
        const obsolete = makeImage({ obsolescence_at: '2026-06-01T12:00:00Z' });
        await createAll([due, stored, future, obsolete]);
        const ids = async (properties: Record<string, string[]>, at?: string) =>
          (await repo.listImages(listQuery(ADMIN, { visibility: 'all', properties, now: at })))
            .map((i) => i.id)
            .sort();
        assert.deepEqual(await ids({ lifecycle_state: ['deprecated'] }, now), [due.id, stored.id].sort());
        assert.deepEqual(await ids({ lifecycle_state: ['obsolete'] }, now), [obsolete.id]);
        assert.deepEqual(await ids({ lifecycle_state: ['available'] }, now), [future.id]);
        // Without a time, the stored state.
        assert.deepEqual(await ids({ lifecycle_state: ['deprecated'] }), [stored.id]);
        assert.deepEqual(await ids({ image_class: ['stock'] }, now), [future.id]);
      });
    });

    describe('saveImage', () => {
      it('writes the whole record, replacing properties and tags, when the status is as expected', async () => {
        const image = makeImage({ name: 'old', properties: { a: '1', b: '2' }, tags: ['x', 'y'] });
        await repo.createImage(image);
        const changed: ImageRecord = {
          ...image,
          name: 'new',
          protected: true,
          min_ram: 1024,
          updated_at: '2024-03-05T00:00:00Z',
          properties: { b: '3', c: '4' },
          tags: ['z'],
        };
        assert.equal(await repo.saveImage(changed, 'active'), true);
        assert.deepEqual(await repo.findImage(image.id), changed);
      });

      it('can clear every property and tag', async () => {
        const image = makeImage({ properties: { a: '1' }, tags: ['x'] });
        await repo.createImage(image);
        assert.equal(await repo.saveImage({ ...image, properties: {}, tags: [] }, 'active'), true);
        const found = await repo.findImage(image.id);
        assert.deepEqual(found?.properties, {});
        assert.deepEqual(found?.tags, []);
      });

      it('refuses and changes nothing when the status is no longer the expected one', async () => {
        const image = makeImage({ status: 'queued', name: 'before', properties: { a: '1' }, tags: ['x'] });
        await repo.createImage(image);
        assert.equal(await repo.transitionImage(image.id, ['queued'], 'saving'), true);
        const stale = { ...image, name: 'after', properties: {}, tags: [] };
        assert.equal(await repo.saveImage(stale, 'queued'), false);
        assert.deepEqual(await repo.findImage(image.id), { ...image, status: 'saving' });
      });

      it('returns false for an image that does not exist', async () => {
        assert.equal(await repo.saveImage(makeImage(), 'active'), false);
      });
    });

    describe('transitionImage', () => {
      it('moves the status when it is one of `from` and merges only the given fields', async () => {
        const image = makeImage({ status: 'saving', name: 'keep', properties: { a: '1' }, tags: ['t'] });
        await repo.createImage(image);
        const fields = {
          size: 2 ** 34,
          virtual_size: 2 ** 35,
          checksum: 'c'.repeat(32),
          os_hash_algo: 'sha512',
          os_hash_value: 'd'.repeat(128),
          blob_key: image.id,
        };
        const at = '2024-03-09T09:09:09Z';
        assert.equal(await repo.transitionImage(image.id, ['queued', 'saving'], 'active', fields, at), true);
        assert.deepEqual(await repo.findImage(image.id), {
          ...image,
          ...fields,
          status: 'active',
          updated_at: at,
        });
      });

      it('leaves updated_at alone when no time is given', async () => {
        const image = makeImage({ status: 'queued' });
        await repo.createImage(image);
        assert.equal(await repo.transitionImage(image.id, ['queued'], 'saving'), true);
        assert.equal((await repo.findImage(image.id))?.updated_at, image.updated_at);
      });

      it('can set a field back to null', async () => {
        const image = makeImage({ status: 'saving', size: 10, virtual_size: 20 });
        await repo.createImage(image);
        assert.equal(
          await repo.transitionImage(image.id, ['saving'], 'queued', { size: null, virtual_size: null }),
          true,
        );
        const found = await repo.findImage(image.id);
        assert.equal(found?.size, null);
        assert.equal(found?.virtual_size, null);
      });

      it('returns false and changes nothing when the status is not in `from`', async () => {
        const image = makeImage({ status: 'active', size: 1 });
        await repo.createImage(image);
        const moved = await repo.transitionImage(
          image.id,
          ['queued', 'saving'],
          'killed',
          { size: 99 },
          '2030-01-01T00:00:00Z',
        );
        assert.equal(moved, false);
        assert.deepEqual(await repo.findImage(image.id), image);
      });

      it('returns false for an unknown image', async () => {
        assert.equal(await repo.transitionImage(randomUUID(), ['queued'], 'saving'), false);
      });

      it('lets exactly one of many concurrent callers move an image out of a status', async () => {
        const image = makeImage({ status: 'queued' });
        await repo.createImage(image);
        const results = await Promise.all(
          Array.from({ length: 8 }, () => repo.transitionImage(image.id, ['queued'], 'saving')),
        );
        assert.equal(results.filter(Boolean).length, 1);
      });

      it('marks an image deleted, after which findImage still returns it', async () => {
        const image = makeImage({ status: 'active' });
        await repo.createImage(image);
        const at = '2024-04-01T00:00:00Z';
        assert.equal(await repo.transitionImage(image.id, ['active'], 'deleted', {}, at), true);
        const found = await repo.findImage(image.id);
        assert.equal(found?.status, 'deleted');
        assert.equal(found?.updated_at, at);
      });
    });

    describe('stage and import leases', () => {
      const lease = (owner: string) => ({ owner, heartbeat: '2026-01-01T00:00:01Z', temp: `${owner}.t` });

      it('stages under a lease, then keeps the image uploading with its staged size and no lease', async () => {
        const image = makeImage({ status: 'queued', size: null, blob_key: null });
        await repo.createImage(image);
        assert.equal(await repo.beginUpload(image.id, ['queued'], lease('p1'), 'T1', 'uploading'), true);
        assert.deepEqual(
          (await repo.listUploads()).map((u) => [u.id, u.status, u.owner]),
          [[image.id, 'uploading', 'p1']],
        );
        assert.equal(await repo.renewUploadLease(image.id, 'p1', 'T2'), true);
        assert.equal(await repo.finishStage(image.id, 'p2', { size: 5 }, 'T3'), false);
        assert.equal(await repo.finishStage(image.id, 'p1', { size: 5 }, 'T3'), true);
        const staged = (await repo.findImage(image.id))!;
        assert.equal(staged.status, 'uploading');
        assert.equal(staged.size, 5);
        assert.equal(staged.blob_key, null, 'the staged data is under the staging key, never recorded');
        assert.deepEqual(await repo.listUploads(), [], 'a finished stage is no longer being written');
        assert.deepEqual(
          (await repo.listBlobHolders()).map((h) => [h.id, h.status, h.blobKey]),
          [[image.id, 'uploading', null]],
        );
      });

      it('imports only a finished stage, and releasing an import queues the image without data', async () => {
        const image = makeImage({ status: 'queued', size: null, blob_key: null });
        await repo.createImage(image);
        await repo.beginUpload(image.id, ['queued'], lease('p1'), 'T1', 'uploading');
        assert.equal(
          await repo.beginUpload(image.id, ['uploading'], lease('p2'), 'T2', 'importing'),
          false,
          'data still being staged cannot be imported',
        );
        await repo.finishStage(image.id, 'p1', { size: 5 }, 'T3');
        assert.equal(await repo.beginUpload(image.id, ['uploading'], lease('p2'), 'T4', 'importing'), true);
        assert.deepEqual(
          (await repo.listUploads()).map((u) => [u.status, u.owner, u.temp]),
          [['importing', 'p2', 'p2.t']],
        );
        assert.equal(await repo.releaseUpload(image.id, 'p1', 'T5'), false, 'not the lease holder');
        assert.equal(await repo.releaseUpload(image.id, 'p2', 'T5'), true);
        const queued = (await repo.findImage(image.id))!;
        assert.equal(queued.status, 'queued');
        assert.equal(queued.size, null);
        assert.equal(queued.blob_key, null);
      });

      it('activates an import while its owner holds the lease', async () => {
        const image = makeImage({ status: 'queued', size: null, blob_key: null });
        await repo.createImage(image);
        await repo.beginUpload(image.id, ['queued'], lease('p1'), 'T1', 'importing');
        assert.equal(await repo.finishUpload(image.id, 'p1', { size: 3, blob_key: image.id }, 'T2'), true);
        assert.equal((await repo.findImage(image.id))?.status, 'active');
      });

      it('sets and removes the properties the service manages, keeping the others', async () => {
        const image = makeImage({ properties: { a: '1', os_glance_failed_import: 'old' } });
        await repo.createImage(image);
        await repo.setImageProperties(image.id, {
          os_glance_failed_import: '',
          os_glance_importing_to_stores: '',
        });
        assert.deepEqual((await repo.findImage(image.id))?.properties, {
          a: '1',
          os_glance_failed_import: '',
          os_glance_importing_to_stores: '',
        });
        await repo.setImageProperties(image.id, { os_glance_importing_to_stores: null });
        assert.deepEqual((await repo.findImage(image.id))?.properties, {
          a: '1',
          os_glance_failed_import: '',
        });
      });
    });

    describe('listImages visibility', () => {
      // Project A looks; B owns most shared images and lists A (or C) as members.
      const a = 'project-a';
      const b = 'project-b';
      const c = 'project-c';
      let images: Record<string, ImageRecord>;

      beforeEach(async () => {
        images = {
          aPrivate: makeImage({ owner: a, visibility: 'private' }),
          aShared: makeImage({ owner: a, visibility: 'shared' }),
          aCommunity: makeImage({ owner: a, visibility: 'community' }),
          aPublic: makeImage({ owner: a, visibility: 'public' }),
          bPrivate: makeImage({ owner: b, visibility: 'private' }),
          bPublic: makeImage({ owner: b, visibility: 'public' }),
          bCommunity: makeImage({ owner: b, visibility: 'community' }),
          bAccepted: makeImage({ owner: b, visibility: 'shared' }),
          bPending: makeImage({ owner: b, visibility: 'shared' }),
          bRejected: makeImage({ owner: b, visibility: 'shared' }),
          bSharedWithC: makeImage({ owner: b, visibility: 'shared' }),
          bSharedWithNobody: makeImage({ owner: b, visibility: 'shared' }),
          // Members of a private image do not make it visible.
          bPrivateWithMember: makeImage({ owner: b, visibility: 'private' }),
        };
        await createAll(Object.values(images));
        await repo.addMember(makeMember(images.bAccepted.id, a, 'accepted'));
        await repo.addMember(makeMember(images.bPending.id, a, 'pending'));
        await repo.addMember(makeMember(images.bRejected.id, a, 'rejected'));
        await repo.addMember(makeMember(images.bSharedWithC.id, c, 'accepted'));
        await repo.addMember(makeMember(images.bPrivateWithMember.id, a, 'accepted'));
      });

      const expectIds = async (query: ImageListQuery, keys: string[]) => {
        const listed = await repo.listImages(query);
        const names = Object.entries(images)
          .filter(([, image]) => listed.some((l) => l.id === image.id))
          .map(([key]) => key);
        assert.deepEqual(names.sort(), [...keys].sort());
        assert.equal(listed.length, keys.length, 'no image is listed twice');
      };
      const ownA = ['aPrivate', 'aShared', 'aCommunity', 'aPublic'];

      it('shows a project its own images, public ones and shared ones it accepted', async () => {
        await expectIds(listQuery(viewerOf(a)), [...ownA, 'bPublic', 'bAccepted']);
      });

      for (const [status, key] of [
        ['pending', 'bPending'],
        ['rejected', 'bRejected'],
      ] as const) {
        it(`shows shared images whose membership is ${status} when member_status=${status}`, async () => {
          await expectIds(listQuery(viewerOf(a), { memberStatus: status }), [...ownA, 'bPublic', key]);
        });
      }

      it('shows shared images in any membership status when member_status=all', async () => {
        await expectIds(listQuery(viewerOf(a), { memberStatus: 'all' }), [
          ...ownA,
          'bPublic',
          'bAccepted',
          'bPending',
          'bRejected',
        ]);
      });

      it('hides other projects’ community images from the default list but lists them with visibility=all', async () => {
        await expectIds(listQuery(viewerOf(a), { visibility: 'all' }), [
          ...ownA,
          'bPublic',
          'bCommunity',
          'bAccepted',
        ]);
      });

      it('lists every community image with visibility=community', async () => {
        await expectIds(listQuery(viewerOf(a), { visibility: 'community' }), ['aCommunity', 'bCommunity']);
      });

      it('lists every public image with visibility=public', async () => {
        await expectIds(listQuery(viewerOf(a), { visibility: 'public' }), ['aPublic', 'bPublic']);
      });

      it('lists only the viewer’s own private images with visibility=private', async () => {
        await expectIds(listQuery(viewerOf(a), { visibility: 'private' }), ['aPrivate']);
      });

      it('lists owned shared images and memberships matching member_status with visibility=shared', async () => {
        await expectIds(listQuery(viewerOf(a), { visibility: 'shared' }), ['aShared', 'bAccepted']);
        await expectIds(listQuery(viewerOf(a), { visibility: 'shared', memberStatus: 'all' }), [
          'aShared',
          'bAccepted',
          'bPending',
          'bRejected',
        ]);
      });

      it('shows another project only the public images and what is shared with it', async () => {
        await expectIds(listQuery(viewerOf(c)), ['aPublic', 'bPublic', 'bSharedWithC']);
      });

      it('shows an admin every image except other projects’ community images by default', async () => {
        const all = Object.keys(images);
        await expectIds(
          listQuery(ADMIN),
          all.filter((k) => k !== 'aCommunity' && k !== 'bCommunity'),
        );
      });

      it('shows an admin every image with visibility=all, whatever the member status', async () => {
        await expectIds(
          listQuery(ADMIN, { visibility: 'all', memberStatus: 'pending' }),
          Object.keys(images),
        );
      });

      it('shows an admin every shared image with visibility=shared', async () => {
        await expectIds(listQuery(ADMIN, { visibility: 'shared' }), [
          'aShared',
          'bAccepted',
          'bPending',
          'bRejected',
          'bSharedWithC',
          'bSharedWithNobody',
        ]);
      });

      it('shows an admin its own project’s community images by default', async () => {
        const own = makeImage({ owner: ADMIN.projectId, visibility: 'community' });
        await repo.createImage(own);
        const listed = await repo.listImages(listQuery(ADMIN));
        assert.ok(listed.some((image) => image.id === own.id));
      });

      it('shows a viewer without a project only public images, or community ones when asked', async () => {
        await expectIds(listQuery(viewerOf(null)), ['aPublic', 'bPublic']);
        await expectIds(listQuery(viewerOf(null), { visibility: 'community' }), ['aCommunity', 'bCommunity']);
      });

      it('never lists killed or deleted images, even to an admin asking for all', async () => {
        const gone = [
          makeImage({ owner: a, status: 'killed' }),
          makeImage({ owner: a, status: 'deleted' }),
          makeImage({ owner: a, status: 'killed', visibility: 'private' }),
        ];
        const kept = ['queued', 'saving', 'uploading', 'importing', 'deactivated'] as const;
        const live = kept.map((status) => makeImage({ owner: a, status }));
        await createAll([...gone, ...live]);
        for (const viewer of [ADMIN, viewerOf(a)]) {
          const listed = idsOf(await repo.listImages(listQuery(viewer, { visibility: 'all' })));
          for (const image of gone) assert.ok(!listed.includes(image.id), `${image.status} is not listed`);
          for (const image of live) assert.ok(listed.includes(image.id), `${image.status} is listed`);
        }
      });
    });

    describe('listImages filters', () => {
      const list = (overrides: Partial<ImageListQuery>) => repo.listImages(listQuery(ADMIN, overrides));

      it('hides os_hidden images by default, and lists only them with os_hidden=true', async () => {
        const shown = makeImage();
        const hidden = makeImage({ os_hidden: true });
        await createAll([shown, hidden]);
        assert.deepEqual(idSet(await list({})), [shown.id]);
        assert.deepEqual(idSet(await list({ osHidden: true })), [hidden.id]);
        assert.deepEqual(idSet(await list({ osHidden: undefined })), idSet([shown, hidden]));
      });

      it('keeps images whose column is in an in: list, for every filterable column', async () => {
        const one = makeImage({
          name: 'one',
          status: 'active',
          container_format: 'bare',
          disk_format: 'raw',
          owner: 'p1',
          checksum: 'c1',
          os_hash_value: 'h1',
        });
        const two = makeImage({
          name: 'two',
          status: 'queued',
          container_format: 'ovf',
          disk_format: 'qcow2',
          owner: 'p2',
          checksum: 'c2',
          os_hash_value: 'h2',
        });
        const three = makeImage({
          name: 'three',
          status: 'deactivated',
          container_format: 'ova',
          disk_format: 'iso',
          owner: 'p3',
          checksum: 'c3',
          os_hash_value: 'h3',
        });
        await createAll([one, two, three]);
        const columns = [
          'id',
          'name',
          'status',
          'container_format',
          'disk_format',
          'owner',
          'checksum',
          'os_hash_value',
        ] as const;
        for (const column of columns) {
          const values = [one[column], three[column]] as string[];
          assert.deepEqual(
            idSet(await list({ anyOf: { [column]: values } })),
            idSet([one, three]),
            `${column} in ${values}`,
          );
          assert.deepEqual(idSet(await list({ anyOf: { [column]: ['none'] } })), [], `${column} in none`);
        }
        // Filters on different columns must all hold.
        assert.deepEqual(
          idSet(await list({ anyOf: { name: ['one', 'two'], disk_format: ['qcow2', 'iso'] } })),
          [two.id],
        );
        // An empty list means no filter.
        assert.equal((await list({ anyOf: { name: [] } })).length, 3);
      });

      it('filters on size_min and size_max inclusively and leaves out images without a size', async () => {
        const sizes = [null, 0, 100, 200, 2 ** 33];
        const images = sizes.map((size) => makeImage({ size }));
        await createAll(images);
        const bySize = (list: ImageRecord[]) => list.map((i) => i.size).sort((x, y) => Number(x) - Number(y));
        assert.deepEqual(bySize(await list({ sizeMin: 100 })), [100, 200, 2 ** 33]);
        assert.deepEqual(bySize(await list({ sizeMax: 100 })), [0, 100]);
        assert.deepEqual(bySize(await list({ sizeMin: 100, sizeMax: 200 })), [100, 200]);
        assert.deepEqual(bySize(await list({ sizeMin: 2 ** 32 })), [2 ** 33]);
      });

      it('filters on an exact size', async () => {
        await createAll([null, 0, 100, 2 ** 33].map((size) => makeImage({ size })));
        assert.deepEqual(
          (await list({ size: 100 })).map((i) => i.size),
          [100],
        );
        assert.deepEqual(
          (await list({ size: 2 ** 33 })).map((i) => i.size),
          [2 ** 33],
        );
        assert.deepEqual(await list({ size: 101 }), []);
      });

      it('keeps only images carrying every requested tag', async () => {
        const both = makeImage({ tags: ['x', 'y', 'z'] });
        const onlyX = makeImage({ tags: ['x'] });
        const onlyY = makeImage({ tags: ['y'] });
        await createAll([both, onlyX, onlyY]);
        assert.deepEqual(idSet(await list({ tags: ['x', 'y'] })), [both.id]);
        assert.deepEqual(idSet(await list({ tags: ['x'] })), idSet([both, onlyX]));
        assert.deepEqual(idSet(await list({ tags: ['w'] })), []);
      });

      it('matches extra properties exactly, any of the given values, every property', async () => {
        const ubuntu = makeImage({ properties: { os_distro: 'ubuntu', arch: 'x86_64' } });
        const debian = makeImage({ properties: { os_distro: 'debian', arch: 'aarch64' } });
        const fedora = makeImage({ properties: { os_distro: 'fedora', arch: 'x86_64' } });
        const bare = makeImage({ properties: { os_distro_family: 'ubuntu' } });
        await createAll([ubuntu, debian, fedora, bare]);
        assert.deepEqual(
          idSet(await list({ properties: { os_distro: ['ubuntu', 'debian'] } })),
          idSet([ubuntu, debian]),
        );
        assert.deepEqual(
          idSet(await list({ properties: { os_distro: ['ubuntu', 'fedora'], arch: ['x86_64'] } })),
          idSet([ubuntu, fedora]),
        );
        assert.deepEqual(idSet(await list({ properties: { os_distro: ['Ubuntu'] } })), []);
        assert.deepEqual(idSet(await list({ properties: { arch: ['aarch64'], os_distro: ['ubuntu'] } })), []);
      });

      it('compares created_at and updated_at with every operator', async () => {
        const times = ['2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z'];
        const images = times.map((t, i) => makeImage({ created_at: t, updated_at: times[2 - i] }));
        await createAll(images);
        const pivot = times[1];
        const at = (list: ImageRecord[]) => list.map((i) => i.created_at).sort();
        const cases = [
          ['eq', [times[1]]],
          ['neq', [times[0], times[2]]],
          ['gt', [times[2]]],
          ['gte', [times[1], times[2]]],
          ['lt', [times[0]]],
          ['lte', [times[0], times[1]]],
        ] as const;
        for (const [op, expected] of cases) {
          const created = await list({ timeFilters: [{ column: 'created_at', op, value: pivot }] });
          assert.deepEqual(at(created), expected, `created_at ${op}`);
          // updated_at runs the other way round, so filtering the wrong column would show here.
          const updated = await list({ timeFilters: [{ column: 'updated_at', op, value: pivot }] });
          assert.deepEqual(updated.map((i) => i.updated_at).sort(), expected, `updated_at ${op}`);
        }
        const range = await list({
          timeFilters: [
            { column: 'created_at', op: 'gt', value: times[0] },
            { column: 'created_at', op: 'lt', value: times[2] },
          ],
        });
        assert.deepEqual(at(range), [times[1]]);
      });

      it('filters on protected', async () => {
        const locked = makeImage({ protected: true });
        const open = makeImage({ protected: false });
        await createAll([locked, open]);
        assert.deepEqual(idSet(await list({ protected: true })), [locked.id]);
        assert.deepEqual(idSet(await list({ protected: false })), [open.id]);
        assert.deepEqual(idSet(await list({})), idSet([locked, open]));
      });

      it('applies the limit', async () => {
        await createAll(Array.from({ length: 5 }, () => makeImage()));
        assert.equal((await list({ limit: 2 })).length, 2);
        assert.equal((await list({ limit: 0 })).length, 0);
      });
    });

    describe('listImages sorting', () => {
      let images: ImageRecord[];
      beforeEach(async () => {
        images = sortableImages();
        await createAll(images);
      });

      const listSorted = (sort: SortOrder[]) =>
        repo.listImages(listQuery(ADMIN, { visibility: 'all', sort }));

      it('sorts by created_at then id, newest first, by default', async () => {
        const sort = withTieBreakers([{ key: 'created_at', dir: 'desc' }]);
        assert.deepEqual(idsOf(await listSorted(sort)), idsOf([...images].sort(compareBy(sort))));
      });

      for (const key of SORT_KEYS) {
        for (const dir of ['asc', 'desc'] as const) {
          it(`sorts by ${key} ${dir} with NULLs as the smallest value`, async () => {
            const sort = withTieBreakers([{ key, dir }]);
            assert.deepEqual(idsOf(await listSorted(sort)), idsOf([...images].sort(compareBy(sort))));
          });
        }
      }

      it('sorts by several keys in mixed directions', async () => {
        const sort = withTieBreakers([
          { key: 'status', dir: 'asc' },
          { key: 'name', dir: 'desc' },
          { key: 'size', dir: 'asc' },
        ]);
        assert.deepEqual(idsOf(await listSorted(sort)), idsOf([...images].sort(compareBy(sort))));
      });
    });

    describe('listImages keyset pagination', () => {
      let images: ImageRecord[];
      beforeEach(async () => {
        images = sortableImages();
        // More created_at ties, across what will be page boundaries.
        images.push(
          ...Array.from({ length: 7 }, (_, i) =>
            makeImage({ created_at: '2024-01-12T08:00:00Z', name: i % 2 ? null : 'tie' }),
          ),
        );
        await createAll(images);
      });

      const sorts: SortOrder[][] = [
        withTieBreakers([{ key: 'created_at', dir: 'desc' }]),
        withTieBreakers([{ key: 'created_at', dir: 'asc' }]),
        withTieBreakers([{ key: 'name', dir: 'asc' }]),
        withTieBreakers([{ key: 'name', dir: 'desc' }]),
        withTieBreakers([{ key: 'size', dir: 'asc' }]),
        withTieBreakers([{ key: 'size', dir: 'desc' }]),
        withTieBreakers([
          { key: 'owner', dir: 'asc' },
          { key: 'min_ram', dir: 'desc' },
        ]),
        withTieBreakers([
          { key: 'disk_format', dir: 'desc' },
          { key: 'updated_at', dir: 'asc' },
        ]),
      ];

      for (const sort of sorts) {
        const label = sort.map((s) => `${s.key} ${s.dir}`).join(', ');
        it(`walks every image exactly once, in order, by ${label}`, async () => {
          const expected = idsOf([...images].sort(compareBy(sort)));
          for (const limit of [1, 4, 7]) {
            const seen: string[] = [];
            let marker: ImageRecord | undefined;
            for (let page = 0; page <= images.length; page++) {
              const rows = await repo.listImages(
                listQuery(ADMIN, { visibility: 'all', sort, marker, limit }),
              );
              seen.push(...idsOf(rows));
              if (rows.length < limit) break;
              marker = rows.at(-1);
            }
            assert.deepEqual(seen, expected, `pages of ${limit}`);
          }
        });
      }

      it('starts after the marker even when other filters apply', async () => {
        const sort = withTieBreakers([{ key: 'created_at', dir: 'desc' }]);
        const query = listQuery(ADMIN, { visibility: 'all', sort, anyOf: { status: ['active'] } });
        const all = await repo.listImages(query);
        assert.ok(all.length > 3);
        const rest = await repo.listImages({ ...query, marker: all[1] });
        assert.deepEqual(idsOf(rest), idsOf(all.slice(2)));
      });
    });

    describe('members', () => {
      let image: ImageRecord;
      beforeEach(async () => {
        image = makeImage({ visibility: 'shared' });
        await repo.createImage(image);
      });

      it('adds, finds, lists in creation order and counts members', async () => {
        const second = makeMember(image.id, 'project-b', 'pending', '2024-03-02T00:00:00Z');
        const first = makeMember(image.id, 'project-c', 'accepted', '2024-03-01T00:00:00Z');
        await repo.addMember(second);
        await repo.addMember(first);
        assert.deepEqual(await repo.findMember(image.id, 'project-b'), second);
        assert.deepEqual(await repo.listMembers(image.id), [first, second]);
        assert.equal(await repo.countMembers(image.id), 2);
      });

      it('finds no member that was never added', async () => {
        assert.equal(await repo.findMember(image.id, 'project-z'), null);
        assert.deepEqual(await repo.listMembers(image.id), []);
        assert.equal(await repo.countMembers(image.id), 0);
      });

      it('keeps memberships of different images apart', async () => {
        const other = makeImage({ visibility: 'shared' });
        await repo.createImage(other);
        await repo.addMember(makeMember(image.id, 'project-b', 'pending'));
        assert.equal(await repo.findMember(other.id, 'project-b'), null);
        assert.equal(await repo.countMembers(other.id), 0);
      });

      it('refuses a duplicate member with CONFLICT', async () => {
        await repo.addMember(makeMember(image.id, 'project-b', 'pending'));
        await assertCode(repo.addMember(makeMember(image.id, 'project-b', 'accepted')), 'CONFLICT');
        assert.equal((await repo.findMember(image.id, 'project-b'))?.status, 'pending');
      });

      it('updates a member’s status and time, and reports an unknown member', async () => {
        const member = makeMember(image.id, 'project-b', 'pending');
        await repo.addMember(member);
        const accepted = { ...member, status: 'accepted' as const, updated_at: '2024-03-03T00:00:00Z' };
        assert.equal(await repo.updateMember(accepted), true);
        assert.deepEqual(await repo.findMember(image.id, 'project-b'), accepted);
        assert.equal(await repo.updateMember({ ...accepted, member_id: 'project-z' }), false);
      });

      it('removes a member once', async () => {
        await repo.addMember(makeMember(image.id, 'project-b', 'pending'));
        assert.equal(await repo.removeMember(image.id, 'project-b'), true);
        assert.equal(await repo.removeMember(image.id, 'project-b'), false);
        assert.equal(await repo.findMember(image.id, 'project-b'), null);
        assert.equal(await repo.countMembers(image.id), 0);
      });
    });
  });
}

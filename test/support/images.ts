// An image record as the catalog stores it, for tests of rules and repositories without a server.
import { type ImageRecord, NEW_IMAGE_GOVERNANCE } from '../../src/catalog/index.ts';

/** An active, shared, custom image of project `images` with one byte of data; override what a test needs. */
export function activeImageRecord(overrides: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    name: 'debian-12',
    status: 'active',
    visibility: 'shared',
    protected: false,
    os_hidden: false,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    owner: 'images',
    size: 1,
    virtual_size: null,
    container_format: 'bare',
    disk_format: 'raw',
    min_ram: 0,
    min_disk: 0,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    properties: {},
    tags: [],
    blob_key: 'k',
    ...NEW_IMAGE_GOVERNANCE,
    ...overrides,
  };
}

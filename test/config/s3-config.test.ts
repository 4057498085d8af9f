// blobs.backend: s3 and its settings: defaults, environment variables, and refusals that name the key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, resolveStoragePaths, validateConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { openS3BlobStore } from '../../src/storage/index.ts';

describe('S3 blob store settings', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-s3-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to the filesystem, and to path-style, us-east-1 and 64 MiB parts, two in flight, for s3', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    assert.equal(config.blobs.backend, 'filesystem');
    assert.equal(config.blobs.s3.region, 'us-east-1');
    assert.equal(config.blobs.s3.pathStyle, true);
    assert.equal(config.blobs.s3.partSizeMiB, 64);
    assert.equal(config.blobs.s3.partsInFlight, 2);
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig({
      cwd: dir,
      env: {
        IMAGETRUST_BLOBS_BACKEND: 's3',
        IMAGETRUST_S3_ENDPOINT: 'https://s3.example.org:8443',
        IMAGETRUST_S3_REGION: 'RegionOne',
        IMAGETRUST_S3_BUCKET: 'images',
        IMAGETRUST_S3_PATH_STYLE: 'false',
        IMAGETRUST_S3_PREFIX: 'cloud-a/',
        IMAGETRUST_S3_PART_SIZE_MIB: '32',
        IMAGETRUST_S3_PARTS_IN_FLIGHT: '4',
        IMAGETRUST_S3_CREDENTIALS_FILE: '/etc/imagetrust/s3-credentials',
        IMAGETRUST_S3_PROFILE: 'images',
        IMAGETRUST_S3_STAGING_DIR: '/var/tmp/imagetrust-staging',
      },
    });
    assert.deepEqual(config.blobs.s3, {
      endpoint: 'https://s3.example.org:8443',
      region: 'RegionOne',
      bucket: 'images',
      pathStyle: false,
      prefix: 'cloud-a/',
      partSizeMiB: 32,
      partsInFlight: 4,
      credentialsFile: '/etc/imagetrust/s3-credentials',
      profile: 'images',
      stagingDir: '/var/tmp/imagetrust-staging',
    });
    assert.equal(config.blobs.backend, 's3');
  });

  it('stages parts in <dataDir>/s3-staging unless blobs.s3.stagingDir says where', () => {
    assert.equal(
      resolveStoragePaths(validateConfig({ dataDir: '/srv/imagetrust' })).s3StagingDir,
      '/srv/imagetrust/s3-staging',
    );
    assert.equal(
      resolveStoragePaths(
        validateConfig({ dataDir: '/srv/imagetrust', blobs: { s3: { stagingDir: '/scratch/parts' } } }),
      ).s3StagingDir,
      '/scratch/parts',
    );
  });

  const s3 = { endpoint: 'http://127.0.0.1:8080', bucket: 'images' };
  for (const [label, settings, message] of [
    ['no endpoint', { bucket: 'images' }, /blobs\.s3\.endpoint .*is not set/],
    ['an endpoint that is no URL', { ...s3, endpoint: 'localhost:8080' }, /http:\/\/ or https:\/\//],
    [
      'an endpoint with credentials in it',
      { ...s3, endpoint: 'http://key:secret@127.0.0.1' },
      /must not carry credentials/,
    ],
    ['no bucket', { endpoint: s3.endpoint }, /blobs\.s3\.bucket .*is not set/],
    ['a bucket name with a slash', { ...s3, bucket: 'a/b' }, /is not a bucket name/],
    ['a prefix climbing out', { ...s3, prefix: '../x' }, /blobs\.s3\.prefix/],
    ['a profile without a file', { ...s3, profile: 'x' }, /needs blobs\.s3\.credentialsFile/],
    ['parts under 5 MiB', { ...s3, partSizeMiB: 4 }, /blobs\.s3\.partSizeMiB/],
    ['no part in flight', { ...s3, partsInFlight: 0 }, /blobs\.s3\.partsInFlight/],
    ['17 parts in flight', { ...s3, partsInFlight: 17 }, /blobs\.s3\.partsInFlight/],
  ] as const) {
    it(`refuses ${label}`, () => {
      assert.throws(
        () => validateConfig({ blobs: { backend: 's3', s3: settings } }),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }

  it('refuses an unknown backend, and ignores s3 settings for the filesystem', () => {
    assert.throws(() => validateConfig({ blobs: { backend: 'ceph' } }), /blobs\.backend/);
    assert.equal(validateConfig({ blobs: { s3: { endpoint: 'nonsense' } } }).blobs.backend, 'filesystem');
  });

  it('stops the start with a clear error when no credentials are given', async () => {
    const config = validateConfig({ blobs: { backend: 's3', s3 } });
    await assert.rejects(
      openS3BlobStore(config.blobs.s3, { env: {}, stagingDir: path.join(dir, 'staging') }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
        return true;
      },
    );
  });
});

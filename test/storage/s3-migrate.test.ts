// `imagetrust blobs migrate --to s3`, the real command on a store a real server filled: every image's
// data lands in a real Swift + s3api verified against its recorded sha512, a second run copies nothing
// (resumable), data that no longer matches its digest is refused and never published, and a server on
// the object store then serves the migrated images byte for byte.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ObjectStore, startObjectStore } from '../support/objectstore.ts';
import { startTestServer } from '../support/server.ts';
import { run } from '../support/tools.ts';

const BIN = path.join(import.meta.dirname, '../../bin/imagetrust');
const MiB = 1024 * 1024;

describe('imagetrust blobs migrate --to s3', () => {
  let swift: ObjectStore;
  let dataDir: string;
  const prefix = `migrate-${process.pid}`;

  before(async () => {
    swift = await startObjectStore();
    dataDir = await mkdtemp(path.join(tmpdir(), 'imagetrust-migrate-'));
  });
  after(async () => {
    await swift?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  const s3Settings = () => ({
    endpoint: swift.endpoint,
    region: swift.region,
    bucket: swift.bucket,
    pathStyle: true,
    prefix,
    partSizeMiB: 5,
  });

  const migrate = (...extra: string[]) =>
    run(BIN, ['blobs', 'migrate', '--to', 's3', '--data-dir', dataDir, '-f', 'json', ...extra], {
      IMAGETRUST_CONFIG: '',
      IMAGETRUST_S3_ENDPOINT: swift.endpoint,
      IMAGETRUST_S3_REGION: swift.region,
      IMAGETRUST_S3_BUCKET: swift.bucket,
      IMAGETRUST_S3_PREFIX: prefix,
      IMAGETRUST_S3_PART_SIZE_MIB: '5',
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
    });

  it('copies verified, resumes, refuses a corrupted blob, and the S3 server serves the result', async () => {
    // A filesystem-backed server fills the store: three images, one larger than a part.
    const payloads = [randomBytes(100), randomBytes(12 * MiB + 1), randomBytes(3000)];
    const ids: string[] = [];
    const fsServer = await startTestServer({ dataDir });
    try {
      const token = await fsServer.token();
      for (const [i, data] of payloads.entries()) {
        const created = await fetch(`${fsServer.url}/image/v2/images`, {
          method: 'POST',
          headers: { 'x-auth-token': token, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `m${i}`, disk_format: 'raw', container_format: 'bare' }),
        });
        const id = ((await created.json()) as { id: string }).id;
        const put = await fetch(`${fsServer.url}/image/v2/images/${id}/file`, {
          method: 'PUT',
          headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
          body: data,
        });
        assert.equal(put.status, 204);
        ids.push(id);
      }
    } finally {
      await fsServer.stop();
    }
    // The third image's file is changed behind the store's back: its digest no longer matches.
    await writeFile(path.join(dataDir, 'blobs', 'images', ids[2]), randomBytes(3000));

    const dry = await migrate('--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal((JSON.parse(dry.stdout) as { copied: string[] }).copied.length, 3);

    const first = await migrate();
    assert.equal(first.code, 1, `a failed copy exits 1\n${first.stderr}`);
    const report = JSON.parse(first.stdout) as {
      copied: string[];
      present: string[];
      failed: { key: string; reason: string }[];
    };
    assert.deepEqual([...report.copied].sort(), [ids[0], ids[1]].sort());
    assert.deepEqual(
      report.failed.map((f) => f.key),
      [ids[2]],
    );
    assert.match(report.failed[0].reason, /differs from the recorded/);

    // The source is repaired (from a backup, say): a second run copies only what is left.
    await writeFile(path.join(dataDir, 'blobs', 'images', ids[2]), payloads[2]);
    const second = await migrate();
    assert.equal(second.code, 0, second.stderr);
    const resumed = JSON.parse(second.stdout) as { copied: string[]; present: string[] };
    assert.deepEqual(resumed.copied, [ids[2]]);
    assert.deepEqual([...resumed.present].sort(), [ids[0], ids[1]].sort());

    // The same metadata, now on the object store: the images download unchanged.
    await rm(path.join(dataDir, 'blobs'), { recursive: true, force: true });
    const credentials = path.join(dataDir, 's3-credentials');
    await writeFile(
      credentials,
      `[default]\naws_access_key_id = ${swift.accessKeyId}\naws_secret_access_key = ${swift.secretAccessKey}\n`,
      { mode: 0o600 },
    );
    const s3Server = await startTestServer({
      dataDir,
      blobs: { backend: 's3', s3: { ...s3Settings(), credentialsFile: credentials } },
    });
    try {
      const token = await s3Server.token();
      for (const [i, id] of ids.entries()) {
        const got = await fetch(`${s3Server.url}/image/v2/images/${id}/file`, {
          headers: { 'x-auth-token': token },
        });
        assert.equal(got.status, 200);
        assert.ok(Buffer.from(await got.arrayBuffer()).equals(payloads[i]), `image ${i}`);
      }
    } finally {
      await s3Server.stop();
    }
  });
});

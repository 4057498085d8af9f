import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { SignedTreeHead } from '../../src/audit/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { FileTreeHeadPin } from '../../src/storage/index.ts';

const head = (size: number): SignedTreeHead => ({
  tree_size: size,
  root_hash: String(size).padStart(64, '0'),
  timestamp: 0,
  signed_at: '2026-01-01T00:00:00.000Z',
  key_id: 'k',
  signature: 'sig',
});

describe('FileTreeHeadPin', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-head-file-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads nothing before the first head, then keeps the largest head in a private file', async () => {
    const pin = new FileTreeHeadPin(path.join(dir, 'audit-log-head.json'));
    assert.equal(await pin.read(), null);
    await Promise.all([pin.raise(head(8)), pin.raise(head(3)), pin.raise(head(5))]);
    assert.equal((await pin.read())?.tree_size, 8);
    await pin.raise(head(2));
    assert.equal((await pin.read())?.tree_size, 8);
    await pin.raise(head(9));
    assert.equal((await pin.read())?.tree_size, 9);
    assert.equal(statSync(pin.file).mode & 0o777, 0o600);
  });

  it('refuses a file that holds no head rather than forgetting the pin', async () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{"tree_size":');
    await assert.rejects(
      new FileTreeHeadPin(file).read(),
      (error) => error instanceof ImageTrustError && error.code === 'CONFIG_INVALID',
    );
  });
});

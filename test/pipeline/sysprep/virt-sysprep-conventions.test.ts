// `imagetrust sysprep` takes virt-sysprep's --operations grammar and lists its operations without an
// image; and what it leaves passes the scan (an emptied udev rules file defines no rules).
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeSysprepFixtures, type SysprepFixtures } from '../../fixtures/sysprep-fixtures.ts';
import { run } from '../../support/tools.ts';

const BIN = new URL('../../../bin/imagetrust', import.meta.url).pathname;
const ENV = { IMAGETRUST_CONFIG: '' };

async function checkStatus(image: string, id: string): Promise<string | undefined> {
  const result = await run(BIN, ['scan', image, '--format', 'json'], ENV);
  const report = JSON.parse(result.stdout) as { results: { id: string; status: string }[] };
  return report.results.find((check) => check.id === id)?.status;
}

describe('imagetrust sysprep as virt-sysprep', () => {
  let fx: SysprepFixtures;
  let work: string;
  before(async () => {
    fx = await makeSysprepFixtures();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-sysprep-conv-'));
  });
  after(() => {
    rmSync(fx.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('lists the operations without an image', async () => {
    const listed = await run(BIN, ['sysprep', '--list-operations'], ENV);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^udev-persistent-net \*/m);
    assert.equal((await run(BIN, ['sysprep'], ENV)).code, 2);
  });

  it('takes defaults,-op and +op, refuses an unknown operation, and leaves an image the scan passes', async () => {
    for (const kind of ['raw', 'qcow2'] as const) {
      const image = path.join(work, `planted.${kind}`);
      copyFileSync(kind === 'raw' ? fx.plantedRaw : fx.plantedQcow2, image);
      assert.equal(await checkStatus(image, 'no-persistent-net-rules'), 'fail');
      assert.equal((await run(BIN, ['sysprep', image, '--operations', 'defaults,no-such-op'], ENV)).code, 2);
      // The default set includes ssh-hostkeys, refused here (nothing regenerates the keys): -ssh-hostkeys drops it.
      assert.equal((await run(BIN, ['sysprep', image, '--dry-run'], ENV)).code, 1);
      const dry = await run(
        BIN,
        ['sysprep', image, '--dry-run', '--format', 'json', '--operations', '-all,+user-account,machine-id'],
        ENV,
      );
      assert.deepEqual(JSON.parse(dry.stdout).operations, ['machine-id', 'user-account']);
      const done = await run(BIN, ['sysprep', image, '--operations', 'defaults,-ssh-hostkeys'], ENV);
      assert.equal(done.code, 0, done.stderr);
      assert.equal(await checkStatus(image, 'no-persistent-net-rules'), 'pass');
      assert.equal(await checkStatus(image, 'machine-id-empty'), 'pass');
    }
  });
});

// The pipeline end to end on a planted image: scan finds the planted violations, sysprep fixes the ones
// it owns, and the rescan shows them fixed while the rest still fail.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openImage } from '../../src/disk/index.ts';
import { CHECK_IDS, parseProfile, runChecks } from '../../src/pipeline/checks/index.ts';
import { sysprepImage } from '../../src/pipeline/sysprep/index.ts';
import { makeScanFixtures } from '../fixtures/scan-fixtures.ts';

async function failedChecks(image: string): Promise<string[]> {
  const fs = await openImage(image);
  try {
    const results = await runChecks(fs, parseProfile('{}', CHECK_IDS));
    return results
      .filter((r) => r.status === 'fail')
      .map((r) => r.id)
      .sort();
  } finally {
    await fs.close();
  }
}

describe('scan, sysprep, rescan', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-rescan-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const kind of ['raw', 'qcow2'] as const) {
    it(`fixes what sysprep owns on a planted ${kind} image, and the rescan shows it`, async () => {
      const fixtures = await makeScanFixtures();
      const image = path.join(work, `planted.${kind}`);
      copyFileSync(fixtures.planted[kind], image);
      const before = await failedChecks(image);
      for (const id of ['no-ifcfg-hwaddr', 'no-vagrant-account'])
        assert.ok(before.includes(id), `${id} fails before: ${before}`);

      await sysprepImage(image, {
        operations: ['net-hwaddr', 'user-account'],
        users: ['vagrant'],
        units: [],
        force: false,
        dryRun: false,
      });

      const after = await failedChecks(image);
      assert.ok(!after.includes('no-ifcfg-hwaddr'), 'HWADDR lines are gone');
      assert.ok(!after.includes('no-vagrant-account'), 'the vagrant account is gone');
      // What sysprep does not own is still reported.
      for (const id of ['no-swap', 'no-mail-packages', 'source-repos'])
        assert.ok(after.includes(id), `${id} still fails`);
    });
  }
});

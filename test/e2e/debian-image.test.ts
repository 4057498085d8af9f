// The scan pipeline on real Debian 12 images: a debootstrap minbase root (openssh-server, systemd-sysv,
// cloud-init) packed as raw and qcow2. The clean image passes every check of the default profile; the
// planted copy fails exactly the planted checks; sysprep fixes what it owns and the rescan shows it, the
// rest still failing.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openImage } from '../../src/disk/index.ts';
import { CHECK_IDS, type CheckResult, parseProfile, runChecks } from '../../src/pipeline/checks/index.ts';
import { sysprepImage } from '../../src/pipeline/sysprep/index.ts';
import { makeDebianImages } from '../fixtures/debian-image.ts';
import { requireTool } from '../support/tools.ts';

// The default profile: every check, cloud-init.service and the SSH server required.
const PROFILE = parseProfile('', CHECK_IDS);

// One check per planted fault (no-user-accounts also sees the vagrant account and its home).
const PLANTED = [
  'cloud-init',
  'no-lock-files',
  'no-mail-packages',
  'no-swap',
  'no-ifcfg-hwaddr',
  'no-user-accounts',
  'no-vagrant-account',
  'source-repos',
].sort();
// What sysprep's net-hwaddr and user-account (vagrant) remove.
const FIXED_BY_SYSPREP = ['no-ifcfg-hwaddr', 'no-user-accounts', 'no-vagrant-account'];

async function scan(image: string): Promise<CheckResult[]> {
  const fs = await openImage(image);
  try {
    return await runChecks(fs, PROFILE);
  } finally {
    await fs.close();
  }
}

function failed(results: CheckResult[]): string[] {
  return results
    .filter((r) => r.status !== 'pass')
    .map((r) => r.id)
    .sort();
}

function explain(results: CheckResult[]): string {
  return results
    .filter((r) => r.status !== 'pass')
    .map((r) => `${r.id} ${r.status}: ${r.evidence.join('; ')}`)
    .join('\n');
}

describe('a real Debian 12 image: scan, sysprep, rescan', () => {
  let work: string;
  before(async () => {
    // Never skip: a missing tool or privilege fails the run and says how to fix it.
    if (process.getuid?.() !== 0) throw new Error('This test builds images with debootstrap and needs root.');
    requireTool('debootstrap', 'debootstrap');
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-debian-e2e-'));
    const fixtures = await makeDebianImages();
    console.log(`# debian image fixtures built in ${(fixtures.buildMs / 1000).toFixed(1)} s`);
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    rmSync((await makeDebianImages()).dir, { recursive: true, force: true });
  });

  for (const kind of ['raw', 'qcow2'] as const) {
    it(`passes every check of the profile on the clean ${kind} image`, async () => {
      const results = await scan((await makeDebianImages()).clean[kind]);
      assert.equal(results.length, CHECK_IDS.length, 'every check ran');
      assert.deepEqual(failed(results), [], explain(results));
    });

    it(`fails exactly the planted checks on the planted ${kind} image, and sysprep fixes its own`, async () => {
      const image = path.join(work, `planted.${kind}`);
      copyFileSync((await makeDebianImages()).planted[kind], image);
      const before = await scan(image);
      assert.deepEqual(failed(before), PLANTED, explain(before));
      assert.ok(
        before.every((r) => r.status === 'pass' || r.status === 'fail'),
        explain(before),
      );

      await sysprepImage(image, {
        operations: ['net-hwaddr', 'user-account'],
        users: ['vagrant'],
        units: [],
        force: false,
        dryRun: false,
      });

      const after = await scan(image);
      assert.deepEqual(
        failed(after),
        PLANTED.filter((id) => !FIXED_BY_SYSPREP.includes(id)),
        explain(after),
      );
    });
  }
});

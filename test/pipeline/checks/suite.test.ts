// The offline compliance suite over real images: a clean Debian-like tree passes everything, a planted
// copy fails exactly the planted checks, and directory, raw and qcow2 give the same results.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { openImage } from '../../../src/disk/index.ts';
import { CHECK_IDS, type CheckResult, parseProfile, runChecks } from '../../../src/pipeline/checks/index.ts';
import { makeScanFixtures, type ScanFixtures } from '../../fixtures/scan-fixtures.ts';

const PLANTED_FAILURES = [
  'cloud-init',
  'no-ifcfg-hwaddr',
  'no-lock-files',
  'no-mail-packages',
  'no-swap',
  'no-user-accounts',
  'no-vagrant-account',
  'source-repos',
];

async function scan(path: string, profileYaml = ''): Promise<CheckResult[]> {
  const fs = await openImage(path);
  try {
    return await runChecks(fs, parseProfile(profileYaml, CHECK_IDS));
  } finally {
    await fs.close();
  }
}

const failed = (results: CheckResult[]) =>
  results
    .filter((result) => result.status !== 'pass')
    .map((result) => result.id)
    .sort();

describe('runChecks', () => {
  let fixtures: ScanFixtures;
  before(async () => {
    fixtures = await makeScanFixtures();
  });
  after(() => rmSync(fixtures.dir, { recursive: true, force: true }));

  it('passes every check on a clean Debian-like tree, recording the files read', async () => {
    const results = await scan(fixtures.clean.directory);
    assert.deepEqual(
      results.map((result) => result.id),
      [...CHECK_IDS],
    );
    assert.deepEqual(failed(results), []);
    const ssh = results.find((result) => result.id === 'ssh-offline');
    assert.ok(ssh?.filesRead.includes('/var/lib/dpkg/status'));
    assert.ok(ssh?.filesRead.includes('/etc/ssh/sshd_config.d/50-cloud.conf'));
  });

  it('fails exactly the planted checks', async () => {
    assert.deepEqual(failed(await scan(fixtures.planted.directory)), PLANTED_FAILURES);
  });

  for (const kind of ['raw', 'qcow2'] as const)
    it(`gives the same results over a ${kind} disk as over the directory`, async () => {
      for (const tree of ['clean', 'planted'] as const) {
        const fromDirectory = await scan(fixtures[tree].directory);
        assert.deepEqual(await scan(fixtures[tree][kind]), fromDirectory);
      }
    });

  it('applies profile parameters: allow-listed users, approved hosts, required units, kernel args', async () => {
    const profile = [
      'allowedUsers: [vagrant]',
      'approvedRepositoryHosts: [deb.debian.org, security.debian.org, build-mirror.internal]',
      'requiredUnits: [chronyd.service]',
      'forbiddenKernelArgs: [net.ifnames=0]',
    ].join('\n');
    const results = await scan(fixtures.planted.directory, profile);
    const byId = new Map(results.map((result) => [result.id, result]));
    assert.equal(byId.get('no-user-accounts')?.status, 'pass');
    assert.equal(byId.get('systemd-units')?.status, 'fail');
    assert.equal(byId.get('kernel-boot-options')?.status, 'fail');
    // The host is approved now, but trusted=yes still switches signature checking off.
    assert.equal(byId.get('source-repos')?.status, 'fail');
    assert.equal(
      byId.get('source-repos')?.evidence.filter((line) => line.includes('not approved')).length,
      0,
    );
  });

  it('runs only the checks a profile selects, minus skipped ones', async () => {
    const results = await scan(
      fixtures.planted.directory,
      'checks: [no-swap, source-repos, resolv-conf]\nskip: [resolv-conf]\n',
    );
    assert.deepEqual(
      results.map((result) => `${result.id}:${result.status}`),
      ['no-swap:fail', 'source-repos:fail'],
    );
  });
});

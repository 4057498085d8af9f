// `imagetrust scan` as CI runs it: exit codes, and the shape of JUnit and SARIF reports.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeScanFixtures, type ScanFixtures } from '../../fixtures/scan-fixtures.ts';
import { run } from '../../support/tools.ts';

const BIN = new URL('../../../bin/imagetrust', import.meta.url).pathname;
const scan = (...args: string[]) => run(BIN, ['scan', ...args], { IMAGETRUST_CONFIG: '' });

describe('imagetrust scan', () => {
  let fixtures: ScanFixtures;
  before(async () => {
    fixtures = await makeScanFixtures();
  });
  after(() => rmSync(fixtures.dir, { recursive: true, force: true }));

  it('exits 0 on a clean image and 1 on a planted one', async () => {
    assert.equal((await scan(fixtures.clean.qcow2)).code, 0);
    const planted = await scan(fixtures.planted.raw, '--format', 'json');
    assert.equal(planted.code, 1);
    const report = JSON.parse(planted.stdout) as { results: Array<{ id: string; status: string }> };
    assert.equal(report.results.find((result) => result.id === 'no-swap')?.status, 'fail');
  });

  it('with --digest binds the JSON report to the file by its sha512, as Glance will report it', async () => {
    const bound = await scan(fixtures.clean.qcow2, '--format', 'json', '--digest');
    assert.equal(bound.code, 0, bound.stderr);
    const expected = createHash('sha512').update(readFileSync(fixtures.clean.qcow2)).digest('hex');
    assert.equal(JSON.parse(bound.stdout).image_sha512, expected);
    assert.equal(
      JSON.parse((await scan(fixtures.clean.qcow2, '--format', 'json')).stdout).image_sha512,
      undefined,
    );
    const directory = await scan(fixtures.clean.directory, '--format', 'json', '--digest');
    assert.equal(directory.code, 78);
    assert.match(directory.stderr, /--digest needs an image file/);
  });

  it('writes a JUnit testsuite with one testcase per check and a failure per failed check', async () => {
    const { stdout } = await scan(fixtures.planted.directory, '--format', 'junit');
    assert.match(
      stdout,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuite [^>]*tests="19" failures="8"/,
    );
    assert.equal(stdout.match(/<testcase /g)?.length, 19);
    assert.equal(stdout.match(/<failure /g)?.length, 8);
    assert.match(stdout, /<\/testsuite>\n$/);
  });

  it('writes SARIF 2.1.0 with one rule and one result per check', async () => {
    const { stdout } = await scan(fixtures.planted.directory, '--format', 'sarif');
    const log = JSON.parse(stdout);
    assert.equal(log.version, '2.1.0');
    const [runLog] = log.runs;
    assert.equal(runLog.tool.driver.rules.length, 19);
    const failures = runLog.results.filter(
      (result: { kind: string; level: string }) => result.kind === 'fail',
    );
    assert.equal(failures.length, 8);
    assert.ok(failures.every((result: { level: string }) => result.level === 'error'));
  });

  it('refuses an invalid profile with CONFIG_INVALID and an unknown format as a usage error', async () => {
    const profile = join(fixtures.dir, 'bad-profile.yaml');
    writeFileSync(profile, 'requiredUnitz: [ssh.service]\n');
    const bad = await scan(fixtures.clean.directory, '--profile', profile);
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, /\[CONFIG_INVALID\]/);
    const unknown = await scan(fixtures.clean.directory, '--format', 'xml');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /\[USAGE\]/);
  });

  it('reports a missing image with its error code', async () => {
    const missing = await scan(join(fixtures.dir, 'no-such.qcow2'));
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /\[[A-Z_]+\]/);
  });
});

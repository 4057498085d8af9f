// `imagetrust template lint` as an operator runs it: exit codes, text on stderr, JSON and SARIF on stdout.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const corpus = (name: string) => new URL(`../fixtures/templates/${name}`, import.meta.url).pathname;

interface JsonReport {
  files: {
    file: string;
    findings: { rule: string; severity: string; path: string; line: number; column: number }[];
  }[];
  summary: { errors: number; warnings: number; infos: number };
}

describe('imagetrust template lint', () => {
  let dir: string;
  const lint = (...args: string[]) => run(BIN, ['template', 'lint', ...args], { IMAGETRUST_CONFIG: '' });

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-template-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 for a hardened template', async () => {
    const result = await lint(corpus('good-iso-sha256.tdl'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /0 error\(s\), 0 warning\(s\)/);
  });

  it('exits 0 when there are only warnings', async () => {
    const result = await lint(corpus('warn-md5sum.tdl'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warn-md5sum\.tdl:9:7: warning TDL-SUM-WEAK /);
  });

  it('exits 1 and prints file:line:col for an error', async () => {
    const result = await lint(corpus('good-minimal.tdl'), corpus('bad-iso-no-checksum.tdl'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad-iso-no-checksum\.tdl:8:7: error TDL-MEDIA-NOSUM /);
  });

  it('reports an unreadable file and malformed XML as errors with positions', async () => {
    const missing = path.join(dir, 'missing.tdl');
    const broken = path.join(dir, 'broken.tdl');
    writeFileSync(broken, '<template>\n  <name>x</nam>\n</template>\n');
    const result = await lint('--format', 'json', missing, broken);
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout) as JsonReport;
    assert.deepEqual(
      report.files.map((f) => [path.basename(f.file), f.findings.map((x) => [x.rule, x.severity, x.line])]),
      [
        ['missing.tdl', [['TDL-XML', 'error', 1]]],
        ['broken.tdl', [['TDL-XML', 'error', 2]]],
      ],
    );
  });

  it('writes a JSON report with paths, positions and a summary', async () => {
    const result = await lint('--format', 'json', corpus('bad-repo-localhost.tdl'));
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout) as JsonReport;
    const local = report.files[0].findings.find((f) => f.rule === 'TDL-REPO-LOCAL');
    assert.deepEqual(local && [local.path, local.line, local.column], [
      '/template/repositories/repository[1]/url',
      15,
      7,
    ]);
    assert.ok(report.summary.errors >= 1);
  });

  it('writes SARIF 2.1.0 that code-scanning tools accept', async () => {
    const result = await lint(
      '--format',
      'sarif',
      corpus('bad-rootpw-default.tdl'),
      corpus('warn-kernelparam.tdl'),
    );
    assert.equal(result.code, 1);
    const sarif = JSON.parse(result.stdout);
    assert.equal(sarif.version, '2.1.0');
    assert.equal(sarif.runs.length, 1);
    const { driver } = sarif.runs[0].tool;
    assert.equal(driver.name, 'imagetrust');
    const ruleIds = new Set(driver.rules.map((rule: { id: string }) => rule.id));
    const results = sarif.runs[0].results as {
      ruleId: string;
      level: string;
      message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
    }[];
    assert.ok(results.some((r) => r.ruleId === 'TDL-ROOTPW-PLACEHOLDER' && r.level === 'error'));
    assert.ok(results.some((r) => r.ruleId === 'TDL-KERNELPARAM' && r.level === 'warning'));
    for (const r of results) {
      assert.ok(ruleIds.has(r.ruleId), r.ruleId);
      assert.ok(r.message.text.length > 0);
      assert.ok(r.locations[0].physicalLocation.region.startLine >= 1);
      assert.match(r.locations[0].physicalLocation.artifactLocation.uri, /\.tdl$/);
    }
  });

  it('refuses an unknown format with a usage exit code', async () => {
    const result = await lint('--format', 'xml', corpus('good-minimal.tdl'));
    assert.equal(result.code, 2);
  });
});

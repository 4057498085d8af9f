// `imagetrust policy` as an operator runs it: list-defaults, check (exit 0/1/2) and lint (exit 1 on errors).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_RULES } from '../../../src/identity/default-rules.ts';
import { run } from '../../support/tools.ts';

const BIN = new URL('../../../bin/imagetrust', import.meta.url).pathname;
const policy = (...args: string[]) => run(BIN, ['policy', ...args], { IMAGETRUST_CONFIG: '' });

describe('imagetrust policy', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-policy-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('list-defaults prints every default as a commented sample that loads once uncommented', async () => {
    const result = await policy('list-defaults');
    assert.equal(result.code, 0, result.stderr);
    for (const rule of DEFAULT_RULES)
      assert.ok(result.stdout.includes(`#${JSON.stringify(rule.name)}: `), rule.name);
    assert.match(result.stdout, /# GET \/v2\/images\n/);
    const uncommented = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('#"'))
      .map((line) => line.slice(1))
      .join('\n');
    const loaded = parse(uncommented) as Record<string, string>;
    assert.equal(Object.keys(loaded).length, DEFAULT_RULES.length);
  });

  describe('check', () => {
    it('prints allowed and exits 0 when the rule allows', async () => {
      const result = await policy(
        'check',
        'delete_image',
        '--target',
        '{"project_id": "p1"}',
        '--credentials',
        '{"roles": ["member"], "project_id": "p1", "user_id": "u1"}',
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'allowed\n');
    });

    it('prints denied and exits 1 under a policy file that restricts the rule', async () => {
      const file = path.join(dir, 'policy.yaml');
      writeFileSync(file, '"delete_image": "role:admin"\n');
      const credentials = path.join(dir, 'creds.json');
      writeFileSync(credentials, '{"roles": ["member"], "project_id": "p1"}');
      const result = await policy(
        'check',
        'delete_image',
        '--policy-file',
        file,
        '--target',
        '{"project_id": "p1"}',
        '--credentials',
        `@${credentials}`,
      );
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout, 'denied\n');
    });

    it('exits 2 with a clear message on bad JSON', async () => {
      const result = await policy(
        'check',
        'get_image',
        '--target',
        '{project_id: p1}',
        '--credentials',
        '{}',
      );
      assert.equal(result.code, 2);
      assert.match(result.stderr, /--target is not valid JSON/);
      assert.match(result.stderr, /MALFORMED_JSON/);
    });

    it('teaches with an example in --help', async () => {
      const result = await policy('check', '--help');
      assert.equal(result.code, 0);
      assert.match(result.stdout, /Example:\n\s+\$ imagetrust policy check /);
    });
  });

  describe('lint', () => {
    it('exits 1 and prints file:line for an error-level trap', async () => {
      const file = path.join(dir, 'trap.yaml');
      writeFileSync(file, '"get_image": "rule:reader"\n"delete_image": !\n');
      const result = await policy('lint', file);
      assert.equal(result.code, 1);
      assert.ok(result.stderr.includes(`${file}:2: error POLICY-YAML-TAG`), result.stderr);
    });

    it('exits 0 with only warnings, and prints JSON with --format json', async () => {
      const file = path.join(dir, 'warn.yaml');
      writeFileSync(file, '"delete_image": ""\n');
      const result = await policy('lint', file, '--format', 'json');
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as {
        files: { file: string; findings: { rule: string; line: number; path: string }[] }[];
        summary: { errors: number; warnings: number };
      };
      assert.equal(report.summary.errors, 0);
      assert.deepEqual(
        report.files[0].findings.map((f) => [f.rule, f.line, f.path]),
        [['POLICY-ALLOW-ALL', 1, 'delete_image']],
      );
    });

    it('reports an unreadable file as an error', async () => {
      const result = await policy('lint', path.join(dir, 'missing.yaml'));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /POLICY-UNREADABLE/);
    });
  });
});

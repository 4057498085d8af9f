// `imagetrust containers lint` as an operator runs it: positions for what skopeo would refuse (exit 1),
// warnings a reviewer wants (exit 0), text on stderr and a JSON report on stdout.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;

interface Finding {
  rule: string;
  severity: string;
  message: string;
  line: number | null;
  column: number | null;
}

/** The linters' one JSON report: findings grouped by file, and a summary. */
interface JsonReport {
  files: { file: string; findings: Finding[] }[];
  summary: { errors: number; warnings: number; infos: number };
}

/** The report's errors and warnings, across files, in order. */
function bySeverity(stdout: string): { errors: Finding[]; warnings: Finding[] } {
  const all = (JSON.parse(stdout) as JsonReport).files.flatMap((file) => file.findings);
  return {
    errors: all.filter((f) => f.severity === 'error'),
    warnings: all.filter((f) => f.severity === 'warning'),
  };
}

describe('imagetrust containers lint', () => {
  let dir: string;
  const lint = (...args: string[]) => run(BIN, ['containers', 'lint', ...args], { IMAGETRUST_CONFIG: '' });
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-lint-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a clean policy with exit 0', async () => {
    const key = write('key.gpg', 'not checked here');
    const policy = write(
      'clean.json',
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: { docker: { 'quay.io/app': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: key }] } },
      }),
    );
    const result = await lint('--policy', policy, '--format', 'json');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      files: [{ file: policy, findings: [] }],
      summary: { errors: 0, warnings: 0, infos: 0 },
    });
  });

  it("points at a syntax error with c/image's text and exits 1", async () => {
    const policy = write('trailing-comma.json', '{\n  "default": [\n    {"type": "reject"},\n  ]\n}\n');
    const result = await lint('--policy', policy, '--format', 'json');
    assert.equal(result.code, 1);
    const report = bySeverity(result.stdout);
    assert.equal(report.errors[0].rule, 'policy-invalid');
    assert.equal(report.errors[0].message, "invalid character ']' looking for beginning of value");
    assert.deepEqual([report.errors[0].line, report.errors[0].column], [4, 3]);
    const text = await lint('--policy', policy);
    assert.equal(text.code, 1);
    assert.match(text.stderr, /trailing-comma\.json:4:3: error policy-invalid invalid character/);
  });

  it('reports strict-parse rejections such as unknown keys', async () => {
    const policy = write('unknown.json', '{"default": [{"type": "reject", "keyPath": "/k"}]}');
    const report = bySeverity((await lint('--policy', policy, '--format', 'json')).stdout);
    assert.equal(report.errors[0].message, 'Unknown key "keyPath"');
  });

  it('warns about accept-anything defaults, dead scopes and unreadable keys without failing', async () => {
    const policy = write(
      'review.json',
      JSON.stringify({
        default: [{ type: 'insecureAcceptAnything' }],
        transports: {
          docker: {
            busybox: [{ type: 'reject' }],
            'docker.io/busybox': [{ type: 'reject' }],
            '*.example.com:5000': [{ type: 'reject' }],
            'quay.io/app': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: path.join(dir, 'missing.gpg') }],
          },
          dockr: { '': [{ type: 'reject' }] },
        },
      }),
    );
    const result = await lint('--policy', policy, '--format', 'json');
    assert.equal(result.code, 0, result.stderr);
    const report = bySeverity(result.stdout);
    assert.deepEqual(
      report.warnings.map((w) => w.rule),
      [
        'default-accepts-anything',
        'scope-never-matches',
        'scope-never-matches',
        'scope-never-matches',
        'key-file-unreadable',
        'scope-never-matches',
      ],
    );
    assert.match(report.warnings[2].message, /write "docker\.io\/library\/busybox"/);
    assert.match(report.warnings[4].message, /open .*missing\.gpg: no such file or directory$/);
  });

  it('checks registries.d: duplicate sections are errors, plain http a warning', async () => {
    const policy = write('ok.json', '{"default": [{"type": "reject"}]}');
    const registries = path.join(dir, 'registries.d');
    mkdirSync(registries);
    writeFileSync(
      path.join(registries, 'a.yaml'),
      'docker:\n  quay.io:\n    lookaside: http://sigs.example.com\n',
    );
    const warned = await lint('--policy', policy, '--registries.d', registries, '--format', 'json');
    assert.equal(warned.code, 0, warned.stderr);
    assert.deepEqual(
      bySeverity(warned.stdout).warnings.map((w) => w.rule),
      ['lookaside-plain-http'],
    );
    writeFileSync(path.join(registries, 'b.yaml'), 'docker:\n  quay.io:\n    lookaside: https://other\n');
    const failed = await lint('--policy', policy, '--registries.d', registries, '--format', 'json');
    assert.equal(failed.code, 1);
    assert.match(
      bySeverity(failed.stdout).errors[0].message,
      /"docker" namespace "quay\.io" defined both in/,
    );
  });

  it('reports a missing policy file as an error', async () => {
    const result = await lint('--policy', path.join(dir, 'nope.json'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /open .*nope\.json: no such file or directory/);
  });
});

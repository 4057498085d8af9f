// `imagetrust policy` keeps its word: the example in `check --help` prints what it shows, an unknown rule
// name is warned about with the rules it resembles, and lint flags an "or" that always allows.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../support/tools.ts';

const BIN = new URL('../../../bin/imagetrust', import.meta.url).pathname;
const ENV = { IMAGETRUST_CONFIG: '' };
const policy = (...args: string[]) => run(BIN, ['policy', ...args], ENV);
const CHECK_ARGS = [
  '--target',
  '{"project_id": "p1"}',
  '--credentials',
  '{"roles": ["member"], "project_id": "p1", "user_id": "u1"}',
];

describe('imagetrust policy conventions', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-policy-conv-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("check --help's example prints what the help shows", async () => {
    const help = (await policy('check', '--help')).stdout;
    const example = help.slice(help.indexOf('Example:'));
    const command = /\$ (imagetrust [\s\S]*?)\n {2}(\S.*)$/m.exec(example);
    assert.ok(command, example);
    const [, text, shown] = command;
    const result = await run('sh', ['-c', text.replace(/^imagetrust/, BIN)], ENV);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), shown.trim());
  });

  it('warns about a rule name no rule defines, naming the rules it resembles', async () => {
    const typo = await policy('check', 'delete_imgae', ...CHECK_ARGS);
    assert.equal(typo.code, 1, 'the default rule denies');
    assert.match(typo.stderr, /warning/);
    assert.ok(typo.stderr.includes('"delete_image"'), typo.stderr);
    const known = await policy('check', 'delete_image', ...CHECK_ARGS);
    assert.equal(known.code, 0);
    assert.equal(known.stderr, '');
  });

  it('lint flags an always-true alternative such as role:member or @ (exit 1)', async () => {
    const file = path.join(work, 'policy.yaml');
    writeFileSync(
      file,
      '"delete_image": "role:member or @"\n"get_image": "role:reader or (role:member and @)"\n',
    );
    const result = await policy('lint', file, '--format', 'json');
    assert.equal(result.code, 1, result.stderr);
    // The linters' one report: `rule` is the finding's id, `path` the policy rule it sits in.
    const findings = JSON.parse(result.stdout).files[0].findings as { rule: string; path: string }[];
    assert.deepEqual(
      findings.filter((f) => f.rule === 'POLICY-ALWAYS-TRUE-ALTERNATIVE').map((f) => f.path),
      ['delete_image'],
    );
  });
});

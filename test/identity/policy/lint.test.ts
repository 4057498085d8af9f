// `lintPolicyFile` on the traps of oslo.policy files (spec 3.4): each finding has a stable id and a line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RuleDefault } from '../../../src/identity/default-rules.ts';
import { lintPolicyFile } from '../../../src/identity/policy/index.ts';

const defaults: RuleDefault[] = [
  { name: 'default', check: 'role:admin', description: 'fallback', operations: [] },
  {
    name: 'image:delete',
    check: 'role:admin',
    description: 'delete',
    operations: ['DELETE /v2/images/{id}'],
  },
  { name: 'image:get', check: '', description: 'get', operations: ['GET /v2/images/{id}'] },
];
const ids = (text: string) =>
  lintPolicyFile(text, 'policy.yaml', defaults).map((f) => `${f.line}:${f.ruleId}`);

describe('lintPolicyFile', () => {
  it('finds nothing in a clean file', () => {
    assert.deepEqual(ids('"image:delete": "role:admin or role:owner"\n'), []);
  });

  it('flags an unquoted ! as a YAML tag that allows everyone', () => {
    const findings = lintPolicyFile('"image:get": ""\n"image:delete": !\n', 'policy.yaml', defaults);
    const tag = findings.find((f) => f.ruleId === 'POLICY-YAML-TAG');
    assert.ok(tag);
    assert.equal(tag.severity, 'error');
    assert.equal(tag.line, 2);
    assert.equal(tag.rule, 'image:delete');
  });

  it('flags an empty value (YAML null) as allow-all', () => {
    assert.deepEqual(ids('"image:delete":\n'), ['1:POLICY-YAML-NULL']);
  });

  it('warns when "" replaces a restrictive default, not when the default allowed anyway', () => {
    assert.deepEqual(ids('"image:delete": ""\n'), ['1:POLICY-ALLOW-ALL']);
    assert.deepEqual(ids('"image:get": ""\n'), ['1:POLICY-REDUNDANT']);
  });

  it('reports an unquoted @ as a syntax error with its line: the whole file fails', () => {
    assert.deepEqual(ids('"image:get": ""\n"image:delete": @\n'), ['2:POLICY-YAML-SYNTAX']);
  });

  it('flags booleans and numbers', () => {
    assert.deepEqual(ids('"image:delete": yes\n'), ['1:POLICY-NON-STRING']);
    assert.deepEqual(ids('"image:delete": 0\n'), ['1:POLICY-NON-STRING']);
  });

  it('flags references to undefined rules and rule names no action uses', () => {
    assert.deepEqual(ids('"image:delete": "rule:admin_or_ownr"\n'), ['1:POLICY-UNDEFINED-REF']);
    assert.deepEqual(ids('"image:delte": "role:admin"\n'), ['1:POLICY-UNKNOWN-NAME']);
    // A helper rule other rules refer to is not flagged.
    assert.deepEqual(ids('"owner": "project_id:%(project_id)s"\n"image:delete": "rule:owner"\n'), []);
  });

  it('flags duplicate keys on the later line', () => {
    assert.deepEqual(ids('"image:delete": "role:a"\n"image:delete": "role:b"\n'), ['2:POLICY-DUPLICATE-KEY']);
  });

  it('flags rules that do not parse and deny', () => {
    assert.deepEqual(ids('"image:delete": "role: admin"\n'), ['1:POLICY-UNPARSEABLE']);
    assert.deepEqual(ids('"image:delete": "role:a or"\n'), ['1:POLICY-UNPARSEABLE']);
    assert.deepEqual(ids('"image:delete": "\\"role:admin\\""\n'), ['1:POLICY-UNPARSEABLE']);
  });

  it('flags cycles, kinds in the wrong case, checks that raise and external checks', () => {
    const text = [
      '"a": "rule:b"',
      '"b": "rule:a"',
      '"image:delete": "Role:admin"',
      '"image:get": "9a:x or http://pdp.example/check"',
    ].join('\n');
    const found = ids(text);
    for (const expected of [
      '1:POLICY-CYCLE',
      '2:POLICY-CYCLE',
      '3:POLICY-KIND-CASE',
      '4:POLICY-EVAL-ERROR',
      '4:POLICY-EXTERNAL-CHECK',
    ]) {
      assert.ok(found.includes(expected), `${expected} in ${found.join(', ')}`);
    }
  });

  it('flags a file that is not a mapping', () => {
    assert.deepEqual(ids('- "role:admin"\n'), ['1:POLICY-NOT-MAPPING']);
  });

  it('lints JSON files with lines', () => {
    const text = '{\n  "image:delete": "role:admin",\n  "image:delte": "role:admin"\n}\n';
    assert.deepEqual(ids(text), ['2:POLICY-REDUNDANT', '3:POLICY-UNKNOWN-NAME']);
  });

  it('gives every finding a hint', () => {
    for (const f of lintPolicyFile('"image:delete": !\n"x":\n', 'p.yaml', defaults))
      assert.ok(f.hint.length > 0);
  });
});

// The enforcer as oslo's Enforcer and Rules behave (RulesTestCase, EnforcerTest): default-rule fallback,
// defaults under a policy file, policy.d layering, and reloading without a restart.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, type ImageTrustError } from '../../../src/errors/index.ts';
import type { RuleDefault } from '../../../src/identity/default-rules.ts';
import { DEFAULT_RULES } from '../../../src/identity/default-rules.ts';
import { type PolicyChange, PolicyEnforcer } from '../../../src/identity/policy/index.ts';

const rule = (name: string, check: string): RuleDefault => ({
  name,
  check,
  description: name,
  operations: [],
});
const admin = { roles: ['admin'], project_id: 'p1', user_id: 'u1' };
const member = { roles: ['member'], project_id: 'p1', user_id: 'u2' };

describe('PolicyEnforcer', () => {
  let dir: string;
  let counter = 0;
  const file = (text: string, name = `policy-${counter++}.yaml`) => {
    const full = path.join(dir, name);
    writeFileSync(full, text);
    return full;
  };
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-policy-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('default rule (RulesTestCase)', () => {
    it('denies an unknown name when no default rule is set (test_no_default)', () => {
      const enforcer = new PolicyEnforcer({ defaults: [rule('a', '@')], defaultRule: '' });
      assert.equal(enforcer.authorize('b', {}, {}), false);
    });
    it('denies an unknown name when the default rule is not defined (test_missing_default)', () => {
      const enforcer = new PolicyEnforcer({ defaults: [rule('a', '@')], defaultRule: 'default' });
      assert.equal(enforcer.authorize('b', {}, {}), false);
    });
    it('decides an unknown name by the default rule (test_with_default)', () => {
      const enforcer = new PolicyEnforcer({ defaults: [rule('a', '!'), rule('default', '@')] });
      assert.equal(enforcer.authorize('b', {}, {}), true);
      assert.equal(enforcer.authorize('a', {}, {}), false);
    });
    it('resolves rule:typo inside an expression to the default rule too', () => {
      const enforcer = new PolicyEnforcer({ defaults: [rule('a', 'rule:typo'), rule('default', '')] });
      assert.equal(enforcer.authorize('a', {}, {}), true);
    });
    it('uses a named default rule other than "default"', () => {
      const enforcer = new PolicyEnforcer({
        defaults: [rule('fallback', 'role:admin')],
        defaultRule: 'fallback',
      });
      assert.equal(enforcer.authorize('anything', {}, admin), true);
      assert.equal(enforcer.authorize('anything', {}, member), false);
    });
    it('denies everything with no rules at all', () => {
      assert.equal(new PolicyEnforcer({ defaults: [] }).authorize('default', {}, admin), false);
    });
    it('denies, and says oslo would raise, for a cycle', () => {
      const enforcer = new PolicyEnforcer({ defaults: [rule('a', 'rule:b'), rule('b', 'rule:a')] });
      const decision = enforcer.decide('a', {}, admin);
      assert.equal(decision.allowed, false);
      assert.ok(decision.error);
    });
  });

  describe('files', () => {
    it('overrides in-code defaults by name from a YAML file (test_load_yaml)', () => {
      const policyFile = file('"delete_image": "role:admin"\n');
      const enforcer = new PolicyEnforcer({ defaults: DEFAULT_RULES, policyFile });
      const target = { project_id: 'p1' };
      assert.equal(enforcer.authorize('delete_image', target, member), false);
      assert.equal(enforcer.authorize('delete_image', target, admin), true);
      // Rules the file does not name keep their defaults.
      assert.equal(enforcer.authorize('upload_image', target, member), true);
    });
    it('reads a JSON policy file and the list-of-lists form', () => {
      const policyFile = file('{"a": [["role:x", "role:y"], ["role:admin"]], "b": []}', 'policy.json');
      const enforcer = new PolicyEnforcer({ defaults: [], policyFile });
      assert.equal(enforcer.authorize('a', {}, { roles: ['x', 'y'] }), true);
      assert.equal(enforcer.authorize('a', {}, { roles: ['x'] }), false);
      assert.equal(enforcer.authorize('b', {}, {}), true);
    });
    it('treats a missing policy file as empty: the defaults apply', () => {
      const enforcer = new PolicyEnforcer({
        defaults: [rule('a', 'role:admin')],
        policyFile: path.join(dir, 'absent.yaml'),
      });
      assert.equal(enforcer.authorize('a', {}, admin), true);
    });
    it('reads an unquoted ! and an empty value as null: allow everyone, as oslo does', () => {
      const policyFile = file('"a": !\n"b":\n"c": "!"\n');
      const enforcer = new PolicyEnforcer({ defaults: [rule('a', '!'), rule('b', '!')], policyFile });
      assert.equal(enforcer.authorize('a', {}, {}), true);
      assert.equal(enforcer.authorize('b', {}, {}), true);
      assert.equal(enforcer.authorize('c', {}, {}), false);
    });
    it('throws a ConfigError naming the file and line when the file cannot load', () => {
      const policyFile = file('"a": "role:admin"\n"b": @\n');
      assert.throws(
        () => new PolicyEnforcer({ defaults: [], policyFile }),
        (error: ImageTrustError) =>
          error instanceof ConfigError &&
          error.code === 'CONFIG_INVALID' &&
          error.message.includes(`${policyFile}:2`),
      );
      const boolFile = file('"a": "role:admin"\n"b": yes\n');
      assert.throws(
        () => new PolicyEnforcer({ defaults: [], policyFile: boolFile }),
        (error: ImageTrustError) => error instanceof ConfigError && error.message.includes(`${boolFile}:2`),
      );
    });
    it('keeps the last of duplicate keys, as PyYAML does', () => {
      const policyFile = file('"a": "!"\n"a": "@"\n');
      assert.equal(new PolicyEnforcer({ defaults: [], policyFile }).authorize('a', {}, {}), true);
    });
    it('copies system_scope into the system credential, as oslo does', () => {
      const enforcer = new PolicyEnforcer({ defaults: [rule('a', 'system:all')] });
      assert.equal(enforcer.authorize('a', {}, { system_scope: 'all' }), true);
      assert.equal(enforcer.authorize('a', {}, { system_scope: '' }), false);
    });
    it('prints effective rules as oslo str()s', () => {
      const enforcer = new PolicyEnforcer({
        defaults: [rule('a', ''), rule('b', 'role:x or role:y and role:z')],
      });
      assert.deepEqual(Object.fromEntries(enforcer.rules()), { a: '', b: '(role:x or (role:y and role:z))' });
    });
  });

  describe('policy.d (EnforcerTest)', () => {
    it('layers policy.d files over the policy file, per rule, in sorted name order', () => {
      const base = path.join(dir, 'layered');
      mkdirSync(path.join(base, 'policy.d', 'sub'), { recursive: true });
      writeFileSync(path.join(base, 'policy.yaml'), '"a": "role:one"\n"b": "role:one"\n"c": "role:one"\n');
      writeFileSync(path.join(base, 'policy.d', '20-b.yaml'), '"b": "role:three"\n');
      writeFileSync(path.join(base, 'policy.d', '10-a.yaml'), '"a": "role:two"\n"b": "role:two"\n');
      writeFileSync(path.join(base, 'policy.d', '.hidden.yaml'), '"c": "@"\n');
      writeFileSync(path.join(base, 'policy.d', 'sub', 'x.yaml'), '"c": "@"\n');
      const enforcer = new PolicyEnforcer({
        defaults: [rule('d', 'role:default')],
        policyFile: path.join(base, 'policy.yaml'),
        policyDirs: ['policy.d'],
      });
      assert.deepEqual(Object.fromEntries(enforcer.rules()), {
        a: 'role:two',
        b: 'role:three',
        c: 'role:one',
        d: 'role:default',
      });
      assert.deepEqual(
        enforcer.source().files.map((f) => path.basename(f)),
        ['policy.yaml', '10-a.yaml', '20-b.yaml'],
      );
    });
  });

  describe('reload', () => {
    it('picks up an edited file without a restart, checking at most once a second', () => {
      let now = 0;
      const changes: PolicyChange[] = [];
      const policyFile = file('"a": "role:one"\n');
      const enforcer = new PolicyEnforcer({
        defaults: [],
        policyFile,
        now: () => now,
        onChange: (info) => changes.push(info),
      });
      const before = enforcer.source().digest;
      assert.equal(enforcer.authorize('a', {}, { roles: ['one'] }), true);
      writeFileSync(policyFile, '"a": "role:two"\n');
      utimesSync(policyFile, new Date(), new Date(Date.now() + 5000));
      now = 500;
      assert.equal(enforcer.authorize('a', {}, { roles: ['one'] }), true, 'not re-read within a second');
      now = 1500;
      assert.equal(enforcer.authorize('a', {}, { roles: ['two'] }), true);
      assert.equal(changes.length, 1);
      assert.deepEqual(changes[0].files, [policyFile]);
      assert.notEqual(changes[0].digest, before);
    });
    it('keeps the rules in force when the edited file does not parse, and reports it', () => {
      let now = 0;
      const errors: ImageTrustError[] = [];
      const policyFile = file('"a": "role:one"\n');
      const enforcer = new PolicyEnforcer({
        defaults: [],
        policyFile,
        now: () => now,
        onError: (e) => errors.push(e),
      });
      writeFileSync(policyFile, '"a": "role:two"\n"b": @\n');
      utimesSync(policyFile, new Date(), new Date(Date.now() + 10000));
      now = 2000;
      assert.equal(enforcer.authorize('a', {}, { roles: ['one'] }), true);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].code, 'CONFIG_INVALID');
      assert.match(errors[0].message, /:2:/);
      now = 4000;
      enforcer.authorize('a', {}, { roles: ['one'] });
      assert.equal(errors.length, 1, 'the same broken file is reported once');
    });
    it('picks up a new policy.d file on reload()', () => {
      const base = path.join(dir, 'reload-d');
      mkdirSync(path.join(base, 'policy.d'), { recursive: true });
      writeFileSync(path.join(base, 'policy.yaml'), '"a": "role:one"\n');
      const enforcer = new PolicyEnforcer({
        defaults: [],
        policyFile: path.join(base, 'policy.yaml'),
        policyDirs: [path.join(base, 'policy.d')],
      });
      writeFileSync(path.join(base, 'policy.d', 'override.yaml'), '"a": "role:two"\n');
      assert.equal(enforcer.reload(), true);
      assert.equal(enforcer.authorize('a', {}, { roles: ['two'] }), true);
      assert.equal(enforcer.reload(), false, 'nothing changed the second time');
    });
  });
});

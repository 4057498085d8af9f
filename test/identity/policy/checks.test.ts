// Cases ported from oslo.policy's test_checks.py: rule, role and generic checks, true/false/not/and/or.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Check, parseRule } from '../../../src/identity/policy/index.ts';

const none = () => undefined;
const decide = (
  rule: string,
  target: Record<string, unknown>,
  creds: Record<string, unknown>,
  rules = {},
) => {
  const table = new Map<string, Check>(Object.entries(rules).map(([k, v]) => [k, parseRule(v as string)]));
  return parseRule(rule).evaluate(target, creds, (name) => table.get(name));
};

describe('RuleCheck', () => {
  it('is false when the rule is missing (test_rule_missing)', () => {
    assert.equal(parseRule('rule:spam').evaluate({}, {}, none), false);
  });
  it('is the named rule’s decision (test_rule_false, test_rule_true)', () => {
    assert.equal(decide('rule:spam', {}, {}, { spam: '!' }), false);
    assert.equal(decide('rule:spam', {}, {}, { spam: '@' }), true);
  });
  it('raises instead of recursing forever on a cycle', () => {
    assert.throws(() => decide('rule:a', {}, {}, { a: 'rule:b', b: 'rule:a' }));
  });
  it('short-circuits past a cycle that is never reached', () => {
    assert.equal(decide('rule:a', {}, { roles: ['x'] }, { a: 'role:x or rule:a' }), true);
  });
});

describe('RoleCheck', () => {
  it('matches roles case-insensitively (test_accept)', () => {
    assert.equal(decide('role:sPaM', {}, { roles: ['SpAm'] }), true);
  });
  it('rejects when no role matches (test_reject)', () => {
    assert.equal(decide('role:spam', {}, { roles: [] }), false);
  });
  it('substitutes the role name from the target (test_format_value)', () => {
    const creds = { user: 'user', roles: ['a', 'b', 'c'] };
    assert.equal(decide('role:%(target.role.name)s', { 'target.role.name': 'a' }, creds), true);
    assert.equal(decide('role:%(target.role.name)s', { 'target.role.name': 'd' }, creds), false);
    assert.equal(decide('role:%(target.role.name)s', { target: { role: {} } }, creds), false);
  });
  it('is false without roles in the credentials (test_no_roles_case)', () => {
    assert.equal(decide('role:spam', {}, {}), false);
  });
  it('iterates a roles string character by character, as Python does', () => {
    assert.equal(decide('role:a', {}, { roles: 'admin' }), true);
    assert.equal(decide('role:admin', {}, { roles: 'admin' }), false);
  });
});

describe('GenericCheck', () => {
  it('is false with no such credential (test_no_cred)', () => {
    assert.equal(decide('name:%(name)s', { name: 'spam' }, {}), false);
  });
  it('compares the credential to the target value (test_cred_mismatch, test_accept)', () => {
    assert.equal(decide('name:%(name)s', { name: 'spam' }, { name: 'ham' }), false);
    assert.equal(decide('name:%(name)s', { name: 'spam' }, { name: 'spam' }), true);
  });
  it('is false when the target lacks the key (test_no_key_match_in_target)', () => {
    assert.equal(decide('name:%(name)s', { name1: 'spam' }, { name: 'spam' }), false);
  });
  it('compares a string literal on the left (test_constant_string_*)', () => {
    assert.equal(decide("'spam':%(name)s", { name: 'ham' }, {}), false);
    assert.equal(decide("'spam':%(name)s", { name: 'spam' }, {}), true);
  });
  it('compares a Python literal through str() (test_constant_literal_*)', () => {
    assert.equal(decide('True:%(enabled)s', { enabled: false }, {}), false);
    assert.equal(decide('True:%(enabled)s', { enabled: true }, {}), true);
    assert.equal(decide('20:%(count)s', { count: 20 }, {}), true);
  });
  it('walks dotted credential paths (test_deep_credentials_dictionary_lookup)', () => {
    assert.equal(decide('a.b.c.d:APPLES', {}, { a: { b: { c: { d: 'APPLES' } } } }), true);
  });
  it('is false on a missing key along the path (test_missing_credentials_dictionary_lookup)', () => {
    const creds = { a: 'APPLES', o: { t: 'ORANGES' } };
    assert.equal(decide('o.t:ORANGES', {}, creds), true);
    assert.equal(decide('o.v:ORANGES', {}, creds), false);
    assert.equal(decide('q.v:APPLES', {}, creds), false);
  });
  it('fans out over lists, nested too (test_*_in_list_accepted, test_multiple_nested_lists_accepted)', () => {
    assert.equal(decide('a.b.c.d:APPLES', {}, { a: { b: { c: { d: ['APPLES'] } } } }), true);
    assert.equal(decide('a.b.c.d:APPLES', {}, { a: { b: { c: { d: ['Bananas', 'APPLES'] } } } }), true);
    const nested = { a: { b: [{ a: '' }, { c: { d: ['BANANAS', 'APPLES'] } }, {}] } };
    assert.equal(decide('a.b.c.d:APPLES', {}, nested), true);
    assert.equal(decide('a.b.c.d:APPLES', {}, { a: { b: { c: { d: ['PEACHES', 'PEARS'] } } } }), false);
  });
  it('matches token.roles.name in a Keystone token (test_generic_role_check_matches)', () => {
    const token = {
      token: {
        roles: [
          { id: 'r1', name: 'role1' },
          { id: 'r2', name: 'role2' },
        ],
      },
    };
    assert.equal(decide('token.roles.name:role1', {}, token), true);
    assert.equal(decide('token.roles.name:missing', {}, token), false);
  });
  it('compares is_admin as str(): is_admin:1 does not match True', () => {
    assert.equal(decide('is_admin:True', {}, { is_admin: true }), true);
    assert.equal(decide('is_admin:1', {}, { is_admin: true }), false);
    assert.equal(decide('is_admin:true', {}, { is_admin: true }), false);
  });
  it('raises where Python raises: indexing a string, a kind that is not Python', () => {
    assert.throws(() => decide('a.x:y', {}, { a: 'APPLES' }));
    assert.throws(() => decide('9a:x', {}, {}));
    assert.throws(() => decide('x:%(name)d', { name: 'spam' }, { x: 'spam' }));
  });
});

describe('TrueCheck, FalseCheck, NotCheck, AndCheck, OrCheck', () => {
  it('print as oslo str() prints them', () => {
    assert.equal(parseRule('!').toString(), '!');
    assert.equal(parseRule('@').toString(), '@');
    assert.equal(parseRule('not role:a').toString(), 'not role:a');
    assert.equal(parseRule('role:a and role:b').toString(), '(role:a and role:b)');
    assert.equal(parseRule('role:a or role:b').toString(), '(role:a or role:b)');
  });
  it('invert, conjoin and disjoin', () => {
    assert.equal(decide('not @', {}, {}), false);
    assert.equal(decide('not !', {}, {}), true);
    assert.equal(decide('@ and !', {}, {}), false);
    assert.equal(decide('! or @', {}, {}), true);
  });
  it('stop at the first deciding operand (test_call_first_true)', () => {
    // The second operand would raise; and/or never reach it.
    assert.equal(decide('! and 9a:x', {}, {}), false);
    assert.equal(decide('@ or 9a:x', {}, {}), true);
  });
});

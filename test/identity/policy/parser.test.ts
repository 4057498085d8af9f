// Cases ported from oslo.policy's test_parser.py (ParseCheck, ParseListRule, ParseTextRule), asserting
// the check tree through its str() as oslo's tests do, plus the failure modes that must deny.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRule } from '../../../src/identity/policy/index.ts';

const text = (rule: string | unknown[]) => parseRule(rule).toString();
const type = (rule: string | unknown[]) => parseRule(rule).type;

describe('parseRule: single checks (ParseCheckTestCase)', () => {
  it('parses "!" as deny and "@" as allow', () => {
    assert.equal(type('!'), 'false');
    assert.equal(type('@'), 'true');
  });

  it('denies a token without a colon', () => {
    assert.equal(type('foobar'), 'false');
  });

  it('makes role:, rule: and any other kind a role, rule or generic check', () => {
    assert.equal(type('role:admin'), 'role');
    assert.equal(type('rule:os_compute_api:os-migrate-server:migrate'), 'rule');
    assert.equal(parseRule('rule:a:b:c').toString(), 'rule:a:b:c');
    assert.equal(type('project_id:%(project_id)s'), 'generic');
  });

  it('keeps check kinds case-sensitive: Role:admin is a generic check', () => {
    assert.equal(type('Role:admin'), 'generic');
  });

  it('splits a check at its first colon only', () => {
    const check = parseRule('a:b:c');
    assert.equal(check.type, 'generic');
    assert.equal(check.type === 'generic' && check.kind, 'a');
    assert.equal(check.type === 'generic' && check.match, 'b:c');
  });

  it('makes http: and https: checks external checks (oslo plugins)', () => {
    assert.equal(type('http://policy.example/check'), 'external');
    assert.equal(type('https://policy.example/check'), 'external');
  });
});

describe('parseRule: the legacy list-of-lists form (ParseListRuleTestCase)', () => {
  it('allows for an empty list', () => {
    assert.equal(type([]), 'true');
  });
  it('denies for a list of empty lists', () => {
    assert.equal(type([[]]), 'false');
    assert.equal(type([[], []]), 'false');
  });
  it('treats a bare string as a one-element inner list', () => {
    assert.equal(text(['rule:a']), 'rule:a');
  });
  it('makes one inner element the check itself', () => {
    assert.equal(text([['rule:a']]), 'rule:a');
  });
  it('ANDs an inner list', () => {
    assert.equal(text([['rule:rule1', 'rule:rule2']]), '(rule:rule1 and rule:rule2)');
  });
  it('ORs the outer list', () => {
    assert.equal(text([['rule:rule1'], ['rule:rule2']]), '(rule:rule1 or rule:rule2)');
  });
  it('ORs inner ANDs', () => {
    assert.equal(
      text([
        ['rule:rule1', 'rule:rule2'],
        ['rule:rule3', 'rule:rule4'],
      ]),
      '((rule:rule1 and rule:rule2) or (rule:rule3 and rule:rule4))',
    );
  });
  it('skips empty inner lists among others', () => {
    assert.equal(text([[], ['role:a']]), 'role:a');
  });
  it('denies a non-string inner element, as oslo catches its AttributeError', () => {
    assert.equal(text([[5, 'role:a']]), '(! and role:a)');
  });
});

describe('parseRule: text rules and precedence (ParseTextRuleTestCase)', () => {
  const cases: [string, string][] = [
    ['@ or ! or @', '(@ or ! or @)'],
    ['@ or ! and @', '(@ or (! and @))'],
    ['@ and ! or @', '((@ and !) or @)'],
    ['@ and ! and @', '(@ and ! and @)'],
    ['@ or ! or @ or !', '(@ or ! or @ or !)'],
    ['@ or ! or @ and !', '(@ or ! or (@ and !))'],
    ['@ or ! and @ or !', '(@ or (! and @) or !)'],
    ['@ or ! and @ and !', '(@ or (! and @ and !))'],
    ['@ and ! or @ or !', '((@ and !) or @ or !)'],
    ['@ and ! or @ and !', '((@ and !) or (@ and !))'],
    ['@ and ! and @ or !', '((@ and ! and @) or !)'],
    ['@ and ! and @ and !', '(@ and ! and @ and !)'],
    ['not @ and ! or @', '((not @ and !) or @)'],
    ['@ and not ! or @', '((@ and not !) or @)'],
    ['@ and ! or not @', '((@ and !) or not @)'],
    ['@ and ( ! or @ )', '(@ and (! or @))'],
    ['not @ and ( ! or @ )', '(not @ and (! or @))'],
    ['not ( @ and ! or @ )', 'not ((@ and !) or @)'],
    ['@ and ( not ! or @ )', '(@ and (not ! or @))'],
    ['@ and not ( ! or @ )', '(@ and not (! or @))'],
    ['@ and ( ! or not @ )', '(@ and (! or not @))'],
  ];
  for (const [rule, expected] of cases) {
    it(`parses "${rule}" as ${expected}`, () => assert.equal(text(rule), expected));
  }

  it('groups with parentheses in every position (test_A_and_B_or_C_with_group_1)', () => {
    for (const rule of [
      '( @ ) and ! or @',
      '@ and ( ! ) or @',
      '@ and ! or ( @ )',
      '( @ ) and ! or ( @ )',
      '@ and ( ! ) or ( @ )',
      '( @ ) and ( ! ) or ( @ )',
      '( @ and ! ) or @',
      '( ( @ ) and ! ) or @',
      '( @ and ( ! ) ) or @',
      '( ( @ and ! ) ) or @',
      '( @ and ! or @ )',
    ]) {
      assert.equal(text(rule), '((@ and !) or @)', rule);
    }
  });

  it('groups not with parentheses (test_A_and_B_or_C_with_group_and_not_1, _4, _7)', () => {
    for (const rule of [
      '( not @ ) and ! or @',
      'not ( @ ) and ! or @',
      '( not @ and ! ) or @',
      '( not @ and ! or @ )',
    ]) {
      assert.equal(text(rule), '((not @ and !) or @)', rule);
    }
    for (const rule of [
      '( @ ) and not ! or @',
      '@ and ( not ! ) or @',
      '@ and not ( ! ) or @',
      '( @ and not ! or @ )',
    ]) {
      assert.equal(text(rule), '((@ and not !) or @)', rule);
    }
    for (const rule of [
      '( @ ) and ! or not @',
      '@ and ! or not ( @ )',
      '@ and ! or ( not @ )',
      '( @ and ! or not @ )',
    ]) {
      assert.equal(text(rule), '((@ and !) or not @)', rule);
    }
  });

  it('peels parentheses glued to checks, and keeps %(key)s inside a check', () => {
    assert.equal(text('(role:a or project_id:%(project_id)s)'), '(role:a or project_id:%(project_id)s)');
    assert.equal(text('((role:a) and (role:b))'), '(role:a and role:b)');
  });

  it('recognises and, or, not in any case', () => {
    assert.equal(text('role:a OR role:b AND NOT role:c'), '(role:a or (role:b and not role:c))');
    assert.equal(text('role:a Or role:b'), '(role:a or role:b)');
  });

  it('allows for an empty rule (test_empty)', () => {
    assert.equal(type(''), 'true');
  });

  it('denies rules it cannot parse, never throwing', () => {
    for (const rule of [
      'role:a or',
      'and role:a',
      'role:a and and role:b',
      '(role:a',
      'role:a)',
      'role:a or(role:b)',
      '   ',
      '"role:admin" or role:b',
    ]) {
      assert.equal(type(rule), 'false', rule);
    }
  });

  it('denies only the token when a space splits a check (role: admin)', () => {
    assert.equal(text('role: admin'), '!');
    assert.equal(text('role:a or foo'), '(role:a or !)');
  });

  it('returns a lone keyword or quoted string as a rule that fails when decided, as oslo does', () => {
    const check = parseRule('"role:admin"');
    assert.equal(check.toString(), 'role:admin');
    assert.throws(() => check.evaluate({}, { roles: ['admin'] }, () => undefined));
    assert.throws(() => parseRule('not').evaluate({}, {}, () => undefined));
  });
});

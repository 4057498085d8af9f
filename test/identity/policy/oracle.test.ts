// Decides a few hundred generated rule/credential/target combinations with Debian's python3-oslo.policy
// and with our port, and asserts the same answer each time (allow, deny, or oslo raising).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PolicyEnforcer, parsePythonJson } from '../../../src/identity/policy/index.ts';

const ORACLE = `
import json, logging, sys, warnings
logging.disable(logging.CRITICAL)
warnings.simplefilter('ignore')
from oslo_config import cfg
from oslo_policy import policy
conf = cfg.ConfigOpts()
conf([])
out = []
for case in json.load(sys.stdin):
    enforcer = policy.Enforcer(conf, default_rule=case['default_rule'], use_conf=False)
    try:
        enforcer.set_rules(policy.Rules.load(case['policy'], case['default_rule']))
    except Exception as error:
        out.append('load-error')
        continue
    try:
        result = enforcer.enforce(case['rule'], json.loads(case['target']), json.loads(case['creds']))
        out.append('allow' if result else 'deny')
    except Exception as error:
        out.append('error')
print(json.dumps(out))
`;

/**
 * The python3 that can import oslo_policy: the one on PATH, else Debian's (a pyenv or venv python on
 * PATH does not see Debian's packages). Fails with the package to install; never skips.
 */
function requireOsloPolicy(): string {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import oslo_policy, oslo_config'], { stdio: 'ignore' });
      return python;
    } catch {
      // Try the next one.
    }
  }
  throw new Error(
    'python3 cannot import oslo_policy: apt-get install python3-oslo.policy (scripts/test.sh installs it).',
  );
}

/** mulberry32: the same cases on every run. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  return { next, pick, chance: (p: number) => next() < p };
}

const ROLE_NAMES = [
  'admin',
  'member',
  'reader',
  'Admin',
  'MEMBER',
  'approver',
  '%(role)s',
  'r%(missing)s',
  'a%%b',
];
const GENERIC = [
  'project_id:%(project_id)s',
  'user_id:%(user_id)s',
  'user_id:%(owner)s',
  'is_admin:True',
  'is_admin:1',
  'is_admin:true',
  'user.id:%(owner)s',
  'user.roles:admin',
  'user.domain.id:default',
  "'public':%(visibility)s",
  '"shared":%(visibility)s',
  'True:%(flag)s',
  '20:%(count)s',
  '1.0:%(f)s',
  '1e3:%(big)s',
  'None:%(nothing)s',
  'project_id:%(missing)s',
  'Role:admin',
  'domain_id:default',
  'system:all',
  'count:%(count)d',
  'x:%(count)05d',
  'project_id:%s',
  'x:100%',
  '9a:x',
  'a-b:c',
  'tags:%(tag)s',
  'items.k:%(count)s',
  'roles:member',
  'user:%(owner)s',
  'flag:%(flag)r',
  'http://policy.invalid/%(project_id)s',
  'https://policy.invalid/check',
  ':x',
  'project_id:p1',
  "u'x':x",
  "b'x':%(visibility)s",
];
// Kinds and formats that lean on Python: literal_eval's verdicts and %-formatting.
const PYTHONIC = [
  '0x10:16',
  '1_0:10',
  '-1:-1',
  '1+2j:(1+2j)',
  '2j:2j',
  '[1,2]:[1, 2]',
  '{1}:{1}',
  "{'a':1}:{'a': 1}",
  '...:Ellipsis',
  "'a''b':ab",
  "b'x':b'x'",
  'not:x',
  'True.x:y',
  '1.x:y',
  '007:7',
  'lambda:x',
  'a.b.c:%(project_id)s',
  'x:%(count)x',
  'x:%(f)e',
  'x:%(count)5.1f',
  'x:%(project_id)-5s',
  'x:%(project_id).1s',
  'x:%(count)c',
  'x:%(flag)d',
  'x:%(nothing)s',
  '1e16:%(big)s',
  '0.0001:0.0001',
  '0.00001:1e-05',
  '-0.0:-0.0',
  'None:None',
  'False:%(flag)s',
  'x:%(project_id)*s',
  'x:%(project_id',
  'project_id:%(project_id)s%%',
  'tags.x:a',
  'user.id.x:u1',
  'is_admin:%(flag)s',
];
const BROKEN = [
  'foo',
  'role: admin',
  '"role:admin"',
  "'role:member'",
  'or(role:b)',
  'role:a)',
  '(role:a',
  'not',
];

function makeRule(g: ReturnType<typeof generator>, names: string[], depth: number): string {
  const op = (word: string) => g.pick([word, word.toUpperCase(), word[0].toUpperCase() + word.slice(1)]);
  const atom = (): string => {
    const r = g.next();
    if (r < 0.3) return `role:${g.pick(ROLE_NAMES)}`;
    if (r < 0.55) return g.pick(GENERIC);
    if (r < 0.65) return g.pick(PYTHONIC);
    if (r < 0.8) return `rule:${g.pick([...names, 'undefined_rule', 'default'])}`;
    if (r < 0.85) return g.pick(['@', '!']);
    if (r < 0.9) return g.pick(BROKEN);
    return depth > 0 ? `(${makeRule(g, names, depth - 1)})` : `role:${g.pick(ROLE_NAMES)}`;
  };
  let text = g.chance(0.2) ? `${op('not')} ${atom()}` : atom();
  const terms = Math.floor(g.next() * 4);
  for (let i = 0; i < terms; i++) {
    const next = g.chance(0.15) ? `${op('not')} ${atom()}` : atom();
    text += ` ${op(g.pick(['and', 'or']))} ${next}`;
  }
  if (g.chance(0.05)) text += ` ${op('or')}`;
  return text;
}

function makeValue(g: ReturnType<typeof generator>, names: string[]): unknown {
  const r = g.next();
  if (r < 0.08) return '';
  if (r < 0.16) {
    // The legacy list-of-lists form, with the odd empty or bare-string member.
    const outer: unknown[] = [];
    const n = Math.floor(g.next() * 3);
    for (let i = 0; i < n; i++) {
      if (g.chance(0.2)) outer.push(g.chance(0.5) ? [] : `role:${g.pick(ROLE_NAMES)}`);
      else
        outer.push(
          Array.from({ length: 1 + Math.floor(g.next() * 2) }, () => g.pick([...GENERIC, 'role:admin'])),
        );
    }
    return outer;
  }
  return makeRule(g, names, 2);
}

const CREDENTIALS = [
  {},
  { roles: ['admin'], project_id: 'p1', user_id: 'u1', is_admin: true },
  { roles: ['Member'], project_id: 'p1', user_id: 'u2', is_admin: false },
  { roles: ['reader', 'MEMBER'], project_id: 'p2', user_id: 'u1', is_admin: 1 },
  { roles: [], project_id: 'p2', user_id: 'u3', is_admin: 'True', system_scope: 'all' },
  { roles: 'admin', project_id: 'p1' },
  {
    roles: ['approver'],
    user: { id: 'u1', roles: ['admin', 'member'], domain: { id: 'default' } },
    domain_id: 'default',
  },
  {
    roles: ['member'],
    user: [{ id: 'u9' }, { id: 'u1' }],
    tags: ['a', 'b'],
    items: [{ k: 20 }, { k: '20' }],
  },
  { roles: ['admin', 5], project_id: 'p1' },
  { roles: ['member'], user: 'u1', project_id: null, count: 20, flag: true, system: 'all' },
  { roles: ['reader'], project_id: 'p1', user_id: 'u1', x: '00020', Role: 'admin', count: 20.0 },
];
const TARGETS = [
  {},
  { project_id: 'p1', owner: 'u1', visibility: 'public', flag: true, count: 20, role: 'member', f: 1.0 },
  {
    project_id: 'p2',
    owner: 'u9',
    visibility: 'shared',
    flag: 'True',
    count: '20',
    role: 'ADMIN',
    big: 1000.0,
  },
  {
    project_id: null,
    user_id: 'u1',
    visibility: 'private',
    flag: false,
    count: 20.5,
    nothing: null,
    tag: 'a',
  },
  { project_id: 'p1', user_id: 'u2', count: 'twenty', flag: 1, f: 1, big: 1000, role: 'reader' },
];

interface Case {
  policy: string;
  default_rule: string;
  rule: string;
  target: string;
  creds: string;
}

function makeCases(count: number, seed: number): Case[] {
  const g = generator(seed);
  const cases: Case[] = [];
  while (cases.length < count) {
    const names = ['a', 'b', 'c', 'image:get', 'os:x:y'];
    const rules: Record<string, unknown> = {};
    for (const name of names) if (g.chance(0.85)) rules[name] = makeValue(g, names);
    if (g.chance(0.6))
      rules.default = g.pick(['role:admin', '', '!', 'rule:a', 'rule:default', 'is_admin:True']);
    const policy = JSON.stringify(rules);
    const defaultRule = g.pick(['default', 'default', 'a', 'nothing']);
    for (let i = 0; i < 4; i++) {
      cases.push({
        policy,
        default_rule: defaultRule,
        rule: g.pick([...names, 'default', 'unknown']),
        // JSON with 20.0 and 1.0 written as floats, as Python's json reads them.
        target: JSON.stringify(g.pick(TARGETS)).replace(/"(f|big|count)":(\d+)([,}])/g, (m, k, v, end) =>
          g.chance(0.5) ? `"${k}":${v}.0${end}` : m,
        ),
        creds: JSON.stringify(g.pick(CREDENTIALS)).replace(/"count":20([,}])/, '"count":20.0$1'),
      });
    }
  }
  return cases;
}

describe('oslo.policy oracle', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-policy-oracle-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the cases through oslo and through PolicyEnforcer; returns oslo's outcomes and the differences. */
  function compare(cases: Case[]): { expected: string[]; mismatches: string[] } {
    const python = requireOsloPolicy();
    const script = path.join(dir, 'oracle.py');
    writeFileSync(script, ORACLE);
    const expected = JSON.parse(
      execFileSync(python, [script], { input: JSON.stringify(cases), maxBuffer: 64 << 20 }).toString(),
    ) as string[];
    const mismatches: string[] = [];
    const enforcers = new Map<string, PolicyEnforcer | 'load-error'>();
    cases.forEach((c, index) => {
      const key = `${c.default_rule}\0${c.policy}`;
      let enforcer = enforcers.get(key);
      if (!enforcer) {
        const file = path.join(dir, `policy-${enforcers.size}.yaml`);
        writeFileSync(file, c.policy);
        try {
          enforcer = new PolicyEnforcer({ defaults: [], policyFile: file, defaultRule: c.default_rule });
        } catch {
          enforcer = 'load-error';
        }
        enforcers.set(key, enforcer);
      }
      let actual: string;
      if (enforcer === 'load-error') actual = 'load-error';
      else {
        const decision = enforcer.decide(
          c.rule,
          parsePythonJson(c.target) as Record<string, unknown>,
          parsePythonJson(c.creds) as Record<string, unknown>,
        );
        actual = decision.error ? 'error' : decision.allowed ? 'allow' : 'deny';
      }
      if (actual !== expected[index]) {
        mismatches.push(
          `#${index} rule=${c.rule} default=${c.default_rule} oslo=${expected[index]} ours=${actual}\n  policy=${c.policy}\n  target=${c.target}\n  creds=${c.creds}`,
        );
      }
    });
    return { expected, mismatches };
  }

  it('decides generated rules, credentials and targets exactly as python3-oslo.policy', () => {
    // POLICY_ORACLE_SEED and POLICY_ORACLE_CASES explore further; the default run is always the same.
    const cases = makeCases(
      Number(process.env.POLICY_ORACLE_CASES ?? 1000),
      Number(process.env.POLICY_ORACLE_SEED ?? 20261122),
    );
    const { expected, mismatches } = compare(cases);
    const counts = expected.reduce<Record<string, number>>((all, e) => {
      all[e] = (all[e] ?? 0) + 1;
      return all;
    }, {});
    assert.ok(
      (counts.allow ?? 0) > 100 && (counts.deny ?? 0) > 100 && (counts.error ?? 0) > 20,
      JSON.stringify(counts),
    );
    assert.deepEqual(mismatches.slice(0, 10), [], `${mismatches.length} of ${cases.length} differ`);
  });

  it('loads YAML policy files (nulls, tags, booleans, lists, duplicates) exactly as python3-oslo.policy', () => {
    const files = [
      '"a": !\n"b": "!"\n',
      '"a":\n"b": ""\n',
      '"a": false\n"b": 0\n',
      '"a": yes\n',
      '"a": 1\n',
      '"a": "role:x"\n"a": "role:y"\n',
      '"a": ["role:x", ["role:y", "role:z"]]\n"b": [[]]\n',
      '"a": [[1, "role:x"]]\n',
      '"a": {"role:x": 1}\n',
      '1: "@"\n"b": "rule:1"\n',
      '{"a": "role:x",}\n',
      '"a": @\n',
      '"a": !foo role:x\n',
      '- "role:x"\n',
      '""\n',
      '',
      '"default": "role:x"\n"a": "rule:missing"\n',
      'a: role:x or\n  role:y\nb: >\n  role:z\n  and role:x\n',
      '"a": "role:x"\n"b": [["role:y"], "role:x"]\n',
      '"a": 0.0\n',
      '"a": ~\n',
      '"a": []\n',
      '"a": [[], [[]]]\n',
      // Plain scalars PyYAML resolves differently from the yaml package.
      '"a": y\n"b": n\n',
      '"a": 1e3\n"b": -.5\n',
      '"a": 08\n"b": 0x0\n',
      '"a": 2001-12-14\n',
      '"a": =\n',
      'y: "@"\n"a": "rule:y"\n',
      '"a": .nan\n"b": 0.0\n',
      '"a": [y]\n',
      '"a": 1:20\n',
      '"a": [! , "role:x"]\n',
      '"a": [!, "role:x"]\n',
      '"a": {"b": !}\n',
      '"a": &r "role:x"\n"b": *r\n',
      '"a": !!str 1\n',
    ];
    const cases: Case[] = [];
    for (const policy of files) {
      for (const rule of ['a', 'b', 'c']) {
        for (const creds of [{ roles: ['x'] }, { roles: ['y', 'z'] }, {}]) {
          cases.push({ policy, default_rule: 'default', rule, target: '{}', creds: JSON.stringify(creds) });
        }
      }
    }
    const { mismatches } = compare(cases);
    assert.deepEqual(mismatches.slice(0, 10), [], `${mismatches.length} of ${cases.length} differ`);
  });
});

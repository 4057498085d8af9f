// The policy traps the posture scan flags, decided three ways on the same file: by Debian's
// oslopolicy-checker (python3-oslo.policy 4.0), by `imagetrust policy check --no-defaults`, and by the
// scan's own evaluation of the file alone. All three must agree; the traps must then be reported.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { scanPosture } from '../../src/cli/posture.ts';
import { decidePolicy, effectivePolicy, loadCatalogue } from '../../src/posture/index.ts';
import { ruleTarget } from '../../src/posture/service-policy.ts';
import { requireTool, run } from '../support/tools.ts';
import { writeRoot } from './hardened.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/imagetrust');
const work = mkdtempSync(path.join(tmpdir(), 'posture-policy-'));
after(() => rmSync(work, { recursive: true, force: true }));

const MIGRATE = 'os_compute_api:os-migrate-server:migrate';
const LIVE = 'os_compute_api:os-migrate-server:migrate_live';

interface Persona {
  roles: string[];
  admin: boolean;
}
const PERSONAS: Record<string, Persona> = {
  member: { roles: ['member', 'reader'], admin: false },
  reader: { roles: ['reader'], admin: false },
  admin: { roles: ['admin', 'member', 'reader'], admin: true },
};

interface Case {
  name: string;
  policy: string;
  rule: string;
  persona: keyof typeof PERSONAS;
  /** What oslopolicy-checker says, written down so a change in either side shows. */
  expect: 'allowed' | 'denied';
}

const CASES: Case[] = [
  {
    name: 'a member-only override opens live migration to members',
    policy: `"${LIVE}": "role:member"\n`,
    rule: LIVE,
    persona: 'member',
    expect: 'allowed',
  },
  {
    name: 'an unquoted ! is YAML null: allow-all',
    policy: `"${LIVE}": !\n`,
    rule: LIVE,
    persona: 'reader',
    expect: 'allowed',
  },
  {
    name: 'an empty value is null: allow-all',
    policy: `"${MIGRATE}":\n`,
    rule: MIGRATE,
    persona: 'reader',
    expect: 'allowed',
  },
  {
    name: 'a quoted "!" denies even admins',
    policy: `"${LIVE}": "!"\n`,
    rule: LIVE,
    persona: 'admin',
    expect: 'denied',
  },
  {
    name: 'the legacy compute_extension "!" disables nothing: the current name falls to "default"',
    policy: `"compute_extension:admin_actions:migrateLive": "!"\n"compute_extension:admin_actions:migrate": "!"\n"default": "role:admin"\n`,
    rule: LIVE,
    persona: 'admin',
    expect: 'allowed',
  },
  {
    name: 'a name the file does not define, with no default rule, is denied',
    policy: `"compute_extension:admin_actions:migrateLive": "!"\n`,
    rule: LIVE,
    persona: 'admin',
    expect: 'denied',
  },
  {
    name: "nova's rule names mean nothing to imagetrust's defaults: rule:context_is_admin undefined in the file denies",
    policy: `"${LIVE}": "rule:context_is_admin"\n`,
    rule: LIVE,
    persona: 'admin',
    expect: 'denied',
  },
  {
    name: "glance's empty default lets an undefined name through",
    policy: `"default": ""\n"get_images": "role:reader"\n`,
    rule: 'add_image',
    persona: 'member',
    expect: 'allowed',
  },
];

async function checker(file: string, c: Case): Promise<'allowed' | 'denied'> {
  const persona = PERSONAS[c.persona];
  const access = path.join(work, `${c.persona}.access.json`);
  writeFileSync(
    access,
    JSON.stringify({
      token: { roles: persona.roles.map((name) => ({ name })), user: { id: 'u1' }, project: { id: 'p1' } },
    }),
  );
  const result = await run('oslopolicy-checker', [
    '--policy',
    file,
    '--access',
    access,
    '--rule',
    c.rule,
    ...(persona.admin ? ['--is_admin'] : []),
  ]);
  if (result.stdout.includes(`passed: ${c.rule}`)) return 'allowed';
  if (result.stdout.includes(`failed: ${c.rule}`)) return 'denied';
  // oslo's Rules raise KeyError for a name with no rule and no default: oslo.policy's enforce() denies.
  assert.match(
    `${result.stdout}${result.stderr}`,
    /KeyError/,
    `oslopolicy-checker said: ${result.stdout}${result.stderr}`,
  );
  return 'denied';
}

describe('policy traps against oslopolicy-checker', () => {
  requireTool('oslopolicy-checker', 'python3-oslo.policy');
  CASES.forEach((c, i) => {
    it(c.name, async () => {
      const file = path.join(work, `policy-${i}.yaml`);
      writeFileSync(file, c.policy);
      const oracle = await checker(file, c);
      assert.equal(oracle, c.expect, 'oslopolicy-checker');
      const persona = PERSONAS[c.persona];
      const creds = { roles: persona.roles, user_id: 'u1', project_id: 'p1', is_admin: persona.admin };
      const target = { user_id: 'u1', project_id: 'p1' };
      const cli = await run(BIN, [
        'policy',
        'check',
        c.rule,
        '--no-defaults',
        '--policy-file',
        file,
        '--target',
        JSON.stringify(target),
        '--credentials',
        JSON.stringify(creds),
      ]);
      assert.equal(cli.stdout.trim(), oracle, `policy check --no-defaults: ${cli.stderr}`);
      assert.equal(cli.code, oracle === 'allowed' ? 0 : 1);
      const scan = decidePolicy(effectivePolicy([{ file, text: c.policy }], {}), c.rule, creds, target);
      assert.equal(scan ? 'allowed' : 'denied', oracle, 'posture evaluation of the file alone');
    });
  });

  it("policy check without --no-defaults judges a nova file by imagetrust's rules (the reason for the flag)", async () => {
    const file = path.join(work, 'nova-context-is-admin.yaml');
    writeFileSync(file, `"${LIVE}": "rule:context_is_admin"\n`);
    const args = [
      'policy',
      'check',
      LIVE,
      '--policy-file',
      file,
      '--target',
      '{"project_id": "p1"}',
      '--credentials',
      '{"roles": ["admin"], "project_id": "p1", "is_admin": true}',
    ];
    assert.equal((await run(BIN, args)).stdout.trim(), 'allowed');
    assert.equal((await run(BIN, [...args, '--no-defaults'])).stdout.trim(), 'denied');
  });

  it("judges nova's migrate rules with the target nova passes: {project_id} only, so user_id:%(user_id)s denies", async () => {
    // nova 26 migrate_server.py: context.can(..., target={'project_id': instance.project_id}).
    const policy = `"admin_api": "is_admin:True"\n"${LIVE}": "rule:admin_api or user_id:%(user_id)s"\n"${MIGRATE}": "rule:admin_api or user_id:%(user_id)s"\n`;
    const file = path.join(work, 'nova-user-id.yaml');
    writeFileSync(file, policy);
    const access = path.join(work, 'member-target.access.json');
    writeFileSync(
      access,
      JSON.stringify({
        token: { roles: [{ name: 'member' }, { name: 'reader' }], user: { id: 'u1' }, project: { id: 'p1' } },
      }),
    );
    const targetFile = path.join(work, 'nova-instance-target.json');
    writeFileSync(targetFile, JSON.stringify({ project_id: 'p1' }));
    const { text, source } = {
      text: readFileSync(new URL('../../src/posture/checks.yaml', import.meta.url), 'utf8'),
      source: 'checks.yaml',
    };
    const mig = loadCatalogue({ text, source }).find((c) => c.id === 'OSP-MIG-POLICY');
    for (const checked of mig?.rules ?? []) {
      const { rule, target } = ruleTarget(checked);
      assert.deepEqual(target, { project_id: 'p1' }, rule);
      const result = await run('oslopolicy-checker', [
        '--policy',
        file,
        '--access',
        access,
        '--rule',
        rule,
        '--target',
        targetFile,
      ]);
      assert.match(result.stdout, new RegExp(`failed: ${rule}`), 'oslopolicy-checker denies the member');
      const creds = { roles: ['member', 'reader'], user_id: 'u1', project_id: 'p1', is_admin: false };
      assert.equal(decidePolicy(effectivePolicy([{ file, text: policy }], {}), rule, creds, target), false);
    }
    const root = writeRoot({ 'nova/policy.yaml': policy });
    try {
      const { findings } = await scanPosture([root], {});
      assert.deepEqual(
        findings.filter((f) => f.check === 'OSP-MIG-POLICY'),
        [],
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reports each trap in the scan of a nova and glance policy file', async () => {
    const root = writeRoot({
      'nova/policy.yaml': `"${LIVE}": !\n"${MIGRATE}":\n"compute_extension:admin_actions:migrateLive": "!"\n`,
      'glance/policy.yaml': '"default": ""\n',
    });
    try {
      const { findings } = await scanPosture([root], {});
      const seen = findings.map((f) => `${f.check} ${f.severity} ${f.subject}`).sort();
      assert.deepEqual(
        seen,
        [
          `OSP-MIG-POLICY error ${MIGRATE}`,
          `OSP-MIG-POLICY error ${LIVE}`,
          'OSP-POLICY-DEFAULT-GLANCE warning default',
          `OSP-POLICY-LINT error ${MIGRATE}`,
          // A written "" is meant, yet allows everyone: a warning (a YAML null is the error).
          'OSP-POLICY-LINT warning default',
          `OSP-POLICY-LINT error ${LIVE}`,
          'OSP-POLICY-LINT warning compute_extension:admin_actions:migrateLive',
        ].sort(),
      );
      const lint = findings.find((f) => f.subject === LIVE && f.check === 'OSP-POLICY-LINT');
      assert.equal(lint?.location.line, 1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

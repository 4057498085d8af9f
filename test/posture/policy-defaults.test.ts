// The in-code policy defaults the scan ships (src/posture/policy-defaults.yaml) are nova's and glance's
// own: read from Debian 12's python3-nova and python3-glance (apt-get download, dpkg-deb -x) by
// importing their nova.policies / glance.policies modules with Debian's python3-oslo.policy.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadPolicyDefaults } from '../../src/posture/index.ts';
import { extractDeb, fetchDeb } from '../support/debs.ts';

const DUMP = `
import json
from nova.policies import base as nova_base, migrate_server
from glance.policies import base as glance_base
print(json.dumps({
    'nova': {r.name: r.check_str for r in nova_base.list_rules() + migrate_server.list_rules()},
    'glance': {r.name: r.check_str for r in glance_base.list_rules()},
}))
`;

function pythonWithOsloPolicy(): string {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import oslo_policy'], { stdio: 'ignore' });
      return python;
    } catch {
      // Try the next one.
    }
  }
  throw new Error(
    'python3 cannot import oslo_policy: apt-get install python3-oslo.policy (scripts/test.sh installs it).',
  );
}

describe('shipped service policy defaults', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'posture-defaults-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('match the rules python3-nova 26 and python3-glance 25 register, for every rule the scan ships', () => {
    for (const name of ['python3-nova', 'python3-glance']) extractDeb(fetchDeb(name), work, name);
    const registered = JSON.parse(
      execFileSync(pythonWithOsloPolicy(), ['-c', DUMP], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: path.join(work, 'usr/lib/python3/dist-packages') },
      }),
    ) as Record<string, Record<string, string>>;
    const shipped = loadPolicyDefaults();
    for (const [service, rules] of shipped) {
      for (const [rule, check] of Object.entries(rules)) {
        assert.equal(check, registered[service]?.[rule], `${service} ${rule}`);
      }
    }
    // The two rules the migration check judges are there.
    assert.ok(shipped.get('nova')?.['os_compute_api:os-migrate-server:migrate_live']);
  });
});

// Authorization decision benchmark (run with `node bench/policy.ts`). It is a report, not a test: it
// prints decision latency (p50, p99) and throughput of PolicyEnforcer.authorize for a Glance-like policy
// file of about 60 rules with nested rule: references and generic checks, then the results as JSON.
//
// $BENCH_DECISIONS (default 200,000) timed decisions one by one for the percentiles, then the same
// number back to back for decisions per second, after a warm-up of 20,000.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_RULES } from '../src/identity/default-rules.ts';
import { PolicyEnforcer } from '../src/identity/policy/index.ts';

const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 200_000);

// Glance's policy names, with checks in the shape real deployments write them.
function glanceLikePolicy(): Record<string, string> {
  const rules: Record<string, string> = {
    context_is_admin: 'role:admin',
    default: 'rule:context_is_admin',
    admin_or_owner: 'is_admin:True or project_id:%(project_id)s',
    project_member: 'role:member and project_id:%(project_id)s',
    project_reader: 'role:reader and project_id:%(project_id)s',
    project_member_or_admin: 'rule:context_is_admin or rule:project_member',
    project_reader_or_admin: 'rule:context_is_admin or rule:project_reader or rule:project_member',
    service_api: 'role:service',
    service_or_member: 'rule:service_api or rule:project_member',
    public_image: "'public':%(visibility)s",
    community_image: "'community':%(visibility)s",
    shared_image: "'shared':%(visibility)s and project_id:%(member_id)s",
    visible_image:
      'rule:public_image or rule:community_image or rule:shared_image or rule:project_reader_or_admin',
    owner_of_image: 'project_id:%(owner)s',
    manage_image_cache: 'rule:context_is_admin',
    metadef_admin: 'rule:context_is_admin',
    metadef_default: 'rule:visible_image or rule:project_reader_or_admin',
  };
  const actions = [
    ['get_images', 'rule:project_reader_or_admin'],
    ['get_image', 'rule:visible_image'],
    ['add_image', 'rule:project_member_or_admin and not role:observer'],
    ['modify_image', 'rule:project_member_or_admin'],
    ['delete_image', 'rule:project_member_or_admin'],
    ['upload_image', 'rule:project_member_or_admin or rule:service_or_member'],
    ['download_image', 'rule:visible_image or rule:owner_of_image'],
    ['publicize_image', 'rule:context_is_admin'],
    ['communitize_image', 'rule:project_member_or_admin'],
    ['copy_from', 'rule:project_member_or_admin'],
    ['deactivate', 'rule:project_member_or_admin'],
    ['reactivate', 'rule:project_member_or_admin'],
    ['get_image_location', 'rule:context_is_admin or rule:service_api'],
    ['set_image_location', 'rule:context_is_admin or rule:service_api'],
    ['delete_image_location', 'rule:context_is_admin'],
    ['add_member', 'rule:project_member_or_admin'],
    ['delete_member', 'rule:project_member_or_admin'],
    ['get_member', 'rule:project_reader_or_admin or project_id:%(member_id)s'],
    ['get_members', 'rule:project_reader_or_admin'],
    ['modify_member', 'rule:context_is_admin or (role:member and project_id:%(member_id)s)'],
    ['add_task', 'rule:project_member_or_admin'],
    ['get_task', 'rule:default'],
    ['get_tasks', 'rule:default'],
    ['modify_task', 'rule:default'],
    ['tasks_api_access', 'rule:context_is_admin'],
    ['cache_image', 'rule:manage_image_cache'],
    ['cache_list', 'rule:manage_image_cache'],
    ['cache_delete', 'rule:manage_image_cache'],
    ['stores_info_detail', 'rule:context_is_admin'],
    ['import_image', 'rule:project_member_or_admin'],
    ['get_metadef_namespace', 'rule:metadef_default'],
    ['get_metadef_namespaces', 'rule:metadef_default'],
    ['modify_metadef_namespace', 'rule:metadef_admin'],
    ['add_metadef_namespace', 'rule:metadef_admin'],
    ['delete_metadef_namespace', 'rule:metadef_admin'],
    ['get_metadef_object', 'rule:metadef_default'],
    ['get_metadef_objects', 'rule:metadef_default'],
    ['modify_metadef_object', 'rule:metadef_admin'],
    ['add_metadef_object', 'rule:metadef_admin'],
    ['delete_metadef_object', 'rule:metadef_admin'],
    ['list_metadef_resource_types', 'rule:metadef_default'],
    ['get_metadef_resource_type', 'rule:metadef_default'],
    ['add_metadef_resource_type_association', 'rule:metadef_admin'],
    ['remove_metadef_resource_type_association', 'rule:metadef_admin'],
    ['get_metadef_property', 'rule:metadef_default'],
    ['get_metadef_properties', 'rule:metadef_default'],
    ['modify_metadef_property', 'rule:metadef_admin'],
    ['add_metadef_property', 'rule:metadef_admin'],
    ['remove_metadef_property', 'rule:metadef_admin'],
    ['get_metadef_tag', 'rule:metadef_default'],
    ['get_metadef_tags', 'rule:metadef_default'],
    ['modify_metadef_tag', 'rule:metadef_admin'],
    ['add_metadef_tag', 'rule:metadef_admin'],
    ['add_metadef_tags', 'rule:metadef_admin'],
    ['delete_metadef_tag', 'rule:metadef_admin'],
    ['delete_metadef_tags', 'rule:metadef_admin'],
  ];
  for (const [name, check] of actions) rules[name] = check;
  return rules;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-bench-policy-'));
try {
  const rules = glanceLikePolicy();
  const policyFile = path.join(dir, 'policy.yaml');
  writeFileSync(
    policyFile,
    Object.entries(rules)
      .map(([name, check]) => `${JSON.stringify(name)}: ${JSON.stringify(check)}`)
      .join('\n'),
  );
  const enforcer = new PolicyEnforcer({ defaults: DEFAULT_RULES, policyFile });
  const names = Object.keys(rules);
  const credentials = [
    { roles: ['admin'], project_id: 'p1', user_id: 'u1', is_admin: true },
    { roles: ['member', 'reader'], project_id: 'p1', user_id: 'u2', is_admin: false },
    { roles: ['reader'], project_id: 'p2', user_id: 'u3', is_admin: false },
    { roles: ['Member'], project_id: 'p3', user_id: 'u4', is_admin: false },
  ];
  const targets = [
    { project_id: 'p1', owner: 'p1', visibility: 'private', member_id: 'p2' },
    { project_id: 'p2', owner: 'p2', visibility: 'shared', member_id: 'p3' },
    { project_id: 'p9', owner: 'p9', visibility: 'public', member_id: 'p1' },
  ];
  const work = Array.from({ length: 4096 }, (_, i) => ({
    rule: names[(i * 7919) % names.length],
    credentials: credentials[(i * 31) % credentials.length],
    target: targets[(i * 17) % targets.length],
  }));
  let allowed = 0;
  for (let i = 0; i < 20_000; i++) {
    const w = work[i & 4095];
    if (enforcer.authorize(w.rule, w.target, w.credentials)) allowed++;
  }
  const latencies = new Float64Array(DECISIONS);
  for (let i = 0; i < DECISIONS; i++) {
    const w = work[i & 4095];
    const start = process.hrtime.bigint();
    enforcer.authorize(w.rule, w.target, w.credentials);
    latencies[i] = Number(process.hrtime.bigint() - start);
  }
  latencies.sort();
  allowed = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < DECISIONS; i++) {
    const w = work[i & 4095];
    if (enforcer.authorize(w.rule, w.target, w.credentials)) allowed++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result = {
    rules: enforcer.rules().size,
    fileRules: names.length,
    decisions: DECISIONS,
    allowedShare: Number((allowed / DECISIONS).toFixed(3)),
    p50Microseconds: Number((percentile(latencies, 50) / 1000).toFixed(2)),
    p99Microseconds: Number((percentile(latencies, 99) / 1000).toFixed(2)),
    maxMicroseconds: Number((latencies[latencies.length - 1] / 1000).toFixed(2)),
    decisionsPerSecond: Math.round(DECISIONS / seconds),
  };
  const rows: [string, string][] = [
    ['rules (file + defaults)', `${result.rules} (${result.fileRules} in the file)`],
    ['decisions timed', String(result.decisions)],
    ['allowed share', String(result.allowedShare)],
    ['latency p50', `${result.p50Microseconds} µs`],
    ['latency p99', `${result.p99Microseconds} µs`],
    ['latency max', `${result.maxMicroseconds} µs`],
    ['throughput', `${result.decisionsPerSecond.toLocaleString('en')} decisions/s (one core)`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write('policy decisions (PolicyEnforcer.authorize, Glance-like policy.yaml)\n');
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

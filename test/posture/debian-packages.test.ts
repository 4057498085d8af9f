// The posture scan on the configuration Debian 12 really installs: nova-common, glance-common, glance-api,
// barbican-common, cinder-common and libvirt-daemon-system, downloaded with apt-get (cached by version)
// and unpacked with dpkg-deb. The service configs land in /usr/share/<package>/ and each postinst
// installs them into /etc/<service>/ (pkgos_write_new_conf: root:<service> 0640, the directory
// <service>:<service> 0750); the test replays exactly the calls the postinst makes.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scanPosture } from '../../src/cli/posture.ts';
import type { PostureFinding } from '../../src/posture/index.ts';
import {
  installedEtc as installedEtcIn,
  SERVICE_IDS,
  unpackOpenStackPackages,
} from '../support/openstack-etc.ts';
import { run } from '../support/tools.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/imagetrust');

const IDS = SERVICE_IDS;
let work: string;
let packages: string;
const installedEtc = () => installedEtcIn(packages, work);

/** Sets `key = value` in `[section]`: replaces the active assignment, else adds it under the header. */
function setOption(text: string, section: string, key: string, value: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `[${section}]`);
  if (start < 0) return `${text}\n[${section}]\n${key} = ${value}\n`;
  let end = lines.findIndex((l, i) => i > start && l.startsWith('['));
  if (end < 0) end = lines.length;
  const at = lines.findIndex((l, i) => i > start && i < end && new RegExp(`^${key}\\s*[=:]`).test(l));
  if (at >= 0) lines[at] = `${key} = ${value}`;
  else lines.splice(start + 1, 0, `${key} = ${value}`);
  return lines.join('\n');
}

function editFile(root: string, file: string, change: (text: string) => string): void {
  const p = path.join(root, file);
  writeFileSync(p, change(readFileSync(p, 'utf8')));
}

const summary = (findings: PostureFinding[]) =>
  [...new Set(findings.map((f) => `${f.check} ${f.subject}`))].sort();

before(() => {
  work = mkdtempSync(path.join(tmpdir(), 'posture-debian-'));
  packages = unpackOpenStackPackages(path.join(work, 'packages'));
});

after(() => rmSync(work, { recursive: true, force: true }));

/** What the guide predicts for an untouched Debian 12 install (one line per check and subject). */
const SHIPPED = [
  // Files root:<service> 0640 (the postinst), but the directories <service>:<service> and dpkg's own rootwrap.conf root:root.
  'OSP-CFG-OWN barbican/',
  'OSP-CFG-OWN glance/',
  'OSP-CFG-OWN nova/',
  'OSP-CFG-OWN nova/rootwrap.conf',
  // keystone over http://localhost:5000 in all four services.
  'OSP-AUTH-TLS-KS keystone_authtoken/www_authenticate_uri',
  'OSP-AUTH-TLS-KS-URL keystone_authtoken/auth_url',
  // glance 25 with oslo.policy 4.0: old defaults, and the in-code "default" rule '' allows everyone.
  'OSP-GLANCE-RBAC oslo_policy/enforce_new_defaults',
  'OSP-POLICY-DEFAULT-GLANCE default',
  // Trusted images: nova does not verify signatures.
  'OSP-IMG-SIG-NOVA glance/verify_glance_signatures',
  // Key manager: the implicit barbican backend, reached over castellan's http://localhost/identity/v3.
  'OSP-KEYMGR-IMPLICIT key_manager/backend',
  'OSP-KEYMGR-TLS barbican/auth_endpoint',
  // Live migration: unencrypted, on the host name, QEMU listening everywhere, libvirtd open to any CA client.
  'OSP-LIBVIRTD-TLS-DN libvirtd/tls_allowed_dn_list',
  'OSP-MIG-NET libvirt/live_migration_inbound_addr',
  'OSP-MIG-NET-QEMU qemu/migration_address',
  'OSP-MIG-TLS libvirt/live_migration_with_native_tls',
];

/** The operator's hardening of the installed files, option by option, as a guide-following admin would. */
function harden(root: string): void {
  const ks = (text: string) =>
    setOption(
      setOption(text, 'keystone_authtoken', 'www_authenticate_uri', 'https://keystone.example.org:5000'),
      'keystone_authtoken',
      'auth_url',
      'https://keystone.example.org:5000',
    );
  const keymgr = (text: string) =>
    setOption(
      setOption(text, 'key_manager', 'backend', 'barbican'),
      'barbican',
      'auth_endpoint',
      'https://keystone.example.org:5000/v3',
    );
  editFile(root, 'nova/nova.conf', (t) => {
    let text = keymgr(ks(t));
    text = setOption(text, 'glance', 'verify_glance_signatures', 'True');
    text = setOption(text, 'glance', 'enable_certificate_validation', 'True');
    text = setOption(
      text,
      'glance',
      'default_trusted_certificate_ids',
      '0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8',
    );
    text = setOption(text, 'libvirt', 'live_migration_with_native_tls', 'True');
    text = setOption(text, 'libvirt', 'live_migration_scheme', 'tls');
    return setOption(text, 'libvirt', 'live_migration_inbound_addr', '10.20.0.11');
  });
  editFile(root, 'glance/glance-api.conf', (t) =>
    setOption(
      setOption(keymgr(ks(t)), 'oslo_policy', 'enforce_new_defaults', 'True'),
      'DEFAULT',
      'enforce_secure_rbac',
      'True',
    ),
  );
  editFile(root, 'cinder/cinder.conf', (t) => keymgr(ks(t)));
  editFile(root, 'barbican/barbican.conf', ks);
  editFile(root, 'glance/policy.d/00_default_policy.yaml', (t) => `${t}\n"default": "role:admin"\n`);
  editFile(
    root,
    'libvirt/libvirtd.conf',
    (t) => `${t}\ntls_allowed_dn_list = ["C=GB,O=Example,CN=compute1.example.org"]\n`,
  );
  editFile(
    root,
    'libvirt/qemu.conf',
    (t) => `${t}\nmigration_address = "10.20.0.11"\nmigrate_tls_force = 1\n`,
  );
  for (const [service, id] of Object.entries(IDS)) chownSync(path.join(root, service), 0, id);
  chownSync(path.join(root, 'nova/rootwrap.conf'), 0, IDS.nova);
  chmodSync(path.join(root, 'nova/rootwrap.conf'), 0o640);
}

describe('posture scan on Debian 12 packages', () => {
  it('reports what the Security Guide predicts for the shipped defaults', async () => {
    const { findings } = await scanPosture([installedEtc()], {});
    assert.deepEqual(summary(findings), [...SHIPPED].sort());
    // Each keystone finding is one per service that talks to keystone, at the line the package wrote.
    const ks = findings.filter((f) => f.check === 'OSP-AUTH-TLS-KS');
    assert.deepEqual(ks.map((f) => path.basename(f.location.file)).sort(), [
      'barbican.conf',
      'cinder.conf',
      'glance-api.conf',
      'nova.conf',
    ]);
    assert.ok(ks.every((f) => typeof f.location.line === 'number' && f.severity === 'error'));
    const sig = findings.find((f) => f.check === 'OSP-IMG-SIG-NOVA');
    assert.equal(sig?.severity, 'error');
    assert.match(sig?.reference ?? '', /Trusted images/);
  });

  it('finds none of them once the installed files are hardened', async () => {
    const root = installedEtc();
    harden(root);
    const { findings } = await scanPosture([root], {});
    assert.deepEqual(summary(findings), []);
  });

  it('exits 1 on the shipped defaults and 0 on the hardened copy, with the same findings in JSON, SARIF and JUnit', async () => {
    const shipped = installedEtc();
    const json = await run(BIN, ['posture', 'scan', shipped, '--format', 'json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { findings: PostureFinding[]; summary: Record<string, number> };
    assert.deepEqual(summary(report.findings), [...SHIPPED].sort());
    assert.equal(report.summary.errors, report.findings.filter((f) => f.severity === 'error').length);
    for (const f of report.findings) {
      assert.deepEqual(Object.keys(f).sort(), [
        'check',
        'location',
        'message',
        'reference',
        'remediation',
        'severity',
        'subject',
      ]);
    }
    const sarif = JSON.parse((await run(BIN, ['posture', 'scan', shipped, '--format', 'sarif'])).stdout);
    assert.equal(sarif.version, '2.1.0');
    assert.equal(sarif.runs[0].results.length, report.findings.length);
    assert.deepEqual(
      sarif.runs[0].results
        .map(
          (r: { ruleId: string; properties: { subject: string } }) => `${r.ruleId} ${r.properties.subject}`,
        )
        .sort(),
      report.findings.map((f) => `${f.check} ${f.subject}`).sort(),
    );
    const junit = (await run(BIN, ['posture', 'scan', shipped, '--format', 'junit'])).stdout;
    const failures = Number(/failures="(\d+)"/.exec(junit)?.[1]);
    assert.equal(failures, report.summary.errors);
    assert.equal((junit.match(/<failure /g) ?? []).length, report.summary.errors);

    const hardened = installedEtc();
    harden(hardened);
    const clean = await run(BIN, ['posture', 'scan', hardened, '--format', 'json', '--fail-on', 'info']);
    assert.equal(clean.code, 0, clean.stderr);
    // Only warnings and infos: exit 0 at the default threshold, 1 with --fail-on warning.
    const warnOnly = installedEtc();
    harden(warnOnly);
    editFile(warnOnly, 'glance/glance-api.conf', (t) =>
      setOption(t, 'DEFAULT', 'show_image_direct_url', 'True'),
    );
    assert.equal((await run(BIN, ['posture', 'scan', warnOnly])).code, 0);
    assert.equal((await run(BIN, ['posture', 'scan', warnOnly, '--fail-on', 'warning'])).code, 1);
  });
});

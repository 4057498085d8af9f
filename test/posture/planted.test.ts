// One planted misconfiguration per check of the shipped catalogue, on a hardened /etc copy that passes
// every check: each plant must produce its check's finding (and the hardened copy none at all).
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { scanPosture } from '../../src/cli/posture.ts';
import type { PostureFinding } from '../../src/posture/index.ts';
import { loadCatalogue, readShippedCatalogue } from '../../src/posture/index.ts';
import { HARDENED, HARDENED_FLAVORS, HARDENED_IMAGES, writeRoot } from './hardened.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface Plant {
  files?: Record<string, string | null>;
  flavors?: unknown[];
  images?: unknown[];
  /** Changes made after the files are written (ownership, modes). */
  after?: (root: string) => void;
}

/** The hardened text of a file with one replacement; fails loudly when the text to replace is not there. */
function edit(file: string, from: string, to: string): Record<string, string> {
  const text = HARDENED[file];
  assert.ok(text.includes(from), `${file} has no "${from}"`);
  return { [file]: text.replace(from, to) };
}

/** The hardened text of a file with lines added under a section header (or at the end). */
function add(file: string, section: string | null, lines: string): Record<string, string> {
  const text = HARDENED[file];
  if (section === null) return { [file]: `${text}${lines}\n` };
  const header = `[${section}]\n`;
  return {
    [file]: text.includes(header)
      ? text.replace(header, `${header}${lines}\n`)
      : `${text}\n${header}${lines}\n`,
  };
}

async function scan(plant: Plant = {}): Promise<PostureFinding[]> {
  const root = writeRoot(plant.files);
  roots.push(root);
  plant.after?.(root);
  const write = (name: string, doc: unknown) => {
    const file = path.join(root, name);
    writeFileSync(file, JSON.stringify(doc));
    return [file];
  };
  const { findings } = await scanPosture([root], {
    flavors: write('flavors.json', plant.flavors ?? HARDENED_FLAVORS),
    images: write('images.json', plant.images ?? HARDENED_IMAGES),
  });
  return findings;
}

const ids = (findings: PostureFinding[]) => [...new Set(findings.map((f) => f.check))].sort();

const PLANTS: Record<string, Plant> = {
  'OSP-IMG-SIG-NOVA': {
    files: edit('nova/nova.conf', 'verify_glance_signatures = True', 'verify_glance_signatures = False'),
  },
  'OSP-IMG-SIG-RBD': { files: add('nova/nova.conf', 'libvirt', 'images_type = rbd') },
  'OSP-IMG-CERT-NOVA': {
    files: edit(
      'nova/nova.conf',
      'enable_certificate_validation = True',
      'enable_certificate_validation = False',
    ),
  },
  'OSP-IMG-CERT-EMPTY': {
    files: edit(
      'nova/nova.conf',
      'default_trusted_certificate_ids = 0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8',
      'default_trusted_certificate_ids =',
    ),
  },
  'OSP-CINDER-SIG': {
    files: edit(
      'cinder/cinder.conf',
      'verify_glance_signatures = enabled',
      'verify_glance_signatures = disabled',
    ),
  },
  'OSP-GLANCE-LOC-MULTI': {
    files: add('glance/glance-api.conf', 'DEFAULT', 'show_multiple_locations = True'),
  },
  'OSP-GLANCE-LOC-DIRECT': {
    files: edit('glance/glance-api.conf', 'show_image_direct_url = False', 'show_image_direct_url = True'),
  },
  'OSP-GLANCE-RBAC': {
    files: edit('glance/glance-api.conf', 'enforce_new_defaults = True', 'enforce_new_defaults = False'),
  },
  'OSP-GLANCE-RBAC-PAIR': {
    files: edit('glance/glance-api.conf', 'enforce_secure_rbac = True', 'enforce_secure_rbac = False'),
  },
  'OSP-GLANCE-RBAC-PAIR-OFF': {
    files: edit('glance/glance-api.conf', 'enforce_new_defaults = True', 'enforce_new_defaults = no'),
  },
  'OSP-AUTH-STRATEGY-NOVA': { files: add('nova/nova.conf', 'api', 'auth_strategy = noauth2') },
  'OSP-AUTH-STRATEGY-CINDER': { files: add('cinder/cinder.conf', 'DEFAULT', 'auth_strategy = noauth') },
  'OSP-KEYMGR-BACKEND': {
    files: edit('nova/nova.conf', 'backend = barbican', 'backend = nova.keymgr.conf_key_mgr.ConfKeyManager'),
  },
  'OSP-KEYMGR-FIXED-KEY': { files: add('cinder/cinder.conf', 'key_manager', 'fixed_key = 6b7e2f0a9c') },
  'OSP-KEYMGR-IMPLICIT': {
    files: edit('cinder/cinder.conf', '[key_manager]\nbackend = barbican\n', '[key_manager]\n'),
  },
  'OSP-KEYMGR-TLS': {
    files: edit('glance/glance-api.conf', 'auth_endpoint = https://', 'auth_endpoint = http://'),
  },
  'OSP-KEYMGR-ENDPOINT-TLS': {
    files: edit('nova/nova.conf', 'barbican_endpoint = https://', 'barbican_endpoint = http://'),
  },
  'OSP-KEYMGR-VERIFY': { files: add('nova/nova.conf', 'barbican', 'verify_ssl = false') },
  'OSP-BARBICAN-PIPE': { files: edit('barbican/barbican-api-paste.ini', ' authtoken', '') },
  'OSP-AUTH-TLS-KS': {
    files: edit(
      'barbican/barbican.conf',
      'www_authenticate_uri = https://',
      'www_authenticate_uri = http://',
    ),
  },
  'OSP-AUTH-TLS-KS-URL': { files: edit('cinder/cinder.conf', 'auth_url = https://', 'auth_url = http://') },
  'OSP-AUTH-INSECURE-KS': { files: add('glance/glance-api.conf', 'keystone_authtoken', 'insecure = yes') },
  'OSP-NOVA-GLANCE-TLS': {
    files: add(
      'nova/nova.conf',
      'glance',
      'api_servers = https://glance1.example.org:9292,http://glance2.example.org:9292',
    ),
  },
  'OSP-NOVA-GLANCE-TLS-ENDPOINT': {
    files: edit('nova/nova.conf', 'endpoint_override = https://', 'endpoint_override = http://'),
  },
  'OSP-NOVA-GLANCE-INSECURE': { files: add('nova/nova.conf', 'glance', 'insecure = True') },
  'OSP-MIG-POLICY': {
    files: { 'nova/policy.yaml': '"os_compute_api:os-migrate-server:migrate_live": "role:member"\n' },
  },
  'OSP-MIG-TLS': {
    files: edit(
      'nova/nova.conf',
      'live_migration_with_native_tls = True',
      'live_migration_with_native_tls = False',
    ),
  },
  'OSP-MIG-TLS-SCHEME': { files: edit('nova/nova.conf', 'live_migration_scheme = tls\n', '') },
  'OSP-MIG-TLS-CONFLICT': { files: add('nova/nova.conf', 'libvirt', 'live_migration_tunnelled = True') },
  'OSP-MIG-TUNNELLED': {
    files: edit('nova/nova.conf', 'live_migration_with_native_tls = True', 'live_migration_tunnelled = True'),
  },
  'OSP-MIG-URI': { files: add('nova/nova.conf', 'libvirt', 'live_migration_uri = qemu+tls://%s/system') },
  'OSP-MIG-NET': { files: edit('nova/nova.conf', 'live_migration_inbound_addr = 10.20.0.11\n', '') },
  'OSP-MIG-NET-QEMU': {
    files: edit('libvirt/qemu.conf', 'migration_address = "10.20.0.11"', 'migration_address = "0.0.0.0"'),
  },
  'OSP-MIG-TLS-FORCE': { files: edit('libvirt/qemu.conf', 'migrate_tls_force = 1', 'migrate_tls_force = 0') },
  'OSP-MIG-TLS-VERIFY': {
    files: edit('libvirt/qemu.conf', 'default_tls_x509_verify = 1', 'default_tls_x509_verify = 0'),
  },
  'OSP-LIBVIRTD-TCP': { files: add('libvirt/libvirtd.conf', null, 'listen_tcp = 1\nauth_tcp = "none"') },
  'OSP-LIBVIRTD-TLS-VERIFY': { files: add('libvirt/libvirtd.conf', null, 'tls_no_verify_certificate = 1') },
  'OSP-LIBVIRTD-TLS-SANITY': { files: add('libvirt/libvirtd.conf', null, 'tls_no_sanity_certificate = 1') },
  'OSP-LIBVIRTD-TLS-DN': {
    files: edit(
      'libvirt/libvirtd.conf',
      'tls_allowed_dn_list = ["C=GB,O=Example,CN=compute1.example.org"]\n',
      '',
    ),
  },
  'OSP-SCHED-LEGACY': {
    files: edit(
      'nova/nova.conf',
      'enabled_filters = ComputeFilter,',
      'enabled_filters = RamFilter,ComputeFilter,',
    ),
  },
  'OSP-SCHED-DEPRECATED': {
    files: edit(
      'nova/nova.conf',
      'enabled_filters = ComputeFilter,',
      'enabled_filters = AvailabilityZoneFilter,ComputeFilter,',
    ),
  },
  'OSP-SCHED-DEAD-OPTION': {
    files: add('nova/nova.conf', 'DEFAULT', 'scheduler_default_filters = ComputeFilter,JsonFilter'),
  },
  'OSP-SCHED-USERINPUT': {
    files: edit(
      'nova/nova.conf',
      'enabled_filters = ComputeFilter,',
      'enabled_filters = JsonFilter,ComputeFilter,',
    ),
  },
  'OSP-SCHED-USERHINT': {
    files: edit(
      'nova/nova.conf',
      'enabled_filters = ComputeFilter,',
      'enabled_filters = SameHostFilter,ComputeFilter,',
    ),
  },
  'OSP-SCHED-AFFINITY': { files: edit('nova/nova.conf', ',ServerGroupAffinityFilter', '') },
  'OSP-DISK-OVERSUB': { files: add('nova/nova.conf', 'DEFAULT', 'disk_allocation_ratio = 1.5') },
  'OSP-DISK-OVERSUB-INITIAL': {
    files: add('nova/nova.conf', 'DEFAULT', 'initial_disk_allocation_ratio = 16.0'),
  },
  'OSP-RNG-DEV': { files: add('nova/nova.conf', 'libvirt', 'rng_dev_path = /dev/random') },
  'OSP-RNG-FLAVOR': { flavors: [{ name: 'm1.norng', id: '7', properties: { 'hw_rng:allowed': 'False' } }] },
  'OSP-RNG-IMAGE': {
    images: [
      { ...HARDENED_IMAGES[0], properties: { ...HARDENED_IMAGES[0].properties, hw_rng_model: undefined } },
    ],
  },
  'OSP-IMG-PUBLIC-UNSIGNED': {
    images: [
      { ...HARDENED_IMAGES[0], properties: { hw_rng_model: 'virtio', img_signature_hash_method: 'SHA-256' } },
    ],
  },
  'OSP-IMG-HIDDEN-PUBLIC': { images: [{ ...HARDENED_IMAGES[0], os_hidden: true }] },
  'OSP-CFG-OWN': { after: (root) => chownSync(path.join(root, 'nova/nova.conf'), 0, 0) },
  'OSP-CFG-PERM': {
    after: (root) => {
      chmodSync(path.join(root, 'glance'), 0o755);
      chmodSync(path.join(root, 'glance/glance-api.conf'), 0o644);
    },
  },
  'OSP-POLICY-LINT': {
    files: { 'nova/policy.yaml': '"os_compute_api:os-migrate-server:migrate_live": !\n' },
  },
  'OSP-POLICY-DEFAULT-GLANCE': { files: { 'glance/policy.yaml': '"get_images": "role:reader"\n' } },
  'OSP-CFG-INVALID': { files: { 'nova/nova-compute.conf': '[libvirt]\nthis line has no separator\n' } },
  'OSP-CFG-SHADOWED': { files: add('nova/nova.conf', 'glance', 'verify_glance_signatures = yes') },
  'IT-TLS': {
    files: edit('imagetrust/imagetrust.yaml', 'tls:\n  cert: tls/cert.pem\n  key: tls/key.pem\n', ''),
  },
  'IT-INSECURE-HTTP': { files: add('imagetrust/imagetrust.yaml', null, 'allowInsecureHttp: true') },
  'IT-ADMIN-ANY-PROJECT': {
    files: add('imagetrust/imagetrust.yaml', null, 'identity:\n  adminOnAnyProject: true'),
  },
  'IT-SIG-REQUIRED': {
    files: edit(
      'imagetrust/imagetrust.yaml',
      'signaturesRequiredProjects: [production]',
      'signaturesRequiredProjects: []',
    ),
  },
  'IT-TRUSTED-CERT': {
    files: edit(
      'imagetrust/imagetrust.yaml',
      'requireTrustedCertificate: true',
      'requireTrustedCertificate: false',
    ),
  },
  'IT-TRUSTED-CERT-EMPTY': {
    files: edit(
      'imagetrust/imagetrust.yaml',
      'trustedCertificateIds: [0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8]',
      'trustedCertificateIds: []',
    ),
  },
  'IT-DIRECT-PUBLISH': {
    files: add('imagetrust/imagetrust.yaml', null, 'release:\n  allowDirectPublish: true'),
  },
  'IT-POLICY-LINT': {
    files: { 'imagetrust/policy.yaml': '"default": "rule:context_is_admin"\n"delete_image": !\n' },
  },
  'IT-DATA-PERM': { after: (root) => chmodSync(path.join(root, 'imagetrust/data'), 0o755) },
  'IT-SECRET-PERM': { after: (root) => chmodSync(path.join(root, 'imagetrust/data/kek.json'), 0o644) },
  'OSP-CFG-DEPRECATED': { files: add('nova/nova.conf', 'glance', 'api_insecure = False') },
};

describe('posture scan: planted misconfigurations', () => {
  it('finds nothing on the hardened copy', async () => {
    assert.deepEqual(await scan(), []);
  });

  it('has a planted case for every check of the shipped catalogue', () => {
    const catalogue = loadCatalogue(readShippedCatalogue())
      .map((c) => c.id)
      .sort();
    assert.deepEqual(Object.keys(PLANTS).sort(), catalogue);
  });

  for (const [id, plant] of Object.entries(PLANTS)) {
    it(`reports ${id} for its planted misconfiguration`, async () => {
      const found = ids(await scan(plant));
      assert.ok(found.includes(id), `${id} not in ${found.join(', ')}`);
    });
  }
});

describe('posture scan: operator checks', () => {
  it("runs the README's example check as written", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('**Adding or tuning a check**'));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(example?.includes('SITE-NOVA-DEBUG'), 'the README has the example');
    const root = writeRoot(add('nova/nova.conf', 'DEFAULT', 'debug = True'));
    roots.push(root);
    const checks = path.join(root, 'site.yaml');
    writeFileSync(checks, example ?? '');
    const { findings } = await scanPosture([root], { checks: [checks] });
    assert.deepEqual(ids(findings), ['SITE-NOVA-DEBUG']);
    assert.equal(findings[0].location.line, 2);
  });
});

describe('posture scan: oslo.config traps', () => {
  it('takes the last of duplicate options in a file and points at that line', async () => {
    const findings = await scan({
      files: add('nova/nova.conf', 'glance', 'verify_glance_signatures = False'),
    });
    // The hardened value comes after the planted one under [glance]: it wins, the planted one is shadowed.
    assert.deepEqual(ids(findings), ['OSP-CFG-SHADOWED']);
    const later = await scan({
      files: edit(
        'nova/nova.conf',
        'verify_glance_signatures = True',
        'verify_glance_signatures = True\nverify_glance_signatures = False',
      ),
    });
    assert.deepEqual(ids(later), ['OSP-CFG-SHADOWED', 'OSP-IMG-SIG-NOVA']);
    const sig = later.find((f) => f.check === 'OSP-IMG-SIG-NOVA');
    assert.equal(sig?.location.line, 6);
  });

  it('reads nova.conf.d before nova.conf: a conf.d value loses to nova.conf, applies where nova.conf is silent', async () => {
    const shadowed = await scan({
      files: { 'nova/nova.conf.d/50-site.conf': '[glance]\nverify_glance_signatures = False\n' },
    });
    assert.deepEqual(ids(shadowed), ['OSP-CFG-SHADOWED']);
    const applied = await scan({
      files: { 'nova/nova.conf.d/50-site.conf': '[libvirt]\nrng_dev_path = /dev/random\n' },
    });
    assert.deepEqual(ids(applied), ['OSP-RNG-DEV']);
    assert.match(applied[0].location.file, /nova\.conf\.d\/50-site\.conf$/);
  });

  it("skips hidden files in nova.conf.d, as oslo.config's *.conf glob does", async () => {
    const findings = await scan({
      files: { 'nova/nova.conf.d/.50-site.conf': '[libvirt]\nrng_dev_path = /dev/random\n' },
    });
    assert.deepEqual(ids(findings), []);
  });

  it('lets nova-compute.conf override nova.conf, and the last conf.d file override the earlier', async () => {
    const compute = await scan({
      files: { 'nova/nova-compute.conf': '[glance]\nverify_glance_signatures = False\n' },
    });
    assert.deepEqual(ids(compute), ['OSP-CFG-SHADOWED', 'OSP-IMG-SIG-NOVA']);
    const ordered = await scan({
      files: {
        'nova/nova.conf.d/10-a.conf': '[libvirt]\nrng_dev_path = /dev/urandom\n',
        'nova/nova.conf.d/20-b.conf': '[libvirt]\nrng_dev_path = /dev/random\n',
      },
    });
    assert.deepEqual(ids(ordered), ['OSP-CFG-SHADOWED', 'OSP-RNG-DEV']);
  });

  it('honours a deprecated group ([key_manager] auth_url for [barbican] auth_endpoint) and says so', async () => {
    const findings = await scan({
      files: edit('nova/nova.conf', 'auth_endpoint = https://keystone.example.org:5000/v3\n', ''),
    });
    assert.deepEqual(ids(findings), ['OSP-KEYMGR-TLS']); // the default http://localhost/identity/v3
    const viaAlias = await scan({
      files: add('nova/nova.conf', 'key_manager', 'auth_url = http://keystone.example.org/v3'),
    });
    // The current name is set in the same file, so it wins; the alias is still reported as deprecated.
    assert.deepEqual(ids(viaAlias), ['OSP-CFG-DEPRECATED']);
    const aliasOnly = await scan({
      files: {
        'nova/nova.conf': HARDENED['nova/nova.conf']
          .replace('auth_endpoint = https://keystone.example.org:5000/v3\n', '')
          .replace('backend = barbican\n', 'backend = barbican\nauth_url = http://keystone.example.org/v3\n'),
      },
    });
    assert.deepEqual(ids(aliasOnly), ['OSP-CFG-DEPRECATED', 'OSP-KEYMGR-TLS']);
  });

  it('lets a deprecated name in a later file beat the current name in an earlier one, as oslo.config does', async () => {
    const findings = await scan({ files: { 'nova/nova-compute.conf': '[glance]\napi_insecure = True\n' } });
    assert.deepEqual(ids(findings), ['OSP-CFG-DEPRECATED', 'OSP-NOVA-GLANCE-INSECURE']);
  });

  it('treats an inline comment as part of the value: the boolean is invalid and the check fails', async () => {
    const findings = await scan({
      files: edit(
        'nova/nova.conf',
        'verify_glance_signatures = True',
        'verify_glance_signatures = True  # required',
      ),
    });
    assert.deepEqual(ids(findings), ['OSP-IMG-SIG-NOVA']);
    assert.match(findings[0].message, /invalid/);
  });

  it('reads booleans as oslo does (yes, on, 1, case-insensitive) and strips matching quotes', async () => {
    for (const value of ['yes', 'ON', '1', '"true"', "'True'"]) {
      const findings = await scan({
        files: edit(
          'nova/nova.conf',
          'verify_glance_signatures = True',
          `verify_glance_signatures: ${value}`,
        ),
      });
      assert.deepEqual(ids(findings), [], value);
    }
  });

  it('reads a list with a trailing comma as oslo does: no empty item to fail the https:// test', async () => {
    const findings = await scan({
      files: add('nova/nova.conf', 'glance', 'api_servers = https://glance.example.org:9292,'),
    });
    assert.deepEqual(ids(findings), []);
  });

  it('reads numbers as oslo does: empty is unset, 0x2 is invalid, 1e3 is a float', async () => {
    const empty = await scan({ files: add('nova/nova.conf', 'DEFAULT', 'disk_allocation_ratio =') });
    assert.deepEqual(ids(empty), []);
    const hex = await scan({ files: add('nova/nova.conf', 'DEFAULT', 'disk_allocation_ratio = 0x1') });
    assert.deepEqual(ids(hex), ['OSP-DISK-OVERSUB']);
    assert.match(hex[0].message, /invalid/);
    const exponent = await scan({ files: add('nova/nova.conf', 'DEFAULT', 'disk_allocation_ratio = 1e3') });
    assert.deepEqual(ids(exponent), ['OSP-DISK-OVERSUB']);
    assert.doesNotMatch(exponent[0].message, /invalid/);
  });

  it('compares a string option with choices case-sensitively: Enabled and Keystone are invalid', async () => {
    const findings = await scan({
      files: edit(
        'cinder/cinder.conf',
        'verify_glance_signatures = enabled',
        'verify_glance_signatures = Enabled\nauth_strategy = Keystone',
      ),
    });
    assert.deepEqual(ids(findings), ['OSP-AUTH-STRATEGY-CINDER', 'OSP-CINDER-SIG']);
    assert.ok(findings.every((f) => /invalid/.test(f.message)));
  });

  it('matches section names case-insensitively except DEFAULT', async () => {
    const findings = await scan({ files: edit('nova/nova.conf', '[glance]', '[GLANCE]') });
    assert.deepEqual(ids(findings), []);
    const upperDefault = await scan({
      files: add('nova/nova.conf', null, '[default]\ndisk_allocation_ratio = 3.0'),
    });
    assert.deepEqual(ids(upperDefault), []);
  });

  it('keeps the first of duplicate keys in libvirt files and refuses an unquoted string', async () => {
    const first = await scan({ files: add('libvirt/libvirtd.conf', null, 'tls_allowed_dn_list = []') });
    assert.deepEqual(ids(first), []);
    const unquoted = await scan({ files: add('libvirt/libvirtd.conf', null, 'auth_tcp = none') });
    assert.deepEqual(ids(unquoted), ['OSP-CFG-INVALID']);
  });
});

describe('posture scan: a config file named alone', () => {
  it('reads the policy file, policy.d and nova.conf.d beside it, as a scan of its directory does', async () => {
    const root = writeRoot({
      'nova/policy.yaml': '"os_compute_api:os-migrate-server:migrate_live": "role:member"\n',
      'nova/nova.conf.d/50-site.conf': '[libvirt]\nrng_dev_path = /dev/random\n',
      'nova/policy.d/50-mig.yaml': '"os_compute_api:os-migrate-server:migrate": "role:member"\n',
      'nova/nova.conf.d/.60-off.conf': '[glance]\nverify_glance_signatures = False\n',
    });
    roots.push(root);
    const ofFile = (await scanPosture([path.join(root, 'nova/nova.conf')], {})).findings;
    const ofDir = (await scanPosture([path.join(root, 'nova')], {})).findings;
    const judged = (findings: PostureFinding[]) =>
      findings
        .filter((f) => !['OSP-CFG-OWN', 'OSP-CFG-PERM'].includes(f.check))
        .map((f) => [f.check, f.subject]);
    assert.deepEqual(judged(ofFile), [
      ['OSP-MIG-POLICY', 'os_compute_api:os-migrate-server:migrate'],
      ['OSP-MIG-POLICY', 'os_compute_api:os-migrate-server:migrate_live'],
      ['OSP-RNG-DEV', 'libvirt/rng_dev_path'],
    ]);
    assert.deepEqual(judged(ofFile), judged(ofDir));
  });
});

describe('posture scan: policy files found as oslo.config find_file finds them', () => {
  it('looks for relative policy_dirs and policy_file next to the config files, not next to the policy file', async () => {
    const open = '"os_compute_api:os-migrate-server:migrate_live": "role:member"\n';
    const admin = '"os_compute_api:os-migrate-server:migrate": "rule:context_is_admin"\n';
    const subjects = async (files: Record<string, string>) =>
      (await scan({ files }))
        .filter((f) => f.check === 'OSP-MIG-POLICY')
        .map((f) => f.location.file.slice(f.location.file.lastIndexOf('/nova/') + 1));
    // An absolute policy_file elsewhere: the default policy.d is still the one beside nova.conf.
    assert.deepEqual(
      await subjects({
        ...add('nova/nova.conf', 'oslo_policy', 'policy_file = /etc/nova/custom/policy.yaml'),
        'nova/custom/policy.yaml': admin,
        'nova/policy.d/50-mig.yaml': open,
      }),
      ['nova/policy.d/50-mig.yaml'],
    );
    // A relative policy_file and policy_dirs, both taken from nova.conf's directory; a comma is no separator.
    assert.deepEqual(
      await subjects({
        ...add('nova/nova.conf', 'oslo_policy', 'policy_file = custom/policy.yaml\npolicy_dirs = site.d'),
        'nova/custom/policy.yaml': open,
        'nova/site.d/50-mig.yaml': open.replace('migrate_live', 'migrate'),
        'nova/custom/site.d/50-mig.yaml': admin,
      }),
      ['nova/site.d/50-mig.yaml', 'nova/custom/policy.yaml'],
    );
  });
});

describe('posture scan: live migration transport', () => {
  it('judges the scheme of live_migration_uri when it is set, as nova uses it over live_migration_scheme', async () => {
    const tlsUri = await scan({
      files: edit(
        'nova/nova.conf',
        'live_migration_scheme = tls\n',
        'live_migration_uri = qemu+tls://%s/system\n',
      ),
    });
    assert.deepEqual(ids(tlsUri), ['OSP-MIG-URI']);
    const tcpUri = await scan({
      files: add('nova/nova.conf', 'libvirt', 'live_migration_uri = qemu+tcp://%s/system'),
    });
    assert.deepEqual(ids(tcpUri), ['OSP-MIG-TLS-SCHEME', 'OSP-MIG-URI']);
    const scheme = tcpUri.find((f) => f.check === 'OSP-MIG-TLS-SCHEME');
    assert.equal(scheme?.location.line, tcpUri.find((f) => f.check === 'OSP-MIG-URI')?.location.line);
  });
});

describe('posture scan: flavor extra specs', () => {
  it("reads hw_rng:allowed as nova's libvirt driver does: only 1/t/true/on/y/yes keep the RNG device", async () => {
    const values = ['y', 't', '1', 'TRUE', ' Yes ', 'n', 'f', 'disabled', 'False', ''];
    const findings = await scan({
      flavors: values.map((value, i) => ({
        name: `f${i}`,
        id: String(i),
        properties: { 'hw_rng:allowed': value },
      })),
    });
    assert.deepEqual(ids(findings), ['OSP-RNG-FLAVOR']);
    assert.deepEqual(
      findings.map((f) => f.subject),
      ['flavor:f5', 'flavor:f6', 'flavor:f7', 'flavor:f8', 'flavor:f9'],
    );
  });
});

describe('posture scan: policy traps', () => {
  it('flags legacy compute_extension names as dead configuration, and migration stays allowed for admins', async () => {
    const findings = await scan({
      files: {
        'nova/policy.yaml':
          '"compute_extension:admin_actions:migrate": "!"\n"compute_extension:admin_actions:migrateLive": "!"\n',
      },
    });
    assert.deepEqual(ids(findings), ['OSP-POLICY-LINT']);
    assert.equal(findings.length, 2);
    assert.ok(findings.every((f) => f.severity === 'warning'));
  });

  it('flags an empty value as allow-all and the migrate rule as open to everyone', async () => {
    const findings = await scan({
      files: { 'nova/policy.yaml': '"os_compute_api:os-migrate-server:migrate":\n' },
    });
    assert.deepEqual(ids(findings), ['OSP-MIG-POLICY', 'OSP-POLICY-LINT']);
  });

  it('judges a declared "disabled" posture: nova 26 defaults leave migration to admins', async () => {
    const root = writeRoot();
    roots.push(root);
    const checks = path.join(root, 'site-checks.yaml');
    writeFileSync(checks, 'checks:\n  - id: OSP-MIG-POLICY\n    posture: disabled\n');
    const { findings } = await scanPosture([root], { checks: [checks] });
    assert.deepEqual(ids(findings), ['OSP-MIG-POLICY']);
    assert.equal(findings.length, 2);
    mkdirSync(path.join(root, 'nova/policy.d'));
    writeFileSync(
      path.join(root, 'nova/policy.d/90-no-migration.yaml'),
      '"os_compute_api:os-migrate-server:migrate": "!"\n"os_compute_api:os-migrate-server:migrate_live": "!"\n',
    );
    assert.deepEqual((await scanPosture([root], { checks: [checks] })).findings, []);
  });
});

// A hardened OpenStack /etc copy in a temporary directory: every posture check passes on it, so a test
// plants one misconfiguration and expects exactly the finding it causes. Owners come from the copy's
// own etc/passwd and etc/group (uid 0, the service groups below), as a scan of a real /etc copy reads them.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const GROUP_IDS = { nova: 64060, glance: 64061, barbican: 64062, cinder: 64063 } as const;

export const HARDENED: Record<string, string> = {
  passwd: 'root:x:0:0:root:/root:/bin/bash\n',
  group: `root:x:0:\n${Object.entries(GROUP_IDS)
    .map(([name, id]) => `${name}:x:${id}:`)
    .join('\n')}\n`,
  'nova/nova.conf': `[DEFAULT]
state_path = /var/lib/nova

[glance]
verify_glance_signatures = True
enable_certificate_validation = True
default_trusted_certificate_ids = 0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8
endpoint_override = https://glance.example.org:9292

[key_manager]
backend = barbican

[barbican]
auth_endpoint = https://keystone.example.org:5000/v3
barbican_endpoint = https://barbican.example.org:9311

[keystone_authtoken]
www_authenticate_uri = https://keystone.example.org:5000
auth_url = https://keystone.example.org:5000

[libvirt]
live_migration_with_native_tls = True
live_migration_scheme = tls
live_migration_inbound_addr = 10.20.0.11

[filter_scheduler]
enabled_filters = ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter
`,
  'nova/policy.yaml': '"os_compute_api:os-migrate-server:migrate": "rule:context_is_admin"\n',
  'glance/glance-api.conf': `[DEFAULT]
show_image_direct_url = False
enforce_secure_rbac = True

[key_manager]
backend = barbican

[barbican]
auth_endpoint = https://keystone.example.org:5000/v3

[keystone_authtoken]
www_authenticate_uri = https://keystone.example.org:5000
auth_url = https://keystone.example.org:5000

[oslo_policy]
enforce_new_defaults = True
`,
  'glance/policy.yaml': '"default": "role:admin"\n',
  'cinder/cinder.conf': `[DEFAULT]
verify_glance_signatures = enabled

[key_manager]
backend = barbican

[barbican]
auth_endpoint = https://keystone.example.org:5000/v3

[keystone_authtoken]
www_authenticate_uri = https://keystone.example.org:5000
auth_url = https://keystone.example.org:5000
`,
  'barbican/barbican.conf': `[keystone_authtoken]
www_authenticate_uri = https://keystone.example.org:5000
auth_url = https://keystone.example.org:5000
`,
  'barbican/barbican-api-paste.ini': `[pipeline:barbican-api-keystone]
pipeline = cors http_proxy_to_wsgi authtoken context microversion apiapp
`,
  'libvirt/libvirtd.conf': `listen_tls = 1
tls_allowed_dn_list = ["C=GB,O=Example,CN=compute1.example.org"]
`,
  'imagetrust/imagetrust.yaml': `listen:
  host: 0.0.0.0
  port: 9292
dataDir: data
tls:
  cert: tls/cert.pem
  key: tls/key.pem
trust:
  requireTrustedCertificate: true
  trustedCertificateIds: [0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8]
  signaturesRequiredProjects: [production]
policy:
  file: policy.yaml
`,
  'imagetrust/policy.yaml': '"default": "!"\n',
  'imagetrust/data/kek.json': '{}\n',
  'imagetrust/tls/key.pem': 'not a real key: only its mode is checked\n',
  'libvirt/qemu.conf': `migration_address = "10.20.0.11"  # the migration network
migrate_tls_force = 1
default_tls_x509_verify = 1
`,
};

export const HARDENED_FLAVORS = [
  {
    ID: '1',
    Name: 'm1.small',
    RAM: 2048,
    Disk: 20,
    VCPUs: 1,
    'Is Public': true,
    Properties: { 'hw_rng:rate_bytes': '24' },
  },
];

export const HARDENED_IMAGES = [
  {
    id: 'a6f4c0d2-6f63-4e4b-b7a4-6f6c0a6c5b11',
    name: 'debian-12',
    visibility: 'public',
    os_hidden: false,
    properties: {
      hw_rng_model: 'virtio',
      img_signature: 'c2lnbmF0dXJl',
      img_signature_hash_method: 'SHA-256',
      img_signature_key_type: 'RSA-PSS',
      img_signature_certificate_uuid: '0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8',
    },
  },
];

/** Sets root:<service> 0640 on files and 0750 on the service directories, as the guide asks. */
export function secure(root: string): void {
  for (const [service, gid] of Object.entries(GROUP_IDS)) {
    const dir = path.join(root, service);
    try {
      statSync(dir);
    } catch {
      continue;
    }
    const walk = (at: string) => {
      for (const name of readdirSync(at)) {
        const p = path.join(at, name);
        chownSync(p, 0, gid);
        if (statSync(p).isDirectory()) {
          chmodSync(p, 0o750);
          walk(p);
        } else chmodSync(p, 0o640);
      }
    };
    chownSync(dir, 0, gid);
    chmodSync(dir, 0o750);
    walk(dir);
  }
}

/** imagetrust's state: the data directory 0700, its key files 0600. */
function secureImageTrust(root: string): void {
  const at = (p: string) => path.join(root, 'imagetrust', p);
  for (const [p, mode] of [
    ['data', 0o700],
    ['data/kek.json', 0o600],
    ['tls/key.pem', 0o600],
  ] as const) {
    try {
      chmodSync(at(p), mode);
    } catch {
      // Not in this root.
    }
  }
}

/** Writes the hardened files (with `changes` over them: a string replaces, null drops) into a new root. */
export function writeRoot(
  changes: Record<string, string | null> = {},
  base: Record<string, string> = HARDENED,
): string {
  const root = mkdtempSync(path.join(tmpdir(), 'posture-'));
  const files = { ...base, ...changes };
  for (const [name, text] of Object.entries(files)) {
    if (text === null) continue;
    const file = path.join(root, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  secure(root);
  secureImageTrust(root);
  return root;
}

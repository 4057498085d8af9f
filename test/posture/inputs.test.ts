// The scan's inputs on their own: flavor exports in the shapes the openstack client and the compute API
// give, the check catalogue's validation and merging, and libvirt's configuration syntax.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import {
  loadCatalogue,
  parseFlavorExport,
  parseLibvirtConf,
  readShippedCatalogue,
} from '../../src/posture/index.ts';

describe('parseFlavorExport', () => {
  it('reads flavor list --long (Properties as a mapping or as text), flavor show and the compute API', () => {
    const list = parseFlavorExport(
      [
        { ID: '1', Name: 'm1.tiny', RAM: 512, 'Is Public': true, Properties: { 'hw_rng:allowed': 'False' } },
        { ID: '2', Name: 'm1.old', Properties: "hw_rng:allowed='False', quota:disk_read_bytes_sec='10240'" },
      ],
      'flavors.json',
    );
    assert.deepEqual(
      list.map((f) => [f.name, f.properties['hw_rng:allowed']]),
      [
        ['m1.tiny', 'False'],
        ['m1.old', 'False'],
      ],
    );
    const show = parseFlavorExport(
      { id: '3', name: 'm1.show', properties: { 'hw_rng:rate_bytes': '24' } },
      'show.json',
    );
    assert.deepEqual(show[0].properties, { 'hw_rng:rate_bytes': '24' });
    const api = parseFlavorExport(
      { flavors: [{ id: '4', name: 'api', extra_specs: { 'hw_rng:allowed': 'True' } }] },
      'api',
    );
    assert.equal(api[0].properties['hw_rng:allowed'], 'True');
  });
});

describe('loadCatalogue', () => {
  const shipped = readShippedCatalogue();
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error instanceof ImageTrustError ? error.code : 'other';
    }
    return 'none';
  };

  it('gives every shipped check an id, a severity and a guide reference, ids unique', () => {
    const checks = loadCatalogue(shipped);
    assert.ok(checks.length >= 50);
    assert.equal(new Set(checks.map((c) => c.id)).size, checks.length);
    for (const check of checks) assert.ok(check.reference.length > 0, check.id);
  });

  it('merges an override over a shipped check by id, and drops one set enabled: false', () => {
    const checks = loadCatalogue(shipped, [
      {
        text: 'checks:\n  - id: OSP-GLANCE-RBAC\n    severity: error\n  - id: OSP-RNG-IMAGE\n    enabled: false\n',
        source: 'site.yaml',
      },
    ]);
    assert.equal(checks.find((c) => c.id === 'OSP-GLANCE-RBAC')?.severity, 'error');
    assert.equal(checks.find((c) => c.id === 'OSP-GLANCE-RBAC')?.option, 'oslo_policy/enforce_new_defaults');
    assert.equal(
      checks.some((c) => c.id === 'OSP-RNG-IMAGE'),
      false,
    );
  });

  it('refuses unknown keys, bad severities, missing fields and duplicate ids as CONFIG_INVALID', () => {
    const bad = (text: string) => codeOf(() => loadCatalogue(shipped, [{ text, source: 'site.yaml' }]));
    const base = 'reference: r\n    message: m\n    remediation: x\n';
    assert.equal(
      bad(
        `checks:\n  - id: SITE-1\n    kind: option\n    service: nova\n    option: a/b\n    expect: { equals: 1 }\n    severity: fatal\n    ${base}`,
      ),
      'CONFIG_INVALID',
    );
    assert.equal(
      bad(
        `checks:\n  - id: SITE-1\n    kind: option\n    service: nova\n    option: a/b\n    expect: { equal: 1 }\n    severity: error\n    ${base}`,
      ),
      'CONFIG_INVALID',
    );
    assert.equal(
      bad(`checks:\n  - id: SITE-1\n    kind: option\n    service: nova\n    severity: error\n    ${base}`),
      'CONFIG_INVALID',
    );
    assert.equal(bad('checks: {}'), 'CONFIG_INVALID');
    assert.equal(bad('checks: [\n'), 'CONFIG_INVALID');
    assert.equal(
      codeOf(() =>
        loadCatalogue({
          text: `${shipped.text}\n  - id: OSP-RNG-DEV\n    kind: image\n    expect: { set: true }\n    severity: info\n    ${base}`,
          source: 'checks.yaml',
        }),
      ),
      'CONFIG_INVALID',
    );
  });
});

describe('parseLibvirtConf', () => {
  it('reads numbers, quoted strings, lists over lines and trailing comments; keeps the first duplicate', () => {
    const conf = parseLibvirtConf(
      'listen_tls = 0 # off\nauth_tcp = "sasl"\ntls_allowed_dn_list = [\n  "CN=a",\n  \'CN=b\'\n] # two\nlisten_tls = 1\n',
      'libvirtd.conf',
    );
    assert.equal(conf.error, undefined);
    assert.deepEqual(conf.entries.get('listen_tls'), { key: 'listen_tls', value: 0, line: 1 });
    assert.equal(conf.entries.get('auth_tcp')?.value, 'sasl');
    assert.deepEqual(conf.entries.get('tls_allowed_dn_list')?.value, ['CN=a', 'CN=b']);
  });

  it('refuses an unquoted string and an unterminated list, with the line', () => {
    assert.deepEqual(parseLibvirtConf('listen_tls = 1\nauth_tcp = none\n', 'x').error?.line, 2);
    assert.ok(parseLibvirtConf('a = [ "x"\n', 'x').error);
  });
});

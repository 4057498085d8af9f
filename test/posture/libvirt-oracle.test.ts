// libvirt's configuration syntax against libvirt 9.0's own parser (virConfParse), run through virsh
// (libvirt-clients): virsh reads the client's libvirt.conf with the same parser libvirtd uses for
// libvirtd.conf and qemu.conf. As root virsh reads only /etc/libvirt/libvirt.conf, so the oracle runs as
// nobody with XDG_CONFIG_HOME pointing at a copy; `virsh uri` prints uri_default as read, or the syntax
// error with its line.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { scanPosture } from '../../src/cli/posture.ts';
import { parseLibvirtConf } from '../../src/posture/index.ts';
import { requireTool, run } from '../support/tools.ts';
import { writeRoot } from './hardened.ts';

const work = mkdtempSync(path.join(tmpdir(), 'posture-libvirt-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function virsh(text: string, i: number): Promise<{ uri: string } | { line: number }> {
  const home = path.join(work, `case-${i}`);
  mkdirSync(path.join(home, 'libvirt'), { recursive: true });
  writeFileSync(path.join(home, 'libvirt', 'libvirt.conf'), text);
  chmodSync(work, 0o755);
  for (const d of [home, path.join(home, 'libvirt')]) chmodSync(d, 0o755);
  chmodSync(path.join(home, 'libvirt', 'libvirt.conf'), 0o644);
  const env = { HOME: home, XDG_CONFIG_HOME: home, XDG_CACHE_HOME: home, XDG_RUNTIME_DIR: home };
  const asUser = process.getuid?.() === 0;
  const result = asUser
    ? await run('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'env',
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        'virsh',
        'uri',
      ])
    : await run('virsh', ['uri'], env);
  if (result.code === 0) return { uri: result.stdout.trim() };
  const error = /configuration file syntax error: [^:]+:(\d+):/.exec(result.stderr);
  assert.ok(error, `virsh: ${result.stderr}`);
  return { line: Number(error[1]) };
}

const URI = 'test:///default';
const CASES: { name: string; text: string; expect: { uri: string } | { line: number } }[] = [
  {
    name: 'a comment inside a [ list ] is a syntax error',
    text: `uri_aliases = [\n  "a=${URI}",  # first\n  "b=${URI}"\n]\nuri_default = "${URI}"\n`,
    expect: { line: 2 },
  },
  {
    name: 'two statements on one line, separated by ;',
    text: `uri_default = "${URI}"; uri_aliases = [ "a=${URI}" ]\n`,
    expect: { uri: URI },
  },
  {
    name: 'a quoted string cannot span lines',
    text: 'uri_default = "test:///\ndefault"\n',
    expect: { line: 1 },
  },
  {
    name: 'a single-quoted string cannot span lines',
    text: "uri_aliases = [ 'a=x\n' ]\nuri_default = 'test:///default'\n",
    expect: { line: 1 },
  },
  { name: 'a """triple-quoted""" string', text: `uri_default = """${URI}"""\n`, expect: { uri: URI } },
  {
    name: 'a triple-quoted string may span lines',
    text: `uri_aliases = [ """a=\n${URI}""" ]\nuri_default = "${URI}"\n`,
    expect: { uri: URI },
  },
  { name: 'a name cannot start with _', text: `_x = 1\nuri_default = "${URI}"\n`, expect: { line: 1 } },
  { name: 'a name cannot hold a dot', text: `x.y = 1\nuri_default = "${URI}"\n`, expect: { line: 1 } },
  {
    name: 'a comment after a list and after ;',
    text: `uri_aliases = [\n  "a=${URI}",\n  "b=${URI}",\n] # aliases\nuri_default = "${URI}"; # default\n`,
    expect: { uri: URI },
  },
  {
    name: 'the first duplicate wins',
    text: `uri_default = "${URI}"\nuri_default = "x"\n`,
    expect: { uri: URI },
  },
  { name: 'an unquoted word is an error', text: `uri_default = "${URI}"\nx = none\n`, expect: { line: 2 } },
];

describe('libvirt configuration syntax against virsh (libvirt 9.0 virConfParse)', () => {
  requireTool('virsh', 'libvirt-clients');
  CASES.forEach((c, i) => {
    it(c.name, async () => {
      assert.deepEqual(await virsh(c.text, i), c.expect, 'virsh');
      const conf = parseLibvirtConf(c.text, 'libvirt.conf');
      const ours = conf.error
        ? { line: conf.error.line }
        : { uri: String(conf.entries.get('uri_default')?.value ?? '') };
      assert.deepEqual(ours, c.expect);
    });
  });

  it('reports a libvirtd.conf with a comment inside tls_allowed_dn_list as an invalid file', async () => {
    const root = writeRoot({
      'libvirt/libvirtd.conf':
        'tls_allowed_dn_list = [\n  "C=GB,O=Example,CN=compute1",  # rack 1\n  "C=GB,O=Example,CN=compute2"\n]\n',
    });
    try {
      const { findings } = await scanPosture([root], {});
      const invalid = findings.filter(
        (f) => f.location.file.endsWith('libvirtd.conf') && /libvirt refuses the whole file/.test(f.message),
      );
      assert.equal(invalid.length, 1, JSON.stringify(findings.map((f) => [f.check, f.message])));
      assert.equal(invalid[0].location.line, 2);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

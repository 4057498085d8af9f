// The INI reader against Debian's python3-oslo.config 9.0: the same files, read by oslo.config (with
// nova's option definitions for the names involved) and by ours, must give the same effective values,
// the same "invalid" for values oslo refuses, and the same "parse-error" for files it refuses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  OsloConfig,
  parseOsloBool,
  parseOsloIni,
  parseOsloList,
  parseOsloNumber,
} from '../../src/posture/index.ts';

const ORACLE = `
import json, logging, sys, warnings
logging.disable(logging.CRITICAL)
warnings.simplefilter('ignore')
from oslo_config import cfg
case = json.load(sys.stdin)
conf = cfg.ConfigOpts()
for o in case['opts']:
    deprecated = [cfg.DeprecatedOpt(d['name'], group=d['group']) for d in o.get('deprecated', [])]
    kind = {'bool': cfg.BoolOpt, 'str': cfg.StrOpt, 'list': cfg.ListOpt, 'int': cfg.IntOpt, 'float': cfg.FloatOpt}[o['type']]
    extra = {'choices': o['choices']} if 'choices' in o else {}
    conf.register_opt(kind(o['name'], deprecated_opts=deprecated, **extra), group=None if o['group'] == 'DEFAULT' else o['group'])
args = []
for f in case['files']:
    args += ['--config-file', f]
out = {}
try:
    conf(args, project='nova', default_config_files=[], default_config_dirs=case['dirs'])
except cfg.ConfigFileParseError:
    print(json.dumps('parse-error'))
    sys.exit(0)
for o in case['opts']:
    try:
        value = getattr(getattr(conf, o['group']) if o['group'] != 'DEFAULT' else conf, o['name'])
        out[o['group'] + '/' + o['name']] = value
    except (cfg.ConfigFileValueError, ValueError):
        out[o['group'] + '/' + o['name']] = 'invalid'
print(json.dumps(out))
`;

function requireOsloConfig(): string {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import oslo_config'], { stdio: 'ignore' });
      return python;
    } catch {
      // Try the next one.
    }
  }
  throw new Error(
    'python3 cannot import oslo_config: apt-get install python3-oslo.config (scripts/test.sh installs it).',
  );
}

interface Opt {
  group: string;
  name: string;
  type: 'bool' | 'str' | 'list' | 'int' | 'float';
  choices?: string[];
  deprecated?: { group: string; name: string }[];
}

const OPTS: Opt[] = [
  { group: 'glance', name: 'verify_glance_signatures', type: 'bool' },
  {
    group: 'glance',
    name: 'insecure',
    type: 'bool',
    deprecated: [{ group: 'glance', name: 'api_insecure' }],
  },
  {
    group: 'barbican',
    name: 'auth_endpoint',
    type: 'str',
    deprecated: [{ group: 'key_manager', name: 'auth_url' }],
  },
  { group: 'libvirt', name: 'rng_dev_path', type: 'str' },
  { group: 'DEFAULT', name: 'disk_allocation_ratio', type: 'float' },
  { group: 'DEFAULT', name: 'reserved_host_memory_mb', type: 'int' },
  { group: 'glance', name: 'api_servers', type: 'list' },
  { group: 'api', name: 'auth_strategy', type: 'str', choices: ['keystone', 'noauth2'] },
];

const work = mkdtempSync(path.join(tmpdir(), 'posture-oslo-'));
after(() => rmSync(work, { recursive: true, force: true }));
const python = requireOsloConfig();
let counter = 0;

/** Writes the case's files; conf.d files are read first, then nova.conf, then nova-compute.conf. */
function oracle(files: Record<string, string>): { oslo: unknown; ours: unknown } {
  const dir = path.join(work, String(counter++));
  mkdirSync(path.join(dir, 'nova.conf.d'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const confd = Object.keys(files)
    .filter((n) => n.startsWith('nova.conf.d/'))
    .sort()
    .map((n) => path.join(dir, n));
  const main = ['nova.conf', 'nova-compute.conf'].filter((n) => n in files).map((n) => path.join(dir, n));
  const oslo = JSON.parse(
    execFileSync(python, ['-c', ORACLE], {
      input: JSON.stringify({ opts: OPTS, files: main, dirs: [path.join(dir, 'nova.conf.d')] }),
      encoding: 'utf8',
    }),
  );
  const parsed = [...confd, ...main].map((file) => parseOsloIni(files[path.relative(dir, file)], file));
  if (parsed.some((p) => p.error)) return { oslo, ours: 'parse-error' };
  const config = new OsloConfig(parsed);
  const ours: Record<string, unknown> = {};
  for (const opt of OPTS) {
    const found = config.get(
      opt.group,
      opt.name,
      opt.deprecated?.map((d) => ({ section: d.group, key: d.name })),
    );
    const key = `${opt.group}/${opt.name}`;
    if (!found)
      ours[key] = null; // no default registered: oslo gives None
    else if (opt.type === 'bool') ours[key] = parseOsloBool(found.value) ?? 'invalid';
    else if (opt.type === 'list') ours[key] = parseOsloList(found.value);
    else if (opt.choices && !opt.choices.includes(found.value)) ours[key] = 'invalid';
    else if (opt.type === 'int' || opt.type === 'float') {
      // null: empty text, which oslo reads as None.
      const n = parseOsloNumber(found.value, opt.type);
      ours[key] = n === undefined ? 'invalid' : n;
    } else ours[key] = found.value;
  }
  return { oslo, ours };
}

const CASES: Record<string, Record<string, string>> = {
  'a duplicate key in one file: the last wins': {
    'nova.conf': '[glance]\nverify_glance_signatures = True\nverify_glance_signatures = False\n',
  },
  'a section repeated in one file': {
    'nova.conf': '[libvirt]\nrng_dev_path = /dev/urandom\n[glance]\n[libvirt]\nrng_dev_path = /dev/random\n',
  },
  'nova.conf.d is read before nova.conf': {
    'nova.conf': '[glance]\nverify_glance_signatures = False\n',
    'nova.conf.d/10-a.conf':
      '[glance]\nverify_glance_signatures = True\n[libvirt]\nrng_dev_path = /dev/hwrng\n',
  },
  'conf.d files in name order': {
    'nova.conf': '[DEFAULT]\n',
    'nova.conf.d/20-b.conf': '[libvirt]\nrng_dev_path = /dev/b\n',
    'nova.conf.d/10-a.conf': '[libvirt]\nrng_dev_path = /dev/a\n',
  },
  'nova-compute.conf over nova.conf': {
    'nova.conf': '[glance]\nverify_glance_signatures = True\n',
    'nova-compute.conf': '[glance]\nverify_glance_signatures = False\n',
  },
  'a deprecated name in a later file beats the current name in an earlier one': {
    'nova.conf': '[glance]\ninsecure = False\n',
    'nova-compute.conf': '[glance]\napi_insecure = True\n',
  },
  'the current name beats a deprecated one in the same file': {
    'nova.conf': '[glance]\napi_insecure = True\ninsecure = False\n',
  },
  'a deprecated group': {
    'nova.conf': '[key_manager]\nauth_url = http://keystone.example.org/v3\n',
  },
  'booleans oslo accepts': {
    'nova.conf': '[glance]\nverify_glance_signatures = YES\ninsecure = off\n',
  },
  'an inline comment makes a boolean invalid': {
    'nova.conf': '[glance]\nverify_glance_signatures = True  # must stay on\n',
  },
  'an inline comment stays in a string': {
    'nova.conf': '[libvirt]\nrng_dev_path = /dev/hwrng ; the hardware one\n',
  },
  'matching quotes are stripped, a colon separates, continuation lines join': {
    'nova.conf': '[libvirt]\nrng_dev_path: "/dev/urandom"\n[barbican]\nauth_endpoint = https://a\n  /v3\n',
  },
  'the first separator wins': {
    'nova.conf': '[barbican]\nauth_endpoint = https://keystone.example.org:5000/v3\n',
  },
  'section names are case-insensitive, DEFAULT is not': {
    'nova.conf': '[GLANCE]\nverify_glance_signatures = true\n[default]\ndisk_allocation_ratio = 3.0\n',
  },
  'DEFAULT options': {
    'nova.conf': '[DEFAULT]\ndisk_allocation_ratio = 1.5\n',
  },
  'comments start a line only with # or ;': {
    'nova.conf': '[libvirt]\n# rng_dev_path = /dev/a\n;rng_dev_path = /dev/b\n',
  },
  'a line without a separator fails the file': {
    'nova.conf': '[glance]\nverify_glance_signatures\n',
  },
  'a list: items stripped, trailing commas dropped before the split': {
    'nova.conf': '[glance]\napi_servers = https://glance.example.org:9292,\n',
  },
  'a list of commas only is empty': {
    'nova.conf': '[glance]\napi_servers = ,,\n',
  },
  'a list keeps an empty item between commas, drops the trailing ones': {
    'nova.conf': '[glance]\napi_servers =  https://a , ,https://b , ,\n',
  },
  'an empty number is unset, not invalid': {
    'nova.conf': '[DEFAULT]\ndisk_allocation_ratio =\nreserved_host_memory_mb =  \n',
  },
  'numbers as Python reads them: underscores, a sign, an exponent for a float': {
    'nova.conf': '[DEFAULT]\ndisk_allocation_ratio = 1_0.5e-1\nreserved_host_memory_mb = +5_12\n',
  },
  'a hex number is invalid for both': {
    'nova.conf': '[DEFAULT]\ndisk_allocation_ratio = 0x2\nreserved_host_memory_mb = 0x200\n',
  },
  'an exponent or a fraction is not an integer': {
    'nova.conf': '[DEFAULT]\ndisk_allocation_ratio = 1e3\nreserved_host_memory_mb = 1e3\n',
  },
  'a fractional integer is invalid': {
    'nova.conf': '[DEFAULT]\ndisk_allocation_ratio = .5\nreserved_host_memory_mb = 512.0\n',
  },
  'a string with choices is compared case-sensitively': {
    'nova.conf': '[api]\nauth_strategy = Keystone\n',
  },
  'a string with choices takes an exact choice': {
    'nova.conf': '[api]\nauth_strategy = noauth2\n',
  },
  'an unterminated section fails the file': {
    'nova.conf': '[glance\nverify_glance_signatures = True\n',
  },
};

describe('oslo.config semantics, against python3-oslo.config', () => {
  for (const [name, files] of Object.entries(CASES)) {
    it(name, () => {
      const { oslo, ours } = oracle(files);
      assert.deepEqual(ours, oslo);
    });
  }
});

// paste.deploy files against Debian's python3-paste.deploy (3.x on Python 3.11): its NicerConfigParser is
// configparser.ConfigParser in strict mode with keys kept as written, not oslo.config's INI reader. The
// same text, read by paste.deploy and by ours, must give the same pipeline or the same refusal.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { scanPosture } from '../../src/cli/posture.ts';
import { PasteConfig, parsePasteIni } from '../../src/posture/index.ts';
import { writeRoot } from './hardened.ts';

const PYTHON = '/usr/bin/python3';
const ORACLE = `
import json, sys
from paste.deploy import loadwsgi
try:
    loader = loadwsgi.ConfigLoader(sys.argv[1])
except Exception as e:
    print(json.dumps({'error': type(e).__name__}))
    sys.exit(0)
try:
    section = loader.find_config_section(loadwsgi.APP, name='barbican-api-keystone')
except LookupError:
    section = None
pipeline = loader.parser.get(section, 'pipeline', raw=True) if section and 'pipeline' in loader.parser.options(section) else None
print(json.dumps({'strict': loader.parser._strict, 'pipeline': pipeline}))
`;

const work = mkdtempSync(path.join(tmpdir(), 'posture-paste-'));
after(() => rmSync(work, { recursive: true, force: true }));

function oracle(file: string): { error?: string; strict?: boolean; pipeline?: string | null } {
  return JSON.parse(execFileSync(PYTHON, ['-c', ORACLE, file], { encoding: 'utf8' }));
}

const HEAD = '[pipeline:barbican-api-keystone]\n';
const CASES: { name: string; text: string; expect: string | null | 'error' }[] = [
  {
    name: 'an indented comment inside a multi-line pipeline is dropped',
    text: `${HEAD}pipeline = cors http_proxy_to_wsgi\n    # authtoken\n    context apiapp\n`,
    expect: 'cors http_proxy_to_wsgi\ncontext apiapp',
  },
  {
    name: 'an unindented comment does not end the value',
    text: `${HEAD}pipeline = cors\n; note\n    authtoken context apiapp\n`,
    expect: 'cors\nauthtoken context apiapp',
  },
  {
    name: 'a blank line stays in the value',
    text: `${HEAD}pipeline = cors\n\n    authtoken apiapp\n`,
    expect: 'cors\n\nauthtoken apiapp',
  },
  {
    name: 'keys keep their case (optionxform = str)',
    text: `${HEAD}Pipeline = authtoken apiapp\n`,
    expect: null,
  },
  {
    name: 'section names are case-sensitive',
    text: '[Pipeline:barbican-api-keystone]\npipeline = authtoken apiapp\n',
    expect: null,
  },
  {
    name: 'the name after the prefix is stripped',
    text: '[pipeline: barbican-api-keystone ]\npipeline = authtoken apiapp\n',
    expect: 'authtoken apiapp',
  },
  {
    name: 'a colon separates too',
    text: `${HEAD}pipeline: authtoken ; apiapp\n`,
    expect: 'authtoken ; apiapp',
  },
  {
    name: 'a duplicate key is an error (strict)',
    text: `${HEAD}pipeline = authtoken apiapp\npipeline = apiapp\n`,
    expect: 'error',
  },
  {
    name: 'a duplicate section is an error (strict)',
    text: `${HEAD}pipeline = apiapp\n${HEAD}x = 1\n`,
    expect: 'error',
  },
  {
    name: 'a line without = or : is an error',
    text: `${HEAD}pipeline = authtoken apiapp\nbogus\n`,
    expect: 'error',
  },
  { name: 'a key before any section is an error', text: `pipeline = authtoken\n${HEAD}`, expect: 'error' },
];

describe('paste.deploy files against python3-paste.deploy', () => {
  CASES.forEach((c, i) => {
    it(c.name, () => {
      const file = path.join(work, `case-${i}.ini`);
      writeFileSync(file, c.text);
      const want = oracle(file);
      if (c.expect === 'error') assert.ok(want.error, `paste.deploy loads it: ${JSON.stringify(want)}`);
      else assert.deepEqual(want, { strict: true, pipeline: c.expect }, 'paste.deploy');
      const parsed = parsePasteIni(c.text, file);
      if (c.expect === 'error') {
        assert.ok(parsed.error, 'ours refuses it too');
        return;
      }
      assert.equal(parsed.error, undefined);
      const got = new PasteConfig(parsed).get('pipeline:barbican-api-keystone', 'pipeline');
      assert.equal(got?.value ?? null, c.expect);
    });
  });

  it('fails OSP-BARBICAN-PIPE when authtoken is only in an indented comment', async () => {
    const root = writeRoot({
      'barbican/barbican-api-paste.ini': `${HEAD}pipeline = cors http_proxy_to_wsgi\n    # authtoken\n    context apiapp\n`,
    });
    try {
      const { findings } = await scanPosture([root], {});
      const pipe = findings.filter((f) => f.check === 'OSP-BARBICAN-PIPE');
      assert.equal(pipe.length, 1);
      assert.equal(pipe[0].location.line, 2);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reports a file paste.deploy refuses as invalid, not as a missing filter', async () => {
    const root = writeRoot({
      'barbican/barbican-api-paste.ini': `${HEAD}pipeline = authtoken apiapp\npipeline = apiapp\n`,
    });
    try {
      const { findings } = await scanPosture([root], {});
      assert.deepEqual(
        findings.filter((f) => f.check === 'OSP-BARBICAN-PIPE'),
        [],
      );
      const invalid = findings.filter(
        (f) => f.location.file.endsWith('barbican-api-paste.ini') && f.location.line === 3,
      );
      assert.equal(invalid.length, 1, JSON.stringify(findings.map((f) => f.check)));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

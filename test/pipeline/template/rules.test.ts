// Oz's parsing rules (booleans, disk sizes, positions, paths) and the rule catalogue itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  lintTemplate,
  parseDiskSize,
  parseOzBoolean,
  rootPasswordProblem,
  TEMPLATE_RULES,
  toTemplateLintSarif,
} from '../../../src/pipeline/template/index.ts';

const MINIMAL = (extra = '', rootpw = '<rootpw>v9R-qT4m-Lw2z-Xe7p</rootpw>') => `<template>
  <name>t</name>
  <os><name>Debian</name><version>12</version><arch>x86_64</arch>
    <install type='url'><url>https://deb.example.org/debian/</url></install>
    ${rootpw}
  </os>
  ${extra}
</template>`;

describe('parseOzBoolean', () => {
  it('accepts true/false/yes/no in any case and nothing else', () => {
    assert.equal(parseOzBoolean(' YeS '), true);
    assert.equal(parseOzBoolean('False'), false);
    assert.equal(parseOzBoolean('1'), undefined);
  });
});

describe('parseDiskSize', () => {
  it('reads no unit as GiB, legacy G/T as GiB/TiB, and SI and IEC units', () => {
    assert.deepEqual(parseDiskSize('20'), { bytes: 20 * 2 ** 30, unit: false });
    assert.equal(parseDiskSize('1 T')?.bytes, 2 ** 40);
    assert.equal(parseDiskSize('10GB')?.bytes, 10e9);
    assert.equal(parseDiskSize('10 GiB')?.bytes, 10 * 2 ** 30);
  });
  it('refuses unknown units and non-numbers', () => {
    assert.equal(parseDiskSize('10 furlongs'), undefined);
    assert.equal(parseDiskSize('-5G'), undefined);
  });
});

describe('rootPasswordProblem', () => {
  it('flags defaults, placeholders and short passwords but not a generated one', () => {
    assert.ok(rootPasswordProblem('OZROOTPW', 8));
    assert.ok(rootPasswordProblem('{{ root_password }}', 8));
    assert.ok(rootPasswordProblem('abc12', 8));
    assert.equal(rootPasswordProblem('v9R-qT4m-Lw2z-Xe7p', 8), undefined);
  });
});

describe('lintTemplate', () => {
  it('requires rootpw only when the caller asks, as imagefactory does', () => {
    const text = MINIMAL('', '');
    assert.ok(!lintTemplate(text).findings.some((f) => f.rule === 'TDL-ROOTPW-REQUIRED'));
    assert.ok(
      lintTemplate(text, { requireRootPassword: true }).findings.some(
        (f) => f.rule === 'TDL-ROOTPW-REQUIRED',
      ),
    );
  });

  it('names the second repository by index and points at its url line', () => {
    const repos = `<repositories>
    <repository name='a'><url>https://a.example.org/</url><signed>yes</signed><sslverify>yes</sslverify><persisted>no</persisted></repository>
    <repository name='b'>
      <url>https://127.0.0.1/repo</url><signed>yes</signed><sslverify>yes</sslverify><persisted>no</persisted>
    </repository>
  </repositories>`;
    const local = lintTemplate(MINIMAL(repos)).findings.find((f) => f.rule === 'TDL-REPO-LOCAL');
    assert.deepEqual(local && [local.path, local.line, local.column], [
      '/template/repositories/repository[2]/url',
      10,
      7,
    ]);
  });

  it('treats an https repository without sslverify as an error and an http one as a warning', () => {
    const repo = (url: string) =>
      `<repositories><repository name='r'><url>${url}</url><signed>yes</signed></repository></repositories>`;
    const severity = (url: string) =>
      lintTemplate(MINIMAL(repo(url))).findings.find((f) => f.rule === 'TDL-REPO-NOSSLVERIFY')?.severity;
    assert.equal(severity('https://r.example.org/'), 'error');
    assert.equal(severity('http://r.example.org/'), 'warning');
  });

  it('accepts positions 1..N in any document order and refuses duplicates', () => {
    const commands = (a: string, b: string) =>
      `<commands><command name='x' position='${a}'>true</command><command name='y' position='${b}'>true</command></commands>`;
    assert.ok(!lintTemplate(MINIMAL(commands('2', '1'))).findings.some((f) => f.rule === 'TDL-CMD-POSITION'));
    assert.ok(lintTemplate(MINIMAL(commands('1', '1'))).findings.some((f) => f.rule === 'TDL-CMD-POSITION'));
  });

  it('reports only rules in the catalogue, whose ids are unique', () => {
    const ids = new Set(TEMPLATE_RULES.map((rule) => rule.id));
    assert.equal(ids.size, TEMPLATE_RULES.length);
    const { findings } = lintTemplate(
      MINIMAL('<disk><size>7</size></disk><colour/>', '<rootpw>changeme</rootpw>'),
    );
    for (const finding of findings) assert.ok(ids.has(finding.rule), finding.rule);
  });
});

describe('toTemplateLintSarif', () => {
  it('writes SARIF 2.1.0 with rules, levels and regions', () => {
    const { findings } = lintTemplate(MINIMAL('', '<rootpw>changeme</rootpw>'));
    const sarif = toTemplateLintSarif([{ file: 't.tdl', findings }], '0.1.0');
    assert.equal(sarif.version, '2.1.0');
    const run = sarif.runs[0];
    assert.ok(run.tool.driver.rules.length === TEMPLATE_RULES.length);
    const placeholder = run.results.find((r) => r.ruleId === 'TDL-ROOTPW-PLACEHOLDER');
    assert.equal(placeholder?.level, 'error');
    assert.equal(run.tool.driver.rules[placeholder?.ruleIndex ?? -1].id, 'TDL-ROOTPW-PLACEHOLDER');
    assert.deepEqual(placeholder?.locations[0].physicalLocation.region, { startLine: 5, startColumn: 5 });
    assert.ok(run.results.every((r) => ['error', 'warning', 'note'].includes(r.level)));
  });
});

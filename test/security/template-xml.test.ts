// Attack: XML entity tricks in an Oz template (XXE file disclosure, billion laughs). The linter
// refuses any DOCTYPE and never expands entities, so the file is an error with a position, not a read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lintTemplate } from '../../src/pipeline/template/index.ts';

const body = (rootpw: string) => `<template>
  <name>x</name>
  <os><name>Fedora</name><version>40</version><arch>x86_64</arch>
    <install type='url'><url>https://example.org/</url></install>
    <rootpw>${rootpw}</rootpw>
  </os>
</template>`;

describe('template XML entity attacks', () => {
  it('refuses an external entity (XXE) without reading the file', () => {
    const text = `<?xml version="1.0"?>\n<!DOCTYPE template [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n${body('&xxe;')}`;
    const { template, findings } = lintTemplate(text);
    assert.equal(template, undefined);
    assert.deepEqual(
      findings.map((f) => [f.rule, f.severity, f.line]),
      [['TDL-XML', 'error', 2]],
    );
    assert.ok(!JSON.stringify(findings).includes('root:x:0:0'));
  });

  it('refuses a billion-laughs internal entity chain quickly', () => {
    const entities = Array.from({ length: 10 }, (_, i) =>
      i === 0 ? '<!ENTITY l0 "lol">' : `<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`,
    ).join('');
    const started = performance.now();
    const { findings } = lintTemplate(`<!DOCTYPE template [${entities}]>\n${body('&l9;')}`);
    assert.equal(findings[0].rule, 'TDL-XML');
    assert.ok(performance.now() - started < 1000);
  });

  it('refuses a DOCTYPE even without entities', () => {
    const { findings } = lintTemplate(
      `<!DOCTYPE template SYSTEM "http://attacker.example/tdl.dtd">\n${body('x')}`,
    );
    assert.equal(findings[0].rule, 'TDL-XML');
  });

  it('treats an undeclared entity reference as malformed, with its line', () => {
    const { findings } = lintTemplate(body('&secret;'));
    assert.deepEqual(
      findings.map((f) => [f.rule, f.line]),
      [['TDL-XML', 5]],
    );
  });

  it('still resolves the five predefined entities and character references', () => {
    const { template } = lintTemplate(body('a&amp;b&#x21;&lt;c'));
    assert.equal(template?.os.rootpw?.value, 'a&b!<c');
  });
});

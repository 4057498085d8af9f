// Every template in the fixture corpus gives exactly the error and warning rules listed here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { lintTemplate } from '../../../src/pipeline/template/index.ts';

const CORPUS = new URL('../../fixtures/templates/', import.meta.url);

// Sorted rule ids of every error and warning (info findings are advice and left out).
const EXPECTED: Record<string, string[]> = {
  'good-iso-sha256.tdl': [],
  'good-minimal.tdl': [],
  'info-disk-no-unit.tdl': [],
  'warn-kernelparam.tdl': ['TDL-KERNELPARAM'],
  'warn-md5sum.tdl': ['TDL-SUM-WEAK'],
  'warn-product-key.tdl': ['TDL-KEY-PLAINTEXT'],
  'bad-arch.tdl': ['TDL-ARCH'],
  'bad-command-base64.tdl': ['TDL-BASE64'],
  'bad-command-empty.tdl': ['TDL-CMD-EMPTY'],
  'bad-command-url-http.tdl': ['TDL-CMD-URL-HTTP'],
  'bad-commands-mixed-positions.tdl': ['TDL-CMD-POSITION'],
  'bad-commands-sparse-positions.tdl': ['TDL-CMD-POSITION'],
  'bad-disk-size.tdl': ['TDL-DISK-SIZE'],
  'bad-duplicate-description.tdl': ['TDL-SCHEMA'],
  'bad-file-type.tdl': ['TDL-CONTENT-TYPE'],
  'bad-file-url-http.tdl': ['TDL-FILE-URL-HTTP'],
  'bad-http-media-and-sum.tdl': ['TDL-MEDIA-HTTP', 'TDL-SUM-HTTP'],
  'bad-install-type.tdl': ['TDL-INSTALL'],
  'bad-iso-no-checksum.tdl': ['TDL-MEDIA-NOSUM'],
  'bad-malformed.tdl': ['TDL-XML'],
  'bad-missing-name.tdl': ['TDL-REQUIRED'],
  'bad-no-install.tdl': ['TDL-INSTALL'],
  'bad-no-rootpw.tdl': ['TDL-ROOTPW-MISSING'],
  'bad-not-template.tdl': ['TDL-VERSION'],
  'bad-repo-boolean.tdl': ['TDL-BOOLEAN', 'TDL-REPO-UNSIGNED'],
  'bad-repo-https-no-sslverify.tdl': ['TDL-REPO-NOSSLVERIFY'],
  'bad-repo-localhost.tdl': ['TDL-REPO-HTTP', 'TDL-REPO-LOCAL'],
  'bad-repo-no-name.tdl': ['TDL-NAME-ATTR'],
  'bad-repo-unsigned-default.tdl': ['TDL-REPO-UNSIGNED'],
  'bad-rootpw-default.tdl': ['TDL-ROOTPW-PLACEHOLDER'],
  'bad-rootpw-short.tdl': ['TDL-ROOTPW-PLACEHOLDER'],
  'bad-rootpw-template-var.tdl': ['TDL-ROOTPW-PLACEHOLDER'],
  'bad-two-checksums.tdl': ['TDL-CHECKSUM-MULTI', 'TDL-SUM-WEAK'],
  'bad-unknown-element.tdl': ['TDL-SCHEMA'],
  'bad-url-install-localhost.tdl': ['TDL-EXTRAS', 'TDL-INSTALL-LOCAL', 'TDL-MEDIA-NOSUM'],
  'bad-version.tdl': ['TDL-REQUIRED', 'TDL-ROOTPW-MISSING', 'TDL-VERSION'],
};

describe('template lint corpus', () => {
  const files = readdirSync(CORPUS).filter((name) => name.endsWith('.tdl'));

  it('lists every fixture in the corpus', () => {
    assert.deepEqual(files.sort(), Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    it(`reports exactly ${EXPECTED[file]?.join(', ') || 'nothing'} for ${file}`, () => {
      const { findings } = lintTemplate(readFileSync(new URL(file, CORPUS), 'utf8'));
      const rules = [...new Set(findings.filter((f) => f.severity !== 'info').map((f) => f.rule))].sort();
      assert.deepEqual(rules, EXPECTED[file]);
      for (const finding of findings) {
        assert.ok(finding.line >= 1 && finding.column >= 1, `${file}: ${finding.rule} has a position`);
        assert.ok(finding.fix.length > 0, `${file}: ${finding.rule} has a fix hint`);
      }
    });
  }

  it('gives bad templates errors and good ones none', () => {
    for (const file of files) {
      const errors = lintTemplate(readFileSync(new URL(file, CORPUS), 'utf8')).findings.filter(
        (f) => f.severity === 'error',
      );
      assert.equal(errors.length > 0, file.startsWith('bad-'), file);
    }
  });
});

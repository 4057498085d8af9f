// What the builder reads from a template: a Debian TDL and its YAML form become the same BuildTemplate,
// and what the builder cannot or must not build (ISO installs, other distributions, lint errors,
// unsigned repositories, paths outside the image, hostile YAML) stops here with TEMPLATE_UNBUILDABLE.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ImageTrustError } from '../../../src/errors/index.ts';
import { readBuildTemplate } from '../../../src/pipeline/build/index.ts';
import { lintTemplate } from '../../../src/pipeline/template/index.ts';

const MOTD = 'Built from a linted template.\n';
const SCRIPT = 'echo built > /etc/imagetrust-build\n';

const TDL = `<template>
  <name>debian-12-cloud</name>
  <description>A Debian 12 cloud image</description>
  <os>
    <name>Debian</name>
    <version>12</version>
    <arch>x86_64</arch>
    <install type='url'><url>https://deb.debian.org/debian///</url></install>
    <kernelparam>quiet mitigations=auto</kernelparam>
  </os>
  <disk><size>4G</size></disk>
  <packages>
    <package name='less'/>
    <package name='vim-tiny'/>
    <package name='less'/>
  </packages>
  <files>
    <file name='/etc/motd' type='raw'>${MOTD}</file>
    <file name='/etc/imagetrust/blob' type='base64'>
      ${Buffer.from([0, 1, 2, 255]).toString('base64')}
    </file>
  </files>
  <commands>
    <command name='mark-build'>${SCRIPT}</command>
    <command name='encoded' type='base64'>${Buffer.from('true\n').toString('base64')}</command>
  </commands>
</template>
`;

const YAML = `name: debian-12-cloud
description: A Debian 12 cloud image
os:
  name: Debian
  version: 12
  arch: x86_64
  install:
    type: url
    url: https://deb.debian.org/debian///
  kernelparam: quiet mitigations=auto
disk:
  size: 4G
packages: [less, vim-tiny, less]
files:
  - name: /etc/motd
    content: ${JSON.stringify(MOTD)}
  - name: /etc/imagetrust/blob
    type: base64
    content: ${Buffer.from([0, 1, 2, 255]).toString('base64')}
commands:
  - name: mark-build
    content: ${JSON.stringify(SCRIPT)}
  - name: encoded
    type: base64
    content: ${Buffer.from('true\n').toString('base64')}
`;

/** A template with one change to the TDL above. */
function tdlWith(search: string | RegExp, replace: string): string {
  const text = TDL.replace(search, replace);
  assert.notEqual(text, TDL, `the fixture has ${search}`);
  return text;
}

function unbuildable(text: string, pattern?: RegExp): void {
  assert.throws(
    () => readBuildTemplate(text, 'test.tdl'),
    (error: unknown) => {
      assert.ok(error instanceof ImageTrustError, String(error));
      assert.equal(error.code, 'TEMPLATE_UNBUILDABLE');
      if (pattern) assert.match(error.message, pattern);
      return true;
    },
  );
}

const REPOSITORY = (flags: string) =>
  `<repositories><repository name='extra'><url>https://repo.example.org/debian bookworm main contrib</url>${flags}</repository></repositories>`;

describe('readBuildTemplate', () => {
  it('reads a Debian 12 TDL into the BuildTemplate the builder works from', () => {
    const { template, tdl } = readBuildTemplate(TDL, 'debian-12.tdl');
    assert.equal(tdl, TDL);
    assert.equal(template.name, 'debian-12-cloud');
    assert.equal(template.description, 'A Debian 12 cloud image');
    assert.equal(template.distribution.name, 'Debian');
    assert.equal(template.distribution.version, '12');
    assert.equal(template.distribution.arch, 'amd64');
    assert.equal(template.distribution.family, 'debian');
    assert.equal(template.distribution.suite, 'bookworm');
    assert.deepEqual(template.distribution.components, ['main']);
    assert.equal(template.mirror, 'https://deb.debian.org/debian');
    assert.deepEqual(template.packages, ['less', 'vim-tiny']);
    assert.deepEqual(template.files, [
      { path: '/etc/motd', content: Buffer.from(MOTD) },
      { path: '/etc/imagetrust/blob', content: Buffer.from([0, 1, 2, 255]) },
    ]);
    assert.deepEqual(template.commands, [
      { name: 'mark-build', script: SCRIPT },
      { name: 'encoded', script: 'true\n' },
    ]);
    assert.deepEqual(template.kernelParams, ['quiet', 'mitigations=auto']);
    assert.equal(template.diskBytes, 4 * 2 ** 30);
    assert.deepEqual(template.repositories, []);
    assert.equal(template.rootPassword, null);
    assert.equal(template.sysprepOperations, null);
    assert.equal(template.digest, createHash('sha256').update(TDL).digest('hex'));
  });

  it('reads the YAML form into the same BuildTemplate, with the digest of the YAML text', () => {
    const fromTdl = readBuildTemplate(TDL, 'debian-12.tdl').template;
    const fromYaml = readBuildTemplate(YAML, 'debian-12.yaml').template;
    assert.deepEqual({ ...fromYaml, digest: '' }, { ...fromTdl, digest: '' });
    assert.equal(fromYaml.digest, createHash('sha256').update(YAML).digest('hex'));
  });

  it('reads sysprep operations from the YAML form', () => {
    const { template } = readBuildTemplate(
      `${YAML}sysprep:\n  operations: [machine-id, ssh-hostkeys]\n`,
      't.yaml',
    );
    assert.deepEqual(template.sysprepOperations, ['machine-id', 'ssh-hostkeys']);
  });

  it('refuses an ISO install and points at a url install from the package archive', () => {
    unbuildable(
      tdlWith(
        /<install type='url'>.*<\/install>/,
        `<install type='iso'><iso>https://cdimage.debian.org/debian-12.iso</iso><sha256sum>https://cdimage.debian.org/SHA256SUMS</sha256sum></install>`,
      ),
      /type='url'.*package archive|package archive.*type='url'/s,
    );
  });

  it('refuses distributions it cannot bootstrap, naming the ones it can', () => {
    unbuildable(
      tdlWith('<name>Debian</name>', '<name>Fedora</name>').replace('<version>12', '<version>40'),
      /debian 12/i,
    );
    unbuildable(tdlWith('<version>12</version>', '<version>10</version>'), /debian 12.*ubuntu 24\.04/is);
  });

  it('stops at a lint error and names its rule', () => {
    unbuildable(tdlWith('<kernelparam>', '<rootpw>password</rootpw><kernelparam>'), /TDL-ROOTPW-PLACEHOLDER/);
  });

  it('refuses a repository that does not say it is signed', () => {
    unbuildable(
      tdlWith('<packages>', `${REPOSITORY('<sslverify>yes</sslverify>')}<packages>`),
      /TDL-REPO-UNSIGNED/,
    );
  });

  it('builds from a repository marked <signed>no</signed>, with a warning', () => {
    const { template, findings } = readBuildTemplate(
      tdlWith('<packages>', `${REPOSITORY('<signed>no</signed><sslverify>yes</sslverify>')}<packages>`),
      't.tdl',
    );
    assert.deepEqual(
      findings.filter((f) => f.rule === 'TDL-REPO-UNSIGNED').map((f) => f.severity),
      ['warning'],
    );
    assert.deepEqual(template.repositories, [
      {
        name: 'extra',
        uri: 'https://repo.example.org/debian',
        suite: 'bookworm',
        components: ['main', 'contrib'],
        signed: false,
        persisted: true,
      },
    ]);
  });

  it('refuses file paths that are relative or climb out with ".."', () => {
    unbuildable(tdlWith("name='/etc/motd'", "name='etc/motd'"));
    unbuildable(tdlWith("name='/etc/motd'", "name='/etc/../../host/motd'"));
  });

  it('refuses <precommands>, which Oz runs before the packages', () => {
    unbuildable(
      tdlWith(
        '<commands>',
        "<precommands><precommand name='early'>true</precommand></precommands><commands>",
      ),
    );
  });

  it('refuses a file fetched from a URL at build time', () => {
    unbuildable(
      tdlWith(
        `<file name='/etc/motd' type='raw'>${MOTD}</file>`,
        "<file name='/etc/motd' type='url'>https://example.org/motd</file>",
      ),
    );
  });

  it('refuses a disk smaller than 2 GiB', () => {
    unbuildable(tdlWith('<size>4G</size>', '<size>1G</size>'));
  });

  it('refuses an unknown key in the YAML form', () => {
    unbuildable(`${YAML}postinstall: [reboot]\n`, /postinstall/);
  });

  it('refuses an unknown key inside a YAML section rather than dropping it', () => {
    // A misspelt kernel parameter key must not silently build an image without the parameters.
    unbuildable(YAML.replace('  kernelparam:', '  kernelparams:'));
  });

  // The timeout guards against a parser that hangs; the answer takes well under a second.
  it('answers deeply nested YAML with TEMPLATE_UNBUILDABLE, without hanging', { timeout: 20_000 }, () => {
    unbuildable(`name: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`);
    unbuildable(`name: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}\n`);
    unbuildable(`${'- '.repeat(5_000)}x\n`);
  });

  it('refuses an alias bomb without expanding it', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      bomb.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(',')}]`);
    }
    unbuildable(`${bomb.join('\n')}\n`);
  });
});

describe('lintTemplate without the builder option', () => {
  it('keeps an http install an error (TDL-MEDIA-HTTP), as for Oz', () => {
    const text = tdlWith('https://deb.debian.org', 'http://deb.debian.org');
    const rule = (builder: boolean) =>
      lintTemplate(text, { builder }).findings.find((f) => f.rule === 'TDL-MEDIA-HTTP')?.severity;
    assert.equal(rule(false), 'error');
    assert.equal(rule(true), 'info');
    assert.equal(readBuildTemplate(text, 't.tdl').template.mirror, 'http://deb.debian.org/debian');
  });
});

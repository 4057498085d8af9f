// The OpenStack Security Guide's example Oz template (RHEL, placeholder root password, ISO on plain
// http, unsigned EPEL repository) must fail lint on exactly those three points.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lintTemplate } from '../../../src/pipeline/template/index.ts';

const SECURITY_GUIDE_TEMPLATE = `<template>
  <name>centos64</name>
  <os>
    <name>RHEL-6</name>
    <version>4</version>
    <arch>x86_64</arch>
    <install type='iso'>
      <iso>http://trusted_local_iso_mirror/isos/x86_64/RHEL-6.4-x86_64-bin-DVD1.iso</iso>
    </install>
    <rootpw>CHANGE THIS TO YOUR ROOT PASSWORD</rootpw>
  </os>
  <description>RHEL 6.4 x86_64</description>
  <repositories>
    <repository name='epel-6'>
      <url>http://download.fedoraproject.org/pub/epel/6/$basearch</url>
      <signed>no</signed>
    </repository>
  </repositories>
  <packages>
    <package name='epel-release'/>
    <package name='cloud-utils'/>
    <package name='cloud-init'/>
  </packages>
  <commands>
    <command name='update'>
yum update
yum clean all
sed -i '/^HWADDR/d' /etc/sysconfig/network-scripts/ifcfg-eth0
echo -n > /etc/udev/rules.d/70-persistent-net.rules
echo -n > /lib/udev/rules.d/75-persistent-net-generator.rules
chkconfig --level 0123456 autofs off
service autofs stop
    </command>
  </commands>
</template>
`;

describe("the Security Guide's Oz template", () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-tdl-'));
    file = path.join(dir, 'rhel.tdl');
    writeFileSync(file, SECURITY_GUIDE_TEMPLATE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes Oz validation: every error is a hardening error', () => {
    const { template, findings } = lintTemplate(readFileSync(file, 'utf8'));
    assert.equal(template?.os.install?.type, 'iso');
    assert.equal(template?.repositories[0].signed?.value, false);
    assert.equal(template?.commands[0].name, 'update');
    const ozRules = findings.filter(
      (f) => f.severity === 'error' && !/MEDIA|SUM|REPO-UNSIGNED|ROOTPW/.test(f.rule),
    );
    assert.deepEqual(ozRules, []);
  });

  it('has errors for exactly the placeholder root password, the http ISO without checksum and the unsigned http repository', () => {
    const errors = lintTemplate(readFileSync(file, 'utf8')).findings.filter((f) => f.severity === 'error');
    const byElement = new Map<string, string[]>();
    for (const error of errors) byElement.set(error.path, [...(byElement.get(error.path) ?? []), error.rule]);
    assert.deepEqual(
      [...byElement].sort(),
      [
        ['/template/os/install/iso', ['TDL-MEDIA-HTTP', 'TDL-MEDIA-NOSUM']],
        ['/template/os/rootpw', ['TDL-ROOTPW-PLACEHOLDER']],
        ['/template/repositories/repository[1]', ['TDL-REPO-UNSIGNED']],
      ].sort(),
    );
    assert.deepEqual(
      errors.map((e) => [e.rule, e.line, e.column]),
      [
        ['TDL-MEDIA-HTTP', 8, 7],
        ['TDL-MEDIA-NOSUM', 8, 7],
        ['TDL-ROOTPW-PLACEHOLDER', 10, 5],
        ['TDL-REPO-UNSIGNED', 14, 5],
      ],
    );
  });

  it('warns that the repository is on plain http without TLS verification', () => {
    const warnings = lintTemplate(SECURITY_GUIDE_TEMPLATE).findings.filter((f) => f.severity === 'warning');
    assert.deepEqual(warnings.map((w) => w.rule).sort(), ['TDL-REPO-HTTP', 'TDL-REPO-NOSSLVERIFY']);
  });
});

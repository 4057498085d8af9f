// Docker references and image names behave as containers/image parses them: normalisation, the
// errors it prints, and the policy identities and namespaces each transport derives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dockerReferenceString,
  familiarDockerReferenceString,
  formatImageName,
  parseDockerReference,
  parseImageName,
  parseNormalizedDockerReference,
} from '../../../src/containers/reference/index.ts';
import { PolicyError } from '../../../src/errors/index.ts';

const HEX = 'a'.repeat(64);

function rejects(fn: () => unknown, message: string) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PolicyError);
    assert.equal(error.code, 'REFERENCE_INVALID');
    assert.equal(error.message, message);
    return true;
  });
}

describe('parseNormalizedDockerReference', () => {
  it('expands short names to docker.io and library/', () => {
    for (const [input, expected] of [
      ['busybox', 'docker.io/library/busybox'],
      ['busybox:1.36', 'docker.io/library/busybox:1.36'],
      ['ns/app', 'docker.io/ns/app'],
      ['index.docker.io/busybox', 'docker.io/library/busybox'],
      ['docker.io/busybox', 'docker.io/library/busybox'],
      ['localhost/app', 'localhost/app'],
      ['localhost:5000/app:v1', 'localhost:5000/app:v1'],
      ['127.0.0.1:5123/signed/app:v1', '127.0.0.1:5123/signed/app:v1'],
      ['quay.io/a/b/c@sha256:' + HEX, 'quay.io/a/b/c@sha256:' + HEX],
      ['Registry.Example.com/app', 'Registry.Example.com/app'],
    ]) {
      assert.equal(dockerReferenceString(parseNormalizedDockerReference(input)), expected, input);
    }
  });

  it('rejects what docker/distribution rejects, with its texts', () => {
    rejects(() => parseNormalizedDockerReference(''), 'invalid reference format');
    rejects(() => parseDockerReference(''), 'repository name must have at least one component');
    rejects(
      () => parseNormalizedDockerReference('Busybox'),
      'invalid reference format: repository name must be lowercase',
    );
    rejects(
      () => parseNormalizedDockerReference('quay.io/Ns/app'),
      'invalid reference format: repository name must be lowercase',
    );
    rejects(() => parseNormalizedDockerReference('busybox:'), 'invalid reference format');
    rejects(() => parseNormalizedDockerReference('a/b:' + 'x'.repeat(129)), 'invalid reference format');
    rejects(() => parseNormalizedDockerReference('busybox@sha256:abc'), 'invalid reference format');
    rejects(
      () => parseNormalizedDockerReference('busybox@sha256:' + 'a'.repeat(63) + 'A'),
      'invalid checksum digest format',
    );
    rejects(
      () => parseNormalizedDockerReference('busybox@md5:' + 'a'.repeat(32)),
      'unsupported digest algorithm',
    );
    rejects(
      () => parseNormalizedDockerReference('busybox@sha256:' + 'a'.repeat(65)),
      'invalid checksum digest length',
    );
    rejects(
      () => parseNormalizedDockerReference(HEX),
      `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`,
    );
    rejects(
      () => parseNormalizedDockerReference(`example.com/${'a'.repeat(250)}`),
      'repository name must not be more than 255 characters',
    );
  });

  it('prints the familiar form people type', () => {
    assert.equal(
      familiarDockerReferenceString(parseNormalizedDockerReference('busybox:latest')),
      'busybox:latest',
    );
    assert.equal(familiarDockerReferenceString(parseNormalizedDockerReference('ns/app:v1')), 'ns/app:v1');
    assert.equal(
      familiarDockerReferenceString(parseNormalizedDockerReference('docker.io/library/a/b')),
      'library/a/b',
    );
    assert.equal(familiarDockerReferenceString(parseNormalizedDockerReference('quay.io/x:v')), 'quay.io/x:v');
  });
});

describe('parseImageName', () => {
  it('derives docker identities and namespaces, wildcards from the port-less host', () => {
    const image = parseImageName('docker://reg.example.com:5000/ns/app:v1');
    assert.equal(image.policyIdentity, 'reg.example.com:5000/ns/app:v1');
    assert.deepEqual(image.policyNamespaces, [
      'reg.example.com:5000/ns/app',
      'reg.example.com:5000/ns',
      'reg.example.com:5000',
      '*.example.com',
      '*.com',
    ]);
    assert.equal(formatImageName(image), 'docker://reg.example.com:5000/ns/app:v1');
  });

  it('adds :latest, normalises, and names docker.io images in the familiar form', () => {
    const image = parseImageName('docker://busybox');
    assert.equal(image.policyIdentity, 'docker.io/library/busybox:latest');
    assert.deepEqual(image.policyNamespaces, [
      'docker.io/library/busybox',
      'docker.io/library',
      'docker.io',
      '*.io',
    ]);
    assert.equal(formatImageName(image), 'docker://busybox:latest');
  });

  it('walks every label of an IP address and none of a dotless host', () => {
    assert.deepEqual(parseImageName('docker://127.0.0.1:5123/a/b:v1').policyNamespaces, [
      '127.0.0.1:5123/a/b',
      '127.0.0.1:5123/a',
      '127.0.0.1:5123',
      '*.0.0.1',
      '*.0.1',
      '*.1',
    ]);
    assert.deepEqual(parseImageName('docker://localhost:5000/x:v').policyNamespaces, [
      'localhost:5000/x',
      'localhost:5000',
    ]);
  });

  it('uses the digest as the identity of a digest reference', () => {
    const image = parseImageName(`docker://quay.io/app@sha256:${HEX}`);
    assert.equal(image.policyIdentity, `quay.io/app@sha256:${HEX}`);
  });

  it('rejects docker names without // and with both a tag and a digest', () => {
    rejects(() => parseImageName('docker:busybox'), 'docker: image reference busybox does not start with //');
    rejects(
      () => parseImageName(`docker://busybox:v1@sha256:${HEX}`),
      'Docker references with both a tag and digest are currently not supported',
    );
    rejects(
      () => parseImageName('busybox'),
      'Invalid image name "busybox", expected colon-separated transport:reference',
    );
    rejects(() => parseImageName('nosuch:x'), 'Invalid image name "nosuch:x", unknown transport "nosuch"');
  });

  it('uses absolute paths and their parents for dir:, and drops the image part of oci:', () => {
    const dir = parseImageName('dir:/var/lib/images/app');
    assert.equal(dir.policyIdentity, '/var/lib/images/app');
    assert.deepEqual(dir.policyNamespaces, ['/var/lib/images', '/var/lib', '/var']);
    assert.equal(dir.dockerReference, undefined);
    assert.equal(formatImageName(dir), 'dir:/var/lib/images/app');
    const oci = parseImageName('oci:/srv/layout:v1');
    assert.equal(oci.policyIdentity, '/srv/layout');
    assert.deepEqual(oci.policyNamespaces, ['/srv']);
    assert.equal(formatImageName(oci), 'oci:/srv/layout:v1');
    rejects(() => parseImageName('oci:/srv/layout:v/1'), 'Invalid image v/1');
  });

  it('gives docker-daemon names a docker identity and IDs only the default scope', () => {
    const named = parseImageName('docker-daemon:busybox');
    assert.equal(named.policyIdentity, 'docker.io/library/busybox:latest');
    assert.equal(formatImageName(named), 'docker-daemon:busybox:latest');
    const byId = parseImageName(`docker-daemon:sha256:${HEX}`);
    assert.equal(byId.policyIdentity, '');
    assert.deepEqual(byId.policyNamespaces, []);
  });

  it('gives docker-archive only the default scope, with an optional docker identity', () => {
    const archive = parseImageName('docker-archive:/tmp/a.tar:app:v1');
    assert.equal(archive.policyIdentity, '');
    assert.equal(
      archive.dockerReference && dockerReferenceString(archive.dockerReference),
      'docker.io/library/app:v1',
    );
    assert.equal(parseImageName('docker-archive:/tmp/a.tar').dockerReference, undefined);
  });
});

// Which requirements apply (scope precedence, wildcards, other transports) and which signed identities
// fit an image: the tables follow c/image's policy_eval and policy_reference_match behaviour.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  matchesSignedIdentity,
  parsePolicy,
  resolvePolicyScope,
  type SignedIdentity,
} from '../../../src/containers/policy/index.ts';
import { parseImageName, parseNormalizedDockerReference } from '../../../src/containers/reference/index.ts';

const D = '@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const D2 = `@sha256:${'a'.repeat(64)}`;

function scopeFor(transports: Record<string, string[]>, imageName: string): string {
  const json = Object.fromEntries(
    Object.entries(transports).map(([t, scopes]) => [
      t,
      Object.fromEntries(scopes.map((s) => [s, [{ type: 'reject' }]])),
    ]),
  );
  const policy = parsePolicy(
    JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: json }),
  );
  const match = resolvePolicyScope(policy, parseImageName(imageName));
  return match.transport === undefined ? 'default' : `${match.transport}:${match.scope}`;
}

describe('resolvePolicyScope', () => {
  const docker = [
    '',
    'reg.example.com:5000',
    'reg.example.com:5000/ns',
    'reg.example.com:5000/ns/app',
    'reg.example.com:5000/ns/app:v1',
    '*.example.com',
    '*.com',
    '127.0.0.1',
    '*.0.0.1',
    '*.127.0.0.1',
    'quay.io/sign',
    `quay.io/pinned${D}`,
    'example*.*.io',
  ];

  it('takes the most specific docker scope and ignores the rest', () => {
    const cases: [string, string][] = [
      ['docker://reg.example.com:5000/ns/app:v1', 'docker:reg.example.com:5000/ns/app:v1'],
      ['docker://reg.example.com:5000/ns/app:v2', 'docker:reg.example.com:5000/ns/app'],
      ['docker://reg.example.com:5000/ns/other:v1', 'docker:reg.example.com:5000/ns'],
      ['docker://reg.example.com:5000/x:v1', 'docker:reg.example.com:5000'],
      ['docker://reg.example.com/x:v1', 'docker:*.example.com'],
      ['docker://other.com/x:v1', 'docker:*.com'],
      ['docker://example.com/x:v1', 'docker:*.com'],
      ['docker://127.0.0.1:5123/a:v1', 'docker:*.0.0.1'],
      ['docker://quay.io/signed/app:v1', 'docker:'],
      ['docker://quay.io/sign/app:v1', 'docker:quay.io/sign'],
      [`docker://quay.io/pinned${D}`, `docker:quay.io/pinned${D}`],
      ['docker://quay.io/pinned:v1', 'docker:'],
      ['docker://example1.b.io/x:v1', 'docker:'],
    ];
    for (const [image, expected] of cases) assert.equal(scopeFor({ docker }, image), expected, image);
  });

  it('falls back to the global default when the transport has no entry', () => {
    assert.equal(scopeFor({ docker }, 'dir:/srv/img'), 'default');
    assert.equal(scopeFor({ dir: ['/srv'] }, 'docker://busybox'), 'default');
    assert.equal(scopeFor({ docker: ['quay.io'] }, 'docker://busybox'), 'default');
    assert.equal(
      scopeFor({ docker: ['docker.io/library/busybox'] }, 'docker://busybox'),
      'docker:docker.io/library/busybox',
    );
    assert.equal(scopeFor({ docker: ['*.io'] }, 'docker://busybox:1'), 'docker:*.io');
  });

  it('walks parent directories for path transports, never the image part of oci:', () => {
    const dir = ['', '/srv', '/srv/images/app'];
    assert.equal(scopeFor({ dir }, 'dir:/srv/images/app'), 'dir:/srv/images/app');
    assert.equal(scopeFor({ dir }, 'dir:/srv/images/other'), 'dir:/srv');
    assert.equal(scopeFor({ dir }, 'dir:/opt/x'), 'dir:');
    assert.equal(scopeFor({ oci: ['/srv/layout'] }, 'oci:/srv/layout:v1'), 'oci:/srv/layout');
    assert.equal(scopeFor({ 'docker-archive': [''] }, 'docker-archive:/a.tar:app:v1'), 'docker-archive:');
    assert.equal(
      scopeFor({ 'docker-daemon': ['docker.io/library'] }, 'docker-daemon:busybox:1'),
      'docker-daemon:docker.io/library',
    );
  });

  it('never matches scopes of an unknown transport', () => {
    assert.equal(scopeFor({ dockr: ['', 'docker.io'] }, 'docker://busybox'), 'default');
  });
});

type Row = [string, string, boolean];

function checkTable(rule: SignedIdentity, rows: Row[], symmetric: boolean) {
  for (const [image, signature, expected] of rows) {
    const pairs = symmetric
      ? [
          [image, signature],
          [signature, image],
        ]
      : [[image, signature]];
    for (const [a, b] of pairs) {
      let intended: ReturnType<typeof parseNormalizedDockerReference> | undefined;
      try {
        intended = parseNormalizedDockerReference(a);
      } catch {
        // An unparseable image name can only come from a transport without a docker identity.
      }
      assert.equal(matchesSignedIdentity(rule, intended, b), expected, `${rule.type}: ${a} vs ${b}`);
    }
  }
}

describe('matchesSignedIdentity', () => {
  const RHEL = 'registry.access.redhat.com/rhel7/rhel:7.2.3';

  it('matchExact needs equal full references, tags or digests on both sides', () => {
    checkTable(
      { type: 'matchExact' },
      [
        ['busybox:latest', 'busybox:latest', true],
        [RHEL, RHEL, true],
        [`busybox${D}`, `busybox${D}`, true],
        ['library/busybox:latest', 'docker.io/library/busybox:latest', true],
        ['busybox:latest', 'busybox:notlatest', false],
        ['busybox:latest', 'hostname/library/busybox:latest', false],
        ['busybox:latest', `busybox${D}`, false],
        [`busybox${D}`, `busybox${D2}`, false],
        ['busybox', 'busybox:latest', false],
        ['busybox', 'busybox', false],
        [`busybox:latest${D}`, `busybox:latest${D}`, true],
        [`busybox:latest${D}`, 'busybox:latest', false],
        ['INVALID', 'INVALID', false],
      ],
      true,
    );
  });

  it('matchRepository compares names only', () => {
    checkTable(
      { type: 'matchRepository' },
      [
        ['busybox:latest', 'busybox:notlatest', true],
        [`busybox${D}`, 'busybox:v1', true],
        ['busybox', 'busybox', true],
        ['busybox:latest', 'notbusybox:latest', false],
        ['busybox', 'quay.io/library/busybox', false],
        ['INVALID', 'INVALID', false],
      ],
      true,
    );
  });

  it('matchRepoDigestOrExact wants the exact tag, or only the name for a digest image', () => {
    checkTable(
      { type: 'matchRepoDigestOrExact' },
      [
        ['busybox:latest', 'busybox:latest', true],
        ['busybox:latest', 'busybox:notlatest', false],
        ['busybox:latest', 'busybox', false],
        [`busybox${D}`, 'busybox:latest', true],
        [`busybox${D}`, `busybox${D2}`, true],
        [`busybox${D}`, 'notbusybox:latest', false],
        [`busybox${D}`, 'busybox', false],
        [`busybox:latest${D}`, 'busybox:latest', false],
        [`busybox:latest${D}`, `busybox:latest${D}`, true],
        ['busybox', 'busybox:latest', false],
      ],
      false,
    );
  });

  it('exactReference and exactRepository ignore the image, and accept images without a docker identity', () => {
    const exactRef: SignedIdentity = { type: 'exactReference', dockerReference: 'quay.io/app:v1' };
    assert.equal(matchesSignedIdentity(exactRef, undefined, 'quay.io/app:v1'), true);
    assert.equal(matchesSignedIdentity(exactRef, undefined, 'quay.io/app:v2'), false);
    assert.equal(matchesSignedIdentity(exactRef, undefined, 'quay.io/app'), false);
    const exactRepo: SignedIdentity = { type: 'exactRepository', dockerRepository: 'busybox' };
    assert.equal(matchesSignedIdentity(exactRepo, undefined, 'docker.io/library/busybox'), true);
    assert.equal(matchesSignedIdentity(exactRepo, undefined, 'docker.io/library/busybox:1'), true);
    assert.equal(matchesSignedIdentity(exactRepo, undefined, 'quay.io/busybox:1'), false);
    for (const type of ['matchExact', 'matchRepoDigestOrExact', 'matchRepository'] as const) {
      assert.equal(matchesSignedIdentity({ type }, undefined, 'busybox:latest'), false, type);
    }
  });

  it('remapIdentity rewrites a matching prefix before matchRepoDigestOrExact', () => {
    const rule: SignedIdentity = {
      type: 'remapIdentity',
      prefix: '127.0.0.1:5123/mirror',
      signedPrefix: 'vendor.example.com/product',
    };
    const image = (s: string) => parseNormalizedDockerReference(s);
    assert.equal(
      matchesSignedIdentity(rule, image('127.0.0.1:5123/mirror/app:v1'), 'vendor.example.com/product/app:v1'),
      true,
    );
    assert.equal(
      matchesSignedIdentity(rule, image('127.0.0.1:5123/mirror:v1'), 'vendor.example.com/product:v1'),
      true,
    );
    assert.equal(
      matchesSignedIdentity(rule, image('127.0.0.1:5123/mirror/app:v1'), '127.0.0.1:5123/mirror/app:v1'),
      false,
    );
    assert.equal(
      matchesSignedIdentity(rule, image('127.0.0.1:5123/mirrored/app:v1'), '127.0.0.1:5123/mirrored/app:v1'),
      true,
    );
    assert.equal(
      matchesSignedIdentity(
        rule,
        image(`127.0.0.1:5123/mirror/app${D}`),
        'vendor.example.com/product/app:any',
      ),
      true,
    );
    const toDockerHub: SignedIdentity = {
      type: 'remapIdentity',
      prefix: 'mirror.local',
      signedPrefix: 'docker.io',
    };
    // The rewritten reference is parsed without normalisation, so a non-canonical result never matches.
    assert.equal(matchesSignedIdentity(toDockerHub, image('mirror.local/busybox:1'), 'busybox:1'), false);
    assert.equal(
      matchesSignedIdentity(toDockerHub, image('mirror.local/library/busybox:1'), 'busybox:1'),
      true,
    );
    const shortName: SignedIdentity = {
      type: 'remapIdentity',
      prefix: 'library/busybox',
      signedPrefix: 'x.com',
    };
    assert.equal(matchesSignedIdentity(shortName, image('busybox:1'), 'x.com:1'), false);
  });
});

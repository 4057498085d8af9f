// The reviewer rules of `containers lint`, as pure functions over policy text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dockerScopeProblem, lintPolicy } from '../../../src/containers/policy/index.ts';

const lint = (policy: unknown, missing: string[] = []) =>
  lintPolicy(typeof policy === 'string' ? policy : JSON.stringify(policy), {
    file: 'policy.json',
    checkKeyFile: (p) => (missing.includes(p) ? `open ${p}: no such file or directory` : undefined),
  });

describe('dockerScopeProblem', () => {
  it('accepts scopes an image can produce', () => {
    for (const scope of [
      'docker.io',
      'docker.io/library/busybox',
      'docker.io/library/busybox:latest',
      `quay.io/app@sha256:${'a'.repeat(64)}`,
      'localhost',
      'localhost:5000/app',
      '127.0.0.1:5123',
      '*.example.com',
      '*.1',
    ]) {
      assert.equal(dockerScopeProblem(scope), undefined, scope);
    }
  });

  it('explains scopes that can never match', () => {
    for (const scope of [
      'busybox',
      'docker.io/busybox',
      'library/busybox',
      '*.example.com:5000',
      '*.example.com/app',
      'example*.*.com',
      'quay.io/App',
      `quay.io/app:v1@sha256:${'a'.repeat(64)}`,
    ]) {
      assert.ok(dockerScopeProblem(scope), scope);
    }
  });
});

describe('lintPolicy', () => {
  it('explains why a transport refused a scope that c/image calls an unknown key', () => {
    const [finding] = lint({
      default: [{ type: 'reject' }],
      transports: { dir: { relative: [{ type: 'reject' }] } },
    });
    assert.equal(finding.severity, 'error');
    assert.equal(
      finding.message,
      'Unknown key "relative" (Invalid scope relative: Must be an absolute path)',
    );
  });

  it('warns once per location about accept-anything defaults, including a transport default', () => {
    const findings = lint({
      default: [{ type: 'reject' }],
      transports: {
        docker: { '': [{ type: 'insecureAcceptAnything' }], 'quay.io': [{ type: 'insecureAcceptAnything' }] },
      },
    });
    assert.deepEqual(
      findings.map((f) => [f.rule, f.position?.line]),
      [['default-accepts-anything', 1]],
    );
  });

  it('flags requirements that reject every image and key files that cannot be read', () => {
    const findings = lint(
      {
        default: [
          { type: 'signedBy', keyType: 'X509Certificates', keyPath: '/ok.pem' },
          { type: 'sigstoreSigned', keyPaths: ['/ok.pub', '/gone.pub'] },
          { type: 'signedBaseLayer', baseLayerIdentity: { type: 'matchRepository' } },
        ],
      },
      ['/gone.pub'],
    );
    assert.deepEqual(
      findings.map((f) => f.rule),
      ['requirement-always-rejects', 'key-file-unreadable', 'requirement-always-rejects'],
    );
  });
});

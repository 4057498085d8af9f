// Build provenance: an in-toto Statement v1 whose predicate is SLSA provenance v1, read back strictly,
// and the attestation the catalog takes: signed by a trusted build key, about one image.
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { ImageTrustError } from '../../../src/errors/index.ts';
import {
  DEBIAN_BUILD_TYPE,
  debianPackageUrl,
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  makeBuildProvenance,
  readProvenanceAttestation,
  readStatement,
  SLSA_PROVENANCE_V1,
  signEnvelope,
  toTrustedKey,
} from '../../../src/pipeline/provenance/index.ts';
import { buildInput, ed25519, IMAGE_SHA256, IMAGE_SHA512 } from './fixtures.ts';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ImageTrustError, String(error));
    return error.code;
  }
  return 'no error';
};
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;

describe('makeBuildProvenance', () => {
  it('makes an in-toto Statement v1 with a SLSA provenance v1 predicate of the build', () => {
    const statement = makeBuildProvenance(buildInput());
    assert.equal(statement._type, 'https://in-toto.io/Statement/v1');
    assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
    assert.deepEqual(statement.subject, [
      { name: 'debian-12-amd64.qcow2', digest: { sha512: IMAGE_SHA512, sha256: IMAGE_SHA256 } },
    ]);
    const { buildDefinition, runDetails } = statement.predicate ?? assert.fail('no predicate');
    assert.equal(buildDefinition.buildType, DEBIAN_BUILD_TYPE);
    assert.deepEqual(buildDefinition.externalParameters, {
      template: { name: 'debian-12.tdl', digest: { sha256: buildInput().template.sha256 } },
      suite: 'bookworm',
      mirror: 'https://deb.debian.org/debian',
    });
    assert.deepEqual(Object.keys(buildDefinition.internalParameters ?? {}), [
      'toolVersions',
      'stageCacheKeys',
    ]);
    const uris = (buildDefinition.resolvedDependencies ?? []).map((d) => d.uri ?? d.name);
    assert.deepEqual(uris, [
      'template',
      'https://deb.debian.org/debian/dists/bookworm/InRelease',
      'pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64',
      'pkg:deb/debian/systemd@252.22-1~deb12u1?arch=amd64',
      'pkg:deb/debian/perl@5.36.0-7%2Bdeb12u1?arch=amd64',
    ]);
    assert.match(buildDefinition.resolvedDependencies?.[1].digest?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(buildDefinition.resolvedDependencies?.[3].digest, undefined, 'no digest when none is known');
    assert.deepEqual(runDetails.builder, {
      id: 'https://imagetrust.dev/builders/ci/v1',
      version: { imagetrust: '0.1.0' },
    });
    assert.deepEqual(runDetails.metadata, {
      invocationId: 'build-42',
      // RFC 3339 in UTC, to the second.
      startedOn: '2026-11-30T10:00:00Z',
      finishedOn: '2026-11-30T10:21:07Z',
    });
    assert.deepEqual(
      runDetails.byproducts?.map((b) => b.name),
      ['scan-report.json', 'debian-12-amd64.raw'],
    );
    // What we make, we read back.
    assert.deepEqual(readStatement(JSON.stringify(statement)), statement);
  });

  it('writes an epoch in a package version as %3A, as purl asks', () => {
    assert.equal(
      debianPackageUrl('tzdata', '1:2024a-0+deb12u1'),
      'pkg:deb/debian/tzdata@1%3A2024a-0%2Bdeb12u1?arch=amd64',
    );
  });

  it('refuses digests that are not lowercase hex of the right length, and times out of order', () => {
    const input = buildInput();
    for (const bad of [
      { image: { ...input.image, sha512: IMAGE_SHA512.toUpperCase() } },
      { image: { ...input.image, sha256: IMAGE_SHA256.slice(2) } },
      { template: { ...input.template, sha256: 'abc' } },
      { mirrorRelease: { ...input.mirrorRelease, sha256: `${'0'.repeat(63)}g` } },
      { packages: [{ name: 'x', version: '1', digest: { sha256: 'short' } }] },
      { finishedOn: new Date('2026-11-30T09:00:00Z') },
      { startedOn: new Date('not a time') },
    ]) {
      assert.equal(
        codeOf(() => makeBuildProvenance(buildInput(bad))),
        'ATTESTATION_MALFORMED',
        JSON.stringify(bad),
      );
    }
  });
});

describe('readStatement', () => {
  const good = () => JSON.parse(JSON.stringify(makeBuildProvenance(buildInput())));
  it('refuses statements of the wrong shape', () => {
    // biome-ignore lint/suspicious/noExplicitAny: each case reshapes the statement freely, wrong types included.
    const cases: [string, (s: Record<string, any>) => unknown][] = [
      ['an older _type', (s) => ({ ...s, _type: 'https://in-toto.io/Statement/v0.1' })],
      ['no subject', (s) => ({ ...s, subject: [] })],
      ['a subject without digest', (s) => ({ ...s, subject: [{ name: 'x' }] })],
      [
        'a subject digest in upper case',
        (s) => ({ ...s, subject: [{ name: 'x', digest: { sha256: 'A'.repeat(64) } }] }),
      ],
      ['a numeric predicateType', (s) => ({ ...s, predicateType: 1 })],
      ['a predicate array', (s) => ({ ...s, predicate: [] })],
      [
        'no buildType',
        (s) => ({ ...s, predicate: { ...s.predicate, buildDefinition: { externalParameters: {} } } }),
      ],
      ['no builder id', (s) => ({ ...s, predicate: { ...s.predicate, runDetails: { builder: {} } } })],
      [
        'a dependency with nothing to name it',
        (s) => ({
          ...s,
          predicate: {
            ...s.predicate,
            buildDefinition: { ...s.predicate.buildDefinition, resolvedDependencies: [{ name: 'x' }] },
          },
        }),
      ],
      [
        'a startedOn that is no RFC 3339 time',
        (s) => ({
          ...s,
          predicate: {
            ...s.predicate,
            runDetails: { ...s.predicate.runDetails, metadata: { startedOn: 'yesterday' } },
          },
        }),
      ],
    ];
    for (const [what, change] of cases) {
      assert.equal(
        codeOf(() => readStatement(JSON.stringify(change(good())))),
        'ATTESTATION_MALFORMED',
        what,
      );
    }
    assert.equal(
      codeOf(() => readStatement('{')),
      'ATTESTATION_MALFORMED',
    );
  });
});

describe('readProvenanceAttestation', () => {
  const builder = ed25519();
  const trusted = [toTrustedKey(pem(builder.publicKey))];
  const sign = (statement: unknown, type = IN_TOTO_PAYLOAD_TYPE) =>
    JSON.stringify(signEnvelope(type, JSON.stringify(statement), builder.privateKey));

  it('returns the statement, the signing key, the subject sha512 and the builder', () => {
    const statement = makeBuildProvenance(buildInput());
    const read = readProvenanceAttestation(sign(statement), trusted);
    assert.deepEqual(read.statement, statement);
    assert.equal(read.keyid, keyIdOf(builder.publicKey));
    assert.equal(read.subjectSha512, IMAGE_SHA512);
    assert.equal(read.builderId, 'https://imagetrust.dev/builders/ci/v1');
  });

  it('refuses another payload type, another predicate, several subjects or none with sha512', () => {
    const statement = makeBuildProvenance(buildInput());
    assert.equal(
      codeOf(() => readProvenanceAttestation(sign(statement, 'application/json'), trusted)),
      'ATTESTATION_MALFORMED',
    );
    const other = { ...statement, predicateType: 'https://in-toto.io/attestation/vulns/v0.1', predicate: {} };
    assert.equal(
      codeOf(() => readProvenanceAttestation(sign(other), trusted)),
      'ATTESTATION_MALFORMED',
    );
    const two = {
      ...statement,
      subject: [...statement.subject, { name: 'b', digest: { sha512: IMAGE_SHA512 } }],
    };
    assert.equal(
      codeOf(() => readProvenanceAttestation(sign(two), trusted)),
      'ATTESTATION_MALFORMED',
    );
    const sha256Only = {
      ...statement,
      subject: [{ name: 'a', digest: { sha256: IMAGE_SHA512.slice(0, 64) } }],
    };
    assert.equal(
      codeOf(() => readProvenanceAttestation(sign(sha256Only), trusted)),
      'ATTESTATION_MALFORMED',
    );
    assert.equal(SLSA_PROVENANCE_V1, statement.predicateType);
  });

  it('checks the signature before reading the payload', () => {
    const stranger = ed25519();
    const envelope = JSON.stringify(signEnvelope(IN_TOTO_PAYLOAD_TYPE, 'not even JSON', stranger.privateKey));
    assert.equal(
      codeOf(() => readProvenanceAttestation(envelope, trusted)),
      'ATTESTATION_UNTRUSTED',
    );
  });
});

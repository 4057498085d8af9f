// The release gates for boot tests and provenance, and the boot-test report reader, over plain
// records: no server, no database.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertReleasable,
  type ImageReport,
  type ReleaseRequirements,
  readBootTestReport,
  sameDigest,
} from '../../src/catalog/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { activeImageRecord } from '../support/images.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const SHA512 = 'ab'.repeat(64);
const OTHER = 'cd'.repeat(64);
const image = () => activeImageRecord({ os_hash_algo: 'sha512', os_hash_value: SHA512 });

/** The message of the refusal, or 'no error'; every refusal must be RELEASE_NOT_READY. */
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ImageTrustError, String(error));
    assert.equal(error.code, 'RELEASE_NOT_READY');
    return error.message;
  }
  return 'no error';
};

const report = (kind: ImageReport['kind'], document: unknown, passed = true): ImageReport => ({
  image_id: image().id,
  kind,
  document: JSON.stringify(document),
  digest: `sha256:${'ef'.repeat(32)}`,
  passed,
  attached_by: 'builder',
  attached_at: '2026-06-01T11:00:00Z',
});
const bootTest = (results: { id: string; status: string }[], imageSha512 = SHA512) =>
  report('boot-test', { kind: 'boot-test', image_sha512: imageSha512, results });

const base: ReleaseRequirements = {
  signaturesRequired: false,
  signerTrustProblem: null,
  requireComplianceReport: false,
  report: null,
};

describe('readBootTestReport', () => {
  it('passes with at least one test run and none failed; skips are fine beside a run', () => {
    const read = (results: unknown[]) =>
      readBootTestReport(JSON.stringify({ kind: 'boot-test', image_sha512: SHA512, results }));
    assert.equal(
      read([
        { id: 'a', status: 'pass' },
        { id: 'b', status: 'skip' },
      ]).passed,
      true,
    );
    assert.equal(read([{ id: 'a', status: 'skip' }]).passed, false);
    assert.deepEqual(
      read([
        { id: 'a', status: 'fail' },
        { id: 'b', status: 'error' },
        { id: 'c', status: 'pass' },
      ]).failed,
      ['a', 'b'],
    );
    assert.equal(read([{ id: 'a', status: 'pass' }]).imageSha512, SHA512);
  });

  it('needs the kind, the image digest and well-formed results', () => {
    const code = (document: string) => {
      try {
        readBootTestReport(document);
        return 'no error';
      } catch (error) {
        return (error as ImageTrustError).code;
      }
    };
    const results = [{ id: 'a', status: 'pass' }];
    assert.equal(code('{'), 'MALFORMED_JSON');
    assert.equal(code(JSON.stringify({ image_sha512: SHA512, results })), 'BAD_REQUEST');
    assert.equal(code(JSON.stringify({ kind: 'boot-test', results })), 'BAD_REQUEST');
    assert.equal(
      code(JSON.stringify({ kind: 'boot-test', image_sha512: 'AB'.repeat(64), results })),
      'BAD_REQUEST',
    );
    assert.equal(
      code(JSON.stringify({ kind: 'boot-test', image_sha512: SHA512, results: {} })),
      'BAD_REQUEST',
    );
    assert.equal(
      code(JSON.stringify({ kind: 'boot-test', image_sha512: SHA512, results: [{ id: 1, status: 'pass' }] })),
      'BAD_REQUEST',
    );
    assert.equal(
      code(JSON.stringify({ kind: 'boot-test', image_sha512: SHA512, accelerator: 'hvf', results })),
      'BAD_REQUEST',
    );
  });
});

describe('assertReleasable with release.requireBootTest', () => {
  const needs = (bootTestReport: ImageReport | null): ReleaseRequirements => ({
    ...base,
    requireBootTest: true,
    bootTest: bootTestReport,
  });

  it('needs a boot-test report, and says how to make one', () => {
    assert.match(
      refusal(() => assertReleasable(image(), 'stock', NOW, needs(null))),
      /imagetrust test-boot/,
    );
  });

  it('needs it passed: no failed test and at least one that ran', () => {
    assert.match(
      refusal(() =>
        assertReleasable(image(), 'stock', NOW, needs(bootTest([{ id: 'login', status: 'fail' }]))),
      ),
      /failed tests: login/,
    );
    assert.match(
      refusal(() =>
        assertReleasable(image(), 'stock', NOW, needs(bootTest([{ id: 'login', status: 'skip' }]))),
      ),
      /ran no test/,
    );
  });

  it("needs it bound to the image's data", () => {
    assert.match(
      refusal(() =>
        assertReleasable(image(), 'stock', NOW, needs(bootTest([{ id: 'login', status: 'pass' }], OTHER))),
      ),
      /booted other data/,
    );
    assert.equal(
      refusal(() =>
        assertReleasable(image(), 'stock', NOW, needs(bootTest([{ id: 'login', status: 'pass' }]))),
      ),
      'no error',
    );
  });

  it('asks nothing of boot tests when not required', () => {
    assert.equal(
      refusal(() => assertReleasable(image(), 'stock', NOW, base)),
      'no error',
    );
  });
});

describe('assertReleasable with release.requireProvenance', () => {
  const envelope = report('provenance', {
    payloadType: 'application/vnd.in-toto+json',
    payload: '',
    signatures: [],
  });
  const needs = (
    provenance: ImageReport | null,
    check: ReleaseRequirements['provenanceCheck'],
  ): ReleaseRequirements => ({ ...base, requireProvenance: true, provenance, provenanceCheck: check });
  const verified = (subjectSha512: string) => ({ subjectSha512, builderId: 'https://ci', keyid: 'k' });

  it('needs a provenance attestation, and says how to attach one', () => {
    assert.match(
      refusal(() => assertReleasable(image(), 'stock', NOW, needs(null, null))),
      /--kind provenance/,
    );
  });

  it('needs it to verify now with the trusted keys', () => {
    assert.match(
      refusal(() => assertReleasable(image(), 'stock', NOW, needs(envelope, { problem: 'key withdrawn' }))),
      /does not verify now: key withdrawn/,
    );
  });

  it("needs its subject to be the image's data", () => {
    assert.match(
      refusal(() => assertReleasable(image(), 'stock', NOW, needs(envelope, verified(OTHER)))),
      /about other data/,
    );
    assert.equal(
      refusal(() => assertReleasable(image(), 'stock', NOW, needs(envelope, verified(SHA512)))),
      'no error',
    );
  });

  it('refuses an image with no data yet whatever the attestation says', () => {
    const queued = activeImageRecord({ os_hash_value: null });
    assert.notEqual(
      refusal(() => assertReleasable(queued, 'stock', NOW, needs(envelope, verified(SHA512)))),
      'no error',
    );
  });
});

describe('sameDigest', () => {
  it('matches equal digests only, and never a missing one', () => {
    assert.equal(sameDigest(SHA512, SHA512), true);
    assert.equal(sameDigest(SHA512, OTHER), false);
    assert.equal(sameDigest(SHA512, SHA512.slice(1)), false);
    assert.equal(sameDigest(null, null), false);
    assert.equal(sameDigest('', ''), false);
  });
});

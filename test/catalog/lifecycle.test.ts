// Lifecycle and release rules over plain records: no server, no database.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertReleasable,
  assertSeparateApprover,
  dueLifecycleChange,
  effectiveLifecycle,
  planLifecycleChange,
  type ReleaseRequest,
  readComplianceReport,
  readLifecycleRequest,
} from '../../src/catalog/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { activeImageRecord } from '../support/images.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const at = (offsetHours: number) =>
  new Date(NOW.getTime() + offsetHours * 3600_000).toISOString().replace('.000Z', 'Z');

const image = activeImageRecord;

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ImageTrustError, String(error));
    return error.code;
  }
  return 'no error';
};

describe('effectiveLifecycle', () => {
  it('applies a due schedule before the scheduler stores it', () => {
    assert.equal(effectiveLifecycle(image({ deprecation_at: at(-1) }), NOW), 'deprecated');
    assert.equal(effectiveLifecycle(image({ deprecation_at: at(1) }), NOW), 'available');
    assert.equal(
      effectiveLifecycle(image({ deprecation_at: at(-2), obsolescence_at: at(-1) }), NOW),
      'obsolete',
    );
    assert.equal(effectiveLifecycle(image({ lifecycle_state: 'obsolete' }), NOW), 'obsolete');
  });

  it('reports which stored state lags behind', () => {
    assert.equal(dueLifecycleChange(image({ deprecation_at: at(-1) }), NOW), 'deprecated');
    assert.equal(
      dueLifecycleChange(image({ lifecycle_state: 'deprecated', deprecation_at: at(-1) }), NOW),
      null,
    );
  });
});

describe('readLifecycleRequest', () => {
  it('normalises times to UTC whole seconds and rejects times without a zone', () => {
    assert.deepEqual(readLifecycleRequest({ deprecation_at: '2027-01-31T01:00:00.5+01:00' }), {
      deprecation_at: '2027-01-31T00:00:00Z',
    });
    assert.equal(
      codeOf(() => readLifecycleRequest({ deprecation_at: '2027-01-31T00:00:00' })),
      'BAD_REQUEST',
    );
    assert.equal(
      codeOf(() => readLifecycleRequest({ deprecation_at: 5 })),
      'BAD_REQUEST',
    );
    assert.equal(
      codeOf(() => readLifecycleRequest([])),
      'BAD_REQUEST',
    );
    assert.equal(
      codeOf(() => readLifecycleRequest({ state: 'retired' })),
      'BAD_REQUEST',
    );
  });
});

describe('planLifecycleChange', () => {
  it('deprecates now and records when', () => {
    const plan = planLifecycleChange(image(), { state: 'deprecated' }, NOW);
    assert.equal(plan.to, 'deprecated');
    assert.equal(plan.fields.deprecation_at, '2026-06-01T12:00:00Z');
    assert.equal(plan.restoresObsolete, false);
  });

  it('keeps a future obsolescence when deprecating now', () => {
    const plan = planLifecycleChange(image({ obsolescence_at: at(10) }), { state: 'deprecated' }, NOW);
    assert.equal(plan.fields.obsolescence_at, at(10));
  });

  it('schedules without changing the state, and refuses past times or a wrong order', () => {
    const plan = planLifecycleChange(image(), { deprecation_at: at(1), obsolescence_at: at(2) }, NOW);
    assert.equal(plan.to, 'available');
    assert.equal(
      codeOf(() => planLifecycleChange(image(), { deprecation_at: at(-1) }, NOW)),
      'LIFECYCLE_INVALID',
    );
    assert.equal(
      codeOf(() => planLifecycleChange(image(), { deprecation_at: at(2), obsolescence_at: at(1) }, NOW)),
      'LIFECYCLE_INVALID',
    );
    // Equal times are not an order either.
    assert.equal(
      codeOf(() => planLifecycleChange(image(), { deprecation_at: at(2), obsolescence_at: at(2) }, NOW)),
      'LIFECYCLE_INVALID',
    );
    // A new obsolescence time before an existing deprecation time is refused too.
    assert.equal(
      codeOf(() => planLifecycleChange(image({ deprecation_at: at(5) }), { obsolescence_at: at(1) }, NOW)),
      'LIFECYCLE_INVALID',
    );
  });

  it('brings a deprecated image back when its due deprecation is removed, as IBM Cloud does', () => {
    const deprecated = image({ lifecycle_state: 'deprecated', deprecation_at: at(-1) });
    assert.equal(planLifecycleChange(deprecated, { deprecation_at: null }, NOW).to, 'available');
    assert.equal(planLifecycleChange(deprecated, { state: 'available' }, NOW).fields.deprecation_at, null);
  });

  it('marks any way out of obsolete as a restore, and nothing else', () => {
    const obsolete = image({ lifecycle_state: 'obsolete', obsolescence_at: at(-1) });
    assert.equal(planLifecycleChange(obsolete, { state: 'available' }, NOW).restoresObsolete, true);
    assert.equal(planLifecycleChange(obsolete, { state: 'deprecated' }, NOW).restoresObsolete, true);
    assert.equal(planLifecycleChange(obsolete, { replacement: 'other' }, NOW).restoresObsolete, false);
    assert.equal(planLifecycleChange(obsolete, { replacement: 'other' }, NOW).to, 'obsolete');
    // A schedule that passed counts as obsolete even before it is stored.
    const due = image({ obsolescence_at: at(-1) });
    assert.equal(planLifecycleChange(due, { state: 'available' }, NOW).restoresObsolete, true);
  });

  it('refuses an image as its own replacement', () => {
    assert.equal(
      codeOf(() => planLifecycleChange(image(), { replacement: image().id }, NOW)),
      'LIFECYCLE_INVALID',
    );
  });
});

describe('release rules', () => {
  const request: ReleaseRequest = {
    id: 'r1',
    image_id: image().id,
    target: 'stock',
    status: 'pending',
    requested_by: 'requester',
    requested_at: at(-1),
    reason: null,
    decided_by: null,
    decided_at: null,
    decision_reason: null,
  };
  const needs = {
    signaturesRequired: false,
    signerTrustProblem: null,
    requireComplianceReport: false,
    report: null,
  };

  it('keeps the approver apart from the creator, the uploader, the signer and the requester', () => {
    const signed = image({ created_by: 'creator', uploaded_by: 'uploader', signed_by: 'signer' });
    for (const who of ['creator', 'uploader', 'signer', 'requester']) {
      assert.equal(
        codeOf(() => assertSeparateApprover(who, signed, request)),
        'SEPARATION_OF_DUTIES',
        who,
      );
    }
    assert.equal(
      codeOf(() => assertSeparateApprover('someone-else', signed, request)),
      'no error',
    );
  });

  it('needs an active, unobsolete, unreleased image', () => {
    assert.equal(
      codeOf(() => assertReleasable(image({ status: 'queued' }), 'stock', NOW, needs)),
      'RELEASE_NOT_READY',
    );
    assert.equal(
      codeOf(() => assertReleasable(image({ obsolescence_at: at(-1) }), 'stock', NOW, needs)),
      'RELEASE_NOT_READY',
    );
    assert.equal(
      codeOf(() =>
        assertReleasable(image({ visibility: 'public', image_class: 'stock' }), 'stock', NOW, needs),
      ),
      'RELEASE_NOT_READY',
    );
    // A public stock image may still be listed in the catalog.
    assert.equal(
      codeOf(() =>
        assertReleasable(image({ visibility: 'public', image_class: 'stock' }), 'catalog', NOW, needs),
      ),
      'no error',
    );
  });

  it('needs a trusted signature when the project demands signatures', () => {
    const required = { ...needs, signaturesRequired: true };
    assert.equal(
      codeOf(() => assertReleasable(image(), 'stock', NOW, required)),
      'RELEASE_NOT_READY',
    );
    assert.equal(
      codeOf(() =>
        assertReleasable(image({ signed_by: 'signer' }), 'stock', NOW, {
          ...required,
          signerTrustProblem: 'expired',
        }),
      ),
      'RELEASE_NOT_READY',
    );
    assert.equal(
      codeOf(() => assertReleasable(image({ signed_by: 'signer' }), 'stock', NOW, required)),
      'no error',
    );
  });

  it('reads scan reports: passing only with results and no failures or errors', () => {
    assert.deepEqual(
      readComplianceReport('{"results":[{"id":"a","status":"pass"},{"id":"b","status":"not-applicable"}]}'),
      {
        passed: true,
        failed: [],
        imageSha512: null,
      },
    );
    assert.deepEqual(
      readComplianceReport('{"results":[{"id":"a","status":"error"},{"id":"b","status":"fail"}]}'),
      {
        passed: false,
        failed: ['a', 'b'],
        imageSha512: null,
      },
    );
    const digest = 'ab'.repeat(64);
    assert.equal(
      readComplianceReport(`{"image_sha512":"${digest}","results":[{"id":"a","status":"pass"}]}`).imageSha512,
      digest,
    );
    assert.equal(
      codeOf(() => readComplianceReport('{"image_sha512":"AB","results":[{"id":"a","status":"pass"}]}')),
      'BAD_REQUEST',
    );
    assert.equal(
      codeOf(() => readComplianceReport('{"results":[]}')),
      'BAD_REQUEST',
    );
    assert.equal(
      codeOf(() => readComplianceReport('{"results":[{"status":"pass"}]}')),
      'BAD_REQUEST',
    );
    assert.equal(
      codeOf(() => readComplianceReport('[')),
      'MALFORMED_JSON',
    );
  });
});

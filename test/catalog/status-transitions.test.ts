// The status-transition table against Glance's own (glance/domain/__init__.py, `Image.status`'s
// valid_state_targets), every pair of statuses, and the sources the catalog's status changes use.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IMAGE_STATUSES,
  type ImageStatus,
  isStatusTransitionAllowed,
  statusesThatMayBecome,
} from '../../src/catalog/model.ts';
import { ImageTrustError } from '../../src/errors/index.ts';

/** Glance's table, copied from its source as the oracle; the model must agree on all 81 pairs. */
const GLANCE_TARGETS: Record<ImageStatus, ImageStatus[]> = {
  queued: ['saving', 'uploading', 'importing', 'active', 'deleted'],
  saving: ['active', 'killed', 'deleted', 'queued'],
  uploading: ['importing', 'queued', 'deleted'],
  importing: ['active', 'deleted', 'queued'],
  active: ['pending_delete', 'deleted', 'deactivated'],
  killed: ['deleted'],
  pending_delete: ['deleted', 'active'],
  deleted: [],
  deactivated: ['active', 'deleted'],
};

const sorted = (statuses: readonly ImageStatus[]) => [...statuses].sort();

describe('isStatusTransitionAllowed', () => {
  for (const from of IMAGE_STATUSES) {
    const allowed = new Set([from, ...GLANCE_TARGETS[from]]);
    it(`lets ${from} become ${[...allowed].join(', ')} and nothing else`, () => {
      for (const to of IMAGE_STATUSES) {
        assert.equal(isStatusTransitionAllowed(from, to), allowed.has(to), `${from} → ${to}`);
      }
    });
  }

  it('follows an upload: queued → saving → active, or saving → killed → deleted', () => {
    assert.ok(isStatusTransitionAllowed('queued', 'saving'));
    assert.ok(isStatusTransitionAllowed('saving', 'active'));
    assert.ok(isStatusTransitionAllowed('saving', 'killed'));
    assert.ok(isStatusTransitionAllowed('killed', 'deleted'));
    assert.ok(!isStatusTransitionAllowed('killed', 'queued'));
    assert.ok(!isStatusTransitionAllowed('active', 'saving'));
    assert.ok(!isStatusTransitionAllowed('active', 'queued'));
  });

  it('follows an import: queued → uploading → importing → active, and back to queued on failure', () => {
    assert.ok(isStatusTransitionAllowed('queued', 'uploading'));
    assert.ok(isStatusTransitionAllowed('uploading', 'importing'));
    assert.ok(isStatusTransitionAllowed('importing', 'active'));
    assert.ok(isStatusTransitionAllowed('uploading', 'queued'));
    assert.ok(isStatusTransitionAllowed('importing', 'queued'));
    assert.ok(!isStatusTransitionAllowed('uploading', 'active'));
  });

  it('moves active ↔ deactivated, but a deactivated image does not go back to queued', () => {
    assert.ok(isStatusTransitionAllowed('active', 'deactivated'));
    assert.ok(isStatusTransitionAllowed('deactivated', 'active'));
    assert.ok(!isStatusTransitionAllowed('deactivated', 'queued'));
    assert.ok(!isStatusTransitionAllowed('queued', 'deactivated'));
  });

  it('lets every status but deleted be deleted, and nothing leaves deleted', () => {
    for (const from of IMAGE_STATUSES) {
      if (from !== 'deleted') assert.ok(isStatusTransitionAllowed(from, 'deleted'), from);
    }
    for (const to of IMAGE_STATUSES) {
      if (to !== 'deleted') assert.ok(!isStatusTransitionAllowed('deleted', to), to);
    }
  });
});

describe('statusesThatMayBecome', () => {
  for (const to of IMAGE_STATUSES) {
    const expected = IMAGE_STATUSES.filter((from) => GLANCE_TARGETS[from].includes(to));
    it(`lists the statuses that may become ${to}: ${expected.join(', ') || 'none'}`, () => {
      const sources = statusesThatMayBecome(to);
      assert.deepEqual(sorted(sources), sorted(expected));
      assert.ok(!sources.includes(to), 'staying put is not a transition to write');
    });
  }

  it('gives the sources the catalog uses for each of its status changes', () => {
    // An upload starts only from queued, and a delete works from every status but deleted.
    assert.deepEqual(statusesThatMayBecome('saving'), ['queued']);
    assert.deepEqual(
      sorted(statusesThatMayBecome('deleted')),
      sorted(IMAGE_STATUSES.filter((s) => s !== 'deleted')),
    );
    assert.deepEqual(statusesThatMayBecome('deactivated'), ['active']);
    assert.deepEqual(sorted(statusesThatMayBecome('killed')), ['saving']);
  });

  it('narrows to the sources an operation names when the table allows each', () => {
    assert.deepEqual(statusesThatMayBecome('active', ['saving']), ['saving']);
    assert.deepEqual(statusesThatMayBecome('queued', ['saving']), ['saving']);
    assert.deepEqual(statusesThatMayBecome('active', ['deactivated']), ['deactivated']);
    assert.deepEqual(statusesThatMayBecome('deactivated', ['active']), ['active']);
  });

  for (const [to, among] of [
    ['active', ['killed']],
    ['active', ['saving', 'deleted']],
    ['queued', ['active']],
    ['saving', ['saving']],
    ['deactivated', ['queued']],
    ['uploading', ['importing']],
  ] as [ImageStatus, ImageStatus[]][]) {
    it(`refuses (INTERNAL) a change to ${to} from ${among.join(' or ')}, which the table does not allow`, () => {
      assert.throws(
        () => statusesThatMayBecome(to, among),
        (error: unknown) => error instanceof ImageTrustError && error.code === 'INTERNAL',
      );
    });
  }

  it('hands out lists nobody can change', () => {
    assert.throws(() => (statusesThatMayBecome('deleted') as ImageStatus[]).push('deleted'), TypeError);
    assert.ok(!statusesThatMayBecome('deleted').includes('deleted'));
  });
});

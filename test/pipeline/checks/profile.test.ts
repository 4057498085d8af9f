import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageTrustError } from '../../../src/errors/index.ts';
import { CHECK_IDS, parseProfile } from '../../../src/pipeline/checks/index.ts';

const invalid = (error: unknown) => error instanceof ImageTrustError && error.code === 'CONFIG_INVALID';

describe('parseProfile', () => {
  it('fills defaults for an empty profile', () => {
    const profile = parseProfile('', CHECK_IDS);
    assert.equal(profile.checks, undefined);
    assert.deepEqual(profile.params.requiredKernelArgs, ['console=ttyS0']);
    assert.ok(Object.isFrozen(profile));
  });

  it('rejects unknown keys', () => {
    assert.throws(() => parseProfile('approvedHosts: [x]\n', CHECK_IDS), invalid);
  });

  it('rejects values of the wrong type', () => {
    assert.throws(() => parseProfile('requiredUnits: ssh.service\n', CHECK_IDS), invalid);
  });

  it('rejects unknown check ids', () => {
    assert.throws(() => parseProfile('checks: [no-such-check]\n', CHECK_IDS), invalid);
  });

  it('rejects malformed YAML', () => {
    assert.throws(() => parseProfile('checks: [unclosed\n', CHECK_IDS), invalid);
  });
});

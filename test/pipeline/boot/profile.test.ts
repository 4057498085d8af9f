import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageTrustError } from '../../../src/errors/index.ts';
import { BOOT_TEST_IDS, parseBootProfile, withProperties } from '../../../src/pipeline/boot/index.ts';
import { testTimeoutMs } from '../../../src/pipeline/boot/profile.ts';

const invalid = (error: unknown) => error instanceof ImageTrustError && error.code === 'CONFIG_INVALID';

describe('parseBootProfile', () => {
  it('gives the built-in debian-12-cloud profile for empty text: every test, virtio RNG, Debian 12', () => {
    const profile = parseBootProfile('');
    assert.equal(profile.name, 'debian-12-cloud');
    assert.deepEqual(profile.tests, [...BOOT_TEST_IDS]);
    assert.deepEqual(profile.distribution, { id: 'debian', versionId: '12' });
    assert.equal(profile.properties.hw_rng_model, 'virtio');
    assert.equal(profile.timeouts.boot, 600);
    assert.ok(Object.isFrozen(profile));
  });

  it('reads JSON as well as YAML, keeps catalogue order and drops skipped tests', () => {
    const profile = parseBootProfile(
      JSON.stringify({
        name: 'mini',
        tests: ['linux_check_no_swap', 'image_responds_to_ping', 'check_virtio_rng'],
        skip: ['check_virtio_rng'],
      }),
    );
    assert.equal(profile.name, 'mini');
    assert.deepEqual(profile.tests, ['image_responds_to_ping', 'linux_check_no_swap']);
  });

  it('takes per-test timeouts in seconds and falls back to the default', () => {
    const profile = parseBootProfile('timeouts:\n  default: 30\n  linux_check_no_swap: 5\n');
    assert.equal(testTimeoutMs(profile, 'linux_check_no_swap'), 5000);
    assert.equal(testTimeoutMs(profile, 'linux_check_distribution'), 30_000);
    assert.equal(profile.timeouts.boot, 600);
  });

  it('rejects unknown keys, wrong types, unknown test ids and bad YAML with CONFIG_INVALID', () => {
    assert.throws(() => parseBootProfile('distro: debian\n'), invalid);
    assert.throws(() => parseBootProfile('requiredModules: virtio_net\n'), invalid);
    assert.throws(() => parseBootProfile('tests: [no_such_test]\n'), invalid);
    assert.throws(() => parseBootProfile('timeouts: { no_such_test: 3 }\n'), invalid);
    assert.throws(() => parseBootProfile('timeouts: { boot: -1 }\n'), invalid);
    assert.throws(() => parseBootProfile('tests: [unclosed\n'), invalid);
  });

  it('lets --property override the profile image properties', () => {
    const profile = withProperties(parseBootProfile(''), { hw_rng_model: 'none' });
    assert.equal(profile.properties.hw_rng_model, 'none');
  });
});

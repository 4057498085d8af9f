import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toFailedLoginUser } from '../../src/identity/index.ts';

describe('toFailedLoginUser', () => {
  const key = Buffer.alloc(32, 7);

  it('names a user that exists', () => {
    assert.deepEqual(toFailedLoginUser('alice', true, key), { user: 'alice' });
  });

  it('records an unknown name only as an HMAC that depends on the key', () => {
    const hashed = toFailedLoginUser('pa55word', false, key);
    assert.equal(hashed.user, null);
    assert.match(hashed.user_hmac ?? '', /^[0-9a-f]{64}$/);
    assert.notEqual(toFailedLoginUser('pa55word', false, Buffer.alloc(32, 8)).user_hmac, hashed.user_hmac);
    assert.equal(toFailedLoginUser('pa55word', false, key).user_hmac, hashed.user_hmac);
  });

  it('records nothing about an unknown name without a key, and nothing when no name was given', () => {
    assert.deepEqual(toFailedLoginUser('pa55word', false, null), { user: null });
    assert.deepEqual(toFailedLoginUser(null, false, key), { user: null });
  });
});

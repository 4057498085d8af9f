// Reading secret metadata requests as Barbican's validators do: pure, without a server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import { readMetadataRequest, readMetadatumRequest } from '../../src/keys/index.ts';

const refused = (read: () => unknown, code = 'BAD_REQUEST') =>
  assert.throws(read, (error) => error instanceof ImageTrustError && error.code === code);

describe('readMetadataRequest', () => {
  it('lowers keys, the last upper-case variant winning over the lower-case key wherever it stands', () => {
    assert.deepEqual(readMetadataRequest({ metadata: { a: '1', A: '2' } }), { a: '2' });
    assert.deepEqual(readMetadataRequest({ metadata: { A: '2', a: '1' } }), { a: '2' });
    assert.deepEqual(readMetadataRequest({ metadata: { A: '2', a: '1', Aa: 'x', aA: 'y' } }), {
      a: '2',
      aa: 'y',
    });
  });

  it('strips values, has no length limit, and keeps other top-level fields out', () => {
    const long = 'x'.repeat(5000);
    assert.deepEqual(readMetadataRequest({ metadata: { k: ` ${long} ` }, other: 1 }), { k: long });
    assert.deepEqual(readMetadataRequest({ metadata: {} }), {});
  });

  it('refuses a missing or non-object map, unsafe keys and non-string values', () => {
    for (const body of [
      null,
      [],
      {},
      { metadata: 'x' },
      { metadata: { 'a b': 'x' } },
      { metadata: { a: null } },
    ]) {
      refused(() => readMetadataRequest(body));
    }
  });
});

describe('readMetadatumRequest', () => {
  it('reads a key (lowered) and a value of up to 255 characters', () => {
    assert.deepEqual(readMetadatumRequest({ key: ' Team_A-1 ', value: 'v'.repeat(255) }), {
      key: 'team_a-1',
      value: 'v'.repeat(255),
    });
  });

  it('refuses extra or missing fields, non-strings, over-long strings and unsafe keys', () => {
    for (const body of [
      [],
      { key: 'a' },
      { value: 'a' },
      { key: 'a', value: 'b', c: 'd' },
      { key: 1, value: 'b' },
      { key: 'a'.repeat(256), value: 'b' },
      { key: 'a', value: 'b'.repeat(256) },
      { key: 'a:b', value: 'b' },
    ]) {
      refused(() => readMetadatumRequest(body));
    }
  });
});

// Envelope encryption of secret payloads: round trips, and every kind of tampering or wrong key ends
// in SECRET_CORRUPT rather than in wrong bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import {
  addCurrentKek,
  createKek,
  type Keyring,
  keyringFromBase64,
  openPayload,
  parseKeyring,
  retireKeks,
  rewrapDataKey,
  type SealedPayload,
  sealPayload,
  serializeKeyring,
} from '../../src/keys/index.ts';

const NOW = new Date('2024-03-01T10:00:00Z');
const binding = {
  secretId: '6a1f1c1e-0c43-4b8e-9f4e-2f1b8c0f7a11',
  projectId: 'project-a',
  contentType: 'text/plain',
};

function newKeyring(): Keyring {
  const kek = createKek(NOW);
  return { current: kek.id, keys: [kek] };
}

function assertCorrupt(work: () => unknown): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof ImageTrustError);
    assert.equal(error.code, 'SECRET_CORRUPT');
    return true;
  });
}

/** Flips one bit of a base64 field at a byte offset (negative counts from the end). */
function flip(base64: string, at: number): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[at < 0 ? bytes.length + at : at] ^= 0x01;
  return bytes.toString('base64');
}

describe('sealPayload and openPayload', () => {
  it('round-trips a payload, and the stored form contains neither the payload nor the data key in clear', () => {
    const keyring = newKeyring();
    const payload = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n');
    const sealed = sealPayload(keyring, binding, payload);
    assert.equal(sealed.kekId, keyring.current);
    assert.deepEqual(openPayload(keyring, binding, sealed), payload);
    assert.ok(!Buffer.from(sealed.ciphertext, 'base64').includes(Buffer.from('BEGIN CERTIFICATE')));
    // 12-byte nonce + 32-byte key + 16-byte tag.
    assert.equal(Buffer.from(sealed.wrappedKey, 'base64').length, 60);
  });

  it('uses a fresh data key and nonce for every payload', () => {
    const keyring = newKeyring();
    const payload = randomBytes(64);
    const a = sealPayload(keyring, binding, payload);
    const b = sealPayload(keyring, binding, payload);
    assert.notEqual(a.wrappedKey, b.wrappedKey);
    assert.notEqual(a.ciphertext, b.ciphertext);
  });

  it('refuses a tampered ciphertext, nonce or tag', () => {
    const keyring = newKeyring();
    const sealed = sealPayload(keyring, binding, Buffer.from('secret bytes'));
    for (const at of [0, 13, -1]) {
      assertCorrupt(() =>
        openPayload(keyring, binding, { ...sealed, ciphertext: flip(sealed.ciphertext, at) }),
      );
    }
  });

  it('refuses a tampered or truncated wrapped data key', () => {
    const keyring = newKeyring();
    const sealed = sealPayload(keyring, binding, Buffer.from('secret bytes'));
    assertCorrupt(() =>
      openPayload(keyring, binding, { ...sealed, wrappedKey: flip(sealed.wrappedKey, 20) }),
    );
    assertCorrupt(() =>
      openPayload(keyring, binding, { ...sealed, wrappedKey: sealed.wrappedKey.slice(0, 8) }),
    );
  });

  it('refuses a payload moved to another secret, project or content type', () => {
    const keyring = newKeyring();
    const sealed = sealPayload(keyring, binding, Buffer.from('secret bytes'));
    assertCorrupt(() => openPayload(keyring, { ...binding, secretId: 'another-secret' }, sealed));
    assertCorrupt(() => openPayload(keyring, { ...binding, projectId: 'project-b' }, sealed));
    assertCorrupt(() =>
      openPayload(keyring, { ...binding, contentType: 'application/octet-stream' }, sealed),
    );
  });

  it('refuses a data key swapped in from another secret', () => {
    const keyring = newKeyring();
    const mine = sealPayload(keyring, binding, Buffer.from('mine'));
    const other = sealPayload(keyring, { ...binding, secretId: 'other' }, Buffer.from('other'));
    assertCorrupt(() => openPayload(keyring, binding, { ...mine, wrappedKey: other.wrappedKey }));
  });

  it('refuses to decrypt under a wrong KEK that carries the right id', () => {
    const keyring = newKeyring();
    const sealed = sealPayload(keyring, binding, Buffer.from('secret bytes'));
    const impostor: Keyring = {
      current: keyring.current,
      keys: [{ ...keyring.keys[0], key: randomBytes(32) }],
    };
    assertCorrupt(() => openPayload(impostor, binding, sealed));
  });

  it('refuses a payload whose KEK is not in the keyring', () => {
    const sealed = sealPayload(newKeyring(), binding, Buffer.from('secret bytes'));
    assertCorrupt(() => openPayload(newKeyring(), binding, sealed));
  });
});

describe('rewrapDataKey', () => {
  it('re-wraps under the new current KEK, leaves the ciphertext as it was, and opens without the old KEK', () => {
    const first = newKeyring();
    const sealed = sealPayload(first, binding, Buffer.from('rotate me'));
    const rotated = addCurrentKek(first, createKek(new Date('2024-04-01T00:00:00Z')));
    const next = rewrapDataKey(rotated, binding, sealed);
    assert.equal(next.kekId, rotated.current);
    assert.notEqual(next.kekId, sealed.kekId);
    const moved: SealedPayload = { ...sealed, ...next };
    const retired = retireKeks(rotated, [first.current]);
    assert.deepEqual(openPayload(retired, binding, moved), Buffer.from('rotate me'));
    // The old wrapping is useless once its KEK is retired.
    assertCorrupt(() => openPayload(retired, binding, sealed));
  });

  it('never retires the current KEK', () => {
    const keyring = newKeyring();
    assert.throws(() => retireKeks(keyring, [keyring.current]), { code: 'CONFIG_INVALID' });
  });
});

describe('keyring serialisation', () => {
  it('round-trips a keyring of several KEKs through its JSON file form', () => {
    const keyring = addCurrentKek(newKeyring(), createKek(new Date('2024-05-01T00:00:00Z')));
    const parsed = parseKeyring(serializeKeyring(keyring), 'kek.json');
    assert.equal(parsed.current, keyring.current);
    assert.deepEqual(
      parsed.keys.map((k) => [k.id, k.key.toString('hex')]),
      keyring.keys.map((k) => [k.id, k.key.toString('hex')]),
    );
  });

  it('rejects malformed keyrings with CONFIG_INVALID', () => {
    const good = JSON.parse(serializeKeyring(newKeyring()));
    const cases = [
      'not json',
      JSON.stringify({ ...good, version: 2 }),
      JSON.stringify({ ...good, current: 'missing' }),
      JSON.stringify({ ...good, keys: [{ ...good.keys[0], key: Buffer.alloc(16).toString('base64') }] }),
      JSON.stringify({ ...good, keys: [good.keys[0], good.keys[0]] }),
    ];
    for (const text of cases) assert.throws(() => parseKeyring(text, 'kek.json'), { code: 'CONFIG_INVALID' });
  });

  it('takes a single KEK from base64 of exactly 32 bytes, and nothing else', () => {
    const value = randomBytes(32).toString('base64');
    const keyring = keyringFromBase64('env', value, 'IMAGETRUST_KEK');
    assert.equal(keyring.current, 'env');
    const sealed = sealPayload(keyring, binding, Buffer.from('x'));
    assert.equal(sealed.kekId, 'env');
    for (const bad of ['', randomBytes(16).toString('base64'), 'not base64!!'])
      assert.throws(() => keyringFromBase64('env', bad, 'IMAGETRUST_KEK'), { code: 'CONFIG_INVALID' });
  });
});

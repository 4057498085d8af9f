import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createSimpleSigningPayload,
  parseSimpleSigningPayload,
} from '../../../src/containers/signing/index.ts';

const DIGEST = 'sha256:75eb71f2cb69781c91a99645f23e687ae5b08a48542f852de53d1cca370285b7';
const CRITICAL = `{"identity":{"docker-reference":"example.com/ns/app:v1"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"}`;

function payloadWith(
  critical: string,
  optional = '{"creator":"atomic 5.23.1","timestamp":1795373928}',
): Buffer {
  return Buffer.from(`{"critical":${critical},"optional":${optional}}`);
}

describe('createSimpleSigningPayload', () => {
  it('writes sorted, compact JSON with an integral timestamp, as c/image does', () => {
    const payload = createSimpleSigningPayload({
      dockerManifestDigest: DIGEST,
      dockerReference: 'example.com/ns/app:v1',
      creator: 'atomic 5.23.1',
      now: new Date(1795373928_900),
    });
    assert.equal(
      payload.toString(),
      `{"critical":${CRITICAL},"optional":{"creator":"atomic 5.23.1","timestamp":1795373928}}`,
    );
  });

  it('stores the reference exactly as given, without normalising it', () => {
    const payload = createSimpleSigningPayload({
      dockerManifestDigest: DIGEST,
      dockerReference: 'Not A <Reference>',
      creator: 'c',
      now: new Date(0),
    });
    assert.match(payload.toString(), /"docker-reference":"Not A \\u003cReference\\u003e"/);
    assert.equal(parseSimpleSigningPayload(payload).dockerReference, 'Not A <Reference>');
  });

  it('refuses empty content', () => {
    assert.throws(
      () =>
        createSimpleSigningPayload({
          dockerManifestDigest: '',
          dockerReference: 'x',
          creator: 'c',
          now: new Date(),
        }),
      { message: 'Unexpected empty signature content' },
    );
  });
});

describe('parseSimpleSigningPayload', () => {
  it('reads what c/image writes', () => {
    assert.deepEqual(parseSimpleSigningPayload(payloadWith(CRITICAL)), {
      dockerManifestDigest: DIGEST,
      dockerReference: 'example.com/ns/app:v1',
      creator: 'atomic 5.23.1',
      timestamp: 1795373928,
    });
  });

  const accepted: [string, Buffer][] = [
    ['an empty optional object', payloadWith(CRITICAL, '{}')],
    ['unknown keys inside optional', payloadWith(CRITICAL, '{"x":[1,{"y":null}],"creator":"c"}')],
    ['a timestamp written with an exponent', payloadWith(CRITICAL, '{"timestamp":1.6e9}')],
    ['keys in any order and whitespace', Buffer.from(` { "optional" : {} ,\n "critical" : ${CRITICAL} } `)],
    [
      'a digest that is not a digest (checked later, against the manifest)',
      payloadWith(CRITICAL.replace(DIGEST, 'x')),
    ],
  ];
  for (const [name, bytes] of accepted) {
    it(`accepts ${name}`, () => {
      assert.equal(typeof parseSimpleSigningPayload(bytes).dockerReference, 'string');
    });
  }

  const rejected: [string, Buffer, string][] = [
    [
      'a missing optional',
      Buffer.from(`{"critical":${CRITICAL}}`),
      'Key "optional" missing in a JSON object',
    ],
    ['a missing critical', Buffer.from('{"optional":{}}'), 'Key "critical" missing in a JSON object'],
    [
      'an extra top-level key',
      Buffer.from(`{"critical":${CRITICAL},"optional":{},"x":1}`),
      'Unknown key "x"',
    ],
    ['a null optional', payloadWith(CRITICAL, 'null'), 'JSON object expected, got "%!s(<nil>)"'],
    ['an array at the top', Buffer.from('[1]'), 'JSON object expected, got "["'],
    [
      'a numeric creator',
      payloadWith(CRITICAL, '{"creator":1}'),
      'json: cannot unmarshal number into Go value of type string',
    ],
    [
      'a string timestamp',
      payloadWith(CRITICAL, '{"timestamp":"1"}'),
      'json: cannot unmarshal string into Go value of type float64',
    ],
    [
      'a fractional timestamp',
      payloadWith(CRITICAL, '{"timestamp":1600000000.5}'),
      'Field optional.timestamp is not is not an integer',
    ],
    ['a duplicate key in optional', payloadWith(CRITICAL, '{"x":1,"x":2}'), 'Duplicate key "x"'],
    [
      'a duplicate type',
      payloadWith(CRITICAL.replace('"type":', '"type":"a","type":')),
      'Duplicate key "type"',
    ],
    [
      'an unknown critical key',
      payloadWith(CRITICAL.replace('{"identity"', '{"x":1,"identity"')),
      'Unknown key "x"',
    ],
    [
      'a missing identity',
      payloadWith(`{"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"}`),
      'Key "identity" missing in a JSON object',
    ],
    [
      'another signature type',
      payloadWith(CRITICAL.replace('atomic container signature', 'cosign container image signature')),
      'Unrecognized signature type cosign container image signature',
    ],
    [
      'an extra key in image',
      payloadWith(CRITICAL.replace('"image":{', '"image":{"x":1,')),
      'Unknown key "x"',
    ],
    [
      'an extra key in identity',
      payloadWith(CRITICAL.replace('"identity":{', '"identity":{"x":1,')),
      'Unknown key "x"',
    ],
    [
      'a numeric reference',
      payloadWith(CRITICAL.replace('"example.com/ns/app:v1"', '1')),
      'json: cannot unmarshal number into Go value of type string',
    ],
    [
      'an object digest',
      payloadWith(CRITICAL.replace(`"${DIGEST}"`, '{}')),
      'json: cannot unmarshal object into Go value of type string',
    ],
    ['a string critical', payloadWith('"x"'), 'JSON object expected, got "x"'],
    ['invalid JSON', Buffer.from('{"critical":'), 'unexpected end of JSON input'],
    [
      'trailing data',
      Buffer.from(`${payloadWith(CRITICAL)}x`),
      "invalid character 'x' after top-level value",
    ],
  ];
  for (const [name, bytes, message] of rejected) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseSimpleSigningPayload(bytes), { code: 'SIGNATURE_INVALID', message });
    });
  }

  it('reports optional errors before critical ones, as c/image reads optional first', () => {
    assert.throws(() => parseSimpleSigningPayload(payloadWith('{"x":1}', '{"creator":1}')), {
      message: 'json: cannot unmarshal number into Go value of type string',
    });
  });
});

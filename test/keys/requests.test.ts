// Barbican's request rules without a server: the new-secret validator, payload negotiation by Accept, the
// two-step upload and the list query. Descriptions are asserted exactly where Barbican's own are the
// contract (the texts were captured from a real Barbican 15.0.1).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import {
  negotiatePayload,
  parseIsoTime,
  readSecretCreateRequest,
  readSecretListQuery,
} from '../../src/keys/index.ts';
import { readPayloadUpload } from '../../src/keys/requests.ts';

const NOW = new Date('2024-03-01T10:00:00Z');

function rejects(work: () => unknown, code: string, description?: string): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof ImageTrustError, String(error));
    assert.equal(error.code, code);
    if (description !== undefined) assert.equal(error.message, description);
    return true;
  });
}

const schemaError = (reason: string, property: string) =>
  `Provided object does not match schema 'Secret': ${reason}. Invalid property: '${property}'`;

describe('readSecretCreateRequest', () => {
  it('reads the openstack client certificate request: base64 octet-stream payload decoded to bytes', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const request = readSecretCreateRequest(
      {
        name: ' signing-cert ',
        algorithm: 'aes',
        mode: 'cbc',
        bit_length: 256,
        secret_type: 'certificate',
        payload: Buffer.from(pem).toString('base64'),
        payload_content_type: 'application/octet-stream',
        payload_content_encoding: 'base64',
      },
      NOW,
    );
    assert.equal(request.name, 'signing-cert');
    assert.equal(request.secretType, 'certificate');
    assert.equal(request.bitLength, 256);
    assert.equal(request.payload?.contentType, 'application/octet-stream');
    assert.equal(request.payload?.bytes.toString(), pem);
  });

  it('defaults to an opaque secret without payload, and stores text as UTF-8 under text/plain', () => {
    const bare = readSecretCreateRequest({}, NOW);
    assert.equal(bare.secretType, 'opaque');
    assert.equal(bare.payload, null);
    const text = readSecretCreateRequest(
      { payload: 'héllo', payload_content_type: 'text/plain; charset=utf-8' },
      NOW,
    );
    assert.equal(text.payload?.contentType, 'text/plain');
    assert.equal(text.payload?.bytes.toString('utf8'), 'héllo');
  });

  it('rejects what Barbican rejects, with its descriptions', () => {
    const cases: [unknown, string, string][] = [
      [
        { payload: 'abc' },
        "If 'payload' is supplied, 'payload_content_type' must also be supplied.",
        'payload_content_type',
      ],
      [
        { payload: 'abc', payload_content_type: 'text/html' },
        "payload_content_type is not one of ['text/plain', 'text/plain;charset=utf-8', 'text/plain; charset=utf-8', 'application/octet-stream', 'application/pkcs8']",
        'payload_content_type',
      ],
      [
        { payload: 'abc', payload_content_type: 'text/plain', payload_content_encoding: 'base64' },
        'payload_content_encoding is not one of None',
        'payload_content_encoding',
      ],
      [
        { payload: 'abc', payload_content_type: 'application/octet-stream' },
        "payload_content_encoding is not one of ['base64', 'binary']",
        'payload_content_encoding',
      ],
      [
        {
          payload: 'abc',
          payload_content_type: 'application/octet-stream',
          payload_content_encoding: 'binary',
        },
        "'binary' is not one of ['base64']",
        'payload_content_encoding',
      ],
      [
        {
          payload: 'abc',
          payload_content_type: 'application/octet-stream',
          payload_content_encoding: 'base64',
        },
        'Invalid payload for payload_content_encoding',
        'payload',
      ],
      [
        { payload: 'x', payload_content_type: 'text/plain', expiration: '2001-01-01T00:00:00Z' },
        "'expiration' is before current time",
        'expiration',
      ],
      [{ expiration: 'yesterday' }, "Invalid date for 'expiration'", 'expiration'],
      [
        { secret_type: 'x509' },
        "'x509' is not one of ['symmetric', 'passphrase', 'private', 'public', 'certificate', 'opaque']",
        'secret_type',
      ],
      [{ bit_length: 0 }, '0 is less than the minimum of 1', 'bit_length'],
      [{ bit_length: '256' }, "'256' is not of type 'integer'", 'bit_length'],
      [{ bit_length: 1.5 }, "1.5 is not of type 'integer'", 'bit_length'],
      [{ bit_length: true }, "True is not of type 'integer'", 'bit_length'],
      [
        { payload: '  ', payload_content_type: 'text/plain' },
        "If 'payload' specified, must be non empty",
        'payload',
      ],
      [{ payload: null, payload_content_type: 'text/plain' }, "None is not of type 'string'", 'payload'],
      [
        { payload_content_type: 'text/plain' },
        'payload must be provided when payload_content_type is specified',
        'payload',
      ],
      [{ name: 5 }, "5 is not of type 'string', 'null'", 'name'],
      [{ name: 'a'.repeat(256) }, `'${'a'.repeat(256)}' is too long`, 'name'],
      // Two violations: the earlier property in Barbican's schema is the one reported.
      [{ secret_type: 'x', bit_length: 0 }, '0 is less than the minimum of 1', 'bit_length'],
    ];
    for (const [body, reason, property] of cases) {
      rejects(() => readSecretCreateRequest(body, NOW), 'BAD_REQUEST', schemaError(reason, property));
    }
    rejects(
      () => readSecretCreateRequest([], NOW),
      'BAD_REQUEST',
      schemaError("[] is not of type 'object'", 'None'),
    );
  });

  it('refuses a payload over 20000 bytes with 413', () => {
    rejects(
      () => readSecretCreateRequest({ payload: 'a'.repeat(20001), payload_content_type: 'text/plain' }, NOW),
      'SECRET_TOO_LARGE',
      'Provided information too large to process',
    );
  });

  it('accepts the ISO 8601 forms oslo accepts for expiration, and normalises them to UTC', () => {
    assert.equal(parseIsoTime('2099-01-01'), '2099-01-01T00:00:00.000Z');
    assert.equal(parseIsoTime('2099-01-01T10:00:00+02:00'), '2099-01-01T08:00:00.000Z');
    assert.equal(parseIsoTime('2099-01-01T10:00:00-00:30'), '2099-01-01T10:30:00.000Z');
    assert.equal(parseIsoTime('20990101'), '2099-01-01T00:00:00.000Z');
    assert.equal(parseIsoTime('2099-01-01 10:00:00.123456Z'), '2099-01-01T10:00:00.123Z');
    for (const bad of ['2099-02-30', '2099-01-01T24:00:00', 'yesterday', '2099-01-01T10:00:00 Z']) {
      assert.equal(parseIsoTime(bad), null, bad);
    }
  });
});

describe('negotiatePayload', () => {
  const bytes = Buffer.from('hello world');
  const op = 'Secret payload retrieval';

  it('answers as Barbican does for each Accept', () => {
    const cases: [string | undefined, string][] = [
      [undefined, 'application/octet-stream'],
      ['application/octet-stream', 'application/octet-stream'],
      ['text/plain', 'text/plain; charset=UTF-8'],
      ['text/plain;charset=utf-8', 'text/plain;charset=utf-8'],
      ['application/pkcs8', 'application/pkcs8'],
      // `*/*` returns the stored type's bytes but echoes the header, as Barbican does.
      ['*/*', '*/*'],
    ];
    for (const [accept, type] of cases) {
      const answer = negotiatePayload(bytes, 'application/octet-stream', accept, op);
      assert.equal(answer.contentType, type, String(accept));
      assert.deepEqual(answer.body, bytes);
    }
  });

  it('refuses other types with 406, and an unnormalised spelling with 400', () => {
    for (const accept of ['application/json', 'text/html', 'text/plain, application/octet-stream']) {
      rejects(
        () => negotiatePayload(bytes, 'text/plain', accept, op),
        'NOT_ACCEPTABLE',
        `${op} issue seen - Wrong payload content-type.`,
      );
    }
    rejects(
      () => negotiatePayload(bytes, 'text/plain', 'TEXT/PLAIN', op),
      'BAD_REQUEST',
      `${op} issue seen - content-type of 'TEXT/PLAIN' not supported.`,
    );
  });

  it('refuses binary that is not UTF-8 as text/plain with 406', () => {
    rejects(
      () => negotiatePayload(Buffer.from([0xff, 0xfe]), 'application/octet-stream', 'text/plain', op),
      'NOT_ACCEPTABLE',
    );
  });
});

describe('readPayloadUpload', () => {
  it('takes text and raw or base64 binary', () => {
    assert.equal(
      readPayloadUpload('text/plain', undefined, Buffer.from('my secret')).bytes.toString(),
      'my secret',
    );
    assert.deepEqual(
      readPayloadUpload('application/octet-stream', undefined, Buffer.from([0, 1])).bytes,
      Buffer.from([0, 1]),
    );
    assert.equal(
      readPayloadUpload('application/octet-stream', 'base64', Buffer.from('aGVsbG8=')).bytes.toString(),
      'hello',
    );
  });

  it('rejects as Barbican rejects: media type 415, empty 400, other encodings 400, too large 413', () => {
    rejects(
      () => readPayloadUpload('application/json', undefined, Buffer.from('{}')),
      'UNSUPPORTED_MEDIA_TYPE',
      "Unexpected content type. Expected content types are: ['application/octet-stream', 'text/plain']",
    );
    rejects(
      () => readPayloadUpload('text/plain', undefined, Buffer.alloc(0)),
      'BAD_REQUEST',
      'Secret update issue seen - No data supplied to process..',
    );
    rejects(
      () => readPayloadUpload('application/octet-stream', 'gzip', Buffer.from('abc')),
      'BAD_REQUEST',
      "Secret update issue seen - Text-based binary secret payloads must specify a content-encoding of 'base64'.",
    );
    rejects(() => readPayloadUpload('text/plain', undefined, Buffer.alloc(20001, 97)), 'SECRET_TOO_LARGE');
  });
});

describe('readSecretListQuery', () => {
  it('cleans paging as Barbican: default 10, limits clamped to 1..100, bad offsets 0', () => {
    assert.deepEqual([readSecretListQuery({}).limit, readSecretListQuery({}).offset], [10, 0]);
    assert.equal(readSecretListQuery({ limit: '0' }).limit, 1);
    assert.equal(readSecretListQuery({ limit: '500' }).limit, 100);
    assert.equal(readSecretListQuery({ limit: 'x' }).limit, 10);
    assert.equal(readSecretListQuery({ offset: '-5' }).offset, 0);
    assert.equal(readSecretListQuery({ offset: '7' }).offset, 7);
  });

  it('reads filters and sort keys', () => {
    const query = readSecretListQuery({
      name: 'my+cert',
      alg: 'AES',
      bits: '256',
      secret_type: 'certificate',
      created: 'gt:2024-01-01,lte:2024-12-31',
      sort: 'name:desc,created',
    });
    assert.equal(query.name, 'my cert');
    assert.equal(query.algorithm, 'AES');
    assert.equal(query.bitLength, 256);
    assert.deepEqual(
      query.dateFilters.map((f) => f.op),
      ['gt', 'lte'],
    );
    assert.deepEqual(query.sort, [
      { key: 'name', dir: 'desc' },
      { key: 'created', dir: 'asc' },
    ]);
    assert.equal(readSecretListQuery({ bits: 'many' }).bitLength, undefined);
  });

  it('rejects bad sort keys and date filters with 400', () => {
    for (const query of [
      { sort: 'foo' },
      { sort: 'name:up' },
      { sort: 'name,name' },
      { created: 'yesterday' },
      { updated: 'gt:2024-01-01,gte:2024-01-02' },
      { expiration: '2024-01-01,lte:2024-02-01' },
    ]) {
      rejects(
        () => readSecretListQuery(query),
        'INVALID_QUERY',
        'URI provided invalid query string parameters.',
      );
    }
  });
});

// The DER reader and writer, and the certificate fields read from openssl-made certificates.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { readCertificateFields } from '../../src/trust/certificate-fields.ts';
import {
  DerError,
  encodeElement,
  encodeInteger,
  encodeOid,
  encodeSequence,
  encodeTime,
  readChildren,
  readElement,
  readInteger,
  readOid,
  readSingle,
  readTime,
  TAG,
} from '../../src/trust/der.ts';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';

describe('DER', () => {
  it('encodes integers in minimal two’s complement and reads them back', () => {
    const cases: [bigint, string][] = [
      [0n, '020100'],
      [127n, '02017f'],
      [128n, '02020080'],
      [255n, '020200ff'],
      [256n, '02020100'],
      [-1n, '0201ff'],
      [-128n, '020180'],
      [-129n, '0202ff7f'],
      [2n ** 64n, '0209010000000000000000'],
    ];
    for (const [value, hex] of cases) {
      assert.equal(encodeInteger(value).toString('hex'), hex, String(value));
      assert.equal(readInteger(readSingle(Buffer.from(hex, 'hex'))), value);
    }
  });

  it('encodes and reads object identifiers, including large arcs', () => {
    for (const oid of [
      '2.5.29.19',
      '1.2.840.113549.1.1.11',
      '1.2.840.10045.4.3.4',
      '2.999.1',
      '0.9.2342.19200300.100.1.1',
    ]) {
      assert.equal(readOid(readSingle(encodeOid(oid))), oid);
    }
    assert.equal(encodeOid('1.2.840.113549').toString('hex'), '06062a864886f70d');
  });

  it('uses long-form lengths past 127 bytes', () => {
    for (const size of [127, 128, 255, 256, 70_000]) {
      const element = encodeElement(TAG.OCTET_STRING, Buffer.alloc(size, 7));
      const read = readSingle(element, TAG.OCTET_STRING);
      assert.equal(read.contents.length, size);
    }
  });

  it('reads the children of a sequence', () => {
    const sequence = encodeSequence(encodeInteger(1), encodeOid('2.5.4.3'), encodeSequence());
    assert.deepEqual(
      readChildren(readSingle(sequence)).map((child) => child.tag),
      [TAG.INTEGER, TAG.OID, TAG.SEQUENCE],
    );
  });

  it('writes UTCTime before 2050 and GeneralizedTime after, and reads both', () => {
    for (const [iso, tag] of [
      ['1999-12-31T23:59:59Z', TAG.UTC_TIME],
      ['2049-12-31T23:59:59Z', TAG.UTC_TIME],
      ['2050-01-01T00:00:00Z', TAG.GENERALIZED_TIME],
      ['1949-06-01T10:00:00Z', TAG.GENERALIZED_TIME],
    ] as const) {
      const element = readSingle(encodeTime(new Date(iso)));
      assert.equal(element.tag, tag);
      assert.equal(readTime(element).toISOString(), new Date(iso).toISOString());
    }
  });

  it('refuses malformed encodings instead of guessing', () => {
    const malformed = [
      '3080020100' + '0000', // indefinite length
      '30810100', // long form for a short length
      '3005020100', // runs past the end
      '02', // truncated header
      '1f2200', // high tag number
      '3003020100ff', // trailing byte after the single element
    ];
    for (const hex of malformed) {
      assert.throws(() => readSingle(Buffer.from(hex, 'hex')), DerError, hex);
    }
    assert.throws(() => readOid(readElement(Buffer.from('060180', 'hex'))), DerError);
    assert.throws(() => readInteger(readElement(Buffer.from('0200', 'hex'))), DerError);
  });
});

describe('readCertificateFields', () => {
  let fixtures: SigningFixtures;
  before(() => {
    fixtures = loadSigningFixtures();
  });
  const fields = (name: string) => readCertificateFields(fixtures.certificate(`chain/${name}.pem`).raw);

  it('reads pathLenConstraint, which Node does not expose', () => {
    assert.deepEqual(fields('root1').basicConstraints, { ca: true, pathLength: 1 });
    assert.deepEqual(fields('inter').basicConstraints, { ca: true, pathLength: 0 });
    assert.deepEqual(fields('root-nopathlen').basicConstraints, { ca: true, pathLength: null });
    assert.deepEqual(fields('leaf0').basicConstraints, { ca: false, pathLength: null });
    assert.equal(fields('ss-plain').basicConstraints, null);
  });

  it('reads the KeyUsage bits', () => {
    assert.deepEqual([...(fields('root0').keyUsage ?? [])].sort(), ['cRLSign', 'keyCertSign']);
    assert.deepEqual([...(fields('leaf0').keyUsage ?? [])], ['digitalSignature']);
    assert.equal(fields('root-noku').keyUsage, null);
  });

  it('reads names, dates and the signed bytes', () => {
    const leaf = fields('leaf-expired');
    assert.equal(leaf.notBefore.toISOString(), '2021-01-01T00:00:00.000Z');
    assert.equal(leaf.notAfter.toISOString(), '2022-01-01T00:00:00.000Z');
    assert.equal(leaf.issuer.key, fields('root0').subject.key);
    assert.notEqual(leaf.subject.key, leaf.issuer.key);
    assert.equal(leaf.signatureAlgorithm, '1.2.840.113549.1.1.11');
    assert.ok(fixtures.certificate('chain/leaf-expired.pem').raw.includes(leaf.tbs));
  });

  it('rejects bytes that are not a certificate', () => {
    assert.throws(() => readCertificateFields(Buffer.from('3000', 'hex')), DerError);
    assert.throws(
      () => readCertificateFields(encodeSequence(encodeInteger(1), encodeInteger(2), encodeInteger(3))),
      DerError,
    );
  });
});

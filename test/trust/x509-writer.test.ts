// Certificates and signing identities we write, checked by the real openssl and by our own validator.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createCertificate,
  createStreamingVerifier,
  generateSigningIdentity,
  loadSigningCertificate,
  planSignatureVerification,
  type SigningIdentity,
  type SigningIdentityOptions,
  toVerificationSpec,
  validateCertificate,
} from '../../src/trust/index.ts';
import { loadSigningFixtures, type SigningFixtures, unevenChunks } from '../fixtures/signing-fixtures.ts';
import { requireTool } from '../support/tools.ts';

const NOW = new Date('2030-06-01T12:00:00Z');
const AT_TIME = String(Math.floor(NOW.getTime() / 1000) + 3600);

describe('x509 writer', () => {
  let dir: string;
  let fixtures: SigningFixtures;
  before(() => {
    requireTool('openssl', 'openssl');
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-x509-'));
    fixtures = loadSigningFixtures();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, contents: string | Buffer): string {
    const file = path.join(dir, name);
    writeFileSync(file, contents);
    return file;
  }

  function opensslText(pem: string): string {
    return execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem }).toString();
  }

  /** `openssl verify` at NOW; returns its output, failing the test with it unless it says OK. */
  function opensslVerify(ca: string, leaf: string, untrusted?: string): string {
    const args = ['verify', '-attime', AT_TIME, '-CAfile', write('ca.pem', ca)];
    if (untrusted) args.push('-untrusted', write('untrusted.pem', untrusted));
    args.push(write('leaf.pem', leaf));
    const result = spawnSync('openssl', args);
    const output = `${result.stdout}${result.stderr}`;
    assert.equal(result.status, 0, output);
    return output;
  }

  const keySpecs: [
    label: string,
    options: Pick<SigningIdentityOptions, 'keyType' | 'bits' | 'curve'>,
    keyType: string,
  ][] = [
    ['RSA-2048', { keyType: 'rsa', bits: 2048 }, 'RSA-PSS'],
    ['RSA-3072', { keyType: 'rsa', bits: 3072 }, 'RSA-PSS'],
    ['RSA-4096', { keyType: 'rsa', bits: 4096 }, 'RSA-PSS'],
    ['DSA-2048', { keyType: 'dsa', bits: 2048 }, 'DSA'],
    ['DSA-3072', { keyType: 'dsa', bits: 3072 }, 'DSA'],
    ['EC secp384r1', { keyType: 'ec', curve: 'secp384r1' }, 'ECC_SECP384R1'],
    ['EC secp521r1', { keyType: 'ec', curve: 'secp521r1' }, 'ECC_SECP521R1'],
    ['EC sect409k1', { keyType: 'ec', curve: 'sect409k1' }, 'ECC_SECT409K1'],
    ['EC sect409r1', { keyType: 'ec', curve: 'sect409r1' }, 'ECC_SECT409R1'],
    ['EC sect571k1', { keyType: 'ec', curve: 'sect571k1' }, 'ECC_SECT571K1'],
    ['EC sect571r1', { keyType: 'ec', curve: 'sect571r1' }, 'ECC_SECT571R1'],
  ];

  for (const [label, keyOptions, keyType] of keySpecs) {
    it(`makes a ${label} CA and a leaf under it that openssl parses and verifies`, async () => {
      const ca = await generateSigningIdentity({
        ...keyOptions,
        commonName: `${label} CA`,
        days: 30,
        now: NOW,
        ca: { pathLength: 0 },
      });
      assert.equal(ca.signatureKeyType, keyType);
      const leaf = await generateSigningIdentity({
        keyType: 'ec',
        commonName: `${label} leaf`,
        days: 30,
        now: NOW,
        issuer: ca,
      });
      const text = opensslText(ca.certificatePem);
      assert.match(text, /Version: 3 \(0x2\)/);
      assert.match(text, /CA:TRUE, pathlen:0/);
      assert.match(text, /Certificate Sign, CRL Sign/);
      assert.match(text, new RegExp(`Subject: CN ?= ?${label} CA`));
      assert.match(opensslText(leaf.certificatePem), /Digital Signature/);
      assert.match(opensslVerify(ca.certificatePem, leaf.certificatePem), /OK/);
      opensslVerify(ca.certificatePem, ca.certificatePem);
      const chain = validateCertificate({
        certificate: new X509Certificate(leaf.certificatePem),
        trusted: [new X509Certificate(ca.certificatePem)],
        now: NOW,
      });
      assert.equal(chain.length, 2);
    });
  }

  it('signs certificates with the algorithm suited to the CA key', async () => {
    const cases: [Pick<SigningIdentityOptions, 'keyType' | 'bits' | 'curve'>, RegExp][] = [
      [{ keyType: 'rsa', bits: 2048 }, /Signature Algorithm: sha256WithRSAEncryption/],
      [{ keyType: 'ec', curve: 'secp384r1' }, /Signature Algorithm: ecdsa-with-SHA384/],
      [{ keyType: 'ec', curve: 'sect571k1' }, /Signature Algorithm: ecdsa-with-SHA512/],
      [{ keyType: 'dsa', bits: 2048 }, /Signature Algorithm: dsa_with_SHA256/],
    ];
    for (const [options, expected] of cases) {
      const identity = await generateSigningIdentity({ ...options, commonName: 'x', days: 1, now: NOW });
      assert.match(opensslText(identity.certificatePem), expected);
    }
  });

  it('builds a three-level chain that openssl and validateCertificate accept, with pathlen and key identifiers', async () => {
    const root = await generateSigningIdentity({
      keyType: 'rsa',
      bits: 2048,
      commonName: 'root',
      days: 3650,
      now: NOW,
      ca: { pathLength: 1 },
    });
    const inter = await generateSigningIdentity({
      keyType: 'ec',
      curve: 'secp521r1',
      commonName: 'inter',
      days: 365,
      now: NOW,
      ca: { pathLength: 0 },
      issuer: root,
    });
    const leaf = await generateSigningIdentity({
      keyType: 'dsa',
      commonName: 'leaf',
      days: 30,
      now: NOW,
      issuer: inter,
    });
    opensslVerify(root.certificatePem, leaf.certificatePem, inter.certificatePem);
    const rootText = opensslText(root.certificatePem);
    const interText = opensslText(inter.certificatePem);
    assert.match(rootText, /CA:TRUE, pathlen:1/);
    const rootKeyId = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(rootText)?.[1];
    assert.ok(rootKeyId);
    assert.match(interText, new RegExp(`Authority Key Identifier:\\s*\\n\\s*(keyid:)?${rootKeyId}`));
    const trusted = [new X509Certificate(root.certificatePem), new X509Certificate(inter.certificatePem)];
    const chain = validateCertificate({
      certificate: new X509Certificate(leaf.certificatePem),
      trusted,
      now: NOW,
    });
    assert.deepEqual(
      chain.map((c) => c.subject),
      ['CN=leaf', 'CN=inter', 'CN=root'],
    );
  });

  it('enforces the pathlen it wrote: a pathlen-0 root cannot carry an intermediate', async () => {
    const root = await generateSigningIdentity({
      keyType: 'ec',
      commonName: 'r0',
      days: 10,
      now: NOW,
      ca: { pathLength: 0 },
    });
    const inter = await generateSigningIdentity({
      keyType: 'ec',
      commonName: 'i',
      days: 10,
      now: NOW,
      ca: {},
      issuer: root,
    });
    const leaf = await generateSigningIdentity({
      keyType: 'ec',
      commonName: 'l',
      days: 10,
      now: NOW,
      issuer: inter,
    });
    const result = spawnSync('openssl', [
      'verify',
      '-attime',
      AT_TIME,
      '-CAfile',
      write('r0.pem', root.certificatePem),
      '-untrusted',
      write('i.pem', inter.certificatePem),
      write('l.pem', leaf.certificatePem),
    ]);
    assert.notEqual(result.status, 0, 'openssl should refuse the chain too');
    const trusted = [new X509Certificate(root.certificatePem), new X509Certificate(inter.certificatePem)];
    assert.throws(
      () => validateCertificate({ certificate: new X509Certificate(leaf.certificatePem), trusted, now: NOW }),
      {
        code: 'CERTIFICATE_UNTRUSTED',
      },
    );
  });

  it('writes dates from 2050 on as GeneralizedTime and openssl reads them back', async () => {
    const identity = await generateSigningIdentity({
      keyType: 'ec',
      commonName: 'far future',
      days: 365 * 40,
      now: new Date('2040-01-01T00:00:00Z'),
    });
    const certificate = new X509Certificate(identity.certificatePem);
    assert.equal(certificate.validFromDate.toISOString(), '2040-01-01T00:00:00.000Z');
    assert.equal(certificate.validToDate.toISOString(), '2079-12-22T00:00:00.000Z');
    assert.match(opensslText(identity.certificatePem), /Not After : Dec 22 00:00:00 2079 GMT/);
  });

  for (const [label, options, hash, sigopts] of [
    ['RSA-PSS', { keyType: 'rsa', bits: 3072 }, 'sha384', ['-sigopt', 'rsa_padding_mode:pss']],
    ['ECC_SECT409K1', { keyType: 'ec', curve: 'sect409k1' }, 'sha256', []],
    ['DSA', { keyType: 'dsa', bits: 3072 }, 'sha512', []],
  ] as const) {
    it(`makes a ${label} identity whose openssl signatures pass the Glance verification path`, async () => {
      const identity: SigningIdentity = await generateSigningIdentity({
        ...options,
        commonName: 'signer',
        days: 30,
        now: NOW,
      });
      const key = write('signer.key', identity.privateKeyPem);
      const image = write('image.bin', fixtures.image);
      const signature = execFileSync('openssl', ['dgst', `-${hash}`, '-sign', key, ...sigopts, image]);
      const plan = planSignatureVerification({
        signature: signature.toString('base64'),
        hashMethod: `SHA-${hash.slice(3)}`,
        keyType: identity.signatureKeyType,
        certificateUuid: 'u',
      });
      const certificate = loadSigningCertificate({
        secretType: 'certificate',
        payload: Buffer.from(identity.certificatePem),
        contentType: 'application/octet-stream',
      });
      const verifier = createStreamingVerifier(toVerificationSpec(plan, certificate));
      for (const chunk of unevenChunks(fixtures.image)) verifier.update(chunk);
      assert.equal(verifier.verify(), true);
    });
  }

  it('refuses options that would make a useless or misleading certificate', async () => {
    const base = { commonName: 'x', days: 1, now: NOW };
    await assert.rejects(generateSigningIdentity({ ...base, keyType: 'rsa', bits: 1024 }), {
      code: 'BAD_REQUEST',
    });
    await assert.rejects(generateSigningIdentity({ ...base, keyType: 'dsa', bits: 1024 }), {
      code: 'BAD_REQUEST',
    });
    await assert.rejects(generateSigningIdentity({ ...base, keyType: 'ec', curve: 'prime256v1' as never }), {
      code: 'BAD_REQUEST',
    });
    await assert.rejects(generateSigningIdentity({ ...base, keyType: 'ec', days: 0 }), {
      code: 'BAD_REQUEST',
    });
    const a = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const b = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const ed = generateKeyPairSync('ed25519');
    const dates = { notBefore: NOW, notAfter: new Date(NOW.getTime() + 1000) };
    assert.throws(
      () =>
        createCertificate({
          publicKey: a.publicKey,
          commonName: 'x',
          ...dates,
          signer: { privateKey: b.privateKey },
        }),
      { code: 'BAD_REQUEST' },
    );
    const caCertificate = createCertificate({
      publicKey: a.publicKey,
      commonName: 'ca',
      ...dates,
      signer: { privateKey: a.privateKey },
      ca: {},
    });
    assert.throws(
      () =>
        createCertificate({
          publicKey: b.publicKey,
          commonName: 'x',
          ...dates,
          signer: { privateKey: b.privateKey, certificate: caCertificate },
        }),
      { code: 'BAD_REQUEST' },
    );
    assert.throws(
      () =>
        createCertificate({
          publicKey: ed.publicKey,
          commonName: 'x',
          ...dates,
          signer: { privateKey: ed.privateKey },
        }),
      { code: 'BAD_REQUEST' },
    );
    assert.throws(
      () =>
        createCertificate({
          publicKey: a.publicKey,
          commonName: 'x',
          notBefore: dates.notAfter,
          notAfter: dates.notBefore,
          signer: { privateKey: a.privateKey },
        }),
      { code: 'BAD_REQUEST' },
    );
  });

  it('writes the serial, subject and key usage it is given', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp521r1' });
    const certificate = createCertificate({
      publicKey,
      commonName: 'Ünïcode signer',
      notBefore: NOW,
      notAfter: new Date(NOW.getTime() + 86_400_000),
      signer: { privateKey },
      serialNumber: 0x00ff_1234n,
      keyUsage: ['digitalSignature', 'nonRepudiation', 'decipherOnly'],
    });
    assert.equal(certificate.serialNumber, 'FF1234');
    assert.equal(certificate.subject, 'CN=Ünïcode signer');
    assert.match(opensslText(certificate.toString()), /Digital Signature, Non Repudiation, Decipher Only/);
    assert.ok(
      certificate.checkPrivateKey(createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }))),
    );
    assert.ok(certificate.verify(publicKey));
  });
});

// Rekor SETs and Fulcio certificates, with a Rekor key made here and a Fulcio-like CA made by openssl:
// what c/image HEAD accepts for sigstoreSigned with rekorPublicKey and with fulcio trust.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createSigstoreMechanism,
  createSigstorePayload,
  SIGSTORE_BUNDLE_ANNOTATION,
  SIGSTORE_CERTIFICATE_ANNOTATION,
  SIGSTORE_SIGNATURE_ANNOTATION,
} from '../../../src/containers/sigstore/index.ts';
import { ImageTrustError } from '../../../src/errors/index.ts';
import { requireTool, runOk } from '../../support/tools.ts';

const DIGEST = `sha256:${'cd'.repeat(32)}`;
const ISSUER = 'https://oidc.example.com';
const EMAIL = 'signer@example.com';
const payload = createSigstorePayload({
  dockerManifestDigest: DIGEST,
  dockerReference: 'registry.example.com/app:v1',
  creator: 'test',
  now: new Date('2026-01-01T00:00:00Z'),
});
const mechanism = createSigstoreMechanism();
const rekor = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rekorPem = Buffer.from(rekor.publicKey.export({ type: 'spki', format: 'pem' }));

/** A bundle annotation as cosign attaches it: Rekor's SET over a hashedrekord entry. */
function makeBundle(options: {
  signerPem: Buffer;
  base64Signature: string;
  payload: Buffer;
  integratedTime: number;
  rekorKey?: KeyObject;
}): string {
  const body = Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: {
          hash: { algorithm: 'sha256', value: createHash('sha256').update(options.payload).digest('hex') },
        },
        signature: {
          content: options.base64Signature,
          publicKey: { content: options.signerPem.toString('base64') },
        },
      },
    }),
  ).toString('base64');
  // Keys in canonical (sorted) order, so this literal is the canonical form Rekor signs.
  const entry = { body, integratedTime: options.integratedTime, logID: 'c0ffee', logIndex: 7 };
  const set = sign(
    'sha256',
    Buffer.from(JSON.stringify(entry)),
    options.rekorKey ?? rekor.privateKey,
  ).toString('base64');
  return JSON.stringify({ SignedEntryTimestamp: set, Payload: entry });
}

async function rejectsWith(promise: Promise<unknown>, text: string | RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageTrustError);
    assert.equal(error.code, 'SIGNATURE_REJECTED');
    if (typeof text === 'string') assert.equal(error.message, text);
    else assert.match(error.message, text);
    return true;
  });
}

describe('sigstoreSigned with a public key and a Rekor SET', () => {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signerPem = Buffer.from(signer.publicKey.export({ type: 'spki', format: 'pem' }));
  const base64Signature = sign('sha256', payload, signer.privateKey).toString('base64');
  const now = Math.floor(Date.now() / 1000);
  const annotations = (bundle: string) => ({
    [SIGSTORE_SIGNATURE_ANNOTATION]: base64Signature,
    [SIGSTORE_BUNDLE_ANNOTATION]: bundle,
  });
  const trust = { publicKeys: [signerPem], rekorPublicKeys: [rekorPem] };
  const verify = (bundle: string) =>
    mechanism.verify({ mimeType: '', payload, annotations: annotations(bundle) }, trust);

  it('accepts a signature the SET proves was logged', async () => {
    const { payload: claims } = await verify(
      makeBundle({ signerPem, base64Signature, payload, integratedTime: now }),
    );
    assert.equal(claims.dockerManifestDigest, DIGEST);
  });

  it('rejects a SET not signed by the Rekor key', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await rejectsWith(
      verify(
        makeBundle({ signerPem, base64Signature, payload, integratedTime: now, rekorKey: other.privateKey }),
      ),
      'No public key verified against the RekorSET: cryptographic signature verification of Rekor SET failed',
    );
  });

  it('rejects a SET that logs another key, another signature or another payload', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const otherPem = Buffer.from(other.publicKey.export({ type: 'spki', format: 'pem' }));
    await rejectsWith(
      verify(makeBundle({ signerPem: otherPem, base64Signature, payload, integratedTime: now })),
      'No public key verified against the RekorSET: publicKey in Rekor SET does not match',
    );
    await rejectsWith(
      verify(
        makeBundle({
          signerPem,
          base64Signature: Buffer.from('other').toString('base64'),
          payload,
          integratedTime: now,
        }),
      ),
      /signature in Rekor SET does not match$/,
    );
    await rejectsWith(
      verify(makeBundle({ signerPem, base64Signature, payload: Buffer.from('{}'), integratedTime: now })),
      /payload in Rekor SET does not match$/,
    );
  });

  it('requires the bundle annotation', async () => {
    await rejectsWith(
      mechanism.verify(
        { mimeType: '', payload, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: base64Signature } },
        trust,
      ),
      `missing ${SIGSTORE_BUNDLE_ANNOTATION} annotation`,
    );
  });
});

describe('sigstoreSigned with Fulcio trust', () => {
  let dir: string;
  let caPem: Buffer;

  /** A CA and a code-signing leaf for `email`, issued by `issuer` (v1 extension, raw bytes), made by openssl. */
  async function makeLeaf(
    name: string,
    ca: string,
    email: string,
    issuer: string,
    days = 1,
  ): Promise<{ pem: Buffer; key: KeyObject }> {
    const key = path.join(dir, `${name}.key`);
    const csr = path.join(dir, `${name}.csr`);
    const cert = path.join(dir, `${name}.pem`);
    const ext = path.join(dir, `${name}.ext`);
    writeFileSync(
      ext,
      [
        `subjectAltName=critical,email:${email}`,
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=codeSigning',
        `1.3.6.1.4.1.57264.1.1=DER:${Buffer.from(issuer).toString('hex')}`,
        '',
      ].join('\n'),
    );
    await runOk('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      '/O=sigstore.dev',
    ]);
    await runOk('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      String(days),
      '-extfile',
      ext,
    ]);
    return { pem: readFileSync(cert), key: createPrivateKey(readFileSync(key)) };
  }

  async function makeCa(name: string): Promise<Buffer> {
    await runOk('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      path.join(dir, `${name}.key`),
      '-out',
      path.join(dir, `${name}.pem`),
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ]);
    return readFileSync(path.join(dir, `${name}.pem`));
  }

  before(async () => {
    requireTool('openssl', 'openssl');
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-fulcio-'));
    caPem = await makeCa('fulcio-ca');
    await makeCa('other-ca');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function signWith(
    leaf: { pem: Buffer; key: KeyObject },
    integratedTime = Math.floor(Date.now() / 1000),
  ) {
    const base64Signature = sign('sha256', payload, leaf.key).toString('base64');
    return {
      mimeType: '',
      payload,
      annotations: {
        [SIGSTORE_SIGNATURE_ANNOTATION]: base64Signature,
        [SIGSTORE_CERTIFICATE_ANNOTATION]: leaf.pem.toString(),
        [SIGSTORE_BUNDLE_ANNOTATION]: makeBundle({
          signerPem: leaf.pem,
          base64Signature,
          payload,
          integratedTime,
        }),
      },
    };
  }

  const trust = (ca: Buffer, subjectEmail = EMAIL, oidcIssuer = ISSUER) => ({
    fulcio: { caCertificates: ca, oidcIssuer, subjectEmail },
    rekorPublicKeys: [rekorPem],
  });

  it('accepts a certificate from the CA for the issuer and email, at the logged time', async () => {
    const signature = await signWith(await makeLeaf('good', path.join(dir, 'fulcio-ca'), EMAIL, ISSUER));
    const { payload: claims } = await mechanism.verify(signature, trust(caPem));
    assert.equal(claims.dockerManifestDigest, DIGEST);
  });

  it('rejects another email, another issuer, another CA', async () => {
    const signature = await signWith(
      await makeLeaf('mallory', path.join(dir, 'fulcio-ca'), 'mallory@example.com', ISSUER),
    );
    await rejectsWith(
      mechanism.verify(signature, trust(caPem)),
      `Required email "${EMAIL}" not found (got ["mallory@example.com"])`,
    );
    const issuer = await signWith(
      await makeLeaf('issuer', path.join(dir, 'fulcio-ca'), EMAIL, 'https://evil.example.com'),
    );
    await rejectsWith(
      mechanism.verify(issuer, trust(caPem)),
      'Unexpected Fulcio OIDC issuer "https://evil.example.com"',
    );
    const foreign = await signWith(await makeLeaf('foreign', path.join(dir, 'other-ca'), EMAIL, ISSUER));
    await rejectsWith(
      mechanism.verify(foreign, trust(caPem)),
      /^veryfing leaf certificate failed: x509: certificate signed by unknown authority$/,
    );
  });

  it('judges the certificate at the Rekor time, not now', async () => {
    const leaf = await makeLeaf('late', path.join(dir, 'fulcio-ca'), EMAIL, ISSUER);
    const lastYear = Math.floor(Date.now() / 1000) - 365 * 24 * 3600;
    await rejectsWith(
      mechanism.verify(await signWith(leaf, lastYear), trust(caPem)),
      /^veryfing leaf certificate failed: x509: certificate has expired or is not yet valid/,
    );
  });

  it('requires the certificate and bundle annotations', async () => {
    const signature = await signWith(await makeLeaf('bare', path.join(dir, 'fulcio-ca'), EMAIL, ISSUER));
    const { [SIGSTORE_CERTIFICATE_ANNOTATION]: _certificate, ...withoutCertificate } = signature.annotations;
    await rejectsWith(
      mechanism.verify({ ...signature, annotations: withoutCertificate }, trust(caPem)),
      `missing ${SIGSTORE_CERTIFICATE_ANNOTATION} annotation`,
    );
  });
});

// Signature verification in the upload path, over the HTTP API: certificates stored in our key manager,
// signatures made by openssl (test/fixtures/make-signing-fixtures.sh), Glance's outcomes for every
// failure, and what Glance leaves out: the trust store and projects that require signatures.
import assert from 'node:assert/strict';
import { constants, createPrivateKey, createSign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('signed uploads', () => {
  let f: SigningFixtures;
  let t: TestServer;
  let token: string;

  const api = async (
    server: TestServer,
    auth: string,
    method: string,
    url: string,
    body?: unknown,
    type = 'application/json',
  ) => {
    const response = await fetch(`${server.url}${url}`, {
      method,
      headers: {
        'x-auth-token': auth,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': type } : {}),
      },
      body: (body === undefined
        ? undefined
        : body instanceof Uint8Array
          ? body
          : JSON.stringify(body)) as BodyInit,
    });
    const text = await response.text();
    return {
      status: response.status,
      code: response.headers.get('x-imagetrust-error-code'),
      json: text ? JSON.parse(text) : {},
    };
  };
  const storeSecret = async (server: TestServer, auth: string, pem: Buffer, secretType = 'certificate') => {
    const r = await api(server, auth, 'POST', '/key-manager/v1/secrets', {
      name: 'cert',
      secret_type: secretType,
      payload: pem.toString('base64'),
      payload_content_type: 'application/octet-stream',
      payload_content_encoding: 'base64',
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return String(r.json.secret_ref).split('/').at(-1)!;
  };
  const signedUpload = async (
    server: TestServer,
    auth: string,
    properties: Record<string, string>,
    data: Buffer = f.image,
  ) => {
    const created = await api(server, auth, 'POST', '/image/v2/images', {
      disk_format: 'raw',
      container_format: 'bare',
      ...properties,
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const id = created.json.id as string;
    const upload = await api(
      server,
      auth,
      'PUT',
      `/image/v2/images/${id}/file`,
      new Uint8Array(data),
      'application/octet-stream',
    );
    const image = (await api(server, auth, 'GET', `/image/v2/images/${id}`)).json;
    return { id, upload, image };
  };
  const props = (signature: string, hashMethod: string, keyType: string, certificateUuid: string) => ({
    img_signature: signature,
    img_signature_hash_method: hashMethod,
    img_signature_key_type: keyType,
    img_signature_certificate_uuid: certificateUuid,
  });
  const certIds = new Map<string, string>();
  const certId = async (name: string) => {
    if (!certIds.has(name)) certIds.set(name, await storeSecret(t, token, f.file(`certs/${name}.pem`)));
    return certIds.get(name)!;
  };
  /** Signs as `openssl dgst -sign -sigopt rsa_padding_mode:pss` does, with a chain fixture's key. */
  const signWith = (keyFile: string, algorithm: string, data: Buffer = f.image) => {
    const key = createPrivateKey(f.file(keyFile));
    const rsa = key.asymmetricKeyType === 'rsa';
    return createSign(algorithm)
      .update(data)
      .sign({
        key,
        ...(rsa
          ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN }
          : {}),
      })
      .toString('base64');
  };

  before(async () => {
    f = loadSigningFixtures();
    t = await startTestServer();
    token = await t.token();
  });
  after(async () => t?.stop());

  const accepted: [key: string, hash: string, keyType: string, variant: string][] = [
    ['rsa2048', 'SHA-256', 'RSA-PSS', '.pss'],
    ['rsa3072', 'SHA-512', 'RSA-PSS', '.pss-max'],
    ['rsa4096', 'SHA-224', 'RSA-PSS', '.pss'],
    ['dsa2048', 'SHA-256', 'DSA', ''],
    ['secp384r1', 'SHA-384', 'ECC_SECP384R1', ''],
    ['secp521r1', 'SHA-512', 'ECC_SECP521R1', ''],
    ['sect409k1', 'SHA-224', 'ECC_SECT409K1', ''],
    ['sect409r1', 'SHA-256', 'ECC_SECT409R1', ''],
    ['sect571k1', 'SHA-384', 'ECC_SECT571K1', ''],
    ['sect571r1', 'SHA-512', 'ECC_SECT571R1', ''],
  ];
  for (const [key, hash, keyType, variant] of accepted) {
    it(`accepts a ${keyType} ${hash} signature made by openssl with ${key}`, async () => {
      const sig = f.signature(`${key}.${hash.replace('SHA-', 'sha')}${variant}`);
      const { upload, image } = await signedUpload(t, token, props(sig, hash, keyType, await certId(key)));
      assert.equal(upload.status, 204, JSON.stringify(upload.json));
      assert.equal(image.status, 'active');
    });
  }

  it("serves an active signed image's certificate to whoever sees it, and never any other secret", async () => {
    const sig = f.signature('rsa2048.sha256.pss');
    const { id } = await signedUpload(t, token, props(sig, 'SHA-256', 'RSA-PSS', await certId('rsa2048')));
    const served = await fetch(`${t.url}/image/v2/images/${id}/signing-certificate`, {
      headers: { 'x-auth-token': token },
    });
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), f.file('certs/rsa2048.pem'));
    const certificateOf = async (imageId: string) =>
      (
        await fetch(`${t.url}/image/v2/images/${imageId}/signing-certificate`, {
          headers: { 'x-auth-token': token },
        })
      ).status;

    // Pointed afterwards at a secret that is not a certificate, or at another project's certificate: 404.
    const patch = (imageId: string, secretId: string) =>
      fetch(`${t.url}/image/v2/images/${imageId}`, {
        method: 'PATCH',
        headers: { 'x-auth-token': token, 'content-type': 'application/openstack-images-v2.1-json-patch' },
        body: JSON.stringify([{ op: 'replace', path: '/img_signature_certificate_uuid', value: secretId }]),
      });
    const opaque = await storeSecret(t, token, Buffer.from('not for anyone'), 'opaque');
    assert.equal((await patch(id, opaque)).status, 200);
    assert.equal(await certificateOf(id), 404);
    const other = await t.addUser('certowner', 'member');
    const otherCert = await storeSecret(
      t,
      await t.token('certowner', other.password),
      f.file('certs/rsa2048.pem'),
    );
    assert.equal((await patch(id, otherCert)).status, 200);
    assert.equal(await certificateOf(id), 404);

    const unsigned = await api(t, token, 'POST', '/image/v2/images', {
      disk_format: 'raw',
      container_format: 'bare',
    });
    assert.equal(await certificateOf(unsigned.json.id as string), 404);
  });

  const refused: [
    name: string,
    make: () => Promise<Record<string, string>>,
    code: string,
    message: RegExp,
  ][] = [
    [
      'a PSS signature with a digest-length salt',
      async () =>
        props(f.signature('rsa2048.sha256.pss-digest'), 'SHA-256', 'RSA-PSS', await certId('rsa2048')),
      'SIGNATURE_INVALID',
      /: Signature verification failed$/,
    ],
    [
      'a PKCS#1 v1.5 signature under RSA-PSS',
      async () => props(f.signature('rsa2048.sha256.pkcs1'), 'SHA-256', 'RSA-PSS', await certId('rsa2048')),
      'SIGNATURE_INVALID',
      /: Signature verification failed$/,
    ],
    [
      'the P-256 key type',
      async () =>
        props(f.signature('prime256v1.sha256'), 'SHA-256', 'ECC_SECP256R1', await certId('prime256v1')),
      'SIGNATURE_MALFORMED',
      /Invalid signature key type: ECC_SECP256R1\.$/,
    ],
    [
      'a signature by another key',
      async () => props(f.signature('rsa3072.sha256.pss'), 'SHA-256', 'RSA-PSS', await certId('rsa2048')),
      'SIGNATURE_INVALID',
      /Signature verification failed$/,
    ],
    [
      'a lowercase hash method',
      async () => props(f.signature('rsa2048.sha256.pss'), 'sha256', 'RSA-PSS', await certId('rsa2048')),
      'SIGNATURE_MALFORMED',
      /Invalid signature hash method: sha256\.$/,
    ],
    [
      'bad base64 padding',
      // 256 bytes end in one byte and "=="; dropping a pad leaves an incomplete final group.
      async () =>
        props(f.signature('rsa2048.sha256.pss').slice(0, -1), 'SHA-256', 'RSA-PSS', await certId('rsa2048')),
      'SIGNATURE_MALFORMED',
      /not properly encoded using base64/,
    ],
    [
      'a truncated signature',
      async () =>
        props(f.signature('rsa2048.sha256.pss').slice(0, 100), 'SHA-256', 'RSA-PSS', await certId('rsa2048')),
      'SIGNATURE_INVALID',
      /Signature verification failed$/,
    ],
    [
      'an unknown certificate id',
      async () =>
        props(
          f.signature('rsa2048.sha256.pss'),
          'SHA-256',
          'RSA-PSS',
          '00000000-0000-0000-0000-000000000000',
        ),
      'CERTIFICATE_NOT_FOUND',
      /Certificate not found with ID: 00000000-0000-0000-0000-000000000000\.$/,
    ],
    [
      // Barbican answers 403, which castellan turns into a KeyManagerError rather than "not found".
      'a certificate in another project',
      async () => {
        const other = await t.addUser('elsewhere', 'member');
        const foreign = await storeSecret(
          t,
          await t.token('elsewhere', other.password),
          f.file('certs/rsa2048.pem'),
        );
        return props(f.signature('rsa2048.sha256.pss'), 'SHA-256', 'RSA-PSS', foreign);
      },
      'CERTIFICATE_NOT_FOUND',
      /: Signature verification for the image failed: Unable to retrieve certificate with ID: [0-9a-f-]{36}\.$/,
    ],
    [
      // castellan refuses an empty ID before asking Barbican ("Key ID is None").
      'an empty certificate ID',
      async () => props(f.signature('rsa2048.sha256.pss'), 'SHA-256', 'RSA-PSS', ''),
      'CERTIFICATE_NOT_FOUND',
      /: Signature verification for the image failed: Unable to retrieve certificate with ID: \.$/,
    ],
    [
      'a certificate stored as an opaque secret',
      async () =>
        props(
          f.signature('rsa2048.sha256.pss'),
          'SHA-256',
          'RSA-PSS',
          await storeSecret(t, token, f.file('certs/rsa2048.pem'), 'opaque'),
        ),
      'CERTIFICATE_INVALID',
      /Invalid certificate format: Opaque\.$/,
    ],
    [
      'a key type that does not match the certificate',
      async () =>
        props(f.signature('rsa2048.sha256.pss'), 'SHA-256', 'ECC_SECP384R1', await certId('rsa2048')),
      'CERTIFICATE_INVALID',
      /Invalid public key type for signature key type: ECC_SECP384R1\.$/,
    ],
  ];
  for (const [name, make, code, message] of refused) {
    it(`refuses ${name} with 400, Glance's message, and leaves the image queued without data`, async () => {
      const { id, upload, image } = await signedUpload(t, token, await make());
      assert.equal(upload.status, 400);
      assert.equal(upload.code, code);
      // webob's JSON body ends the message with "<br /><br />" and blank lines.
      const text = String(upload.json.message).replace(/<br \/>[\s\S]*$/, '');
      assert.match(text, message);
      assert.ok(text.startsWith(`Signature verification failed for image ${id}: `));
      assert.equal(image.status, 'queued');
      assert.equal(image.size, null);
      assert.equal(image.checksum, null);
      await assert.rejects(t.blobs.read(id), { code: 'NOT_FOUND' });
      assert.equal(await t.blobs.countTemporaries(), 0);
    });
  }

  it("refuses a certificate ID that is not a UUID with barbicanclient's bare 400 and leaves the image queued", async () => {
    for (const reference of ['not-a-uuid', ' ', '0123456789abcdef0123456789abcdeg']) {
      const { upload, image } = await signedUpload(
        t,
        token,
        props(f.signature('rsa2048.sha256.pss'), 'SHA-256', 'RSA-PSS', reference),
      );
      assert.equal(upload.status, 400, reference);
      // barbicanclient's ValueError reaches Glance's upload handler and is shown as it stands.
      assert.equal(
        String(upload.json.message).replace(/<br \/>[\s\S]*$/, ''),
        'Secret incorrectly specified.',
      );
      assert.equal(image.status, 'queued');
      assert.equal(await t.blobs.countTemporaries(), 0);
    }
    // Forms Python's uuid.UUID() reads pass barbicanclient and are then not found, as Barbican has them.
    for (const reference of [
      '{0123456789abcdef0123456789abcdef}',
      'urn:uuid:0123456789abcdef0123456789abcdef',
    ]) {
      const { upload } = await signedUpload(
        t,
        token,
        props(f.signature('rsa2048.sha256.pss'), 'SHA-256', 'RSA-PSS', reference),
      );
      assert.equal(upload.code, 'CERTIFICATE_NOT_FOUND', reference);
    }
  });

  it('refuses a tampered image (one byte flipped) and accepts the retry with the right data', async () => {
    const tampered = Buffer.from(f.image);
    tampered[tampered.length - 1] ^= 1;
    const properties = props(
      f.signature('secp384r1.sha384'),
      'SHA-384',
      'ECC_SECP384R1',
      await certId('secp384r1'),
    );
    const { id, upload } = await signedUpload(t, token, properties, tampered);
    assert.equal(upload.status, 400);
    const retry = await api(
      t,
      token,
      'PUT',
      `/image/v2/images/${id}/file`,
      new Uint8Array(f.image),
      'application/octet-stream',
    );
    assert.equal(retry.status, 204);
  });

  it('does not check anything when only three of the four properties are set, as Glance', async () => {
    const { img_signature_certificate_uuid: _, ...three } = props('garbage', 'SHA-256', 'RSA-PSS', 'x');
    const { upload, image } = await signedUpload(t, token, three);
    assert.equal(upload.status, 204);
    assert.equal(image.status, 'active');
  });

  describe('with the trust store on', () => {
    let strict: TestServer;
    let strictToken: string;
    before(async () => {
      // Trust anchors are named by key-manager id, so store them first, then start a server trusting them.
      const seed = await startTestServer();
      const seedToken = await seed.token();
      const root0 = await storeSecret(seed, seedToken, f.file('chain/root0.pem'));
      const root1 = await storeSecret(seed, seedToken, f.file('chain/root1.pem'));
      const inter = await storeSecret(seed, seedToken, f.file('chain/inter.pem'));
      const dataDir = seed.dataDir;
      await seed.server.stop();
      strict = await startTestServer({
        dataDir,
        trust: { requireTrustedCertificate: true, trustedCertificateIds: [root0, root1, inter] },
      });
      strictToken = await strict.token();
    });
    after(async () => strict?.stop());

    const upload = async (certificate: string, keyFile: string) => {
      const cert = await storeSecret(strict, strictToken, f.file(certificate));
      return signedUpload(
        strict,
        strictToken,
        props(signWith(keyFile, 'sha256'), 'SHA-256', 'RSA-PSS', cert),
      );
    };

    it('accepts a certificate that chains to a trusted root, directly or through a trusted intermediate', async () => {
      assert.equal((await upload('chain/leaf0.pem', 'chain/leaf0.key')).upload.status, 204);
      assert.equal((await upload('chain/leaf1.pem', 'chain/leaf1.key')).upload.status, 204);
    });

    it('refuses a self-signed certificate that is not trusted', async () => {
      const { upload: r } = await upload('chain/ss-plain.pem', 'chain/ss-plain.key');
      assert.equal(r.status, 400);
      assert.equal(r.code, 'CERTIFICATE_UNTRUSTED');
    });

    it('refuses expired and not-yet-valid certificates', async () => {
      for (const name of ['leaf-expired', 'leaf-future']) {
        const { upload: r, image } = await upload(`chain/${name}.pem`, `chain/${name}.key`);
        assert.equal(r.status, 400, name);
        assert.equal(r.code, 'CERTIFICATE_EXPIRED', name);
        assert.equal(image.status, 'queued');
      }
    });

    it('refuses a chain through an untrusted CA', async () => {
      const { upload: r } = await upload('chain/leaf-noku.pem', 'chain/leaf-noku.key');
      assert.equal(r.status, 400);
      assert.equal(r.code, 'CERTIFICATE_UNTRUSTED');
    });
  });

  describe('in a project that requires signatures', () => {
    let strict: TestServer;
    before(async () => {
      strict = await startTestServer({ trust: { signaturesRequiredProjects: ['admin'] } });
    });
    after(async () => strict?.stop());

    it('refuses an unsigned upload, and accepts a signed one', async () => {
      const auth = await strict.token();
      const unsigned = await signedUpload(strict, auth, {});
      assert.equal(unsigned.upload.status, 400);
      assert.equal(unsigned.upload.code, 'SIGNATURE_REQUIRED');
      assert.equal(unsigned.image.status, 'queued');
      const cert = await storeSecret(strict, auth, f.file('certs/rsa2048.pem'));
      const signed = await signedUpload(
        strict,
        auth,
        props(f.signature('rsa2048.sha256.pss'), 'SHA-256', 'RSA-PSS', cert),
      );
      assert.equal(signed.upload.status, 204);
    });
  });
});

// Interoperable import with the real clients, unchanged: `openstack image create --import --file`
// (stage + glance-direct) and `glance image-create-via-import --import-method web-download` from a local
// HTTP server this test starts (allowed explicitly in the server's configuration), each unsigned and
// signed; a bad signature and a disallowed URL (loopback not allowed, the metadata address) each fail
// the import, with the image not active and no data of any kind left.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadSigningFixtures, type SigningFixtures } from '../fixtures/signing-fixtures.ts';
import { apiCall } from '../support/http.ts';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

describe('interoperable import with the real openstack and glance clients', () => {
  let t: TestServer;
  let work: string;
  let env: Record<string, string>;
  let token: string;
  let f: SigningFixtures;
  let files: Server;
  let port: number;
  /** A second loopback server the configuration does not allow. */
  let forbidden: Server;
  let forbiddenPort: number;
  const served = new Map<string, Buffer>();
  /** Requests each test server received, by port. */
  const requests = new Map<number, number>();
  const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
  const sha512 = (data: Buffer) => createHash('sha512').update(data).digest('hex');
  const api = (method: string, url: string, body?: unknown) => apiCall(t.url, token, method, url, body);

  const serve = async (): Promise<{ server: Server; port: number }> => {
    const server = createServer((request, response) => {
      const own = (server.address() as AddressInfo).port;
      requests.set(own, (requests.get(own) ?? 0) + 1);
      const data = served.get(request.url ?? '');
      if (!data) return void response.writeHead(404).end();
      response.writeHead(200, { 'content-length': data.length }).end(data);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as AddressInfo).port };
  };
  /** The image once its import ended (the clients return at the 202). */
  const settled = async (id: string) => {
    await t.server.services.catalog.settleImports();
    return (await api('GET', `/image/v2/images/${id}`)).json as Record<string, unknown>;
  };
  const blobsOf = async (id: string) => {
    const keys: string[] = [];
    for await (const key of t.blobs.list()) if (key.startsWith(id)) keys.push(key);
    return keys;
  };
  const lastTask = async (id: string) =>
    ((await api('GET', `/image/v2/images/${id}/tasks`)).json.tasks as Record<string, unknown>[]).at(-1);
  const assertNotImported = async (id: string) => {
    const image = await settled(id);
    assert.notEqual(image.status, 'active');
    assert.equal(image.status, 'queued');
    assert.equal(image.checksum, null);
    assert.deepEqual(await blobsOf(id), [], 'no data, staged or imported');
    assert.equal(await t.blobs.countTemporaries(), 0);
  };
  const storeCertificate = async (name: string) => {
    const r = await api('POST', '/key-manager/v1/secrets', {
      name,
      secret_type: 'certificate',
      payload: f.file(`certs/${name}.pem`).toString('base64'),
      payload_content_type: 'application/octet-stream',
      payload_content_encoding: 'base64',
    });
    assert.equal(r.status, 201, r.text);
    return String(r.json.secret_ref).split('/').at(-1)!;
  };
  const signatureProperties = (certificate: string, signature = f.signature('rsa2048.sha256.pss')) => [
    `img_signature=${signature}`,
    'img_signature_hash_method=SHA-256',
    'img_signature_key_type=RSA-PSS',
    `img_signature_certificate_uuid=${certificate}`,
  ];
  /** The id in a glance CLI table. */
  const glanceId = (text: string) => /^\|\s*id\s*\|\s*(\S+)\s*\|$/m.exec(text)?.[1];

  before(async () => {
    requireTool('openstack', 'python3-openstackclient');
    requireTool('glance', 'python3-glanceclient');
    f = loadSigningFixtures();
    ({ server: files, port } = await serve());
    ({ server: forbidden, port: forbiddenPort } = await serve());
    t = await startTestServer({
      // Only this test's file server is reachable on loopback, by its own port: an explicit choice.
      import: {
        webDownload: {
          allowedPorts: [80, 443, port, forbiddenPort],
          internalHosts: [`127.0.0.1:${port}`],
        },
      },
    });
    token = await t.token();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-import-e2e-'));
    env = clientEnvironment(t.url, work);
  });
  after(async () => {
    await t?.stop();
    files?.close();
    forbidden?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('openstack image create --import --file (glance-direct)', () => {
    const create = async (name: string, file: string, properties: string[] = []) => {
      const args = ['image', 'create', '--import', '--file', file, '--disk-format', 'raw'];
      args.push('--container-format', 'bare', ...properties.flatMap((p) => ['--property', p]), name);
      return JSON.parse(await runOk('openstack', [...args, '-f', 'json'], env)) as { id: string };
    };

    it('stages and imports an unsigned image to active with the file’s hashes', async () => {
      const data = randomBytes(2 * 1024 * 1024 + 3);
      const file = path.join(work, 'direct.raw');
      writeFileSync(file, data);
      const created = await create('osc-import', file);
      const image = await settled(created.id);
      assert.equal(image.status, 'active');
      assert.equal(image.checksum, md5(data));
      assert.equal(image.os_hash_value, sha512(data));
      assert.equal((await lastTask(created.id))?.status, 'success');
      assert.deepEqual(await blobsOf(created.id), [created.id]);
    });

    it('imports a signed image whose signature verifies', async () => {
      const file = path.join(work, 'signed.raw');
      writeFileSync(file, f.image);
      const created = await create(
        'osc-signed',
        file,
        signatureProperties(await storeCertificate('rsa2048')),
      );
      const image = await settled(created.id);
      assert.equal(image.status, 'active');
      assert.equal(image.os_hash_value, sha512(f.image));
    });

    it('fails the import of data the signature does not match: queued, no data left', async () => {
      const tampered = Buffer.from(f.image);
      tampered[tampered.length - 1] ^= 0xff;
      const file = path.join(work, 'tampered.raw');
      writeFileSync(file, tampered);
      const created = await create(
        'osc-bad-signature',
        file,
        signatureProperties(await storeCertificate('rsa2048')),
      );
      await assertNotImported(created.id);
      const task = await lastTask(created.id);
      assert.equal(task?.status, 'failure');
      assert.match(String(task?.message), /Signature verification failed/);
    });
  });

  describe('glance image-create-via-import --import-method web-download', () => {
    // glance takes a non-TTY stdin for image data and refuses it with web-download: stdin is closed, as
    // in a cron job (`<&-`).
    const viaImport = (name: string, uri: string, properties: string[] = []) =>
      run(
        'sh',
        [
          '-c',
          'exec glance "$@" <&-',
          'glance',
          'image-create-via-import',
          '--name',
          name,
          '--disk-format',
          'raw',
          '--container-format',
          'bare',
          '--import-method',
          'web-download',
          '--uri',
          uri,
          ...properties.flatMap((p) => ['--property', p]),
        ],
        env,
      );
    const idByName = async (name: string) => {
      const listed = (await api('GET', `/image/v2/images?name=${name}`)).json.images as { id: string }[];
      assert.equal(listed.length, 1, `one image named ${name}`);
      return listed[0].id;
    };

    it('downloads an unsigned image from the allowed server to active', async () => {
      const data = randomBytes(1024 * 1024 + 11);
      served.set('/plain.raw', data);
      const result = await viaImport('g-web', `http://127.0.0.1:${port}/plain.raw`);
      assert.equal(result.code, 0, result.stderr);
      const id = glanceId(result.stdout) ?? (await idByName('g-web'));
      const image = await settled(id);
      assert.equal(image.status, 'active');
      assert.equal(image.checksum, md5(data));
      assert.equal(image.os_hash_value, sha512(data));
    });

    it('downloads a signed image whose signature verifies', async () => {
      served.set('/signed.raw', f.image);
      const properties = signatureProperties(await storeCertificate('rsa2048'));
      const result = await viaImport('g-web-signed', `http://127.0.0.1:${port}/signed.raw`, properties);
      assert.equal(result.code, 0, result.stderr);
      const image = await settled(await idByName('g-web-signed'));
      assert.equal(image.status, 'active');
    });

    it('fails a download whose data the signature does not match: queued, no data left', async () => {
      const tampered = Buffer.from(f.image);
      tampered[0] ^= 1;
      served.set('/tampered.raw', tampered);
      const properties = signatureProperties(await storeCertificate('rsa2048'));
      await viaImport('g-web-bad', `http://127.0.0.1:${port}/tampered.raw`, properties);
      const id = await idByName('g-web-bad');
      await assertNotImported(id);
      assert.equal((await lastTask(id))?.status, 'failure');
    });

    it('never fetches from loopback the configuration does not allow, nor from the metadata address', async () => {
      served.set('/secret', randomBytes(64));
      for (const [name, uri] of [
        ['g-loopback', `http://127.0.0.1:${forbiddenPort}/secret`],
        ['g-metadata', 'http://169.254.169.254/latest/meta-data/'],
      ]) {
        await viaImport(name, uri);
        const id = await idByName(name);
        await assertNotImported(id);
        assert.match(String((await lastTask(id))?.message), /internal address/);
      }
      assert.equal(requests.get(forbiddenPort) ?? 0, 0, 'the disallowed server was never reached');
    });

    it('refuses, before any task, a URI the import filter does not pass', async () => {
      const result = await viaImport('g-filtered', 'http://127.0.0.1:1/x');
      assert.notEqual(result.code, 0);
      assert.match(result.stderr + result.stdout, /400|does not pass filtering/);
      const id = await idByName('g-filtered');
      await assertNotImported(id);
      assert.equal(await lastTask(id), undefined);
    });
  });
});

// The registry client against Debian's docker-registry: manifests by tag and digest as skopeo sees
// them, blobs, tags, error codes, a lying server, bearer-token auth and TLS with a cert dir.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DOCKER_V2S2,
  OCI_MANIFEST,
  parseAuthChallenges,
  parseCredentials,
  RegistryClient,
} from '../../../src/containers/registry/index.ts';
import { ImageTrustError } from '../../../src/errors/index.ts';
import {
  inspectRaw,
  makeCertificate,
  pushBlob,
  pushTestImage,
  startRegistry,
  startTokenServer,
  type TestRegistry,
  type TokenServer,
} from '../../support/registry.ts';

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function rejectsWithCode(promise: Promise<unknown>, code: string, text?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageTrustError, String(error));
    assert.equal(error.code, code, error.message);
    if (text) assert.match(error.message, text);
    return true;
  });
}

describe('RegistryClient (docker-registry 2.8)', () => {
  let registry: TestRegistry;
  let client: RegistryClient;

  before(async () => {
    registry = await startRegistry();
    await pushTestImage(registry.host, 'ns/app:v1');
    await pushTestImage(registry.host, 'ns/app:v2', { text: 'second\n' });
    await pushTestImage(registry.host, 'ns/docker:v1', { format: 'v2s2' });
    client = new RegistryClient(registry.host, { tlsVerify: false });
  });
  after(() => registry?.stop());

  it('reads a manifest by tag exactly as skopeo does, with its media type and digest', async () => {
    const manifest = await client.getManifest('ns/app', 'v1');
    assert.deepEqual(manifest.bytes, await inspectRaw(registry.host, 'ns/app:v1'));
    assert.equal(manifest.mimeType, OCI_MANIFEST);
    assert.equal(manifest.digest, sha256(manifest.bytes));
    assert.equal(manifest.contentDigest, manifest.digest);
  });

  it('reads a docker v2s2 manifest with its own media type', async () => {
    const manifest = await client.getManifest('ns/docker', 'v1');
    assert.equal(manifest.mimeType, DOCKER_V2S2);
  });

  it('reads a manifest by digest and checks it hashes to that digest', async () => {
    const byTag = await client.getManifest('ns/app', 'v2');
    const byDigest = await client.getManifest('ns/app', byTag.digest);
    assert.deepEqual(byDigest.bytes, byTag.bytes);
  });

  it('answers NOT_FOUND for an unknown tag, repository or digest', async () => {
    await rejectsWithCode(
      client.getManifest('ns/app', 'nope'),
      'NOT_FOUND',
      /reading manifest nope in 127\.0\.0\.1:\d+\/ns\/app: manifest unknown/,
    );
    await rejectsWithCode(client.getManifest('ns/missing', 'v1'), 'NOT_FOUND');
    await rejectsWithCode(client.getManifest('ns/app', `sha256:${'0'.repeat(64)}`), 'NOT_FOUND');
  });

  it('finds no manifest (null) for a missing tag instead of failing', async () => {
    assert.equal(await client.findManifest('ns/app', `sha256-${'1'.repeat(64)}.sig`), null);
  });

  it('refuses a malformed digest before asking the registry', async () => {
    await rejectsWithCode(client.getManifest('ns/app', 'sha256:abc'), 'BAD_REQUEST');
  });

  it('reads a blob and verifies its digest', async () => {
    const blob = Buffer.from('{"payload":true}');
    const digest = await pushBlob(registry.host, 'ns/app', blob);
    assert.deepEqual(await client.getBlob('ns/app', digest), blob);
    await rejectsWithCode(client.getBlob('ns/app', `sha256:${'2'.repeat(64)}`), 'NOT_FOUND');
  });

  it('lists tags', async () => {
    assert.deepEqual((await client.listTags('ns/app')).sort(), ['v1', 'v2']);
  });

  it('fails clearly when nothing listens, and with TLS verification on an HTTP registry', async () => {
    await rejectsWithCode(
      new RegistryClient('127.0.0.1:1').getManifest('a', 'b'),
      'REGISTRY_UNREACHABLE',
      /pinging container registry 127\.0\.0\.1:1/,
    );
    await rejectsWithCode(
      new RegistryClient(registry.host).getManifest('ns/app', 'v1'),
      'REGISTRY_TLS',
      /pinging container registry .*server gave HTTP response to HTTPS client/,
    );
  });
});

describe('RegistryClient against a registry that lies', () => {
  let server: Server;
  let host: string;
  const served = Buffer.from(
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}',
  );

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/v2/') return res.writeHead(200).end('{}');
      // Whatever is asked for, the same bytes, with a header claiming they are what was asked.
      const asked = req.url?.split('/').pop() ?? '';
      res.writeHead(200, { 'content-type': 'text/plain', 'docker-content-digest': asked });
      res.end(served);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses a manifest fetched by digest whose bytes hash elsewhere', async () => {
    const client = new RegistryClient(host, { tlsVerify: false });
    await rejectsWithCode(
      client.getManifest('x/y', `sha256:${'a'.repeat(64)}`),
      'SIGNATURE_INVALID',
      /does not match provided manifest digest/,
    );
    await rejectsWithCode(client.getBlob('x/y', `sha256:${'b'.repeat(64)}`), 'SIGNATURE_INVALID');
  });

  it('accepts it by its true digest and guesses the media type from the body', async () => {
    const client = new RegistryClient(host, { tlsVerify: false });
    const manifest = await client.getManifest('x/y', sha256(served));
    assert.equal(manifest.mimeType, OCI_MANIFEST);
  });
});

describe('RegistryClient with bearer-token auth', () => {
  let dir: string;
  let tokens: TokenServer;
  let registry: TestRegistry;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-token-'));
    tokens = await startTokenServer(dir, { alice: 'secret' });
    registry = await startRegistry({ auth: tokens.auth });
    await pushTestImage(registry.host, 'private/app:v1', { creds: 'alice:secret' });
  });
  after(async () => {
    await registry?.stop();
    await tokens?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pulls with credentials through the token endpoint, and reuses the token', async () => {
    const client = new RegistryClient(registry.host, {
      tlsVerify: false,
      credentials: parseCredentials('alice:secret'),
    });
    const manifest = await client.getManifest('private/app', 'v1');
    assert.deepEqual(manifest.bytes, await inspectRaw(registry.host, 'private/app:v1', 'alice:secret'));
    const issued = tokens.issued;
    await client.getManifest('private/app', manifest.digest);
    assert.equal(tokens.issued, issued);
  });

  it('answers UNAUTHENTICATED for anonymous pulls and for a wrong password', async () => {
    await rejectsWithCode(
      new RegistryClient(registry.host, { tlsVerify: false }).getManifest('private/app', 'v1'),
      'UNAUTHENTICATED',
    );
    const wrong = new RegistryClient(registry.host, {
      tlsVerify: false,
      credentials: parseCredentials('alice:nope'),
    });
    await rejectsWithCode(
      wrong.getManifest('private/app', 'v1'),
      'UNAUTHENTICATED',
      /invalid username\/password/,
    );
  });
});

describe('RegistryClient with HTTP Basic auth (htpasswd)', () => {
  let registry: TestRegistry;

  before(async () => {
    registry = await startRegistry({ htpasswd: { bob: 'hunter2' } });
    await pushTestImage(registry.host, 'basic/app:v1', { creds: 'bob:hunter2' });
  });
  after(() => registry?.stop());

  it('answers the Basic challenge with the credentials', async () => {
    const client = new RegistryClient(registry.host, {
      tlsVerify: false,
      credentials: parseCredentials('bob:hunter2'),
    });
    assert.equal((await client.getManifest('basic/app', 'v1')).mimeType, OCI_MANIFEST);
  });

  it('answers UNAUTHENTICATED without credentials or with wrong ones', async () => {
    await rejectsWithCode(
      new RegistryClient(registry.host, { tlsVerify: false }).getManifest('basic/app', 'v1'),
      'UNAUTHENTICATED',
    );
    const wrong = new RegistryClient(registry.host, {
      tlsVerify: false,
      credentials: parseCredentials('bob:nope'),
    });
    await rejectsWithCode(wrong.getManifest('basic/app', 'v1'), 'UNAUTHENTICATED');
  });
});

describe('RegistryClient over TLS', () => {
  let dir: string;
  let registry: TestRegistry;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-tls-'));
    const tls = await makeCertificate(dir, 'registry');
    registry = await startRegistry({ tls });
    mkdirSync(path.join(dir, 'certs'));
    copyFileSync(tls.certFile, path.join(dir, 'certs', 'ca.crt'));
    await pushTestImage(registry.host, 'tls/app:v1');
  });
  after(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the CA from --cert-dir', async () => {
    const client = new RegistryClient(registry.host, { certDir: path.join(dir, 'certs') });
    assert.equal((await client.getManifest('tls/app', 'v1')).mimeType, OCI_MANIFEST);
  });

  it('refuses an unknown CA unless TLS verification is off', async () => {
    await rejectsWithCode(
      new RegistryClient(registry.host).getManifest('tls/app', 'v1'),
      'REGISTRY_TLS',
      /certificate/,
    );
    const insecure = new RegistryClient(registry.host, { tlsVerify: false });
    assert.equal((await insecure.getManifest('tls/app', 'v1')).mimeType, OCI_MANIFEST);
  });
});

describe('parseAuthChallenges', () => {
  it('reads bearer and basic challenges with quoted parameters', () => {
    assert.deepEqual(
      parseAuthChallenges(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
      ),
      [
        {
          scheme: 'bearer',
          parameters: {
            realm: 'https://auth.example/token',
            service: 'registry.example',
            scope: 'repository:a/b:pull,push',
          },
        },
      ],
    );
    assert.deepEqual(parseAuthChallenges(['Basic realm="basic-realm"']), [
      { scheme: 'basic', parameters: { realm: 'basic-realm' } },
    ]);
  });

  it('splits user:password at the first colon', () => {
    assert.deepEqual(parseCredentials('u:p:q'), { username: 'u', password: 'p:q' });
    assert.throws(() => parseCredentials(':p'));
  });
});

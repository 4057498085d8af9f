// The container decision API over a real socket: a real docker-registry, images pushed by skopeo,
// signatures made by `skopeo standalone-sign` in a throwaway GNUPGHOME and served from an HTTP lookaside;
// policies, keys and registries.d stored per project through the API.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../src/config/index.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { passwordLogin } from '../support/auth.ts';
import { makeGpgKey } from '../support/gpg.ts';
import {
  inspectRaw,
  pushTestImage,
  startRegistry,
  startStaticServer,
  type TestRegistry,
} from '../support/registry.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

const ADMIN_PASSWORD = 'admin-test-password';

interface Reply {
  status: number;
  code: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below.
  body: any;
}

describe('container decision API', () => {
  let work: string;
  let registry: TestRegistry;
  let lookaside: Awaited<ReturnType<typeof startStaticServer>>;
  let server: RunningServer;
  let gpgEnv: Record<string, string>;
  let host: string;
  let trustedKey: Buffer;
  let trustedFingerprint: string;
  const tokens: Record<string, string> = {};

  async function call(
    user: string,
    method: string,
    route: string,
    body?: string | Buffer | object,
    contentType = 'application/json',
  ): Promise<Reply> {
    const headers: Record<string, string> = { 'x-auth-token': tokens[user] ?? '' };
    let payload: string | Uint8Array<ArrayBuffer> | undefined;
    if (body !== undefined) {
      headers['content-type'] = contentType;
      payload =
        typeof body === 'string' ? body : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body);
    }
    const response = await fetch(`${server.url}/containers/v1${route}`, { method, headers, body: payload });
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').startsWith('application/json') && text !== '') {
      parsed = JSON.parse(text);
    }
    return { status: response.status, code: response.headers.get('x-imagetrust-error-code'), body: parsed };
  }

  const decide = async (user: string, images: string[]) => {
    const reply = await call(user, 'POST', '/decisions', { images });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body.decisions as {
      image: string;
      allowed: boolean;
      reason?: string;
      requirements: { type: string; result: string }[];
    }[];
  };
  const image = (name: string) => `docker://${host}/${name}`;

  const gpgKey = (name: string) => makeGpgKey(name, gpgEnv);

  async function storeSignature(repo: string, digest: string, manifest: Buffer, tamper = false) {
    const manifestFile = path.join(work, `${repo.replace(/\//g, '_')}.manifest`);
    writeFileSync(manifestFile, manifest);
    const folder = path.join(work, 'lookaside', `${repo}@${digest.replace(':', '=')}`);
    mkdirSync(folder, { recursive: true });
    const signature = path.join(folder, 'signature-1');
    await runOk(
      'skopeo',
      ['standalone-sign', manifestFile, `${host}/${repo}:v1`, trustedFingerprint, '-o', signature],
      gpgEnv,
    );
    if (tamper) {
      const bytes = readFileSync(signature);
      bytes[bytes.length - 20] ^= 0x01;
      writeFileSync(signature, bytes);
    }
  }

  async function addUser(name: string, role: 'member' | 'reader', projectName: string) {
    const { identity } = server.services;
    const project =
      (await identity.repository.findProjectByName('default', projectName)) ??
      (await identity.createProject({ name: projectName }));
    const user = await identity.createUser({
      name,
      password: `${name}-password`,
      defaultProjectId: project.id,
    });
    await identity.grantRole(user.id, project.id, role);
    const response = await passwordLogin(server.url, name, `${name}-password`, projectName);
    assert.equal(response.status, 201);
    tokens[name] = response.headers.get('x-subject-token')!;
  }

  const policyOf = (entries: Record<string, unknown[]>) => ({
    default: [{ type: 'reject' }],
    transports: { docker: entries },
  });

  before(async () => {
    for (const [tool, pkg] of [
      ['skopeo', 'skopeo'],
      ['gpg', 'gnupg'],
      ['docker-registry', 'docker-registry'],
    ])
      requireTool(tool, pkg);
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-decisions-'));
    const gnupgHome = path.join(work, 'gnupg');
    mkdirSync(gnupgHome, { mode: 0o700 });
    gpgEnv = { GNUPGHOME: gnupgHome };
    trustedFingerprint = await gpgKey('trusted');
    trustedKey = Buffer.from(await runOk('gpg', ['--armor', '--export', trustedFingerprint], gpgEnv));

    registry = await startRegistry();
    host = registry.host;
    for (const repo of ['signed/app', 'tampered/app', 'unsigned/app', 'rejectme/app', 'nokey/app']) {
      await pushTestImage(host, `${repo}:v1`);
    }
    const manifest = await inspectRaw(host, 'signed/app:v1');
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    await storeSignature('signed/app', digest, manifest);
    await storeSignature('tampered/app', digest, manifest, true);
    await storeSignature('nokey/app', digest, manifest);
    lookaside = await startStaticServer(path.join(work, 'lookaside'));

    const dataDir = path.join(work, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    const config = validateConfig({
      dataDir,
      listen: { host: '127.0.0.1', port: 0 },
      adminPassword: ADMIN_PASSWORD,
      logLevel: 'silent',
      // The lookaside runs on loopback: only this host:port is let through, not the rest of 127.0.0.1.
      containers: { internalHosts: [new URL(lookaside.url).host] },
    });
    // The test registry speaks plain HTTP; production registries are verified over TLS.
    // Insecure registries are also allowed to be internal.
    server = await startServer(config, { insecureRegistries: [host] });
    await addUser('alice', 'member', 'project-a');
    await addUser('rita', 'reader', 'project-a');
    await addUser('bob', 'member', 'project-b');

    assert.equal(
      (await call('alice', 'PUT', '/keys/trusted', trustedKey, 'application/pgp-keys')).status,
      201,
    );
    assert.equal(
      (
        await call(
          'alice',
          'PUT',
          '/registries.d',
          `docker:\n  ${host}:\n    lookaside: ${lookaside.url}\n`,
          'application/yaml',
        )
      ).status,
      200,
    );
    const signedBy = [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: 'trusted' }];
    const put = await call(
      'alice',
      'PUT',
      '/policy',
      policyOf({
        [host]: signedBy,
        [`${host}/rejectme`]: [{ type: 'reject' }],
        [`${host}/nokey`]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: 'missing' }],
      }),
    );
    assert.equal(put.status, 200, JSON.stringify(put.body));
  });

  after(async () => {
    await server?.stop();
    if (gpgEnv) await run('gpgconf', ['--kill', 'gpg-agent'], gpgEnv);
    await lookaside?.stop();
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('allows a signed image and rejects tampered, unsigned and reject-scoped ones', async () => {
    const decisions = await decide('alice', [
      image('signed/app:v1'),
      image('tampered/app:v1'),
      image('unsigned/app:v1'),
      image('rejectme/app:v1'),
    ]);
    assert.deepEqual(
      decisions.map((d) => [d.image, d.allowed]),
      [
        [image('signed/app:v1'), true],
        [image('tampered/app:v1'), false],
        [image('unsigned/app:v1'), false],
        [image('rejectme/app:v1'), false],
      ],
    );
    assert.deepEqual(
      decisions[0].requirements.map((r) => [r.type, r.result]),
      [['signedBy', 'accepted']],
    );
    assert.deepEqual(
      decisions[1].requirements.map((r) => [r.type, r.result]),
      [['signedBy', 'rejected']],
    );
    assert.deepEqual(
      decisions[3].requirements.map((r) => [r.type, r.result]),
      [['reject', 'rejected']],
    );
  });

  it('never reaches internal addresses for a tenant: metadata service, loopback ports, names resolving there', async () => {
    const other = await startStaticServer(path.join(work, 'lookaside'));
    await addUser('carol', 'member', 'project-c');
    try {
      const port = new URL(other.url).port;
      // A lookaside on an allowed host but another port, then by a name that resolves to loopback.
      for (const base of [other.url, `http://localhost:${port}/`]) {
        const stored = await call(
          'carol',
          'PUT',
          '/registries.d',
          `docker:\n  ${host}:\n    lookaside: ${base}\n`,
          'application/yaml',
        );
        assert.equal(stored.status, 200);
        await call('carol', 'PUT', '/keys/trusted', trustedKey, 'application/pgp-keys');
        await call(
          'carol',
          'PUT',
          '/policy',
          policyOf({ [host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: 'trusted' }] }),
        );
        const [decision] = await decide('carol', [image('signed/app:v1')]);
        assert.equal(decision.allowed, false, base);
        assert.match(decision.reason ?? '', /internal address/, base);
      }
      // A registry at the cloud metadata address is refused before any connection.
      const [metadata] = await decide('carol', ['docker://169.254.169.254/latest/meta-data:v1']);
      assert.equal(metadata.allowed, false);
      assert.match(metadata.reason ?? '', /Refusing to connect to 169\.254\.169\.254/);
    } finally {
      await other.stop();
    }
  });

  it('rejects an image it cannot read, saying why', async () => {
    const [decision] = await decide('alice', [image('nowhere/app:v1')]);
    assert.equal(decision.allowed, false);
    assert.equal((decision as { error?: string }).error, 'NOT_FOUND');
  });

  it('rejects an image whose policy names a key the project has not stored', async () => {
    const [decision] = await decide('alice', [image('nokey/app:v1')]);
    assert.equal(decision.allowed, false);
    assert.match(decision.reason!, /"missing" is not stored/);
  });

  it('lists stored keys with their type and fingerprint, never the material', async () => {
    const reply = await call('alice', 'GET', '/keys');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.keys.length, 1);
    assert.equal(reply.body.keys[0].name, 'trusted');
    assert.equal(reply.body.keys[0].type, 'openpgp');
    assert.deepEqual(reply.body.keys[0].fingerprints, [trustedFingerprint]);
    assert.equal(JSON.stringify(reply.body).includes('material'), false);
  });

  it('keeps projects apart: B cannot read A’s policy or keys, and B’s decisions use B’s policy', async () => {
    assert.equal((await call('bob', 'GET', '/policy')).code, 'NOT_FOUND');
    assert.equal((await call('bob', 'GET', '/keys/trusted')).code, 'NOT_FOUND');
    assert.deepEqual((await call('bob', 'GET', '/keys')).body.keys, []);
    assert.equal(
      (await call('bob', 'POST', '/decisions', { images: [image('signed/app:v1')] })).code,
      'NOT_FOUND',
    );
    const put = await call(
      'bob',
      'PUT',
      '/policy',
      policyOf({ [host]: [{ type: 'insecureAcceptAnything' }] }),
    );
    assert.equal(put.status, 200);
    assert.equal((await decide('bob', [image('unsigned/app:v1')]))[0].allowed, true);
    assert.equal((await decide('alice', [image('unsigned/app:v1')]))[0].allowed, false);
    const own = await call('alice', 'GET', '/policy');
    assert.equal(own.status, 200);
    assert.equal(own.body.transports.docker[host][0].keyPath, 'trusted');
  });

  it('refuses a policy whose keyPath names a server file', async () => {
    const reply = await call(
      'alice',
      'PUT',
      '/policy',
      policyOf({ [host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/etc/passwd' }] }),
    );
    assert.equal(reply.status, 400);
    assert.equal(reply.code, 'POLICY_INVALID');
  });

  it('refuses a file:// lookaside', async () => {
    const reply = await call(
      'alice',
      'PUT',
      '/registries.d',
      `default-docker:\n  lookaside: file:///var/lib/containers/sigstore\n`,
      'application/yaml',
    );
    assert.equal(reply.status, 400);
    assert.equal(reply.code, 'POLICY_INVALID');
  });

  it('answers a malformed policy with 400, the parse error and its position', async () => {
    const reply = await call(
      'alice',
      'PUT',
      '/policy',
      '{\n  "default": [{"type": "reject"}],\n  "bogus": 1\n}',
    );
    assert.equal(reply.status, 400);
    assert.equal(reply.code, 'POLICY_INVALID');
    assert.equal(reply.body.error.position.line, 3);
    assert.equal(reply.body.error.position.column, 3);
    assert.equal((await call('alice', 'GET', '/policy')).body.transports.docker[host][0].keyPath, 'trusted');
  });

  it('lets a reader ask for decisions but not change policy or keys', async () => {
    assert.equal((await decide('rita', [image('signed/app:v1')]))[0].allowed, true);
    assert.equal((await call('rita', 'GET', '/policy')).status, 200);
    assert.equal((await call('rita', 'PUT', '/policy', policyOf({}))).code, 'FORBIDDEN');
    assert.equal((await call('rita', 'DELETE', '/policy')).code, 'FORBIDDEN');
    assert.equal(
      (await call('rita', 'PUT', '/keys/other', trustedKey, 'application/pgp-keys')).code,
      'FORBIDDEN',
    );
    assert.equal((await call('rita', 'DELETE', '/keys/trusted')).code, 'FORBIDDEN');
  });

  it('refuses 1001 images, an empty list and transports that name server paths', async () => {
    const many = Array.from({ length: 1001 }, () => image('signed/app:v1'));
    assert.equal((await call('rita', 'POST', '/decisions', { images: many })).code, 'BAD_REQUEST');
    assert.equal((await call('rita', 'POST', '/decisions', { images: [] })).code, 'BAD_REQUEST');
    assert.equal((await call('rita', 'POST', '/decisions', { images: ['dir:/etc'] })).code, 'BAD_REQUEST');
  });

  it('refuses private key material and unauthenticated callers', async () => {
    const secret = Buffer.from(
      await runOk(
        'gpg',
        [
          '--batch',
          '--pinentry-mode',
          'loopback',
          '--passphrase',
          '',
          '--armor',
          '--export-secret-keys',
          trustedFingerprint,
        ],
        gpgEnv,
      ),
    );
    assert.equal(
      (await call('alice', 'PUT', '/keys/secret', secret, 'application/pgp-keys')).code,
      'BAD_REQUEST',
    );
    assert.equal((await call('nobody', 'GET', '/policy')).code, 'UNAUTHENTICATED');
  });

  it('deletes a key, after which decisions that need it are rejected', async () => {
    assert.equal((await call('alice', 'DELETE', '/keys/trusted')).status, 204);
    assert.equal((await call('alice', 'GET', '/keys/trusted')).code, 'NOT_FOUND');
    const [decision] = await decide('alice', [image('signed/app:v1')]);
    assert.equal(decision.allowed, false);
  });
});

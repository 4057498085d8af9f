// `imagetrust containers check` end to end: a real docker-registry, images pushed by skopeo, simple
// signatures made by `skopeo standalone-sign` with a throwaway GPG home, served from an HTTP lookaside,
// sigstore attachments signed here; skopeo copy with the same policy is the oracle for every verdict.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeGpgKey } from '../support/gpg.ts';
import {
  inspectRaw,
  pushSigstoreAttachments,
  pushTestImage,
  startRegistry,
  startStaticServer,
  startTokenServer,
  type TestRegistry,
  type TokenServer,
} from '../support/registry.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const sha256 = async (bytes: Buffer) =>
  `sha256:${(await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}`;

describe('imagetrust containers check against docker-registry, with skopeo as the oracle', () => {
  let registry: TestRegistry;
  let work: string;
  let lookaside: Awaited<ReturnType<typeof startStaticServer>>;
  let gpgEnv: Record<string, string>;
  let policyFile: string;
  let registriesDir: string;
  let host: string;
  let digest: string;

  const gpgKey = (name: string) => makeGpgKey(name, gpgEnv);

  /** Signs `manifest` for `identity` with skopeo and stores it as signature-1 of `repo` at `digest`. */
  async function storeSignature(
    repo: string,
    digest: string,
    manifest: Buffer,
    identity: string,
    fingerprint: string,
    tamper = false,
  ): Promise<void> {
    const manifestFile = path.join(work, `${repo.replace(/\//g, '_')}.manifest`);
    writeFileSync(manifestFile, manifest);
    const folder = path.join(work, 'lookaside', `${repo}@${digest.replace(':', '=')}`);
    mkdirSync(folder, { recursive: true });
    const signature = path.join(folder, 'signature-1');
    await runOk('skopeo', ['standalone-sign', manifestFile, identity, fingerprint, '-o', signature], gpgEnv);
    if (tamper) {
      const bytes = readFileSync(signature);
      bytes[bytes.length - 20] ^= 0x01;
      writeFileSync(signature, bytes);
    }
  }

  // Case names stand for full image names: DIGEST and DIRS are filled in once the images exist.
  const imageName = (image: string) =>
    image.startsWith('dir:')
      ? image.replace('DIRS', path.join(work, 'dirs'))
      : `docker://${host}/${image.replace('DIGEST', digest)}`;

  async function check(image: string, format = 'text') {
    return run(BIN, [
      'containers',
      'check',
      imageName(image),
      '--policy',
      policyFile,
      '--registries.d',
      registriesDir,
      '--tls-verify=false',
      '--format',
      format,
    ]);
  }

  /** skopeo copy with the same policy and registries.d: exit status and the rejection reason. */
  async function oracle(image: string): Promise<{ allowed: boolean; reason?: string }> {
    const target = mkdtempSync(path.join(work, 'copy-'));
    const result = await run('skopeo', [
      '--policy',
      policyFile,
      '--registries.d',
      registriesDir,
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      imageName(image),
      `dir:${target}`,
    ]);
    rmSync(target, { recursive: true, force: true });
    if (result.code === 0) return { allowed: true };
    const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(result.stderr);
    const text = msg ? (JSON.parse(`"${msg[1]}"`) as string) : result.stderr;
    return { allowed: false, reason: text.replace(/^Source image rejected: /, '') };
  }

  before(async () => {
    for (const [tool, pkg] of [
      ['skopeo', 'skopeo'],
      ['gpg', 'gnupg'],
      ['docker-registry', 'docker-registry'],
    ])
      requireTool(tool, pkg);
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-containers-e2e-'));
    const gnupgHome = path.join(work, 'gnupg');
    mkdirSync(gnupgHome, { mode: 0o700 });
    gpgEnv = { GNUPGHOME: gnupgHome };
    const trusted = await gpgKey('trusted');
    const stranger = await gpgKey('stranger');
    writeFileSync(
      path.join(work, 'trusted.asc'),
      await runOk('gpg', ['--armor', '--export', trusted], gpgEnv),
    );

    registry = await startRegistry();
    host = registry.host;
    const repos = [
      'signed/app',
      'tampered/app',
      'wrongdigest/app',
      'wrongidentity/app',
      'unknownkey/app',
      'unsigned/app',
      'accept/app',
      'rejectme/app',
      'mixed/app',
      'cosign/app',
      'cosignbad/app',
    ];
    for (const repo of repos) await pushTestImage(host, `${repo}:v1`);
    await pushTestImage(host, 'mixed/app:v2', { text: 'v2\n' });
    const manifest = await inspectRaw(host, 'signed/app:v1');
    digest = await sha256(manifest);

    await storeSignature('signed/app', digest, manifest, `${host}/signed/app:v1`, trusted);
    await storeSignature('tampered/app', digest, manifest, `${host}/tampered/app:v1`, trusted, true);
    await storeSignature(
      'wrongdigest/app',
      digest,
      Buffer.concat([manifest, Buffer.from('\n')]),
      `${host}/wrongdigest/app:v1`,
      trusted,
    );
    await storeSignature('wrongidentity/app', digest, manifest, `${host}/other/app:v1`, trusted);
    await storeSignature('unknownkey/app', digest, manifest, `${host}/unknownkey/app:v1`, stranger);
    lookaside = await startStaticServer(path.join(work, 'lookaside'));

    // Sigstore attachments with a P-256 key made here; cosignbad is signed by another key.
    const good = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bad = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(path.join(work, 'cosign.pub'), good.publicKey.export({ type: 'spki', format: 'pem' }));
    for (const [repo, key] of [
      ['cosign/app', good.privateKey],
      ['cosignbad/app', bad.privateKey],
    ] as const) {
      const payload = Buffer.from(
        JSON.stringify({
          critical: {
            identity: { 'docker-reference': `${host}/${repo}:v1` },
            image: { 'docker-manifest-digest': digest },
            type: 'cosign container image signature',
          },
          optional: null,
        }),
      );
      await pushSigstoreAttachments(host, repo, digest, [
        {
          payload,
          annotations: {
            'dev.cosignproject.cosign/signature': sign('sha256', payload, key).toString('base64'),
          },
        },
      ]);
    }

    registriesDir = path.join(work, 'registries.d');
    mkdirSync(registriesDir);
    writeFileSync(
      path.join(registriesDir, 'test.yaml'),
      `docker:\n  ${host}:\n    lookaside: ${lookaside.url}\n  ${host}/cosign:\n    use-sigstore-attachments: true\n  ${host}/cosignbad:\n    use-sigstore-attachments: true\n`,
    );
    // dir: copies made by skopeo carry the lookaside signatures along as signature-N files.
    mkdirSync(path.join(work, 'dirs'));
    for (const repo of ['signed', 'unsigned']) {
      await runOk('skopeo', [
        '--insecure-policy',
        '--registries.d',
        registriesDir,
        'copy',
        '--quiet',
        '--src-tls-verify=false',
        `docker://${host}/${repo}/app:v1`,
        `dir:${path.join(work, 'dirs', repo)}`,
      ]);
    }
    const signedBy = [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: path.join(work, 'trusted.asc') }];
    const sigstore = [{ type: 'sigstoreSigned', keyPath: path.join(work, 'cosign.pub') }];
    policyFile = path.join(work, 'policy.json');
    writeFileSync(
      policyFile,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          dir: {
            [path.join(work, 'dirs')]: [
              {
                type: 'signedBy',
                keyType: 'GPGKeys',
                keyPath: path.join(work, 'trusted.asc'),
                signedIdentity: { type: 'exactReference', dockerReference: `${host}/signed/app:v1` },
              },
            ],
          },
          docker: {
            [host]: signedBy,
            [`${host}/accept`]: [{ type: 'insecureAcceptAnything' }],
            [`${host}/rejectme/app`]: [{ type: 'reject' }],
            [`${host}/mixed`]: [{ type: 'reject' }],
            [`${host}/mixed/app:v1`]: [{ type: 'insecureAcceptAnything' }],
            [`${host}/cosign`]: sigstore,
            [`${host}/cosignbad`]: sigstore,
          },
        },
      }),
    );
  });

  after(async () => {
    if (gpgEnv) await run('gpgconf', ['--kill', 'gpg-agent'], gpgEnv);
    await lookaside?.stop();
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const cases: [image: string, allowed: boolean, reason?: RegExp, sameTextAsSkopeo?: boolean][] = [
    ['signed/app:v1', true],
    // The flipped byte lands in the signature's numbers or, depending on the key and the run, in its
    // packet framing; both make the signature unusable, with one of these two texts.
    ['tampered/app:v1', false, /^(Invalid GPG signature: |Unexpected GPG signature count 0$)/],
    ['wrongdigest/app:v1', false, /^Signature for digest sha256:[a-f0-9]{64} does not match$/, true],
    [
      'wrongidentity/app:v1',
      false,
      /^Signature for identity 127\.0\.0\.1:\d+\/other\/app:v1 is not accepted$/,
      true,
    ],
    ['unknownkey/app:v1', false, /^Invalid GPG signature: /],
    ['unsigned/app:v1', false, /^A signature was required, but no signature exists$/, true],
    ['accept/app:v1', true],
    [
      'rejectme/app:v1',
      false,
      /^Running image docker:\/\/127\.0\.0\.1:\d+\/rejectme\/app:v1 is rejected by policy\.$/,
      true,
    ],
    ['mixed/app:v1', true],
    ['mixed/app:v2', false, /is rejected by policy\.$/, true],
    ['signed/app@DIGEST', true],
    ['unsigned/app@DIGEST', false, /^A signature was required, but no signature exists$/, true],
    ['dir:DIRS/signed', true],
    ['dir:DIRS/unsigned', false, /^A signature was required, but no signature exists$/, true],
  ];
  for (const [image, allowed, reason, same] of cases) {
    it(`${allowed ? 'allows' : 'rejects'} ${image} as skopeo copy does`, async () => {
      const [ours, theirs] = await Promise.all([check(image), oracle(image)]);
      assert.equal(ours.code, allowed ? 0 : 1, ours.stderr + ours.stdout);
      assert.equal(theirs.allowed, allowed, theirs.reason);
      if (allowed) assert.equal(ours.stdout, 'allowed\n');
      else {
        const text = ours.stdout.replace(/^rejected: /, '').trimEnd();
        assert.match(text, reason!);
        if (same) assert.equal(text, theirs.reason);
      }
    });
  }

  it('accepts a sigstore attachment signed by the policy key and rejects one by another key', async () => {
    const good = await check('cosign/app:v1');
    assert.equal(good.code, 0, good.stderr + good.stdout);
    const bad = await check('cosignbad/app:v1');
    assert.equal(bad.code, 1, bad.stderr);
    assert.equal(
      bad.stdout,
      'rejected: cryptographic signature verification failed: invalid signature when validating ASN.1 encoded signature\n',
    );
  });

  it('reports every requirement with --format json', async () => {
    const result = await check('wrongidentity/app:v1', 'json');
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout);
    assert.equal(report.allowed, false);
    assert.deepEqual(report.scope, { transport: 'docker', scope: host });
    assert.equal(report.requirements[0].type, 'signedBy');
    assert.equal(report.requirements[0].result, 'rejected');
  });

  it('fails with NOT_FOUND (not a verdict) for a missing image', async () => {
    const result = await check('signed/app:missing');
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /manifest unknown/);
  });
});

describe('imagetrust containers check against a registry with token auth', () => {
  let work: string;
  let tokens: TokenServer;
  let registry: TestRegistry;
  let policyFile: string;

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-containers-auth-'));
    tokens = await startTokenServer(work, { carol: 'pa:ss' });
    registry = await startRegistry({ auth: tokens.auth });
    await pushTestImage(registry.host, 'private/app:v1', { creds: 'carol:pa:ss' });
    policyFile = path.join(work, 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    mkdirSync(path.join(work, 'registries.d'));
  });
  after(async () => {
    await registry?.stop();
    await tokens?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const check = (...extra: string[]) =>
    run(BIN, [
      'containers',
      'check',
      `docker://${registry.host}/private/app:v1`,
      '--policy',
      policyFile,
      '--registries.d',
      path.join(work, 'registries.d'),
      '--tls-verify=false',
      ...extra,
    ]);

  it('pulls the manifest with --creds through the token endpoint', async () => {
    const result = await check('--creds', 'carol:pa:ss');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'allowed\n');
  });

  it('fails with UNAUTHENTICATED (exit 3), not a verdict, without credentials', async () => {
    const result = await check();
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /\[UNAUTHENTICATED\]/);
  });
});

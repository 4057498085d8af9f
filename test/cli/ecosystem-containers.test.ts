// The container commands follow skopeo's conventions: policy.json and registries.d found where skopeo
// finds them, the user's GPG keyring ($GNUPGHOME) for signing and verifying, and a plain-HTTP registry
// reported as skopeo reports it, with a specific code.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeGpgKey } from '../support/gpg.ts';
import { pushTestImage, startRegistry, type TestRegistry, writeOciImage } from '../support/registry.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const ACCEPT = JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] });
const REJECT = JSON.stringify({ default: [{ type: 'reject' }] });

describe('containers check: where skopeo looks, and what a plain-HTTP registry gives', () => {
  let work: string;
  let home: string;
  let layout: string;
  let registry: TestRegistry;

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-eco-'));
    home = path.join(work, 'home');
    mkdirSync(path.join(home, '.config/containers/registries.d'), { recursive: true });
    layout = path.join(work, 'layout');
    mkdirSync(layout);
    writeOciImage(layout);
    registry = await startRegistry();
    await pushTestImage(registry.host, 'eco/app:v1');
  });
  after(async () => {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('uses $HOME/.config/containers/policy.json without --policy, and --policy overrides it', async () => {
    writeFileSync(path.join(home, '.config/containers/policy.json'), REJECT);
    const byDefault = await run(BIN, ['containers', 'check', `oci:${layout}:latest`], { HOME: home });
    assert.equal(byDefault.code, 1, byDefault.stderr);
    assert.match(byDefault.stdout, /^rejected/);
    const explicit = path.join(work, 'accept.json');
    writeFileSync(explicit, ACCEPT);
    const overridden = await run(BIN, ['containers', 'check', `oci:${layout}:latest`, '--policy', explicit], {
      HOME: home,
    });
    assert.equal(overridden.code, 0, overridden.stderr);
  });

  it('names a plain-HTTP registry with REGISTRY_TLS and the --tls-verify=false hint, not INTERNAL', async () => {
    const policy = path.join(work, 'accept.json');
    writeFileSync(policy, ACCEPT);
    const image = `docker://${registry.host}/eco/app:v1`;
    const strict = await run(BIN, ['containers', 'check', image, '--policy', policy], { HOME: home });
    assert.equal(strict.code, 76, strict.stderr);
    assert.match(strict.stderr, /\[REGISTRY_TLS\]/);
    assert.match(strict.stderr, /server gave HTTP response to HTTPS client/);
    assert.match(strict.stderr, /--tls-verify=false/);
    const insecure = await run(
      BIN,
      ['containers', 'check', image, '--policy', policy, '--tls-verify=false'],
      {
        HOME: home,
      },
    );
    assert.equal(insecure.code, 0, insecure.stderr);
  });

  it('answers REGISTRY_UNREACHABLE when nothing listens', async () => {
    const policy = path.join(work, 'accept.json');
    const result = await run(BIN, ['containers', 'check', 'docker://127.0.0.1:1/a:b', '--policy', policy]);
    assert.equal(result.code, 69, result.stderr);
    assert.match(result.stderr, /\[REGISTRY_UNREACHABLE\]/);
  });
});

describe('standalone-sign and standalone-verify with the GPG keyring, as skopeo', () => {
  let work: string;
  let gpgEnv: Record<string, string>;
  let fingerprint: string;
  let manifest: string;
  const reference = 'registry.example/eco/app:v1';

  before(async () => {
    requireTool('skopeo', 'skopeo');
    requireTool('gpg', 'gnupg');
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-eco-gpg-'));
    const gnupgHome = path.join(work, 'gnupg');
    mkdirSync(gnupgHome, { mode: 0o700 });
    gpgEnv = { GNUPGHOME: gnupgHome };
    fingerprint = await makeGpgKey('eco', gpgEnv);
    manifest = path.join(work, 'manifest.json');
    const layout = path.join(work, 'layout');
    mkdirSync(layout);
    writeOciImage(layout);
    await runOk('skopeo', [
      '--insecure-policy',
      'copy',
      '--quiet',
      `oci:${layout}:latest`,
      `dir:${work}/dir`,
    ]);
    writeFileSync(manifest, await runOk('cat', [path.join(work, 'dir/manifest.json')]));
  });
  after(async () => {
    await run('gpgconf', ['--kill', 'gpg-agent'], gpgEnv);
    rmSync(work, { recursive: true, force: true });
  });

  it('signs with --sign-by from $GNUPGHOME, and skopeo standalone-verify accepts the signature', async () => {
    const signature = path.join(work, 'ours.sig');
    const signed = await run(
      BIN,
      ['containers', 'standalone-sign', manifest, reference, '--sign-by', fingerprint, '-o', signature],
      gpgEnv,
    );
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await run(
      'skopeo',
      ['standalone-verify', manifest, reference, fingerprint, signature],
      gpgEnv,
    );
    assert.equal(verified.code, 0, verified.stderr);
  });

  it("verifies skopeo's signature with the keyring when no --public-key-file is given", async () => {
    const signature = path.join(work, 'skopeo.sig');
    await runOk('skopeo', ['standalone-sign', manifest, reference, fingerprint, '-o', signature], gpgEnv);
    const verified = await run(
      BIN,
      ['containers', 'standalone-verify', manifest, reference, fingerprint, signature],
      gpgEnv,
    );
    assert.equal(verified.code, 0, verified.stderr);
    const otherHome = path.join(work, 'empty-gnupg');
    mkdirSync(otherHome, { mode: 0o700 });
    const unknown = await run(
      BIN,
      ['containers', 'standalone-verify', manifest, reference, fingerprint, signature],
      { GNUPGHOME: otherHome },
    );
    assert.equal(unknown.code, 1);
  });
});

describe('standalone-sign, standalone-verify and manifest-digest arguments, as skopeo counts them', () => {
  let work: string;
  before(() => {
    requireTool('skopeo', 'skopeo');
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-eco-args-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  /** skopeo's logrus.Fatal message, without the time and level. */
  function fatalMessage(stderr: string): string {
    const quoted = /msg=(".*")\s*$/.exec(stderr)?.[1];
    return quoted === undefined ? stderr.trim() : (JSON.parse(quoted) as string);
  }

  const cases: [string, string[]][] = [
    ['standalone-verify', ['m', 'r', 'k']],
    ['standalone-verify', ['m', 'r', 'k', 's', 'extra']],
    ['standalone-sign', ['m', 'r']],
    ['standalone-sign', ['m', 'r', 'k']],
    ['standalone-sign', ['m', 'r', 'k', 'extra', '-o', 'out.sig']],
    ['manifest-digest', []],
    ['manifest-digest', ['m', 'extra']],
  ];
  for (const [command, args] of cases) {
    it(`${command} ${args.join(' ')}: exit 1 with the usage line skopeo prints`, async () => {
      const skopeo = await run('skopeo', [command, ...args], { GNUPGHOME: work });
      const ours = await run(BIN, ['containers', command, ...args], { GNUPGHOME: work });
      assert.equal(skopeo.code, 1);
      assert.equal(ours.code, 1, ours.stderr);
      assert.equal(ours.stdout, '');
      const usage = fatalMessage(skopeo.stderr).replace('skopeo ', 'imagetrust containers ');
      assert.match(usage, /^Usage: /);
      assert.ok(ours.stderr.startsWith(`imagetrust: ${usage}`), ours.stderr);
    });
  }

  it('still prints help with --help', async () => {
    for (const command of ['standalone-sign', 'standalone-verify', 'manifest-digest']) {
      const help = await run(BIN, ['containers', command, '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(
        help.stdout,
        new RegExp(`^Usage: imagetrust containers ${command} \\[options\\] <manifest>`),
      );
    }
  });
});

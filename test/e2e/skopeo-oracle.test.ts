// skopeo 1.9.3 (c/image 5.23.1, gpgme) is the oracle for simple signing: signatures cross between the two
// tools in both directions, both refuse the same bad inputs with the same texts where they are meant to
// match, and manifest digests agree, including a JWS-signed schema1 manifest.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  DOCKER_V2S2_MANIFEST,
  OCI_MANIFEST,
  SCHEMA1_PAYLOAD,
  signSchema1Manifest,
} from '../containers/signing/fixtures.ts';
import { type RunResult, requireTool, run, runOk } from '../support/tools.ts';

const IMAGETRUST = fileURLToPath(new URL('../../bin/imagetrust', import.meta.url));
const REFERENCE = 'registry.example.com/ns/app:v1';

/** skopeo fails through logrus.Fatal: `level=fatal msg="<Go-quoted message>"` on a non-terminal stderr. */
function skopeoReason(result: RunResult): string {
  const quoted = /level=fatal msg="((?:[^"\\]|\\.)*)"/.exec(result.stderr);
  assert.ok(quoted, `no fatal message from skopeo: ${result.stderr}`);
  return JSON.parse(`"${quoted[1]}"`) as string;
}

function imagetrustReason(result: RunResult): string {
  const line = result.stderr.trim().split('\n').at(-1) ?? '';
  assert.match(line, /^imagetrust: /);
  return line.slice('imagetrust: '.length);
}

describe('simple signing against skopeo', () => {
  let work: string;
  let gnupg: Record<string, string>;
  let otherGnupg: Record<string, string>;
  let fingerprint: string;
  let otherFingerprint: string;
  const file = (name: string) => path.join(work, name);

  async function makeKey(home: string, name: string): Promise<string> {
    mkdirSync(home, { mode: 0o700 });
    const env = { GNUPGHOME: home };
    await runOk(
      'gpg',
      [
        '--batch',
        '--passphrase',
        '',
        '--quick-gen-key',
        `${name} <${name}@example.com>`,
        'default',
        'default',
        'never',
      ],
      env,
    );
    const listing = await runOk('gpg', ['--batch', '--with-colons', '--list-keys'], env);
    return /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1];
  }

  const skopeo = (args: string[], env = gnupg) => run('skopeo', args, env);
  const imagetrust = (args: string[]) => run(IMAGETRUST, ['containers', ...args]);
  const verifyBoth = async (manifest: string, reference: string, fpr: string, signature: string) => ({
    skopeo: await skopeo(['standalone-verify', manifest, reference, fpr, signature]),
    imagetrust: await imagetrust([
      'standalone-verify',
      manifest,
      reference,
      fpr,
      signature,
      '--public-key-file',
      file('public.gpg'),
    ]),
  });

  before(async () => {
    requireTool('skopeo', 'skopeo');
    requireTool('gpg', 'gnupg');
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-skopeo-'));
    gnupg = { GNUPGHOME: file('gnupg') };
    otherGnupg = { GNUPGHOME: file('gnupg-other') };
    fingerprint = await makeKey(gnupg.GNUPGHOME, 'signer');
    otherFingerprint = await makeKey(otherGnupg.GNUPGHOME, 'other');
    // gpg writes the files itself: binary output would not survive a trip through a string.
    await runOk('gpg', ['--batch', '--yes', '--output', file('public.gpg'), '--export'], gnupg);
    await runOk('gpg', ['--batch', '--yes', '--armor', '--output', file('public.asc'), '--export'], gnupg);
    await runOk(
      'gpg',
      ['--batch', '--yes', '--armor', '--output', file('secret.asc'), '--export-secret-keys'],
      gnupg,
    );
    writeFileSync(file('manifest.json'), DOCKER_V2S2_MANIFEST);
    writeFileSync(file('oci.json'), OCI_MANIFEST);
    writeFileSync(file('schema1.json'), signSchema1Manifest(SCHEMA1_PAYLOAD, 2));
    writeFileSync(file('tampered.json'), DOCKER_V2S2_MANIFEST.replace('1457', '1458'));
    await runOk(
      'skopeo',
      ['standalone-sign', file('manifest.json'), REFERENCE, fingerprint, '-o', file('skopeo.sig')],
      gnupg,
    );
    await runOk(
      'skopeo',
      ['standalone-sign', file('manifest.json'), REFERENCE, otherFingerprint, '-o', file('other.sig')],
      otherGnupg,
    );
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('verifies what skopeo signed, with the digest skopeo reports', async () => {
    const both = await verifyBoth(file('manifest.json'), REFERENCE, fingerprint, file('skopeo.sig'));
    assert.equal(both.skopeo.code, 0, both.skopeo.stderr);
    assert.equal(both.imagetrust.code, 0, both.imagetrust.stderr);
    const digest = /^Signature verified, digest (sha256:[0-9a-f]{64})\n$/.exec(both.skopeo.stdout)![1];
    assert.equal(
      both.imagetrust.stdout,
      `Signature verified using fingerprint ${fingerprint}, digest ${digest}\n`,
    );
  });

  it('verifies with an armored public key file too', async () => {
    const result = await imagetrust([
      'standalone-verify',
      file('manifest.json'),
      REFERENCE,
      'any',
      file('skopeo.sig'),
      '--public-key-file',
      file('public.asc'),
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`fingerprint ${fingerprint},`));
  });

  it('makes signatures skopeo verifies', async () => {
    const signed = await imagetrust([
      'standalone-sign',
      file('manifest.json'),
      REFERENCE,
      fingerprint,
      '--key',
      file('secret.asc'),
      '-o',
      file('imagetrust.sig'),
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const both = await verifyBoth(file('manifest.json'), REFERENCE, fingerprint, file('imagetrust.sig'));
    assert.equal(both.skopeo.code, 0, both.skopeo.stderr);
    assert.equal(both.imagetrust.code, 0, both.imagetrust.stderr);
    assert.equal(both.skopeo.stdout.split(' ').at(-1), both.imagetrust.stdout.split(' ').at(-1));
  });

  const refusals: [string, () => [string, string, string, string], boolean][] = [
    ['a tampered manifest', () => [file('tampered.json'), REFERENCE, fingerprint, file('skopeo.sig')], true],
    [
      'another reference',
      () => [file('manifest.json'), 'registry.example.com/ns/app:v2', fingerprint, file('skopeo.sig')],
      true,
    ],
    [
      'a name-only expected reference',
      () => [file('manifest.json'), 'registry.example.com/ns/app', fingerprint, file('skopeo.sig')],
      true,
    ],
    [
      'an unexpected fingerprint',
      () => [file('manifest.json'), REFERENCE, otherFingerprint, file('skopeo.sig')],
      true,
    ],
    [
      'a lower-case fingerprint',
      () => [file('manifest.json'), REFERENCE, fingerprint.toLowerCase(), file('skopeo.sig')],
      true,
    ],
    [
      'an expected reference that does not parse',
      () => [file('manifest.json'), 'Not A Reference', fingerprint, file('skopeo.sig')],
      true,
    ],
    [
      'a file that is not a signature',
      () => [file('manifest.json'), REFERENCE, fingerprint, file('manifest.json')],
      true,
    ],
    // gpgme dumps a Go struct after the prefix; only the prefix is meant to match.
    [
      'a signature by a key outside the keyring',
      () => [file('manifest.json'), REFERENCE, otherFingerprint, file('other.sig')],
      false,
    ],
  ];
  for (const [name, args, exact] of refusals) {
    it(`refuses ${name} as skopeo does`, async () => {
      const both = await verifyBoth(...args());
      assert.equal(both.skopeo.code, 1, both.skopeo.stdout);
      assert.equal(both.imagetrust.code, 1, both.imagetrust.stdout);
      assert.equal(both.imagetrust.stdout, '');
      const expected = skopeoReason(both.skopeo);
      const actual = imagetrustReason(both.imagetrust);
      if (exact) assert.equal(actual, expected);
      else {
        const prefix = 'Error verifying signature: Invalid GPG signature: ';
        assert.ok(expected.startsWith(prefix), expected);
        assert.ok(actual.startsWith(prefix), actual);
      }
    });
  }

  for (const manifest of ['manifest.json', 'oci.json', 'schema1.json', 'tampered.json']) {
    it(`computes the digest of ${manifest} as skopeo manifest-digest`, async () => {
      const expected = await runOk('skopeo', ['manifest-digest', file(manifest)]);
      const actual = await imagetrust(['manifest-digest', file(manifest)]);
      assert.equal(actual.code, 0, actual.stderr);
      assert.equal(actual.stdout, expected);
    });
  }

  it('verifies a signature over a JWS-signed schema1 manifest in both tools', async () => {
    await runOk(
      'skopeo',
      ['standalone-sign', file('schema1.json'), REFERENCE, fingerprint, '-o', file('schema1.sig')],
      gnupg,
    );
    const both = await verifyBoth(file('schema1.json'), REFERENCE, fingerprint, file('schema1.sig'));
    assert.equal(both.skopeo.code, 0, both.skopeo.stderr);
    assert.equal(both.imagetrust.code, 0, both.imagetrust.stderr);
  });

  it("reports missing files and unknown signing keys with skopeo's texts", async () => {
    const missing = file('missing.json');
    const unknown = '0123456789ABCDEF0123456789ABCDEF01234567';
    const pairs: [string[], string[]][] = [
      [
        ['standalone-sign', file('manifest.json'), REFERENCE, unknown, '-o', file('x.sig')],
        ['--key', file('secret.asc')],
      ],
      [
        ['standalone-sign', missing, REFERENCE, fingerprint, '-o', file('x.sig')],
        ['--key', file('secret.asc')],
      ],
      [
        ['standalone-sign', file('manifest.json'), REFERENCE, fingerprint, '-o', file('no-dir/x.sig')],
        ['--key', file('secret.asc')],
      ],
      [
        ['standalone-verify', missing, REFERENCE, fingerprint, file('skopeo.sig')],
        ['--public-key-file', file('public.gpg')],
      ],
      [
        ['standalone-verify', file('manifest.json'), REFERENCE, fingerprint, missing],
        ['--public-key-file', file('public.gpg')],
      ],
    ];
    for (const [args, ours] of pairs) {
      const theirs = await skopeo(args);
      const mine = await imagetrust([...args, ...ours]);
      assert.equal(theirs.code, 1);
      assert.equal(mine.code, 1);
      assert.equal(imagetrustReason(mine), skopeoReason(theirs));
    }
  });

  it('signs with a passphrase-protected key, taking the first line of the passphrase file', async () => {
    const home = file('gnupg-locked');
    mkdirSync(home, { mode: 0o700 });
    const env = { GNUPGHOME: home };
    const unlock = ['--batch', '--pinentry-mode', 'loopback', '--passphrase', 'pass phrase'];
    await runOk(
      'gpg',
      [...unlock, '--quick-gen-key', 'Locked <locked@example.com>', 'default', 'default', 'never'],
      env,
    );
    const locked = /^fpr:+([0-9A-F]{40}):/m.exec(
      await runOk('gpg', ['--batch', '--with-colons', '--list-keys'], env),
    )![1];
    await runOk(
      'gpg',
      [...unlock, '--yes', '--armor', '--output', file('locked.asc'), '--export-secret-keys'],
      env,
    );
    writeFileSync(file('passphrase'), 'pass phrase\nignored second line\n');
    writeFileSync(file('wrong-passphrase'), 'wrong\n');
    const signArgs = [
      'standalone-sign',
      file('manifest.json'),
      REFERENCE,
      locked,
      '--key',
      file('locked.asc'),
    ];
    const signed = await imagetrust([
      ...signArgs,
      '--passphrase-file',
      file('passphrase'),
      '-o',
      file('locked.sig'),
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await skopeo(
      ['standalone-verify', file('manifest.json'), REFERENCE, locked, file('locked.sig')],
      env,
    );
    assert.equal(verified.code, 0, verified.stderr);
    const refused = await imagetrust([
      ...signArgs,
      '--passphrase-file',
      file('wrong-passphrase'),
      '-o',
      file('x.sig'),
    ]);
    assert.equal(refused.code, 1);
  });

  it('verifies armored and clearsigned messages as gpgme does', async () => {
    const digest = (await runOk('skopeo', ['manifest-digest', file('manifest.json')])).trim();
    writeFileSync(
      file('payload.json'),
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': REFERENCE },
          image: { 'docker-manifest-digest': digest },
          type: 'atomic container signature',
        },
        optional: {},
      }),
    );
    const local = ['--batch', '--yes', '--local-user', fingerprint];
    await runOk(
      'gpg',
      [...local, '--armor', '--output', file('armored.sig'), '--sign', file('payload.json')],
      gnupg,
    );
    await runOk('gpg', [...local, '--output', file('clear.sig'), '--clearsign', file('payload.json')], gnupg);
    for (const signature of ['armored.sig', 'clear.sig']) {
      const both = await verifyBoth(file('manifest.json'), REFERENCE, fingerprint, file(signature));
      assert.equal(both.skopeo.code, 0, both.skopeo.stderr);
      assert.equal(both.imagetrust.code, 0, both.imagetrust.stderr);
    }
  });

  // A documented difference: our CLI has HEAD's interface (fingerprint lists, 'any', --public-key-file), and
  // HEAD maps a signing subkey to its primary key; 5.23.1 accepts only the subkey's own fingerprint.
  it('accepts a subkey signature under the primary fingerprint, where skopeo 1.9.3 wants the subkey', async () => {
    await runOk(
      'gpg',
      ['--batch', '--passphrase', '', '--quick-add-key', fingerprint, 'default', 'sign', 'never'],
      gnupg,
    );
    const listing = await runOk('gpg', ['--batch', '--with-colons', '--list-keys', fingerprint], gnupg);
    const subkey = [...listing.matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1]).at(-1)!;
    await runOk('gpg', ['--batch', '--yes', '--output', file('public-sub.gpg'), '--export'], gnupg);
    await runOk(
      'skopeo',
      ['standalone-sign', file('manifest.json'), REFERENCE, fingerprint, '-o', file('sub.sig')],
      gnupg,
    );
    const ours = (fpr: string) =>
      imagetrust([
        'standalone-verify',
        file('manifest.json'),
        REFERENCE,
        fpr,
        file('sub.sig'),
        '--public-key-file',
        file('public-sub.gpg'),
      ]);
    const theirsPrimary = await skopeo([
      'standalone-verify',
      file('manifest.json'),
      REFERENCE,
      fingerprint,
      file('sub.sig'),
    ]);
    assert.equal(
      skopeoReason(theirsPrimary),
      `Error verifying signature: Signature by ${subkey} does not match expected fingerprint ${fingerprint}`,
    );
    const theirsSubkey = await skopeo([
      'standalone-verify',
      file('manifest.json'),
      REFERENCE,
      subkey,
      file('sub.sig'),
    ]);
    assert.equal(theirsSubkey.code, 0, theirsSubkey.stderr);
    assert.equal((await ours(subkey)).code, 0);
    const primary = await ours(fingerprint);
    assert.equal(primary.code, 0, primary.stderr);
    assert.match(primary.stdout, new RegExp(`using fingerprint ${fingerprint},`));
  });
});

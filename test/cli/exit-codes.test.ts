// Every failure of the CLI is one line `imagetrust: <message> [CODE]` with the code's exit status: usage
// errors (commander's included) exit 2 with a hint, not the help; a missing file, an unreachable server
// or registry, a plain-HTTP peer spoken to over TLS (our server TLS_FAILED, a registry REGISTRY_TLS),
// wrong credentials and an unusable key each have their own code; 1 is kept for "the answer is no".
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { type RunResult, run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;

/** The one-line failure (plus an optional hint line) every error prints, with its code. */
function assertFailure(result: RunResult, exit: number, code: string, hint = false): void {
  assert.equal(result.code, exit, result.stderr);
  const lines = result.stderr.trimEnd().split('\n');
  assert.match(lines[0], new RegExp(`^imagetrust: .+ \\[${code}\\]$`));
  if (hint) {
    assert.equal(lines.length, 2, result.stderr);
    assert.match(lines[1], /^see 'imagetrust .*--help'$/);
  } else assert.equal(lines.length, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /Usage:|Options:/);
}

describe('imagetrust exit codes', () => {
  let dir: string;
  let service: TestServer;
  let plainHttp: Server;
  let plainPort: number;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(BIN, args, { IMAGETRUST_CONFIG: '', HOME: dir, ...env });
  const as = (env: Record<string, string> = {}) => clientEnvironment(service.url, dir, env);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-exit-'));
    service = await startTestServer();
    // A server that answers plain HTTP, for clients that expect TLS.
    plainHttp = createServer((_request, response) => response.end('plain'));
    await new Promise<void>((resolve) => plainHttp.listen(0, '127.0.0.1', resolve));
    plainPort = (plainHttp.address() as AddressInfo).port;
  });
  after(async () => {
    await service.stop();
    await new Promise((resolve) => plainHttp.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits 2 in our form for commander's own errors: unknown option, missing argument, bad choice, no command", async () => {
    assertFailure(await cli(['user', 'list', '--frobnicate']), 2, 'USAGE', true);
    assertFailure(await cli(['user', 'create']), 2, 'USAGE', true);
    assertFailure(await cli(['project', 'list', '--format', 'xml']), 2, 'USAGE', true);
    assertFailure(await cli(['no-such-command']), 2, 'USAGE', true);
    assertFailure(await cli(['image', 'release']), 2, 'USAGE', true);
    assertFailure(await cli([]), 2, 'USAGE', true);
  });

  it('exits 2 with a hint for a usage error a command finds itself', async () => {
    const result = await cli(['image', 'lifecycle', 'set', 'some-image'], as());
    assertFailure(result, 2, 'BAD_REQUEST', true);
  });

  it('exits 66 (INPUT_UNREADABLE) for a --password-file that does not exist', async () => {
    const result = await cli([
      'user',
      'create',
      'bea',
      '--password-file',
      path.join(dir, 'missing'),
      '--data-dir',
      path.join(dir, 'store'),
    ]);
    assertFailure(result, 66, 'INPUT_UNREADABLE');
  });

  it('exits 73 (OUTPUT_UNWRITABLE) for an output in a missing directory or under a file, leaving nothing there', async () => {
    const keyArgs = (key: string) => [
      'keys',
      'generate',
      '--type',
      'ECC_SECP384R1',
      '--cn',
      'x',
      '--out-key',
      key,
      '--out-cert',
      path.join(dir, 'out-x.pem'),
    ];
    const missing = path.join(dir, 'no-such-dir', 'x.key');
    const generated = await cli(keyArgs(missing));
    assertFailure(generated, 73, 'OUTPUT_UNWRITABLE');
    assert.match(generated.stderr, new RegExp(`Cannot write ${missing}: ENOENT`));
    assert.equal(existsSync(path.dirname(missing)), false);
    // A build whose -o runs through a regular file stops before any work, naming the output.
    const file = path.join(dir, 'a-file');
    writeFileSync(file, '');
    const template = new URL('../fixtures/templates/build/debian-12.tdl', import.meta.url).pathname;
    const built = await cli(['build', template, '-o', path.join(file, 'out')], {
      IMAGETRUST_BUILD_KEY: path.join(dir, 'build-key.pem'),
    });
    assert.equal(built.code, 73, built.stderr);
    assert.match(built.stderr, /Cannot write .*a-file\/out: ENOTDIR \[OUTPUT_UNWRITABLE\]/);
  });

  it('exits 69 (SERVICE_UNREACHABLE) when nothing listens at the auth URL', async () => {
    const result = await cli(
      ['image', 'release', 'list'],
      as({ OS_AUTH_URL: 'http://127.0.0.1:1/identity/v3' }),
    );
    assertFailure(result, 69, 'SERVICE_UNREACHABLE');
  });

  it('exits 76 (TLS_FAILED) when an https URL reaches a plain-HTTP server', async () => {
    const result = await cli(
      ['image', 'release', 'list'],
      as({ OS_AUTH_URL: `https://127.0.0.1:${plainPort}/identity/v3` }),
    );
    assertFailure(result, 76, 'TLS_FAILED');
  });

  it('exits 76 (REGISTRY_TLS) for a plain-HTTP registry with TLS verification on', async () => {
    const policy = path.join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const registries = mkdtempSync(path.join(dir, 'registries.d-'));
    const result = await cli([
      'containers',
      'check',
      `docker://127.0.0.1:${plainPort}/app:v1`,
      '--policy',
      policy,
      '--registries.d',
      registries,
    ]);
    assertFailure(result, 76, 'REGISTRY_TLS');
  });

  it('exits 69 (REGISTRY_UNREACHABLE) when nothing listens at the registry', async () => {
    const policy = path.join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const result = await cli([
      'containers',
      'check',
      'docker://127.0.0.1:1/app:v1',
      '--policy',
      policy,
      '--registries.d',
      mkdtempSync(path.join(dir, 'registries.d-')),
    ]);
    assertFailure(result, 69, 'REGISTRY_UNREACHABLE');
  });

  it('exits 3 (UNAUTHENTICATED) for a wrong password', async () => {
    const result = await cli(['image', 'release', 'list'], as({ OS_PASSWORD: 'guessed-wrong' }));
    assertFailure(result, 3, 'UNAUTHENTICATED');
  });

  it('exits 65 (INPUT_INVALID) for a --public-key that is not Ed25519, and 66 for one that is missing', async () => {
    const proof = path.join(dir, 'proof.json');
    writeFileSync(proof, '{}');
    const rsa = path.join(dir, 'rsa.pem');
    writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    assertFailure(await cli(['audit', 'verify-proof', proof, '--public-key', rsa]), 65, 'INPUT_INVALID');
    assertFailure(
      await cli(['audit', 'verify-proof', proof, '--public-key', path.join(dir, 'nope.pem')]),
      66,
      'INPUT_UNREADABLE',
    );
  });

  it('exits 65 for a corrupt disk image', async () => {
    const image = path.join(dir, 'corrupt.qcow2');
    writeFileSync(image, Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(60, 0xff)]));
    const result = await cli(['scan', image]);
    assert.equal(result.code, 65, result.stderr);
    assert.match(result.stderr, /^imagetrust: .+ \[DISK_(CORRUPT|UNSUPPORTED)\]\n$/);
  });

  it('exits 1 only for a no: a denied policy decision and an error-level lint finding', async () => {
    const denied = await cli([
      'policy',
      'check',
      'admin_required',
      '--target',
      '{}',
      '--credentials',
      '{"roles": ["reader"]}',
    ]);
    assert.equal(denied.code, 1);
    assert.equal(denied.stdout, 'denied\n');
    const template = path.join(dir, 'broken.tdl');
    writeFileSync(template, '<template><name>x</nam></template>');
    assert.equal((await cli(['template', 'lint', template])).code, 1);
  });
});

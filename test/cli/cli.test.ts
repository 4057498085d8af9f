// The `imagetrust` command as an operator runs it: local identity management, `serve` with its
// first-start admin password, clean shutdown on SIGTERM, and clear errors with stable exit codes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;

describe('imagetrust CLI', () => {
  let dir: string;
  const cli = (...args: string[]) => run(BIN, args, { IMAGETRUST_CONFIG: '' });
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('teaches with --help', async () => {
    const help = await cli('--help');
    assert.equal(help.code, 0);
    for (const command of ['serve', 'user', 'project', 'role'])
      assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
    const serve = await cli('serve', '--help');
    assert.match(serve.stdout, /--tls-cert/);
    assert.match(serve.stdout, /--data-dir/);
  });

  it('keys generate refuses to overwrite a key, and with --force leaves it private whatever was there', async () => {
    mkdirSync(path.join(dir, 'gen'));
    const key = path.join(dir, 'gen', 'signer.key');
    const cert = path.join(dir, 'gen', 'signer.pem');
    const generate = (...extra: string[]) =>
      cli(
        'keys',
        'generate',
        '--type',
        'ECC_SECP384R1',
        '--cn',
        's',
        '--out-key',
        key,
        '--out-cert',
        cert,
        ...extra,
      );
    const made = await generate();
    assert.equal(made.code, 0, made.stderr);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(statSync(cert).mode & 0o777, 0o644);
    const first = readFileSync(key, 'utf8');
    const refused = await generate();
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /exists; pass --force to overwrite it/);
    assert.equal(readFileSync(key, 'utf8'), first);
    // An operator's stray world-readable file at the key's path must not keep its mode for the new key.
    writeFileSync(key, 'old', { mode: 0o644 });
    chmodSync(key, 0o644);
    assert.equal((await generate('--force')).code, 0);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.match(readFileSync(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    assert.deepEqual(
      readdirSync(path.dirname(key)).filter((name) => name.endsWith('.tmp')),
      [],
    );
  });

  it('build makes one build key for builds starting at once, private, with its public half beside it', async () => {
    const key = path.join(dir, 'build-keys', 'build-key.pem');
    // An output path under a regular file stops each build right after it loaded the key.
    const blocker = path.join(dir, 'not-a-directory');
    writeFileSync(blocker, '');
    const template = new URL('../fixtures/templates/build/debian-12.tdl', import.meta.url).pathname;
    const builds = await Promise.all(
      [1, 2, 3].map((n) =>
        run(BIN, ['build', template, '-o', path.join(blocker, `out-${n}`)], {
          IMAGETRUST_CONFIG: '',
          IMAGETRUST_BUILD_KEY: key,
        }),
      ),
    );
    for (const build of builds) assert.equal(build.code, 73, build.stderr);
    const made = builds.filter((build) => build.stderr.includes('Made a new build key'));
    assert.equal(made.length, 1, builds.map((build) => build.stderr).join('\n'));
    assert.equal(statSync(key).mode & 0o777, 0o600);
    const pub = path.join(dir, 'build-keys', 'build-key.pub');
    assert.equal(statSync(pub).mode & 0o777, 0o644);
    assert.equal(
      createPublicKey(readFileSync(key)).export({ type: 'spki', format: 'pem' }),
      readFileSync(pub, 'utf8'),
    );
    assert.deepEqual(
      readdirSync(path.dirname(key)).filter((name) => name.endsWith('.tmp')),
      [],
    );
  });

  it('manages projects, users and roles in the local store', async () => {
    const data = path.join(dir, 'store');
    const pw = path.join(dir, 'pw');
    writeFileSync(pw, 'builder-secret\n');
    assert.equal((await cli('project', 'create', 'builders', '--data-dir', data)).code, 0);
    const created = await cli(
      'user',
      'create',
      'bea',
      '--password-file',
      pw,
      '--project',
      'builders',
      '--format',
      'json',
      '--data-dir',
      data,
    );
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).name, 'bea');
    assert.equal(
      (await cli('role', 'add', 'member', '--user', 'bea', '--project', 'builders', '--data-dir', data)).code,
      0,
    );
    const roles = await cli('role', 'list', '--user', 'bea', '--format', 'json', '--data-dir', data);
    assert.deepEqual(
      JSON.parse(roles.stdout).map((r: { role: string }) => r.role),
      ['member'],
    );
    const duplicate = await cli('project', 'create', 'builders', '--data-dir', data);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /\[CONFLICT\]/);
    const unknownRole = await cli(
      'role',
      'add',
      'emperor',
      '--user',
      'bea',
      '--project',
      'builders',
      '--data-dir',
      data,
    );
    assert.equal(unknownRole.code, 4);
    assert.match(unknownRole.stderr, /\[NOT_FOUND\]/);
  });

  it('names a bad setting and exits 78', async () => {
    const config = path.join(dir, 'bad.yaml');
    writeFileSync(config, 'listen:\n  port: "ninety"\n');
    const result = await cli('serve', '--config', config, '--data-dir', path.join(dir, 'never'));
    assert.equal(result.code, 78);
    assert.match(result.stderr, /listen\.port/);
  });

  it('serves on first start with a generated admin password in a private file, and stops cleanly on SIGTERM', async () => {
    const data = path.join(dir, 'served');
    const child = spawn(BIN, ['serve', '--data-dir', data, '--port', '0', '--log-level', 'warn'], {
      env: { ...process.env, IMAGETRUST_ADMIN_PASSWORD: '', IMAGETRUST_CONFIG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
        const match = /serving on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const passwordFile = path.join(data, 'admin-password');
    assert.match(stderr, /admin-password/);
    assert.ok(!stderr.includes(readFileSync(passwordFile, 'utf8').trim()), 'the password is not printed');
    assert.equal(statSync(passwordFile).mode & 0o777, 0o600);
    const auth = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: {
                name: 'admin',
                domain: { id: 'default' },
                password: readFileSync(passwordFile, 'utf8').trim(),
              },
            },
          },
          scope: { project: { name: 'admin', domain: { id: 'default' } } },
        },
      }),
    });
    assert.equal(auth.status, 201);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

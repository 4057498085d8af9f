// `imagetrust serve --log-level debug` as an operator runs it: the container decision API answers an
// image it could not check with a specific code (REGISTRY_TLS, REGISTRY_UNREACHABLE) and logs it with
// its cause; every request has a start and end line with route, status and duration; the banner and
// the shutdown lines are JSON; no token ever reaches the log.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readLookasideSignatures } from '../../src/containers/sources/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { passwordLogin } from '../support/auth.ts';
import { pushTestImage, startRegistry, type TestRegistry } from '../support/registry.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const PASSWORD = 'decision-logs-password';

describe('container decision failures and the server log', () => {
  let work: string;
  let registry: TestRegistry;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let url: string;
  let stdout = '';
  let stderr = '';

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-decision-logs-'));
    registry = await startRegistry();
    await pushTestImage(registry.host, 'eco/app:v1');
    child = spawn(
      BIN,
      ['serve', '--data-dir', path.join(work, 'data'), '--port', '0', '--log-level', 'debug'],
      {
        env: {
          ...process.env,
          IMAGETRUST_CONFIG: '',
          IMAGETRUST_ADMIN_PASSWORD: PASSWORD,
          IMAGETRUST_CONTAINERS_INTERNAL_HOSTS: `${registry.host},127.0.0.1:1`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    exited = new Promise((resolve) => child.on('exit', resolve));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    url = await new Promise<string>((resolve, reject) => {
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const match = /serving on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('answers REGISTRY_TLS and REGISTRY_UNREACHABLE, and logs each with its cause, requests and JSON banner', async () => {
    const login = await passwordLogin(url, 'admin', PASSWORD, 'admin');
    assert.equal(login.status, 201);
    const token = login.headers.get('x-subject-token') ?? '';
    const headers = { 'x-auth-token': token, 'content-type': 'application/json' };
    const put = await fetch(`${url}/containers/v1/policy`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }),
    });
    assert.ok(put.ok, await put.text());
    const response = await fetch(`${url}/containers/v1/decisions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ images: [`docker://${registry.host}/eco/app:v1`, 'docker://127.0.0.1:1/a:b'] }),
    });
    assert.equal(response.status, 200);
    const { decisions } = (await response.json()) as { decisions: { allowed: boolean; error?: string }[] };
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.error]),
      [
        [false, 'REGISTRY_TLS'],
        [false, 'REGISTRY_UNREACHABLE'],
      ],
    );

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const lines = [...stdout.split('\n'), ...stderr.split('\n')].filter((line) => line !== '');
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(records.some((r) => /serving on http:\/\/\S+ /.test(String(r.msg)) && r.url === url));
    assert.ok(
      records.some((r) => r.signal === 'SIGTERM'),
      'the shutdown is logged as JSON',
    );
    for (const code of ['REGISTRY_TLS', 'REGISTRY_UNREACHABLE'])
      assert.ok(
        records.some((r) => r.code === code && r.cause),
        `${code} logged with its cause`,
      );
    const route = '/containers/v1/decisions';
    assert.ok(records.some((r) => r.msg === 'request started' && r.route === route && r.method === 'POST'));
    assert.ok(
      records.some(
        (r) =>
          r.msg === 'request completed' &&
          r.route === route &&
          r.status === 200 &&
          typeof r.durationMs === 'number',
      ),
    );
    assert.ok(token.length > 0 && !`${stdout}${stderr}`.includes(token), 'no token in the log');
  });

  it('names a lookaside that cannot be read SIGNATURE_FETCH_FAILED', async () => {
    await assert.rejects(
      readLookasideSignatures(() => 'http://127.0.0.1:1/sigs/signature-1', `sha256:${'0'.repeat(64)}`),
      (error: unknown) => error instanceof ImageTrustError && error.code === 'SIGNATURE_FETCH_FAILED',
    );
  });
});

// OpenStack's own integration suite, Tempest (Debian's tempest 33 with the Glance and Barbican plugins),
// against a server this test starts: the tests tests.txt names, less those excluded.txt leaves out (each
// with its reason), must all pass, and every test Tempest skips must be one expected-skips.txt explains.
// A summary per module is printed, and the full results are kept in TEMPEST_RESULTS when that is set.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool } from '../support/tools.ts';

const HERE = new URL('.', import.meta.url).pathname;
/** Debian's Python, where tempest and its plugins are installed (not a pyenv or venv shim on PATH). */
const PYTHON = '/usr/bin/python3';
const ENV = {
  ...process.env,
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  PYTHON,
  OS_CLOUD: '',
};
/** What web-download fetches: fixed bytes, so nothing depends on the machine. */
const IMAGE = Buffer.alloc(64 * 1024, 'imagetrust tempest web-download image\n');

/** Roles a Barbican deployment creates (devstack does) and its Tempest tests assign. */
const BARBICAN_ROLES = ['service_admin', 'key-manager:service-admin', 'creator', 'observer', 'audit'];

interface TestResult {
  id: string;
  status: string;
  reason: string;
}

/** `regex # reason` lines, as stestr reads its include and exclude lists. */
function readRegexList(file: string): { regex: RegExp; reason: string; line: string }[] {
  return readFileSync(path.join(HERE, file), 'utf8')
    .split('\n')
    .map((line) => {
      const [pattern, ...reason] = line.split('#');
      return { pattern: pattern.trim(), reason: reason.join('#').trim(), line: line.trim() };
    })
    .filter((entry) => entry.pattern !== '')
    .map((entry) => ({ regex: new RegExp(entry.pattern), reason: entry.reason, line: entry.line }));
}

/** The module of a test id, `setUpClass (module.Class)` included. */
function moduleOf(id: string): string {
  const inClass = /\(([^)]+)\)/.exec(id);
  const name = (inClass ? inClass[1] : id.replace(/\[.*$/, '')).split('.');
  return name.slice(0, inClass ? -1 : -2).join('.');
}

async function adminToken(server: TestServer): Promise<string> {
  return server.token();
}

async function ensureRole(url: string, token: string, name: string): Promise<void> {
  const response = await fetch(`${url}/identity/v3/roles`, {
    method: 'POST',
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ role: { name } }),
  });
  if (response.status !== 201 && response.status !== 409) {
    throw new Error(`creating role ${name}: ${response.status} ${await response.text()}`);
  }
}

function runTempest(workspace: string): Promise<TestResult[]> {
  return new Promise((resolve, reject) => {
    const tempest = spawn(
      'tempest',
      [
        'run',
        '--config-file',
        path.join(workspace, 'etc', 'tempest.conf'),
        '--include-list',
        path.join(HERE, 'tests.txt'),
        '--exclude-list',
        path.join(HERE, 'excluded.txt'),
        '--concurrency',
        '2',
        '--subunit',
      ],
      { cwd: workspace, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const parser = spawn(PYTHON, [path.join(HERE, 'results.py')], {
      env: ENV,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    tempest.stdout.pipe(parser.stdin);
    let stderr = '';
    tempest.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
    });
    parser.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
    });
    let output = '';
    parser.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    let tempestCode: number | null = null;
    tempest.on('error', reject);
    tempest.on('close', (code) => {
      tempestCode = code;
    });
    parser.on('error', reject);
    parser.on('close', (code) => {
      const results = output
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as TestResult);
      if (code !== 0 || results.length === 0) {
        reject(new Error(`tempest run gave no results (tempest ${tempestCode}, parser ${code}):\n${stderr}`));
        return;
      }
      resolve(results);
    });
  });
}

describe('Tempest against imagetrust', { timeout: 60 * 60_000 }, () => {
  let server: TestServer;
  let workspace: string;
  let imageServer: Server | undefined;
  let httpImage: string;

  before(async () => {
    requireTool('tempest', 'tempest');
    requireTool('stestr', 'python3-stestr');
    for (const [module, pkg] of [
      ['glance_tempest_plugin', 'glance-tempest-plugin'],
      ['barbican_tempest_plugin', 'barbican-tempest-plugin'],
      ['subunit', 'python3-subunit'],
    ]) {
      try {
        execFileSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' });
      } catch {
        throw new Error(
          `Python module ${module} is missing: apt-get install ${pkg} (scripts/test.sh installs it).`,
        );
      }
    }
    // web-download's source: a file server on loopback, which the import filter must be told it may reach.
    imageServer = createServer((request, response) => {
      if (request.url !== '/cirros.img') return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': IMAGE.length });
      response.end(IMAGE);
    });
    imageServer.listen(0, '127.0.0.1');
    await once(imageServer, 'listening');
    const imagePort = (imageServer.address() as AddressInfo).port;
    server = await startTestServer({
      // Tempest's dynamic credentials make an admin on a fresh project per test class, as Keystone's legacy
      // defaults allow; imagetrust confines cloud administration to the admin project unless told otherwise.
      identity: { adminOnAnyProject: true },
      // Glance lets an admin make an image public with a PATCH; imagetrust asks for an approved release.
      release: { allowDirectPublish: true },
      // Glance's new default for downloads (members, not readers), which its RBAC suite checks.
      policy: { file: path.join(HERE, 'policy.yaml') },
      import: {
        webDownload: { allowedPorts: [80, 443, imagePort], internalHosts: [`127.0.0.1:${imagePort}`] },
      },
    });
    httpImage = `http://127.0.0.1:${imagePort}/cirros.img`;
    const token = await adminToken(server);
    for (const role of BARBICAN_ROLES) await ensureRole(server.url, token, role);
    workspace = mkdtempSync(path.join(tmpdir(), 'imagetrust-tempest-'));
    execFileSync('tempest', ['init', '--workspace-path', path.join(workspace, 'workspaces.yaml'), 'ws'], {
      cwd: workspace,
      env: ENV,
      stdio: 'ignore',
    });
    workspace = path.join(workspace, 'ws');
    const conf = readFileSync(path.join(HERE, 'tempest.conf'), 'utf8')
      .replaceAll('{{URL}}', server.url)
      .replaceAll('{{ADMIN_PASSWORD}}', ADMIN_PASSWORD)
      .replaceAll('{{LOG_DIR}}', path.join(workspace, 'logs'))
      .replaceAll('{{HTTP_IMAGE}}', httpImage);
    writeFileSync(path.join(workspace, 'etc', 'tempest.conf'), conf);
  });

  after(async () => {
    await server?.stop();
    imageServer?.close();
    if (workspace) rmSync(path.dirname(workspace), { recursive: true, force: true });
  });

  it('passes every selected test, and skips only what expected-skips.txt explains', async (t) => {
    const results = await runTempest(workspace);
    if (process.env.TEMPEST_RESULTS)
      writeFileSync(process.env.TEMPEST_RESULTS, JSON.stringify(results, null, 1));

    const byModule = new Map<string, Record<string, number>>();
    for (const result of results) {
      const counts = byModule.get(moduleOf(result.id)) ?? {};
      counts[result.status] = (counts[result.status] ?? 0) + 1;
      byModule.set(moduleOf(result.id), counts);
    }
    const summary = [...byModule]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([module, c]) => `${module}: ${c.success ?? 0} passed, ${c.fail ?? 0} failed, ${c.skip ?? 0} skipped`,
      );
    t.diagnostic(`Tempest results per module:\n${summary.join('\n')}`);

    const failed = results.filter((r) => r.status !== 'success' && r.status !== 'skip');
    assert.deepEqual(
      failed.map((r) => `${r.id}: ${r.status}\n${r.reason}`),
      [],
      `${failed.length} Tempest tests failed`,
    );

    const expected = readRegexList('expected-skips.txt');
    const unexplained = results.filter(
      (r) => r.status === 'skip' && !expected.some((e) => e.regex.test(r.id)),
    );
    assert.deepEqual(
      unexplained.map((r) => `${r.id}: ${r.reason}`),
      [],
      'Tempest skipped tests expected-skips.txt does not explain',
    );
    // An entry that no longer matches a skip is stale: the test runs now, or was renamed.
    const stale = expected.filter((e) => !results.some((r) => r.status === 'skip' && e.regex.test(r.id)));
    assert.deepEqual(
      stale.map((e) => e.line),
      [],
      'expected-skips.txt explains skips that did not happen',
    );
    // Every selected group ran something: a selection that matches nothing is a mistake, not a pass.
    for (const include of readRegexList('tests.txt')) {
      assert.ok(
        results.some(
          (r) => r.status === 'success' && include.regex.test(r.id.replace(/^setUpClass \((.*)\)$/, '$1.x')),
        ),
        `no test passed for ${include.line}`,
      );
    }
  });
});

// The README as a newcomer runs it: every ```sh block, in order, in one shell, in a fresh directory
// with its own HOME, the `imagetrust` command linked to this checkout with `npm link` (into a
// temporary npm prefix), and the openstack client set up exactly as the README says. A block that
// fails fails the test, naming the block and the command.
//
// Adapted lines, and why (everything else runs verbatim):
// - `apt-get install P...`: checked with `dpkg -s P...` instead; a test does not install packages.
// - `npm install`: checked (this checkout's node_modules/.bin/node exists) instead of run: the tests
//   run from an installed checkout, and reinstalling would change it under other running tests.
// - `... npm start &` (and the `npm start` after `npm install`): the test starts the server itself,
//   in process, on a free port with the same `IMAGETRUST_ADMIN_PASSWORD`; the README's
//   `http://127.0.0.1:9292` is replaced by that server's URL. `npm start` itself is
//   test/cli/npm-start.test.ts's subject.
// - `npm test`: not run; it is the suite this test belongs to.
// - `npm link`: run in this checkout, as the README says, with `npm_config_prefix` pointing into the
//   temporary directory, so the machine's global npm folder is left alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.ts';

const CHECKOUT = path.resolve(new URL('../..', import.meta.url).pathname);
const README_URL = 'http://127.0.0.1:9292';

interface Block {
  heading: string;
  lines: string[];
}

/** The README's ```sh blocks in order, each with the section heading it appears under. */
function readmeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let heading = '';
  let current: Block | undefined;
  for (const line of markdown.split('\n')) {
    if (current) {
      if (line.startsWith('```')) {
        blocks.push(current);
        current = undefined;
      } else current.lines.push(line);
    } else if (line.startsWith('## ')) heading = line.slice(3);
    else if (line.trim() === '```sh') current = { heading, lines: [] };
  }
  return blocks;
}

/** The environment assignments in front of the README's `npm start &` (the server's settings). */
function serverEnvironment(blocks: Block[]): Record<string, string> {
  for (const line of blocks.flatMap((b) => b.lines)) {
    const match = /^((?:\w+=\S+\s+)*)npm start &/.exec(line);
    if (match)
      return Object.fromEntries(
        match[1]
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map((a) => a.split('=')),
      );
  }
  throw new Error('the README starts no server with `npm start &`');
}

/** One README line as the test runs it (see the list at the top of this file). */
function adapt(line: string, url: string): string {
  const command = line.replace(/\s+#.*$/, '');
  const install = /^apt-get install (.+)$/.exec(command);
  if (install) return `dpkg -s ${install[1]} >/dev/null  # adapted: ${line}`;
  if (/^npm install && npm start\b/.test(command))
    return `test -x "$CHECKOUT/node_modules/.bin/node"  # adapted: ${line}`;
  if (/^(\w+=\S+\s+)*npm start &$/.test(command)) return `: adapted, the test runs the server: ${line}`;
  if (/^npm test\b/.test(command)) return `: not run, this suite: ${line}`;
  if (/^npm link$/.test(command))
    return `(cd "$CHECKOUT" && npm link --no-audit --no-fund) && test "$(readlink -f "$(command -v imagetrust)")" = "$CHECKOUT/bin/imagetrust"`;
  assert.ok(!/^\s*npm /.test(command), `the README runs an npm command this test does not know: ${line}`);
  return line.replaceAll(README_URL, url);
}

describe('the README', () => {
  let server: TestServer;
  let work: string;
  let blocks: Block[];
  before(async () => {
    blocks = readmeBlocks(readFileSync(path.join(CHECKOUT, 'README.md'), 'utf8'));
    const env = serverEnvironment(blocks);
    server = await startTestServer({ adminPassword: env.IMAGETRUST_ADMIN_PASSWORD });
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-readme-'));
    for (const dir of ['home', 'tmp', 'npm-prefix', 'start']) mkdirSync(path.join(work, dir));
  });
  after(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // The timeout only keeps a hung client from holding the suite; no assertion depends on time.
  it('runs every sh block as written, in order, against a fresh server', { timeout: 600_000 }, async () => {
    assert.ok(blocks.length >= 4, 'the README has its command blocks');
    const script = [
      'set -e -o pipefail',
      // gpg starts an agent in the temporary HOME; it must not outlive the test.
      'trap "gpgconf --kill all >/dev/null 2>&1 || true" EXIT',
      ...blocks.flatMap((block, i) => [
        `echo "### README block ${i + 1} (${block.heading.replaceAll('"', '')})" >&2`,
        'set -x',
        ...block.lines.map((line) => adapt(line, server.url)),
        'set +x',
      ]),
      'echo "### all blocks ran" >&2',
    ].join('\n');
    // A newcomer's shell: no OS_* settings, none of this checkout's tools on PATH, a fresh HOME.
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env))
      if (value !== undefined && !name.startsWith('OS_') && !name.startsWith('npm_')) env[name] = value;
    const prefix = path.join(work, 'npm-prefix');
    Object.assign(env, {
      CHECKOUT,
      HOME: path.join(work, 'home'),
      TMPDIR: path.join(work, 'tmp'),
      PATH: [
        path.join(prefix, 'bin'),
        ...(process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('node_modules')),
      ].join(':'),
      npm_config_prefix: prefix,
      npm_config_update_notifier: 'false',
      IMAGETRUST_CONFIG: '',
    });
    const child = spawn('bash', ['-c', script], {
      cwd: path.join(work, 'start'),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const lastBlock = output.lastIndexOf('### README block');
    assert.equal(code, 0, `a README command failed:\n${output.slice(Math.max(0, lastBlock))}`);
    assert.match(output, /### all blocks ran/);
  });
});

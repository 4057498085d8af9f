// `npm start` as the README runs it: a signal to the npm process stops the server too. npm forwards
// SIGINT and SIGTERM only to its own child, so the start script must make the server that child.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireTool } from '../support/tools.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Live processes by pid with their parent's pid, from /proc (zombies count as gone). */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we listed
    }
    // The command name may hold spaces and parentheses: the fields we need follow its last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state !== 'Z') table.set(Number(entry), Number(ppid));
  }
  return table;
}

function descendantsOf(pid: number): number[] {
  const table = processTable();
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

describe('npm start', () => {
  let dir: string;
  const leftovers: number[] = [];
  before(() => {
    requireTool('npm', 'npm');
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-npm-start-'));
  });
  after(() => {
    // A failed run must not leave its server behind for the next one.
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // The timeout only keeps a regression from hanging the suite; no assertion depends on time.
    it(`stops the server when the npm process gets ${signal}`, { timeout: 120_000 }, async () => {
      const npm = spawn('npm', ['start'], {
        cwd: ROOT,
        env: {
          ...process.env,
          IMAGETRUST_CONFIG: '',
          IMAGETRUST_DATA_DIR: path.join(dir, signal),
          IMAGETRUST_PORT: '0',
          IMAGETRUST_ADMIN_PASSWORD: 's3cret',
          IMAGETRUST_LOG_LEVEL: 'warn',
          npm_config_update_notifier: 'false',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const exited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
      let stderr = '';
      npm.stderr.setEncoding('utf8');
      const url = await new Promise<string>((resolve, reject) => {
        npm.stderr.on('data', (chunk: string) => {
          stderr += chunk;
          const match = /serving on (http:\/\/\S+)/.exec(stderr);
          if (match) resolve(match[1]);
        });
        npm.on('exit', (code) => reject(new Error(`npm start exited ${code}: ${stderr}`)));
      });
      const server = descendantsOf(npm.pid!);
      leftovers.push(npm.pid!, ...server);
      assert.ok(server.length > 0, 'npm start runs the server as its descendant');
      // Checked before the signal: with a shell in between, SIGINT leaves the shell waiting on a server
      // that never heard it, and npm waiting on the shell, for ever.
      const parents = processTable();
      assert.deepEqual(
        server.map((pid) => parents.get(pid)),
        server.map(() => npm.pid),
        "the server is npm's own child, which npm forwards the signal to",
      );
      assert.equal((await fetch(`${url}/identity/v3`)).status, 200);

      npm.kill(signal);
      await exited;
      // npm exits only after its child did; a server it did not signal would still be alive here.
      const table = processTable();
      assert.deepEqual(
        server.filter((pid) => table.has(pid)),
        [],
        'no process of npm start outlives it',
      );
      await assert.rejects(fetch(`${url}/identity/v3`), 'nothing listens on the port any more');
    });
  }
});

// PostgreSQL going away under traffic, on a cluster of the test's own (Debian's initdb and pg_ctl on a free
// port, so the machine's shared server is never touched): while it is down requests fail cleanly (503,
// Glance's error body, never a 500 or a hang) and /readyz names the database; once it is back, requests
// succeed again without restarting imagetrust. A restart in the middle of a burst of requests loses
// nothing that was acknowledged.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { freePort } from '../support/registry.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Debian's PostgreSQL server binaries (postgresql-15 on bookworm). */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort() : [];
  const bin = versions
    .map((v) => path.join(root, v, 'bin'))
    .find((dir) => existsSync(path.join(dir, 'initdb')));
  if (!bin) throw new Error('PostgreSQL server binaries are not installed: apt-get install postgresql');
  return bin;
}

/** A private cluster run as the postgres user (initdb refuses root), trusting local connections. */
class PrivateCluster {
  readonly dir: string;
  readonly port: number;
  readonly #bin: string;

  constructor(bin: string, dir: string, port: number) {
    this.#bin = bin;
    this.dir = dir;
    this.port = port;
  }

  #asPostgres(command: string, args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', path.join(this.#bin, command), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
    });
  }

  init(): void {
    this.#asPostgres('initdb', ['-D', path.join(this.dir, 'data'), '-A', 'trust', '-U', 'root', '--no-sync']);
  }

  start(): void {
    this.#asPostgres('pg_ctl', [
      '-D',
      path.join(this.dir, 'data'),
      '-l',
      path.join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
  }

  /** Stops at once, cutting every open connection (pg_ctl's fast mode). */
  stop(): void {
    this.#asPostgres('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  get url(): string {
    return `postgres://root@127.0.0.1:${this.port}/postgres`;
  }
}

describe('PostgreSQL stopped and restarted under imagetrust', { timeout: 5 * 60_000 }, () => {
  let cluster: PrivateCluster;
  let t: TestServer;
  let token: string;
  let running = false;

  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-pg-'));
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
    cluster = new PrivateCluster(postgresBin(), dir, await freePort());
    cluster.init();
    cluster.start();
    running = true;
    t = await startTestServer({ database: cluster.url });
    token = await t.token();
  });
  after(async () => {
    await t?.stop();
    if (running) cluster.stop();
    if (cluster) rmSync(cluster.dir, { recursive: true, force: true });
  });

  const createImage = (name: string) =>
    apiCall(t.url, token, 'POST', '/image/v2/images', { name, disk_format: 'raw', container_format: 'bare' });

  it('answers 503 while the database is down, says so in /readyz, and works again once it is back', async () => {
    assert.equal((await createImage('before')).status, 201);
    cluster.stop();
    running = false;
    const during = await Promise.all([
      apiCall(t.url, token, 'GET', '/image/v2/images'),
      createImage('during'),
      apiCall(t.url, null, 'POST', '/identity/v3/auth/tokens', {
        auth: { identity: { methods: ['password'], password: { user: { id: 'x', password: 'y' } } } },
      }),
    ]);
    for (const response of during) {
      assert.equal(response.status, 503, response.text);
      assert.doesNotMatch(
        response.text,
        /ECONNREFUSED|127\.0\.0\.1|postgres:\/\//,
        'no internals in the answer',
      );
    }
    const ready = await apiCall(t.url, null, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.ok((ready.json.failed as string[]).includes('database'));
    assert.equal((await apiCall(t.url, null, 'GET', '/healthz')).status, 200);

    cluster.start();
    running = true;
    // The pool reconnects on its own: the very next requests succeed.
    assert.equal((await apiCall(t.url, null, 'GET', '/readyz')).status, 200);
    const after = await createImage('after');
    assert.equal(after.status, 201, after.text);
    const names = (
      (await apiCall(t.url, token, 'GET', '/image/v2/images')).json.images as { name: string }[]
    ).map((image) => image.name);
    assert.ok(names.includes('before') && names.includes('after') && !names.includes('during'));
  });

  it('loses nothing acknowledged when the database restarts in the middle of a burst', async () => {
    const burst = Array.from({ length: 40 }, (_, i) => createImage(`burst-${i}`));
    cluster.stop();
    running = false;
    cluster.start();
    running = true;
    const answers = await Promise.all(burst);
    for (const answer of answers)
      assert.ok([201, 503].includes(answer.status), `${answer.status} ${answer.text}`);
    const acknowledged = answers.filter((a) => a.status === 201).map((a) => a.json.id as string);
    for (const id of acknowledged) {
      assert.equal((await apiCall(t.url, token, 'GET', `/image/v2/images/${id}`)).status, 200);
    }
    // And the service takes new work at once.
    assert.equal((await createImage('after-burst')).status, 201);
  });
});

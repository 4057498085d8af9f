// GET /healthz and /readyz for load balancers, and Glance's request ids: every answer names its
// X-OpenStack-Request-Id, every log line of the request carries it (with the caller's ids), and only a
// trusted proxy may hand one in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import type { BlobStore } from '../../src/catalog/index.ts';
import { SCHEMA_VERSION } from '../../src/storage/index.ts';
import { passwordLogin } from '../support/auth.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';

const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ROOT = new URL('../..', import.meta.url).pathname;

/** A blob store that fails every call while `down` is set, as an unreachable object store would. */
function failingOnCue(store: BlobStore, state: { down: boolean }): BlobStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9'));
        return value.apply(target, args);
      };
    },
  });
}

describe('health, readiness and request ids', () => {
  let t: TestServer;
  const blobState = { down: false };

  before(async () => {
    t = await startTestServer({}, { adapters: { blobs: (store) => failingOnCue(store, blobState) } });
  });
  after(() => t.stop());

  it('answers /healthz without a token', async () => {
    const response = await fetch(`${t.url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  it('is ready when database, blob store and schema are, and says which part is not', async () => {
    const ready = await fetch(`${t.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(ready.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await ready.json(), {
      status: 'ready',
      checks: { database: { status: 'ok' }, blobs: { status: 'ok' }, schema: { status: 'ok' } },
    });

    blobState.down = true;
    try {
      const down = await fetch(`${t.url}/readyz`);
      assert.equal(down.status, 503);
      const body = (await down.json()) as {
        status: string;
        failed: string[];
        checks: Record<string, unknown>;
      };
      assert.equal(body.status, 'unavailable');
      assert.deepEqual(body.failed, ['blobs']);
      assert.deepEqual(body.checks.blobs, { status: 'failed', error: 'connect ECONNREFUSED 127.0.0.1:9' });
      assert.deepEqual(body.checks.database, { status: 'ok' });
      // Still alive: the process itself is fine.
      assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    } finally {
      blobState.down = false;
    }
    // Back without a restart.
    assert.equal((await fetch(`${t.url}/readyz`)).status, 200);
  });

  it('is not ready on a schema another version migrated', async () => {
    const db = new DatabaseSync(path.join(t.dataDir, 'imagetrust.sqlite'));
    try {
      db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(
        SCHEMA_VERSION + 1,
        'from a newer imagetrust',
        '2026-12-04T00:00:00Z',
      );
      const response = await fetch(`${t.url}/readyz`);
      assert.equal(response.status, 503);
      const body = (await response.json()) as {
        failed: string[];
        checks: Record<string, { error?: string }>;
      };
      assert.deepEqual(body.failed, ['schema']);
      assert.match(
        body.checks.schema.error!,
        new RegExp(`version ${SCHEMA_VERSION + 1}; this imagetrust needs ${SCHEMA_VERSION}`),
      );
    } finally {
      db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(SCHEMA_VERSION + 1);
      db.close();
    }
    assert.equal((await fetch(`${t.url}/readyz`)).status, 200);
  });

  it('names a new request id on every answer: success, refusal, not found and error alike', async () => {
    const token = await t.token();
    const answers = await Promise.all([
      fetch(`${t.url}/image/v2/images`, { headers: { 'X-Auth-Token': token } }),
      fetch(`${t.url}/image/v2/images`),
      fetch(`${t.url}/no/such/thing`),
      fetch(`${t.url}/image/v2/images`, {
        method: 'POST',
        headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
        body: '{"name": ',
      }),
      fetch(`${t.url}/healthz`),
    ]);
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 401, 404, 400, 200],
    );
    const ids = answers.map((r) => r.headers.get('x-openstack-request-id') ?? '');
    for (const id of ids) assert.match(id, REQUEST_ID);
    assert.equal(new Set(ids).size, ids.length, 'each request has its own id');
  });

  it('ignores an id offered by a peer that is not a trusted proxy', async () => {
    const offered = 'req-11111111-2222-4333-8444-555555555555';
    const response = await fetch(`${t.url}/healthz`, { headers: { 'X-OpenStack-Request-Id': offered } });
    const id = response.headers.get('x-openstack-request-id');
    assert.match(id!, REQUEST_ID);
    assert.notEqual(id, offered);
  });
});

describe('request ids from a trusted proxy', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ trustedProxies: ['127.0.0.1'] });
  });
  after(() => t.stop());

  it('keeps a well-formed id the proxy hands in, and replaces a malformed one', async () => {
    const offered = 'req-11111111-2222-4333-8444-555555555555';
    const kept = await fetch(`${t.url}/healthz`, { headers: { 'X-OpenStack-Request-Id': offered } });
    assert.equal(kept.headers.get('x-openstack-request-id'), offered);
    for (const bad of [
      'req-not-a-uuid',
      offered.toUpperCase(),
      `${offered}z`,
      'x'.repeat(5000),
      `${offered}, ${offered}`,
    ]) {
      const response = await fetch(`${t.url}/healthz`, { headers: { 'X-OpenStack-Request-Id': bad } });
      const id = response.headers.get('x-openstack-request-id');
      assert.match(id!, REQUEST_ID);
      assert.notEqual(id, offered);
    }
  });
});

describe('log lines of `imagetrust serve`', () => {
  it('are JSON, each naming the request id, and, once authenticated, the user and project ids', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'imagetrust-logs-'));
    const child = spawn(
      path.join(ROOT, 'bin/imagetrust'),
      ['serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'],
      { env: { ...process.env, IMAGETRUST_ADMIN_PASSWORD: ADMIN_PASSWORD, IMAGETRUST_CONFIG: '' } },
    );
    const lines: Record<string, unknown>[] = [];
    const notJson: string[] = [];
    let announce: (url: string) => void;
    const serving = new Promise<string>((resolve) => (announce = resolve));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          lines.push(entry);
          const match = /serving on (\S+)/.exec(String(entry.msg));
          if (match) announce(match[1]);
        } catch {
          notJson.push(line);
        }
      });
    }
    try {
      const url = await serving;
      const login = await passwordLogin(url, 'admin', ADMIN_PASSWORD, 'admin');
      const token = login.headers.get('x-subject-token')!;
      const list = await fetch(`${url}/image/v2/images`, { headers: { 'X-Auth-Token': token } });
      const id = list.headers.get('x-openstack-request-id')!;
      const whoami = await fetch(`${url}/identity/v3/auth/tokens`, {
        headers: { 'X-Auth-Token': token, 'X-Subject-Token': token },
      });
      const me = ((await whoami.json()) as { token: { user: { id: string }; project: { id: string } } })
        .token;
      // The completion line is written as the response finishes; wait for it rather than for a time.
      for (
        let i = 0;
        i < 200 && !lines.some((l) => l.requestId === id && l.msg === 'request completed');
        i++
      ) {
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const completed = lines.find((l) => l.requestId === id && l.msg === 'request completed');
      assert.ok(completed, `no completion line for ${id}`);
      assert.equal(completed.userId, me.user.id);
      assert.equal(completed.projectId, me.project.id);
      assert.equal(completed.status, 200);
      assert.deepEqual(notJson, [], 'every log line is JSON');
      // Tokens never reach the log.
      assert.ok(!lines.some((l) => JSON.stringify(l).includes(token)));
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

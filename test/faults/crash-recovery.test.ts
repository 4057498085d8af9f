// The server is killed with SIGKILL while uploads stream in (at a random moment, and exactly between
// committing an upload's data and activating its image), then started again. Whatever the moment, every
// image must be active with exactly the data sent, or queued with no data; no blob may be left that no
// image holds, and no temporary file. On SQLite and PostgreSQL. IMAGETRUST_FAULT_ROUNDS sets the rounds
// of random kills per backend (2 by default; 20 for the long run).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileBlobStore } from '../../src/storage/index.ts';
import { postgresBackend, sqliteBackend } from '../storage/database-backends.ts';
import { passwordLogin } from '../support/auth.ts';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const PASSWORD = 'fault-admin-password';
const ROUNDS = Number(process.env.IMAGETRUST_FAULT_ROUNDS ?? 2);
const UPLOADS = 20;

/** A small seeded generator, so a failing round can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Server {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

async function startServer(dataDir: string, database: string, failpoints = ''): Promise<Server> {
  const child = spawn(
    BIN,
    ['serve', '--data-dir', dataDir, '--database', database, '--port', '0', '--log-level', 'warn'],
    {
      env: {
        ...process.env,
        IMAGETRUST_ADMIN_PASSWORD: PASSWORD,
        IMAGETRUST_CONFIG: '',
        IMAGETRUST_FAILPOINTS: failpoints,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const match = /serving on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}) before serving: ${stderr}`)));
  });
  return { url, child, exited };
}

async function token(url: string): Promise<string> {
  const response = await passwordLogin(url, 'admin', PASSWORD, 'admin');
  assert.equal(response.status, 201);
  return response.headers.get('x-subject-token')!;
}

async function call(url: string, auth: string, method: string, route: string, body?: unknown) {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { 'x-auth-token': auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : {} };
}

/** Sends `data` in small pieces with pauses, so the kill can land anywhere in the stream. */
function slowBody(data: Buffer): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    async pull(controller) {
      if (offset >= data.length) return controller.close();
      const piece = data.subarray(offset, offset + 256 * 1024);
      offset += piece.length;
      await new Promise((resolve) => setImmediate(resolve));
      controller.enqueue(piece);
    },
  });
}

interface Sent {
  id: string;
  sha512: string;
}

interface Planned extends Sent {
  data: Buffer;
}

/** Creates the images, each with the data it will be sent. */
async function createImages(server: Server, random: () => number): Promise<Planned[]> {
  const auth = await token(server.url);
  const planned: Planned[] = [];
  for (let i = 0; i < UPLOADS; i++) {
    const created = await call(server.url, auth, 'POST', '/image/v2/images', {
      name: `crash-${i}`,
      disk_format: 'raw',
      container_format: 'bare',
    });
    assert.equal(created.status, 201);
    const data = randomBytes(256 * 1024 + Math.floor(random() * 3 * 1024 * 1024));
    planned.push({ id: created.json.id, sha512: createHash('sha512').update(data).digest('hex'), data });
  }
  return planned;
}

/** Starts every upload at once; resolves when all have settled (most fail at the kill). */
async function uploadAll(server: Server, planned: Planned[], auth: string): Promise<void> {
  await Promise.all(
    planned.map(({ id, data }) =>
      fetch(`${server.url}/image/v2/images/${id}/file`, {
        method: 'PUT',
        headers: { 'x-auth-token': auth, 'content-type': 'application/octet-stream' },
        body: slowBody(data),
        duplex: 'half',
      } as RequestInit).then(
        (response) => response.arrayBuffer(),
        () => undefined,
      ),
    ),
  );
}

/** After a restart: each image active with its data, or queued with none; nothing stray in the store. */
async function assertConsistent(
  dataDir: string,
  database: string,
  sent: Sent[],
  report: (message: string) => void,
): Promise<number> {
  const restarted = process.hrtime.bigint();
  const server = await startServer(dataDir, database);
  // Recovery runs before the server listens: this is the time from restart to serving, recovery included.
  report(`restart to serving, recovery included: ${Number(process.hrtime.bigint() - restarted) / 1e6} ms`);
  try {
    const auth = await token(server.url);
    const active = new Set<string>();
    for (const { id, sha512 } of sent) {
      const { json: image } = await call(server.url, auth, 'GET', `/image/v2/images/${id}`);
      assert.ok(['active', 'queued'].includes(image.status), `image ${id} is ${image.status}`);
      if (image.status === 'active') {
        assert.equal(image.os_hash_value, sha512, `image ${id} is active with other data`);
        const download = await fetch(`${server.url}/image/v2/images/${id}/file`, {
          headers: { 'x-auth-token': auth },
        });
        const bytes = Buffer.from(await download.arrayBuffer());
        assert.equal(createHash('sha512').update(bytes).digest('hex'), sha512);
        active.add(id);
      } else {
        assert.equal(image.size, null, `queued image ${id} still has a size`);
      }
    }
    // The store, through its own port: only active images' data, and no temporary left.
    const store = new FileBlobStore(path.join(dataDir, 'blobs'));
    const keys: string[] = [];
    for await (const key of store.list()) keys.push(key);
    assert.deepEqual(keys.sort(), [...active].sort(), 'the blob store holds exactly the active images');
    assert.equal(await store.countTemporaries(), 0, 'temporary files remain');
    // A queued image takes a new upload (nothing stale blocks it).
    const queued = sent.find(({ id }) => !active.has(id));
    if (queued) {
      const data = randomBytes(4096);
      const again = await fetch(`${server.url}/image/v2/images/${queued.id}/file`, {
        method: 'PUT',
        headers: { 'x-auth-token': auth, 'content-type': 'application/octet-stream' },
        body: data,
      });
      assert.equal(again.status, 204);
    }
    return active.size;
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe(`a server killed during uploads recovers (${backend.name})`, () => {
    const dirs: string[] = [];
    const fresh = async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'imagetrust-crash-'));
      dirs.push(dataDir);
      const database =
        backend.name === 'sqlite'
          ? `sqlite:${path.join(dataDir, 'imagetrust.sqlite')}`
          : await backend.freshUrl();
      return { dataDir, database };
    };
    before(() => backend.ready());
    after(async () => {
      await backend.dispose();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it('between committing an upload’s data and activating its image', async (t) => {
      const { dataDir, database } = await fresh();
      const server = await startServer(dataDir, database, 'upload-blob-committed');
      const sent = await createImages(server, prng(7));
      await uploadAll(server, sent, await token(server.url));
      // The failpoint killed it: nothing else would have stopped it.
      assert.equal(await server.exited, null);
      await assertConsistent(dataDir, database, sent, (message) => t.diagnostic(message));
      const reconcile = await run(
        BIN,
        ['blobs', 'reconcile', '--dry-run', '--data-dir', dataDir, '--database', database],
        {
          ...process.env,
          IMAGETRUST_CONFIG: '',
        } as Record<string, string>,
      );
      assert.equal(reconcile.code, 0, reconcile.stderr);
    });

    it('between committing staged data and recording the stage, and the image can be staged again', async () => {
      const { dataDir, database } = await fresh();
      const server = await startServer(dataDir, database, 'upload-blob-committed');
      const auth = await token(server.url);
      const created = await call(server.url, auth, 'POST', '/image/v2/images', {
        name: 'crash-stage',
        disk_format: 'raw',
        container_format: 'bare',
      });
      await fetch(`${server.url}/image/v2/images/${created.json.id}/stage`, {
        method: 'PUT',
        headers: { 'x-auth-token': auth, 'content-type': 'application/octet-stream' },
        body: randomBytes(300_000),
      }).catch(() => undefined);
      assert.equal(await server.exited, null, 'the failpoint killed it');
      const restarted = await startServer(dataDir, database);
      try {
        const again = await token(restarted.url);
        const image = (await call(restarted.url, again, 'GET', `/image/v2/images/${created.json.id}`)).json;
        assert.equal(image.status, 'queued');
        assert.equal(image.size, null);
        const store = new FileBlobStore(path.join(dataDir, 'blobs'));
        const keys: string[] = [];
        for await (const key of store.list()) keys.push(key);
        assert.deepEqual(keys, [], 'no staged data survives the crash');
        assert.equal(await store.countTemporaries(), 0);
        const staged = await fetch(`${restarted.url}/image/v2/images/${created.json.id}/stage`, {
          method: 'PUT',
          headers: { 'x-auth-token': again, 'content-type': 'application/octet-stream' },
          body: randomBytes(1000),
        });
        assert.equal(staged.status, 204);
      } finally {
        restarted.child.kill('SIGTERM');
        await restarted.exited;
      }
    });

    for (let round = 1; round <= ROUNDS; round++) {
      it(`at a random moment (round ${round} of ${ROUNDS})`, async (t) => {
        const random = prng(1000 + round);
        const { dataDir, database } = await fresh();
        const server = await startServer(dataDir, database);
        const sent = await createImages(server, random);
        const auth = await token(server.url);
        const uploading = uploadAll(server, sent, auth);
        // Somewhere between the first bytes and the end of the uploads; any moment must do.
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 1500)));
        server.child.kill('SIGKILL');
        await server.exited;
        await uploading;
        const active = await assertConsistent(dataDir, database, sent, (message) => t.diagnostic(message));
        t.diagnostic(`${active} of ${UPLOADS} images active after the kill, the rest queued`);
      });
    }
  });
}

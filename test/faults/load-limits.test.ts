// Uploads past the configured limit get 503 with Retry-After; bodies that stall or trickle are cut
// off and their image queued again; a JSON body that never finishes loses its connection. Each limit is
// set low for the test; the outcome, not how fast the machine is, decides the pass.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.ts';

/** A body that sends `first`, then whatever `more()` yields, as the test allows. */
function controlledBody(
  first: Uint8Array,
  more: () => Promise<Uint8Array | null>,
): ReadableStream<Uint8Array> {
  let started = false;
  return new ReadableStream({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(first);
        return;
      }
      const next = await more();
      if (next === null) controller.close();
      else controller.enqueue(next);
    },
  });
}

async function createImage(t: TestServer, token: string, name: string): Promise<string> {
  const response = await fetch(`${t.url}/image/v2/images`, {
    method: 'POST',
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare' }),
  });
  assert.equal(response.status, 201);
  return ((await response.json()) as { id: string }).id;
}

function startUpload(t: TestServer, token: string, id: string, body: ReadableStream<Uint8Array>) {
  return fetch(`${t.url}/image/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
    body,
    duplex: 'half',
  } as RequestInit).then(
    (response) => ({ status: response.status, headers: response.headers }),
    (error: Error) => ({ status: 0, headers: new Headers(), error }),
  );
}

async function statusOf(t: TestServer, token: string, id: string): Promise<string> {
  const response = await fetch(`${t.url}/image/v2/images/${id}`, { headers: { 'x-auth-token': token } });
  return ((await response.json()) as { status: string }).status;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  // Bounded only so a broken server fails the test instead of hanging it; the outcome decides.
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what} never happened`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('limits on uploads and request bodies', () => {
  let t: TestServer | null = null;
  afterEach(async () => {
    await t?.stop();
    t = null;
  });
  after(async () => {
    await t?.stop();
  });

  it('refuses an upload past uploads.maxConcurrent with 503 TOO_MANY_UPLOADS and Retry-After', async () => {
    t = await startTestServer({ uploads: { maxConcurrent: 2 } });
    const token = await t.token();
    const releases: (() => void)[] = [];
    const held = async () => {
      await new Promise<void>((resolve) => releases.push(resolve));
      return null;
    };
    const ids = [
      await createImage(t, token, 'a'),
      await createImage(t, token, 'b'),
      await createImage(t, token, 'c'),
    ];
    const running = ids
      .slice(0, 2)
      .map((id) => startUpload(t!, token, id, controlledBody(new Uint8Array(1024), held)));
    await until('both uploads saving', async () =>
      (await Promise.all(ids.slice(0, 2).map((id) => statusOf(t!, token, id)))).every((s) => s === 'saving'),
    );
    const third = await fetch(`${t.url}/image/v2/images/${ids[2]}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(10),
    });
    assert.equal(third.status, 503);
    assert.equal(third.headers.get('x-imagetrust-error-code'), 'TOO_MANY_UPLOADS');
    assert.ok(Number(third.headers.get('retry-after')) > 0);
    assert.equal(await statusOf(t, token, ids[2]), 'queued');
    for (const release of releases) release();
    for (const result of await Promise.all(running)) assert.equal(result.status, 204);
    // With room again, the refused one goes through.
    const retried = await fetch(`${t.url}/image/v2/images/${ids[2]}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(10),
    });
    assert.equal(retried.status, 204);
  });

  it('aborts an upload whose body stalls, and queues the image again with no data left behind', {
    timeout: 120_000,
  }, async () => {
    t = await startTestServer({ uploads: { bodyIdleSeconds: 0.3 } });
    const token = await t.token();
    const id = await createImage(t, token, 'stalled');
    const never = () => new Promise<Uint8Array | null>(() => {});
    // The body never ends: only the server can end this upload.
    const result = await startUpload(t, token, id, controlledBody(new Uint8Array(64 * 1024), never));
    assert.notEqual(result.status, 204);
    await until('the image to be queued again', async () => (await statusOf(t!, token, id)) === 'queued');
    assert.equal(await t.blobs.countTemporaries(), 0);
    assert.equal(
      (await fetch(`${t.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token } })).status,
      204,
    );
  });

  it('aborts an upload that trickles below uploads.minBytesPerSecond', { timeout: 120_000 }, async () => {
    t = await startTestServer({
      uploads: { minBytesPerSecond: 10_000_000, rateWindowSeconds: 0.3, bodyIdleSeconds: 60 },
    });
    const token = await t.token();
    const id = await createImage(t, token, 'trickle');
    let stop = false;
    const trickle = async () => {
      if (stop) return null;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return new Uint8Array(16);
    };
    const upload = startUpload(t, token, id, controlledBody(new Uint8Array(16), trickle));
    await until('the upload to start', async () => (await statusOf(t!, token, id)) === 'saving');
    await until(
      'the trickling upload to be dropped',
      async () => (await statusOf(t!, token, id)) === 'queued',
    );
    stop = true;
    assert.notEqual((await upload).status, 204);
    assert.equal(await t.blobs.countTemporaries(), 0);
  });

  it('closes the connection of a JSON body that does not arrive within uploads.jsonBodySeconds', async () => {
    t = await startTestServer({ uploads: { jsonBodySeconds: 0.3 } });
    const token = await t.token();
    const { port } = new URL(t.url);
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST /image/v2/images HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`,
        );
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(true));
    });
    assert.ok(closed);
    // Glance reads a JSON body sent as application/octet-stream too: it gets the same deadline.
    const closedTyped = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST /image/v2/images HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n{"name":`,
        );
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(true));
    });
    assert.ok(closedTyped);
    // Image data is not held to it: an upload whose body takes longer than the deadline completes.
    const created = await fetch(`${t.url}/image/v2/images`, {
      method: 'POST',
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ disk_format: 'raw', container_format: 'bare' }),
    });
    const { id } = (await created.json()) as { id: string };
    const slow = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(1024));
        await new Promise((done) => setTimeout(done, 900));
        controller.enqueue(new Uint8Array(1024));
        controller.close();
      },
    });
    const uploaded = await fetch(`${t.url}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: slow,
      duplex: 'half',
    } as RequestInit);
    assert.equal(uploaded.status, 204, await uploaded.text());
    // The server itself is fine.
    assert.equal(
      (await fetch(`${t.url}/image/v2/images`, { headers: { 'x-auth-token': token } })).status,
      200,
    );
  });
});

// A real OpenStack Swift with its S3 API (s3api) on loopback for a test file: its own directory and free
// ports, fresh data, started and stopped by the PIDs test/support/objectstore.sh records. Needs Debian's
// swift, swift-proxy, swift-object, swift-container, swift-account (scripts/test.sh installs them).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = path.join(import.meta.dirname, 'objectstore.sh');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ObjectStore {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
  /** Stops the servers (data stays). */
  stop(): Promise<void>;
  /** Starts them again on the same ports and data. */
  start(): Promise<void>;
  /** Stops the servers and removes the directory. */
  dispose(): Promise<void>;
}

export async function startObjectStore(): Promise<ObjectStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'imagetrust-swift-'));
  const env = {
    ...process.env,
    OBJECTSTORE_DIR: dir,
    OBJECTSTORE_PORT: String(await freePort()),
    OBJECTSTORE_OBJ_PORT: String(await freePort()),
    OBJECTSTORE_CONT_PORT: String(await freePort()),
    OBJECTSTORE_ACCT_PORT: String(await freePort()),
    OBJECTSTORE_MEMCACHED_PORT: String(await freePort()),
    OBJECTSTORE_BUCKET: 'images',
  };
  const script = (command: string, extra: Record<string, string> = {}) =>
    run('bash', [SCRIPT, command], { env: { ...env, ...extra }, timeout: 120_000 });
  await script('start', { OBJECTSTORE_FRESH: '1' });
  const settings: Record<string, string> = {};
  for (const line of (await readFile(path.join(dir, 's3.env'), 'utf8')).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) settings[line.slice(0, eq)] = line.slice(eq + 1);
  }
  let running = true;
  return {
    endpoint: settings.S3_ENDPOINT,
    region: settings.S3_REGION,
    bucket: settings.S3_BUCKET,
    accessKeyId: settings.S3_ACCESS_KEY_ID,
    secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
    dir,
    async stop() {
      await script('stop');
      running = false;
    },
    async start() {
      await script('start', { OBJECTSTORE_BUCKET: '' });
      running = true;
    },
    async dispose() {
      if (running) await script('stop');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

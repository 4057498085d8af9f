// A real single-node Ceph (mon, one BlueStore OSD over a sparse file, radosgw) on loopback for a test
// file: its own directory and free ports, a fresh cluster, started and stopped by the PIDs
// test/support/ceph.sh records. Needs Debian's ceph-mon, ceph-osd, radosgw and ceph-common; about 8 s to
// start and up to 1 GB of memory, so only the opt-in run (IMAGETRUST_TEST_CEPH=1, `npm run test:ceph`) uses it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ObjectStore } from './objectstore.ts';

const run = promisify(execFile);
const SCRIPT = path.join(import.meta.dirname, 'ceph.sh');

async function listen(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function close(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}

async function freePort(): Promise<number> {
  const server = (await listen(0)) as Server;
  const port = (server.address() as { port: number }).port;
  await close([server]);
  return port;
}

/**
 * The first of `count` consecutive free ports: the OSD binds its messengers inside a port range, not to
 * ports it is given one by one.
 */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * 30_000);
    const held: Server[] = [];
    for (let port = first; port < first + count; port++) {
      const server = await listen(port);
      if (!server) break;
      held.push(server);
    }
    await close(held);
    if (held.length === count) return first;
  }
  throw new Error(`No ${count} consecutive free loopback ports found.`);
}

export async function startCeph(): Promise<ObjectStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'imagetrust-ceph-'));
  const env = {
    ...process.env,
    CEPH_DIR: dir,
    CEPH_MON_PORT: String(await freePort()),
    CEPH_MON_V1_PORT: String(await freePort()),
    CEPH_RGW_PORT: String(await freePort()),
    CEPH_MS_PORT_MIN: String(await freePortRange(16)),
    CEPH_MS_PORT_COUNT: '16',
    CEPH_BUCKET: 'images',
  };
  const script = (command: string, extra: Record<string, string> = {}) =>
    run('bash', [SCRIPT, command], { env: { ...env, ...extra }, timeout: 180_000 });
  try {
    await script('start', { CEPH_FRESH: '1' });
  } catch (error) {
    await script('stop').catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
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
      await script('start');
      running = true;
    },
    async dispose() {
      if (running) await script('stop');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

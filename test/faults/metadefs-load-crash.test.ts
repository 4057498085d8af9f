// The server is killed with SIGKILL while it loads the metadata-definition files at its first start:
// inside a file's transaction (its namespace written, not yet committed), and between two files. Started
// again, it loads what is missing: every namespace exactly once, each whole. On SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postgresBackend, sqliteBackend } from '../storage/database-backends.ts';
import { passwordLogin } from '../support/auth.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const SHIPPED = new URL('../../data/metadefs/', import.meta.url).pathname;
const PASSWORD = 'fault-admin-password';

/** Every namespace of the shipped definition files, by name, with its number of properties. */
function expectedNamespaces(): Map<string, number> {
  const out = new Map<string, number>();
  for (const dir of ['glance', 'imagetrust']) {
    for (const file of readdirSync(path.join(SHIPPED, dir)).filter((f) => f.endsWith('.json'))) {
      const document = JSON.parse(readFileSync(path.join(SHIPPED, dir, file), 'utf8'));
      out.set(document.namespace, Object.keys(document.properties ?? {}).length);
    }
  }
  return out;
}

/** Starts `imagetrust serve`; resolves with its URL once serving, or with null if it died first. */
function serve(dataDir: string, database: string, failpoints: string) {
  const child = spawn(
    BIN,
    ['serve', '--data-dir', dataDir, '--database', database, '--port', '0', '--log-level', 'warn'],
    {
      env: {
        ...process.env,
        IMAGETRUST_ADMIN_PASSWORD: PASSWORD,
        IMAGETRUST_CONFIG: '',
        IMAGETRUST_FAILPOINTS: failpoints,
        IMAGETRUST_METADEFS_DIRECTORY: path.join(SHIPPED, 'glance'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const url = new Promise<{ url: string | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => {
      child.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        const match = /serving on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve({ url: match[1], signal: null, stderr });
      });
      child.on('exit', (_code, signal) => resolve({ url: null, signal, stderr }));
    },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  };
  return { url, stop };
}

async function namespacesOf(url: string): Promise<Map<string, number>> {
  const login = await passwordLogin(url, 'admin', PASSWORD, 'admin');
  assert.equal(login.status, 201);
  const token = login.headers.get('x-subject-token')!;
  const get = async (route: string) =>
    (await fetch(`${url}/image${route}`, { headers: { 'x-auth-token': token } })).json() as Promise<
      Record<string, unknown>
    >;
  const listed = (await get('/v2/metadefs/namespaces?limit=1000')).namespaces as { namespace: string }[];
  const out = new Map<string, number>();
  for (const { namespace } of listed) {
    assert.ok(!out.has(namespace), `${namespace} listed twice`);
    const shown = await get(`/v2/metadefs/namespaces/${encodeURIComponent(namespace)}`);
    out.set(namespace, Object.keys((shown.properties as object | undefined) ?? {}).length);
  }
  return out;
}

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe(`a crash while loading metadata definitions, on ${backend.name}`, () => {
    const dirs: string[] = [];
    before(() => backend.ready());
    after(async () => {
      await backend.dispose();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    for (const failpoint of ['metadefs-namespace-written', 'metadefs-file-loaded']) {
      it(`recovers from a kill at ${failpoint}: every namespace once and whole after a restart`, async () => {
        const dataDir = mkdtempSync(path.join(tmpdir(), 'imagetrust-metadefs-crash-'));
        dirs.push(dataDir);
        const database =
          backend.name === 'sqlite'
            ? `sqlite:${path.join(dataDir, 'metadata.db')}`
            : await backend.freshUrl();
        const crashed = await serve(dataDir, database, failpoint).url;
        assert.equal(crashed.url, null, 'the server should have died at the failpoint');
        assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
        const again = serve(dataDir, database, '');
        try {
          const { url, stderr } = await again.url;
          assert.ok(url, stderr);
          assert.deepEqual(
            [...(await namespacesOf(url)).entries()].sort(),
            [...expectedNamespaces().entries()].sort(),
          );
        } finally {
          await again.stop();
        }
      });
    }
  });
}

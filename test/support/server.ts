// Starts a real imagetrust service on a temporary data directory and an ephemeral loopback port,
// and gives tests authenticated helpers. Used by server and e2e tests alike.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServiceOptions } from '../../src/app/index.ts';
import type { BlobStore } from '../../src/catalog/index.ts';
import { type ConfigInput, validateConfig } from '../../src/config/index.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { passwordLogin } from './auth.ts';

export const ADMIN_PASSWORD = 'admin-test-password';

/**
 * The environment the real OpenStack clients (and our client commands) need to reach a test server as
 * admin with password auth; every other OS_* variable of the caller's shell is blanked so it cannot leak in.
 */
export function clientEnvironment(
  url: string,
  home: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {
    OS_AUTH_URL: `${url}/identity/v3`,
    OS_USERNAME: 'admin',
    OS_PASSWORD: ADMIN_PASSWORD,
    OS_PROJECT_NAME: 'admin',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_IDENTITY_API_VERSION: '3',
    OS_IMAGE_API_VERSION: '2',
    OS_INTERFACE: 'public',
    IMAGETRUST_CONFIG: '',
    HOME: home,
    ...extra,
  };
  for (const name of Object.keys(process.env)) if (name.startsWith('OS_') && !(name in env)) env[name] = '';
  return env;
}

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  /** The blob store the services use: tests ask it what is stored instead of reading its directory. */
  blobs: BlobStore;
  /** Issues a project-scoped token for a user (password auth, like the clients). */
  token(user?: string, password?: string, project?: string): Promise<string>;
  /** Creates a project and a user with one role on it; returns ids. */
  addUser(
    name: string,
    role: 'admin' | 'member' | 'reader',
    projectName?: string,
  ): Promise<{ userId: string; projectId: string; password: string }>;
  stop(): Promise<void>;
}

/** Starts a server; `options` reach the composition root (a test clock, adapters that fail on cue). */
export async function startTestServer(
  overrides: ConfigInput = {},
  options: ServiceOptions = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imagetrust-test-'));
  const config = validateConfig({
    dataDir,
    listen: { host: '127.0.0.1', port: 0 },
    adminPassword: ADMIN_PASSWORD,
    logLevel: 'silent',
    ...overrides,
  });
  // Keep the store the services get (after any wrapper of the caller's): tests ask it what is stored.
  let blobs!: BlobStore;
  const wrapBlobs = options.adapters?.blobs;
  const server = await startServer(config, {
    ...options,
    adapters: {
      ...options.adapters,
      blobs: (store) => {
        blobs = wrapBlobs ? wrapBlobs(store) : store;
        return blobs;
      },
    },
  });
  const { identity } = server.services;
  return {
    server,
    url: server.url,
    dataDir,
    blobs,
    async token(
      user = 'admin',
      password = ADMIN_PASSWORD,
      project = user === 'admin' ? 'admin' : `${user}-project`,
    ) {
      const response = await passwordLogin(server.url, user, password, project);
      if (response.status !== 201)
        throw new Error(`token for ${user}: ${response.status} ${await response.text()}`);
      return response.headers.get('x-subject-token')!;
    },
    async addUser(name, role, projectName = `${name}-project`) {
      const project =
        (await identity.repository.findProjectByName('default', projectName)) ??
        (await identity.createProject({ name: projectName }));
      const password = `${name}-password`;
      const user = await identity.createUser({ name, password, defaultProjectId: project.id });
      await identity.grantRole(user.id, project.id, role);
      return { userId: user.id, projectId: project.id, password };
    },
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

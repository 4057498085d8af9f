// `imagetrust serve`: runs the service until SIGINT/SIGTERM, then aborts uploads and shuts down cleanly.
import path from 'node:path';
import { startServer } from '../server/index.ts';
import { replaceFile } from '../storage/index.ts';
import { configFromFlags, type StoreFlags } from './store.ts';

interface ServeFlags extends StoreFlags {
  host?: string;
  port?: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  allowInsecureHttp?: boolean;
  publicUrl?: string;
  imageSizeCap?: number;
  logLevel?: string;
}

export async function runServe(flags: ServeFlags): Promise<void> {
  const config = configFromFlags(flags, {
    listen: {
      ...(flags.host ? { host: flags.host } : {}),
      ...(flags.port !== undefined ? { port: flags.port } : {}),
    },
    tls: {
      ...(flags.tlsCert ? { cert: flags.tlsCert } : {}),
      ...(flags.tlsKey ? { key: flags.tlsKey } : {}),
      ...(flags.tlsClientCa ? { clientCa: flags.tlsClientCa } : {}),
    },
    ...(flags.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
    ...(flags.publicUrl ? { publicUrl: flags.publicUrl } : {}),
    ...(flags.imageSizeCap !== undefined ? { images: { sizeCap: flags.imageSizeCap } } : {}),
    ...(flags.logLevel ? { logLevel: flags.logLevel as 'info' } : {}),
  });
  const server = await startServer(config);
  if (server.generatedAdminPassword) {
    // The password goes to a file only the operator can read, never to the log.
    const file = path.resolve(config.dataDir, 'admin-password');
    await replaceFile(file, `${server.generatedAdminPassword}\n`);
    logLine(30, `Created user 'admin' in project 'admin'. Its password is in ${file} (mode 600).`, { file });
  }
  // JSON like every other log line; the URL is followed by a space so `serving on (\S+)` finds it whole.
  logLine(30, `imagetrust serving on ${server.url} (identity: /identity/v3, images: /image)`, {
    url: server.url,
    identity: `${server.url}/identity/v3`,
    images: `${server.url}/image`,
    clientEnvironment:
      `OS_AUTH_URL=${server.url}/identity/v3 OS_USERNAME=admin OS_PROJECT_NAME=admin ` +
      'OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3',
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logLine(30, `${signal}: aborting in-flight uploads and shutting down`, { signal });
    await server.stop();
    logLine(30, 'stopped', { signal });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** One JSON line on stderr in pino's shape (numeric level, epoch milliseconds), as the server's own log lines. */
function logLine(level: number, msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, ...fields, msg })}\n`);
}

// A real Docker registry (Debian's docker-registry) on a loopback port and temporary storage, with
// what the container tests need around it: a bearer-token server, test images pushed by skopeo,
// raw pushes for sigstore attachments, and a static HTTP server for lookaside signatures.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { requireTool, runOk } from './tools.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A running registry: `host` is `127.0.0.1:<port>`. */
export interface TestRegistry {
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export interface TokenAuth {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** True once anything answers HTTP at `url` (any status; TLS not verified). */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const send = url.startsWith('https:') ? httpsGet : httpGet;
    const req = send(url, { rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** bcrypt hashes for an htpasswd file; node:crypto has no bcrypt, Python's crypt (libxcrypt) does. */
async function htpasswdLines(users: Record<string, string>): Promise<string> {
  const script =
    'import crypt,sys\nfor p in sys.argv[1:]: print(crypt.crypt(p, crypt.mksalt(crypt.METHOD_BLOWFISH)))';
  const names = Object.keys(users);
  const hashes = (await runOk('python3', ['-W', 'ignore', '-c', script, ...names.map((n) => users[n])]))
    .trim()
    .split('\n');
  return names.map((name, i) => `${name}:${hashes[i]}\n`).join('');
}

export interface RegistryOptions {
  auth?: TokenAuth;
  tls?: TlsFiles;
  /** user → password; needs python3's crypt for bcrypt. */
  htpasswd?: Record<string, string>;
}

/** Starts docker-registry with filesystem storage in a temp dir; optional token or htpasswd auth, and TLS. */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  requireTool('docker-registry', 'docker-registry');
  const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-registry-'));
  try {
    return await launchRegistry(dir, options);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launchRegistry(dir: string, options: RegistryOptions): Promise<TestRegistry> {
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (options.tls)
    lines.push('  tls:', `    certificate: ${options.tls.certFile}`, `    key: ${options.tls.keyFile}`);
  if (options.auth) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${options.auth.realm}`,
      `    service: ${options.auth.service}`,
      `    issuer: ${options.auth.issuer}`,
      `    rootcertbundle: ${options.auth.certFile}`,
    );
  }
  if (options.htpasswd) {
    const file = path.join(dir, 'htpasswd');
    writeFileSync(file, await htpasswdLines(options.htpasswd));
    lines.push('auth:', '  htpasswd:', '    realm: imagetrust-test', `    path: ${file}`);
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const scheme = options.tls ? 'https' : 'http';
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    if (await answers(`${scheme}://127.0.0.1:${port}/v2/`)) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    host: `127.0.0.1:${port}`,
    dir,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A self-signed P-256 certificate (also its own CA) for `127.0.0.1`, made by openssl. */
export async function makeCertificate(dir: string, name: string): Promise<TlsFiles> {
  requireTool('openssl', 'openssl');
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}-key.pem`);
  await runOk('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { certFile, keyFile };
}

export interface TokenServer {
  auth: TokenAuth;
  /** How many token requests were answered, by outcome. */
  issued: number;
  stop(): Promise<void>;
}

/**
 * A distribution token server: checks Basic credentials against `users`, then signs an ES256 JWT
 * (x5c header) granting the requested actions; anonymous callers get pull when `anonymousPull`.
 */
export async function startTokenServer(
  dir: string,
  users: Record<string, string>,
  options: { anonymousPull?: boolean } = {},
): Promise<TokenServer> {
  const { certFile, keyFile } = await makeCertificate(dir, 'token-signer');
  const key = createPrivateKey(readFileSync(keyFile));
  const der = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const service = 'imagetrust-test-registry';
  const issuer = 'imagetrust-test-issuer';
  const b64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');
  const state = { issued: 0 };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const header = req.headers.authorization ?? '';
    let user: string | undefined;
    if (header.startsWith('Basic ')) {
      const [name, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
      if (users[name] !== rest.join(':')) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] }),
        );
        return;
      }
      user = name;
    }
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      const granted = user
        ? actions.split(',')
        : options.anonymousPull
          ? actions.split(',').filter((a) => a === 'pull')
          : [];
      return granted.length > 0 ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: String(Math.random()),
      access,
    };
    const signingInput = `${b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c: [der] }))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    state.issued++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: `${signingInput}.${b64url(signature)}`, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    auth: { realm: `http://127.0.0.1:${port}/token`, service, issuer, certFile },
    get issued() {
      return state.issued;
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** One tar entry, ustar format, by hand so tests need no tar tool. */
function tarOf(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) =>
    header.write(value, offset, length, 'ascii');
  field(name, 0, 100);
  field('0000644\0', 100, 8);
  field('0000000\0', 108, 8);
  field('0000000\0', 116, 8);
  field(`${content.length.toString(8).padStart(11, '0')}\0`, 124, 12);
  field('00000000000\0', 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\0', 257, 6);
  field('00', 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  field(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

/** Writes an OCI layout with one tiny image (one gzip layer holding `hello.txt`) tagged `latest`. */
export function writeOciImage(dir: string, text = 'hello from imagetrust\n'): string {
  const tar = tarOf('hello.txt', Buffer.from(text));
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
    }),
  );
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const blob of [layer, config, manifest]) {
    writeFileSync(path.join(dir, 'blobs', 'sha256', sha256(blob).slice(7)), blob);
  }
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: sha256(manifest),
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'latest' },
        },
      ],
    }),
  );
  return dir;
}

/** Pushes a generated image with skopeo to `docker://<host>/<name>`; `format` forces a manifest type. */
export async function pushTestImage(
  host: string,
  name: string,
  options: { text?: string; format?: 'oci' | 'v2s2'; creds?: string; certDir?: string } = {},
): Promise<void> {
  requireTool('skopeo', 'skopeo');
  const layout = mkdtempSync(path.join(tmpdir(), 'imagetrust-oci-'));
  try {
    writeOciImage(layout, options.text);
    await runOk('skopeo', [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      ...(options.format ? ['--format', options.format] : []),
      ...(options.creds ? ['--dest-creds', options.creds] : []),
      `oci:${layout}:latest`,
      `docker://${host}/${name}`,
    ]);
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
}

/** The manifest exactly as skopeo reads it (the oracle for our client). */
export async function inspectRaw(host: string, name: string, creds?: string): Promise<Buffer> {
  const out = await runOk('skopeo', [
    'inspect',
    '--raw',
    '--tls-verify=false',
    ...(creds ? ['--creds', creds] : []),
    `docker://${host}/${name}`,
  ]);
  return Buffer.from(out);
}

/** Uploads one blob through the registry API (monolithic PUT), without auth. */
export async function pushBlob(host: string, repository: string, blob: Buffer): Promise<string> {
  const digest = sha256(blob);
  const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`starting upload: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location')!, `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    body: new Uint8Array(blob),
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (put.status !== 201) throw new Error(`finishing upload: ${put.status} ${await put.text()}`);
  return digest;
}

/** Puts a manifest under a tag or digest, without auth; returns its digest. */
export async function pushManifest(
  host: string,
  repository: string,
  reference: string,
  manifest: Buffer,
  mediaType: string,
): Promise<string> {
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    body: new Uint8Array(manifest),
    headers: { 'content-type': mediaType },
  });
  if (response.status !== 201)
    throw new Error(`putting manifest: ${response.status} ${await response.text()}`);
  return sha256(manifest);
}

/** A cosign signature layer to attach. */
export interface AttachedSignature {
  payload: Buffer;
  annotations: Record<string, string>;
  mediaType?: string;
}

/** Pushes a cosign-layout attachment manifest for `manifestDigest` under tag `sha256-<hex>.sig`. */
export async function pushSigstoreAttachments(
  host: string,
  repository: string,
  manifestDigest: string,
  signatures: AttachedSignature[],
): Promise<string> {
  const layers = [];
  for (const signature of signatures) {
    const digest = await pushBlob(host, repository, signature.payload);
    layers.push({
      mediaType: signature.mediaType ?? 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest,
      size: signature.payload.length,
      annotations: signature.annotations,
    });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      os: '',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const configDigest = await pushBlob(host, repository, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers,
    }),
  );
  const tag = `${manifestDigest.replace(':', '-')}.sig`;
  await pushManifest(host, repository, tag, manifest, OCI_MANIFEST);
  return tag;
}

/** A static file server over a directory (lookaside signatures); 404 for anything missing. */
export async function startStaticServer(
  root: string,
): Promise<{ url: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(decodeURIComponent(url.pathname));
    const file = path.join(root, path.normalize(decodeURIComponent(url.pathname)));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// Fuzzes every route of a running server with malformed bodies, headers, content types and query
// strings, with and without a token, and asserts that nothing answers 5xx but the few 5xx that are
// the contract (listed in EXPECTED_5XX), and that the server still answers afterwards.
// A seeded PRNG makes every run repeatable: IMAGETRUST_FUZZ_SEED picks the run, IMAGETRUST_FUZZ_COUNT
// its length (300 in `npm test`; `npm run fuzz` runs many more), IMAGETRUST_FUZZ_DATABASE=postgres runs
// it on a fresh schema of IMAGETRUST_TEST_POSTGRES instead of SQLite.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { adminQuery, postgresUrlFor } from '../storage/database-backends.ts';
import { apiCall } from '../support/http.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';

const SEED = Number(process.env.IMAGETRUST_FUZZ_SEED ?? 20240611);
const COUNT = Number(process.env.IMAGETRUST_FUZZ_COUNT ?? 300);
const POSTGRES_SCHEMA =
  process.env.IMAGETRUST_FUZZ_DATABASE === 'postgres' ? `fuzz_${randomBytes(4).toString('hex')}` : null;

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)],
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => int(256))),
  };
}
type Random = ReturnType<typeof prng>;

interface Route {
  path: string;
  methods: string[];
}

/** The routes Fastify serves, read from its route tree (`printRoutes({ commonPrefix: false })`). */
function routesOf(tree: string): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^(.*?)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) continue;
    const depth = [...match[1]].length / 4;
    // `/:id|:project` is one position with two parameter names; the fuzzer fills parameters itself.
    const segment = match[2].replace(/\|:\w+/g, '');
    const path = (depth > 0 ? stack[depth - 1] : '') + segment;
    stack[depth] = path;
    stack.length = depth + 1;
    if (match[3]) routes.push({ path, methods: match[3].split(', ') });
  }
  return routes;
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface FuzzResponse {
  status: number;
  code: string | undefined;
}

/**
 * The 5xx answers that are correct, each for a stated reason; everything else in 5xx is a finding.
 * Barbican answers a request for a transport key with 500 when no transport-key plugin is configured.
 */
const EXPECTED_5XX: { why: string; matches(request: FuzzRequest, response: FuzzResponse): boolean }[] = [
  {
    why: "Barbican without a transport-key plugin answers transport_key_needed: 'true' with 500",
    matches: (request, response) =>
      response.status === 500 &&
      response.code === 'INTERNAL' &&
      request.method === 'POST' &&
      /^\/key-manager\/v1\/secrets\/?$/.test(request.path.split('?')[0]) &&
      (request.body?.includes('"transport_key_needed":"true"') ?? false),
  },
  {
    why: 'Glance answers an upload that ends before Content-Length with 500 (UPLOAD_INCOMPLETE)',
    matches: (request, response) =>
      response.status === 500 &&
      response.code === 'UPLOAD_INCOMPLETE' &&
      request.method === 'PUT' &&
      /^\/image\/v2\/images\/[^/?]+\/file(\?|$)/.test(request.path),
  },
  {
    why: 'a stored secret that fails its integrity check is SECRET_CORRUPT (500), an alert, on read',
    matches: (request, response) =>
      response.status === 500 &&
      response.code === 'SECRET_CORRUPT' &&
      request.method === 'GET' &&
      /^\/key-manager\/v1\/secrets\/[^/?]+/.test(request.path),
  },
];

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/openstack-images-v2.1-json-patch',
  'application/openstack-images-v2.0-json-patch',
  'application/octet-stream',
  'application/yaml',
  'text/plain',
  'application/pgp-keys',
  'application/x-pem-file',
  'multipart/form-data; boundary=',
  'application/x-www-form-urlencoded',
  ';;;',
  ';',
  '',
  'application/',
  '/json',
  'application/json;;;charset',
  'APPLICATION/JSON',
  'application/vnd.hostile+json',
  'text/plain; charset=latin1',
  '*/*',
];
const ACCEPTS = [
  '*/*',
  'application/json',
  'text/html',
  'text/plain',
  'application/octet-stream',
  'application/x-pem-file',
  'garbage',
  ';;;',
  '',
];
const SCALARS: unknown[] = [
  0,
  -1,
  1e308,
  -0,
  2 ** 53 + 1,
  1.5,
  true,
  false,
  null,
  '',
  ' ',
  'x',
  'stock',
  'catalog',
  'password',
  'token',
  'unscoped',
  'replace',
  'add',
  'remove',
  '/name',
  '/tags',
  '/',
  'raw',
  'bare',
  'public',
  'community',
  'deprecated',
  'obsolete',
  'docker://example.com/a:b',
  'docker://',
  'base64',
  'text/plain',
  'application/octet-stream',
  '!!!%%%',
  '2000-01-01T00:00:00Z',
  '9999-99-99',
  '\u0000',
  '\ud800',
  '\u202e',
  '../../etc/passwd',
  '%ff',
  'in:a,"b',
  'x'.repeat(300),
  'x'.repeat(30_000),
];
const KEYS = [
  'name',
  'id',
  'password',
  'user',
  'project',
  'domain',
  'auth',
  'identity',
  'methods',
  'scope',
  'token',
  'op',
  'path',
  'value',
  'payload',
  'payload_content_type',
  'payload_content_encoding',
  'secret_type',
  'expiration',
  'target',
  'reason',
  'state',
  'replacement',
  'member',
  'status',
  'images',
  'default',
  'transports',
  'type',
  'keyPath',
  'results',
  'tags',
  'visibility',
  'disk_format',
  'min_ram',
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'toJSON',
  'hasOwnProperty',
];

/** A JSON value of bounded size, with hostile scalars and keys. */
function randomJson(r: Random, depth: number): unknown {
  if (depth <= 0 || r.chance(0.4)) return r.pick(SCALARS);
  if (r.chance(0.5)) return Array.from({ length: r.int(4) }, () => randomJson(r, depth - 1));
  const object: Record<string, unknown> = {};
  for (let i = r.int(5); i > 0; i--) object[r.pick(KEYS)] = randomJson(r, depth - 1);
  return object;
}

/** Valid-looking bodies for the APIs, so the fuzzer reaches the readers behind the first check. */
function templates(ids: Ids): unknown[] {
  const user = { name: 'admin', domain: { name: 'Default' }, password: ADMIN_PASSWORD };
  return [
    { auth: { identity: { methods: ['password'], password: { user } } } },
    {
      auth: {
        identity: { methods: ['password'], password: { user } },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    },
    { auth: { identity: { methods: ['token'], token: { id: 'x' } }, scope: 'unscoped' } },
    { name: 'fuzzed', disk_format: 'raw', container_format: 'bare', visibility: 'private', tags: ['a'] },
    [
      { op: 'replace', path: '/name', value: 'renamed' },
      { op: 'add', path: '/p', value: 'v' },
    ],
    {
      name: 'fuzzed',
      payload: 'aGVsbG8=',
      payload_content_type: 'application/octet-stream',
      payload_content_encoding: 'base64',
      secret_type: 'opaque',
    },
    { name: 'fuzzed', payload: 'hello', payload_content_type: 'text/plain' },
    { name: 'fuzzed', transport_key_needed: 'true' },
    { target: 'stock', reason: 'fuzz' },
    { reason: 'fuzz' },
    { state: 'deprecated', replacement: ids.image },
    { member: ids.project },
    { status: 'accepted' },
    { default: [{ type: 'insecureAcceptAnything' }], transports: { docker: {} } },
    { default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/etc/passwd' }] },
    { images: ['docker://example.com/app:1'] },
    { results: [{ id: 'c1', status: 'pass' }], image_sha512: 'a'.repeat(128) },
    { user: { name: 'fuzz-user', password: 'p', default_project_id: ids.project } },
    { project: { name: 'fuzz-project', description: 'd' } },
    { role: { name: 'fuzz-role' } },
    { user: { enabled: true, email: 'a@b', default_project_id: ids.project } },
    { project: { description: 'd', enabled: true } },
  ];
}

/** Replaces one value somewhere in a template by a random JSON value. */
function mutate(r: Random, value: unknown, depth = 0): unknown {
  if (depth > 0 && r.chance(0.3)) return randomJson(r, 3);
  if (Array.isArray(value)) {
    if (value.length === 0) return [randomJson(r, 2)];
    const copy = [...value];
    const i = r.int(copy.length);
    copy[i] = mutate(r, copy[i], depth + 1);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0 || r.chance(0.15)) copy[r.pick(KEYS)] = randomJson(r, 2);
    else if (r.chance(0.1)) delete copy[r.pick(keys)];
    else {
      const key = r.pick(keys);
      copy[key] = mutate(r, copy[key], depth + 1);
    }
    return copy;
  }
  return randomJson(r, 2);
}

function randomBody(r: Random, ids: Ids): Buffer | undefined {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  switch (r.int(14)) {
    case 0:
      return undefined;
    case 1:
      return Buffer.alloc(0);
    case 2:
    case 3:
    case 4:
      return json(mutate(r, r.pick(templates(ids))));
    case 5:
      return json(r.pick(templates(ids)));
    case 6:
      return json(randomJson(r, 4));
    case 7: {
      // Nesting around the gate's limit, and far past it.
      const depth = r.pick([63, 64, 65, 200, 5_000, 100_000]);
      return r.chance(0.5)
        ? Buffer.from('['.repeat(depth) + ']'.repeat(depth))
        : Buffer.from(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
    }
    case 8: {
      // Valid JSON with bytes that are not UTF-8 inside a string.
      const text = JSON.stringify(mutate(r, r.pick(templates(ids))));
      const at = Math.max(1, text.indexOf('"', 1) + 1);
      return Buffer.concat([
        Buffer.from(text.slice(0, at)),
        r.pick([Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80])]),
        Buffer.from(text.slice(at)),
      ]);
    }
    case 9: {
      // Truncated JSON.
      const text = JSON.stringify(r.pick(templates(ids)));
      return Buffer.from(text.slice(0, r.int(text.length)));
    }
    case 10:
      return r.bytes(r.int(512));
    case 11: {
      const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i <= 9; i++)
        lines.push(
          `a${i}: &a${i} [${Array(9)
            .fill(`*a${i - 1}`)
            .join(', ')}]`,
        );
      return Buffer.from(
        r.pick([
          `${lines.join('\n')}\n`,
          'docker:\n  example.com:\n    lookaside: file:///etc\n',
          'default-docker: [1, 2]\n',
          `${'- '.repeat(5000)}x\n`,
          `${'['.repeat(5000)}\n`,
          'docker: !!binary AAAA\n',
          '%YAML 9.9\n---\n',
        ]),
      );
    }
    case 12:
      return Buffer.from(
        r.pick([
          '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n',
          '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
          '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n',
        ]),
      );
    default:
      // Over the 1 MiB JSON limit, rarely: big bodies cost time on a shared machine.
      return r.chance(0.2)
        ? Buffer.alloc((1 << 20) + 10, 0x20)
        : Buffer.from(JSON.stringify('x'.repeat(5000)));
  }
}

interface Ids {
  image: string;
  secret: string;
  project: string;
  victimUser: string;
  release: string;
}

function paramValue(r: Random, ids: Ids): string {
  return r.pick([
    ids.image,
    ids.image,
    ids.secret,
    ids.secret,
    ids.project,
    ids.victimUser,
    ids.release,
    '00000000-0000-0000-0000-000000000000',
    'admin',
    'member',
    'fuzz-key',
    'x'.repeat(1000),
    '%00',
    '%ff%fe',
    '..%2F..%2Fetc',
    '%E2%80%AE',
    '%20',
    '~1',
    'a%2Fb',
    encodeURIComponent('"\'<>'),
  ]);
}

function randomQuery(r: Random): string {
  const names = [
    'limit',
    'marker',
    'sort_key',
    'sort_dir',
    'sort',
    'name',
    'visibility',
    'member_status',
    'status',
    'tag',
    'os_hidden',
    'size_min',
    'created_at',
    'offset',
    'secret_type',
    'start',
    'end',
    'seq',
    'tree_size',
    'first',
    'second',
    'include_names',
    'user.id',
    'domain_id',
    'p',
    '__proto__',
    'constructor',
    'a[b]',
    'q',
  ];
  const values = [
    '',
    '0',
    '-1',
    '1e309',
    '99999999999999999999',
    'name',
    'created_at',
    'asc',
    'desc',
    'name:asc,size:desc',
    Array(300).fill('name').join(','),
    'in:a,"b,c"',
    'in:',
    'gt:2000-01-01T00:00:00Z',
    'bogus:x',
    'all',
    'true',
    '%ff',
    '%00',
    '%',
    '[]',
    'x'.repeat(2000),
  ];
  const parts: string[] = [];
  for (let i = r.int(r.chance(0.05) ? 400 : 6); i > 0; i--) {
    const value = r.pick(values);
    parts.push(
      `${encodeURIComponent(r.pick(names))}=${value.startsWith('%') ? value : encodeURIComponent(value)}`,
    );
  }
  // Node refuses headers over 16 KiB before any route sees them; stay under, to reach the routes.
  const query = parts.join('&').slice(0, 8000);
  return query ? `?${query}` : '';
}

function send(base: URL, fuzzed: FuzzRequest): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...fuzzed.headers };
    if (fuzzed.body) headers['content-length'] = fuzzed.body.length;
    const req = httpRequest(
      // A fresh connection each time: a refused body may close one, and a reused socket would then fail.
      {
        host: base.hostname,
        port: base.port,
        method: fuzzed.method,
        path: fuzzed.path,
        headers,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const code = res.headers['x-imagetrust-error-code'];
          resolve({ status: res.statusCode ?? 0, code: typeof code === 'string' ? code : undefined });
        });
        res.on('error', reject);
      },
    );
    // The server may close a connection on a body it refuses before reading it all; the status counts.
    req.on('error', reject);
    req.end(fuzzed.body);
  });
}

describe('fuzzing every route', () => {
  let t: TestServer;
  let admin: string;
  let member: string;
  let ids: Ids;
  let routes: Route[];

  before(async () => {
    if (POSTGRES_SCHEMA) await adminQuery(`CREATE SCHEMA ${POSTGRES_SCHEMA}`);
    t = await startTestServer(POSTGRES_SCHEMA ? { database: postgresUrlFor(POSTGRES_SCHEMA) } : {});
    admin = await t.token();
    const alice = await t.addUser('alice', 'member');
    member = await t.token('alice', alice.password);
    const victim = await t.addUser('victim', 'member');
    const image = await apiCall(t.url, admin, 'POST', '/image/v2/images', {
      name: 'fuzz-target',
      disk_format: 'raw',
      container_format: 'bare',
    });
    const secret = await apiCall(t.url, admin, 'POST', '/key-manager/v1/secrets', {
      name: 'fuzz-target',
      payload: 'hello',
      payload_content_type: 'text/plain',
    });
    ids = {
      image: image.json.id as string,
      secret: String(secret.json.secret_ref).split('/').pop()!,
      project: victim.projectId,
      victimUser: victim.userId,
      release: '11111111-1111-1111-1111-111111111111',
    };
    routes = routesOf(t.server.app.app.printRoutes({ commonPrefix: false }));
  });
  after(async () => {
    await t?.stop();
    if (POSTGRES_SCHEMA) await adminQuery(`DROP SCHEMA IF EXISTS ${POSTGRES_SCHEMA} CASCADE`);
  });

  it('finds the routes of every API in the route tree', () => {
    const paths = routes.map((route) => route.path);
    for (const expected of [
      '/identity/v3/auth/tokens',
      '/image/v2/images/:id',
      '/image/v2/images/:id/releases',
      '/key-manager/v1/secrets',
      '/containers/v1/registries.d',
      '/audit/v1/entries',
    ]) {
      assert.ok(paths.includes(expected), `${expected} in ${paths.join(' ')}`);
    }
  });

  it(`answers ${COUNT} malformed requests (seed ${SEED}) without an unexpected 5xx`, async (context) => {
    const r = prng(SEED);
    const base = new URL(t.url);
    const findings: string[] = [];
    const expected = new Map<string, number>();
    let tried = 0;
    let fiveHundreds = 0;
    for (let i = 0; i < COUNT; i++) {
      const route = r.pick(routes);
      const method = r.chance(0.85) ? r.pick(route.methods) : r.pick(METHODS);
      const path =
        route.path.replace(/:\w+/g, () => paramValue(r, ids)).replace(/\*$/, () => paramValue(r, ids)) +
        randomQuery(r);
      const headers: Record<string, string> = {};
      // A subject token is never the fuzzer's own: revoking it would leave the rest of the run at 401.
      const token = r.pick([admin, admin, member, null, 'garbage', '']);
      if (token !== null) headers['x-auth-token'] = token;
      if (r.chance(0.8)) headers['content-type'] = r.pick(CONTENT_TYPES);
      if (r.chance(0.6)) headers.accept = r.pick(ACCEPTS);
      if (r.chance(0.15))
        headers['openstack-api-version'] = r.pick([
          'key-manager 1.1',
          'key-manager latest',
          'key-manager x',
          'key-manager 9.9',
        ]);
      if (r.chance(0.1)) headers['x-subject-token'] = r.pick(['garbage', '', 'x'.repeat(500)]);
      if (r.chance(0.1))
        headers.range = r.pick(['bytes=0-', 'bytes=-0', 'bytes=a-b', 'bytes=5-1', 'bytes=0-1,2-3']);
      if (r.chance(0.1)) headers['content-encoding'] = r.pick(['base64', 'gzip', 'x']);
      const body =
        method === 'GET' || method === 'HEAD'
          ? r.chance(0.1)
            ? randomBody(r, ids)
            : undefined
          : randomBody(r, ids);
      const fuzzed: FuzzRequest = { method, path, headers, ...(body ? { body } : {}) };
      const shownBody = body ? JSON.stringify(body.subarray(0, 200).toString('latin1')) : '(none)';
      const shown = `#${i} ${method} ${path.slice(0, 200)}\n    headers ${JSON.stringify(headers).slice(0, 300)}\n    body ${shownBody}`;
      let response: FuzzResponse;
      try {
        response = await send(base, fuzzed);
      } catch (error) {
        tried++;
        findings.push(`${shown}\n    → no answer: ${(error as Error).message}`);
        continue;
      }
      tried++;
      if (response.status < 500) continue;
      fiveHundreds++;
      const excuse = EXPECTED_5XX.find((rule) => rule.matches(fuzzed, response));
      if (excuse) {
        expected.set(excuse.why, (expected.get(excuse.why) ?? 0) + 1);
        continue;
      }
      findings.push(`${shown}\n    → ${response.status} ${response.code ?? ''}`);
    }
    const excused = [...expected].map(([why, n]) => `${n}× ${why}`).join('; ');
    context.diagnostic(
      `fuzz seed ${SEED}${POSTGRES_SCHEMA ? ' (PostgreSQL)' : ''}: ${tried} requests tried over ${routes.length} routes, ${fiveHundreds} answered 5xx, ` +
        `${findings.length} unexpected${excused ? ` (expected: ${excused})` : ''}`,
    );
    assert.equal(tried, COUNT);
    assert.deepEqual(findings, [], `unexpected 5xx (seed ${SEED}):\n${findings.slice(0, 20).join('\n')}`);
  });

  it('still answers and issues tokens afterwards', async () => {
    assert.equal((await apiCall(t.url, null, 'GET', '/identity/v3')).status, 200);
    const token = await t.token();
    assert.equal((await apiCall(t.url, token, 'GET', '/image/v2/images')).status, 200);
  });
});

// Attack: a client writes Host and X-Forwarded-Proto (or X-Forwarded-Host) so the service catalog and
// Location headers send the next client, with its token, to the attacker (`https://evil.example/...`,
// even a `javascript:` URL). Forwarded headers count only from configured proxies, and only as an
// http(s) origin; otherwise the service names its own listener.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';

interface Sent {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP call: fetch() will not let a client choose its Host header. */
function send(url: string, path: string, method: string, headers: Record<string, string>, body?: unknown) {
  return new Promise<Sent>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${url}${path}`,
      {
        method,
        headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const login = {
  auth: {
    identity: {
      methods: ['password'],
      password: { user: { name: 'admin', domain: { name: 'Default' }, password: ADMIN_PASSWORD } },
    },
    scope: { project: { name: 'admin', domain: { name: 'Default' } } },
  },
};

/** Every URL the token's catalog names, and the Location of a created image. */
async function advertisedUrls(url: string, headers: Record<string, string>): Promise<string[]> {
  const issued = await send(url, '/identity/v3/auth/tokens', 'POST', headers, login);
  assert.equal(issued.status, 201, issued.body);
  const catalog = JSON.parse(issued.body).token.catalog as { endpoints: { url: string }[] }[];
  const token = String(issued.headers['x-subject-token']);
  const created = await send(
    url,
    '/image/v2/images',
    'POST',
    { ...headers, 'x-auth-token': token },
    {
      name: 'located',
    },
  );
  assert.equal(created.status, 201, created.body);
  const versions = await send(url, '/identity/v3', 'GET', headers);
  return [
    ...catalog.flatMap((service) => service.endpoints.map((endpoint) => endpoint.url)),
    String(created.headers.location),
    JSON.parse(versions.body).version.links[0].href,
  ];
}

const ATTACKS: Record<string, string>[] = [
  { host: 'evil.example' },
  { host: 'evil.example', 'x-forwarded-proto': 'https' },
  { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
  { 'x-forwarded-proto': 'javascript:alert(1)//' },
];

describe('attack: Host and X-Forwarded-* injection into advertised URLs', () => {
  describe('without trusted proxies', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer();
    });
    after(() => t.stop());

    for (const headers of ATTACKS) {
      it(`names the listener, not ${JSON.stringify(headers)}`, async () => {
        for (const advertised of await advertisedUrls(t.url, headers)) {
          assert.ok(advertised.startsWith(`${t.url}/`), advertised);
        }
      });
    }
  });

  describe('behind a trusted proxy', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ trustedProxies: ['127.0.0.0/8'] });
    });
    after(() => t.stop());

    it('believes the proxy about the public scheme and host', async () => {
      const headers = { 'x-forwarded-host': 'images.example.org', 'x-forwarded-proto': 'https' };
      for (const advertised of await advertisedUrls(t.url, headers)) {
        assert.ok(advertised.startsWith('https://images.example.org/'), advertised);
      }
    });

    const malformed: Record<string, string>[] = [
      { 'x-forwarded-proto': 'javascript:alert(1)//' },
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example/phish?' },
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'user@evil.example' },
    ];
    for (const headers of malformed) {
      it(`falls back to the listener for the malformed ${JSON.stringify(headers)}`, async () => {
        for (const advertised of await advertisedUrls(t.url, headers)) {
          assert.ok(advertised.startsWith(`${t.url}/`), advertised);
        }
      });
    }
  });

  it('refuses a trustedProxies entry that is not an address or CIDR block', async () => {
    await assert.rejects(startTestServer({ trustedProxies: ['proxy.example'] }), { code: 'CONFIG_INVALID' });
  });
});

// TLS is built in: HTTPS with an operator's certificate, optional client-certificate authentication,
// and plain HTTP refused off loopback. Driven with curl and the real openstack client.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../src/config/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';
import { startServer } from '../../src/server/index.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.ts';
import { makeTlsMaterial, type TlsMaterial } from '../support/tls.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

describe('TLS', () => {
  let dir: string;
  let tls: TlsMaterial;
  before(() => {
    requireTool('openssl', 'openssl');
    requireTool('curl', 'curl');
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-tls-'));
    tls = makeTlsMaterial(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('with a server certificate', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ tls: { cert: tls.serverCert, key: tls.serverKey } });
    });
    after(async () => t?.stop());

    it('serves HTTPS and the catalog advertises https endpoints', async () => {
      assert.match(t.url, /^https:/);
      const out = await runOk('curl', ['-sS', '--cacert', tls.caCert, `${t.url}/identity/v3`]);
      assert.equal(JSON.parse(out).version.links[0].href, `${t.url}/identity/v3/`);
    });

    it('works with the real openstack client verifying the server against the CA', async () => {
      requireTool('openstack', 'python3-openstackclient');
      const file = path.join(dir, 'img.raw');
      const data = randomBytes(100_000);
      writeFileSync(file, data);
      const env = {
        OS_AUTH_URL: `${t.url}/identity/v3`,
        OS_USERNAME: 'admin',
        OS_PASSWORD: ADMIN_PASSWORD,
        OS_PROJECT_NAME: 'admin',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
        OS_IDENTITY_API_VERSION: '3',
        OS_CACERT: tls.caCert,
        HOME: dir,
      };
      const created = JSON.parse(
        await runOk(
          'openstack',
          [
            'image',
            'create',
            '--file',
            file,
            '--disk-format',
            'raw',
            '--container-format',
            'bare',
            'tls-img',
            '-f',
            'json',
          ],
          env,
        ),
      );
      const shown = JSON.parse(await runOk('openstack', ['image', 'show', created.id, '-f', 'json'], env));
      assert.equal(shown.checksum, createHash('md5').update(data).digest('hex'));
      const untrusted = await run('openstack', ['image', 'list'], { ...env, OS_CACERT: '' });
      assert.notEqual(untrusted.code, 0, 'a client that does not trust the CA is refused');
    });
  });

  describe('with client certificates required', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ tls: { cert: tls.serverCert, key: tls.serverKey, clientCa: tls.caCert } });
    });
    after(async () => t?.stop());

    it('accepts a client with a certificate from the CA and refuses one without', async () => {
      const ok = await runOk('curl', [
        '-sS',
        '--cacert',
        tls.caCert,
        '--cert',
        tls.clientCert,
        '--key',
        tls.clientKey,
        `${t.url}/image/versions`,
      ]);
      assert.equal(JSON.parse(ok).versions[0].id, 'v2.16');
      const refused = await run('curl', ['-sS', '--cacert', tls.caCert, `${t.url}/image/versions`]);
      assert.notEqual(refused.code, 0);
    });
  });

  it('refuses plain HTTP on a non-loopback address unless explicitly allowed', async () => {
    const config = validateConfig({
      dataDir: path.join(dir, 'insecure'),
      listen: { host: '0.0.0.0', port: 0 },
      logLevel: 'silent',
    });
    await assert.rejects(
      startServer(config),
      (e) => e instanceof ImageTrustError && e.code === 'CONFIG_INVALID',
    );
    const allowed = await startServer(validateConfig({ ...config, allowInsecureHttp: true }));
    await allowed.stop();
  });
});

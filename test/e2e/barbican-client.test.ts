// Drives the real `openstack secret ...` commands (python3-barbicanclient) against imagetrust's key
// manager, found through the token's service catalog, exactly as an operator stores a signing certificate
// and shares it through a read ACL (`openstack acl ...`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

describe('the openstack secret commands against imagetrust', () => {
  let t: TestServer;
  let work: string;
  let certFile: string;
  let env: Record<string, string>;
  let ref: string;
  const openstack = (args: string[], as: Record<string, string> = {}) =>
    runOk('openstack', args, { ...env, ...as });
  const json = async (args: string[], as: Record<string, string> = {}) =>
    JSON.parse(await openstack([...args, '-f', 'json'], as));

  before(async () => {
    requireTool('openstack', 'python3-openstackclient');
    requireTool('barbican', 'python3-barbicanclient');
    requireTool('openssl', 'openssl');
    t = await startTestServer();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-barbican-'));
    certFile = path.join(work, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        path.join(work, 'key.pem'),
        '-out',
        certFile,
        '-subj',
        '/CN=imagetrust signing test',
        '-days',
        '2',
      ],
      { stdio: 'ignore' },
    );
    env = clientEnvironment(t.url, work);
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('stores a certificate the documented way (octet-stream, base64) and shows its metadata', async () => {
    const stored = await json([
      'secret',
      'store',
      '--name',
      'signing-cert',
      '--secret-type',
      'certificate',
      '--payload-content-type',
      'application/octet-stream',
      '--payload-content-encoding',
      'base64',
      '--payload',
      readFileSync(certFile).toString('base64'),
    ]);
    ref = stored['Secret href'];
    assert.match(ref, new RegExp(`^${t.url}/key-manager/v1/secrets/[0-9a-f-]{36}$`));
    const shown = await json(['secret', 'get', ref]);
    assert.equal(shown.Name, 'signing-cert');
    assert.equal(shown.Status, 'ACTIVE');
    assert.equal(shown['Secret type'], 'certificate');
    assert.deepEqual(shown['Content types'], { default: 'application/octet-stream' });
    assert.equal(shown.Algorithm, 'aes');
    assert.equal(shown['Bit length'], 256);
  });

  it('returns the PEM with --payload, and byte for byte with --file as octet-stream', async () => {
    const payload = await openstack(['secret', 'get', '--payload', ref, '-f', 'value']);
    assert.equal(payload.trimEnd(), readFileSync(certFile, 'utf8').trimEnd());
    const out = path.join(work, 'out.pem');
    await openstack([
      'secret',
      'get',
      '--payload_content_type',
      'application/octet-stream',
      '--file',
      out,
      ref,
    ]);
    assert.deepEqual(readFileSync(out), readFileSync(certFile));
  });

  it('stores text, lists both, and deletes', async () => {
    const text = await json([
      'secret',
      'store',
      '--name',
      'a-passphrase',
      '--secret-type',
      'passphrase',
      '--payload-content-type',
      'text/plain',
      '--payload',
      'correct horse battery staple',
    ]);
    const listed = await json(['secret', 'list']);
    assert.deepEqual(listed.map((s: { Name: string }) => s.Name).sort(), ['a-passphrase', 'signing-cert']);
    const payload = await openstack(['secret', 'get', '--payload', text['Secret href'], '-f', 'value']);
    assert.equal(payload.trim(), 'correct horse battery staple');
    await openstack(['secret', 'delete', text['Secret href']]);
    const gone = await run('openstack', ['secret', 'get', text['Secret href']], env);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /Not Found: Secret not found\./);
  });

  it("hides one project's secrets from another project's members", async () => {
    await t.addUser('outsider', 'member');
    const outsider = {
      OS_USERNAME: 'outsider',
      OS_PASSWORD: 'outsider-password',
      OS_PROJECT_NAME: 'outsider-project',
    };
    assert.deepEqual(await json(['secret', 'list'], outsider), []);
    const denied = await run('openstack', ['secret', 'get', '--payload', ref], { ...env, ...outsider });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Forbidden/);
  });

  it("shares a secret with another project's user through its read ACL (openstack acl), and takes it back", async () => {
    const { userId } = await t.addUser('partner', 'member');
    const partner = {
      OS_USERNAME: 'partner',
      OS_PASSWORD: 'partner-password',
      OS_PROJECT_NAME: 'partner-project',
    };
    const readAs = (as: Record<string, string>) =>
      run('openstack', ['secret', 'get', '--payload', ref, '-f', 'value'], { ...env, ...as });
    assert.notEqual((await readAs(partner)).code, 0);

    const added = await json(['acl', 'user', 'add', '--user', userId, ref]);
    assert.equal(added.length, 1);
    assert.equal(added[0]['Operation Type'], 'read');
    assert.equal(added[0]['Project Access'], true);
    assert.deepEqual(added[0].Users, [userId]);
    assert.equal(added[0]['Secret ACL Ref'], `${ref}/acl`);
    const shared = await readAs(partner);
    assert.equal(shared.code, 0, shared.stderr);
    assert.match(shared.stdout, /BEGIN CERTIFICATE/);

    const submitted = await json(['acl', 'submit', '--no-project-access', '--user', userId, ref]);
    assert.equal(submitted[0]['Project Access'], false);
    const shown = await json(['acl', 'get', ref]);
    assert.equal(shown[0]['Project Access'], false);
    assert.deepEqual(shown[0].Users, [userId]);

    await openstack(['acl', 'delete', ref]);
    const reset = await json(['acl', 'get', ref]);
    assert.equal(reset[0]['Project Access'], true);
    assert.deepEqual(reset[0].Users, []);
    const denied = await readAs(partner);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Forbidden/);
  });
});

// The Red Hat guide "Signing Image Service images", run verbatim against imagetrust with the real
// openssl, base64, openstack (with the barbican plugin) and glance clients: the signed image becomes
// active; the same signature over data with one byte flipped is refused with Glance's message.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

describe("the guide's signing commands against imagetrust", () => {
  let t: TestServer;
  let work: string;
  let env: Record<string, string>;
  const sh = (script: string) => runOk('bash', ['-euo', 'pipefail', '-c', script], env);

  before(async () => {
    for (const [tool, pkg] of [
      ['openssl', 'openssl'],
      ['openstack', 'python3-openstackclient'],
      ['glance', 'python3-glanceclient'],
    ]) {
      requireTool(tool, pkg);
    }
    t = await startTestServer();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-guide-'));
    env = clientEnvironment(t.url, work);
    const secret = await run('openstack', ['secret', 'list', '--help'], env);
    if (secret.code !== 0)
      throw new Error("'openstack secret' is missing: apt-get install python3-barbicanclient");
    writeFileSync(path.join(work, 'cirros.img'), randomBytes(2 * 1024 * 1024 + 123));
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  let certUuid = '';
  let signature = '';

  it('makes the key and certificate and stores the certificate in the key manager', async () => {
    await sh(`cd ${work}
      openssl genrsa -out private_key.pem 1024
      openssl rsa -pubout -in private_key.pem -out public_key.pem
      openssl req -new -key private_key.pem -out cert_request.csr -subj "/C=US/O=Example/CN=image-signer"
      openssl x509 -req -days 14 -in cert_request.csr -signkey private_key.pem -out x509_signing_cert.crt`);
    const stored = await sh(`cd ${work}
      openstack secret store --name signing-cert --algorithm RSA --secret-type certificate \\
        --payload-content-type "application/octet-stream" --payload-content-encoding base64 \\
        --payload "$(base64 x509_signing_cert.crt)" -f value -c "Secret href"`);
    certUuid = stored.trim().split('/').at(-1)!;
    assert.match(certUuid, /^[0-9a-f-]{36}$/);
  });

  it('signs the image with openssl and the image becomes active', async () => {
    await sh(`cd ${work}
      openssl dgst -sha256 -sign private_key.pem -sigopt rsa_padding_mode:pss -out cirros.self_signed.signature cirros.img
      base64 -w 0 cirros.self_signed.signature > cirros.self_signed.signature.b64`);
    signature = readFileSync(path.join(work, 'cirros.self_signed.signature.b64'), 'utf8');
    const created = JSON.parse(
      await sh(`cd ${work}
        cirros_signature_b64=$(cat cirros.self_signed.signature.b64)
        openstack image create --container-format bare --disk-format qcow2 \\
          --property img_signature="$cirros_signature_b64" \\
          --property img_signature_certificate_uuid="${certUuid}" \\
          --property img_signature_hash_method='SHA-256' \\
          --property img_signature_key_type='RSA-PSS' \\
          --file cirros.img cirros_signed -f json`),
    );
    const shown = JSON.parse(await runOk('openstack', ['image', 'show', created.id, '-f', 'json'], env));
    assert.equal(shown.status, 'active');
  });

  it("refuses the same signature over data with one byte flipped, with Glance's message, and keeps the image queued", async () => {
    const tampered = readFileSync(path.join(work, 'cirros.img'));
    tampered[tampered.length - 1] ^= 0x01;
    writeFileSync(path.join(work, 'tampered.img'), tampered);
    const result = await run(
      'glance',
      [
        'image-create',
        '--name',
        'cirros_tampered',
        '--container-format',
        'bare',
        '--disk-format',
        'qcow2',
        '--property',
        `img_signature=${signature}`,
        '--property',
        `img_signature_certificate_uuid=${certUuid}`,
        '--property',
        'img_signature_hash_method=SHA-256',
        '--property',
        'img_signature_key_type=RSA-PSS',
        '--file',
        path.join(work, 'tampered.img'),
      ],
      env,
    );
    assert.notEqual(result.code, 0);
    const match =
      /HTTP 400 Bad Request: Signature verification failed for image ([0-9a-f-]{36}): Signature verification failed\b/.exec(
        result.stderr + result.stdout,
      );
    assert.ok(match, result.stderr + result.stdout);
    const image = JSON.parse(await runOk('openstack', ['image', 'show', match[1], '-f', 'json'], env));
    assert.equal(image.status, 'queued');
    assert.ok(image.size === null || image.size === undefined, 'no data was kept');

    // The openstack client deletes the image after a failed upload, as it does against Glance.
    const osc = await run(
      'bash',
      [
        '-c',
        `openstack image create --container-format bare --disk-format qcow2 --property img_signature="${signature}" --property img_signature_certificate_uuid=${certUuid} --property img_signature_hash_method=SHA-256 --property img_signature_key_type=RSA-PSS --file ${path.join(work, 'tampered.img')} osc_tampered`,
      ],
      env,
    );
    assert.notEqual(osc.code, 0);
    assert.match(osc.stderr, /400/);
    const gone = await run('openstack', ['image', 'show', 'osc_tampered'], env);
    assert.notEqual(gone.code, 0);
  });
});

// `imagetrust sign` and the boot gate `imagetrust fetch`, run as commands against a running service:
// a signed image is fetched, verified and cached; a cached copy edited on disk is refused on the next
// fetch; with trusted certificates the signing certificate must chain to one.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;

describe('imagetrust sign and the boot gate', () => {
  let t: TestServer;
  let work: string;
  let env: Record<string, string>;
  let data: Buffer;
  const cli = (args: string[]) => run(BIN, args, env);
  const file = (name: string) => path.join(work, name);

  before(async () => {
    requireTool('openssl', 'openssl');
    t = await startTestServer();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-gate-'));
    env = clientEnvironment(t.url, work);
    data = randomBytes(5 * 1024 * 1024 + 77);
    writeFileSync(file('disk.raw'), data);
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('prints the same kind of signature as openssl dgst | base64 -w 0, verifiable by openssl', async () => {
    await runOk('openssl', [
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-out',
      file('rsa.key'),
    ]);
    await runOk('openssl', ['pkey', '-in', file('rsa.key'), '-pubout', '-out', file('rsa.pub')]);
    const signed = await cli(['sign', file('disk.raw'), '--key', file('rsa.key')]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /^[A-Za-z0-9+/]+=*$/, 'base64 without a newline, as base64 -w 0 prints it');
    writeFileSync(file('sig.bin'), Buffer.from(signed.stdout, 'base64'));
    const verified = await runOk('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      file('rsa.pub'),
      '-sigopt',
      'rsa_padding_mode:pss',
      '-sigopt',
      'rsa_pss_saltlen:max',
      '-signature',
      file('sig.bin'),
      file('disk.raw'),
    ]);
    assert.match(verified, /Verified OK/);
  });

  let imageId = '';
  let caCertId = '';

  it('generates a CA identity, signs, stores the certificate and uploads in one command', async () => {
    const generated = await cli([
      'keys',
      'generate',
      '--type',
      'ECC_SECP384R1',
      '--cn',
      'image signing CA',
      '--days',
      '30',
      '--out-key',
      file('ca.key'),
      '--out-cert',
      file('ca.pem'),
    ]);
    assert.equal(generated.code, 0, generated.stderr);
    const leaf = await cli([
      'keys',
      'generate',
      '--type',
      'RSA-PSS',
      '--bits',
      '2048',
      '--cn',
      'release signer',
      '--days',
      '30',
      '--ca-key',
      file('ca.key'),
      '--ca-cert',
      file('ca.pem'),
      '--out-key',
      file('leaf.key'),
      '--out-cert',
      file('leaf.pem'),
    ]);
    assert.equal(leaf.code, 0, leaf.stderr);
    const uploaded = await cli([
      'sign',
      file('disk.raw'),
      '--key',
      file('leaf.key'),
      '--hash-method',
      'SHA-384',
      '--cert',
      file('leaf.pem'),
      '--upload',
      '--name',
      'gate-image',
      '--format',
      'json',
    ]);
    assert.equal(uploaded.code, 0, uploaded.stderr);
    const image = JSON.parse(uploaded.stdout);
    assert.equal(image.status, 'active');
    assert.equal(image.img_signature_hash_method, 'SHA-384');
    assert.equal(image.img_signature_key_type, 'RSA-PSS');
    imageId = image.id;
    // The CA certificate goes into the key manager too, to be named as trusted.
    const stored = await cli([
      'sign',
      file('disk.raw'),
      '--key',
      file('ca.key'),
      '--cert',
      file('ca.pem'),
      '--format',
      'json',
    ]);
    assert.equal(stored.code, 0, stored.stderr);
    caCertId = JSON.parse(stored.stdout).certificateId;
  });

  it('fetches, verifies and caches the image, then verifies the cached copy again on the next fetch', async () => {
    const cache = file('cache');
    const first = await cli(['fetch', imageId, '--cache-dir', cache, '--format', 'json']);
    assert.equal(first.code, 0, first.stderr);
    const result = JSON.parse(first.stdout);
    assert.equal(result.fromCache, false);
    assert.equal(
      createHash('sha256').update(readFileSync(result.path)).digest('hex'),
      createHash('sha256').update(data).digest('hex'),
    );
    const second = await cli(['fetch', imageId, '--cache-dir', cache, '--format', 'json']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(JSON.parse(second.stdout).fromCache, true);
  });

  it('refuses a cached copy that was edited on disk between two fetches, then fetches a clean one', async () => {
    const cache = file('cache');
    const cached = path.join(cache, imageId);
    const bytes = readFileSync(cached);
    bytes[1000] ^= 0xff;
    chmodSync(cached, 0o600);
    writeFileSync(cached, bytes);
    const refused = await cli(['fetch', imageId, '--cache-dir', cache]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /SIGNATURE_INVALID/);
    assert.equal(refused.stdout, '');
    const again = await cli(['fetch', imageId, '--cache-dir', cache, '--format', 'json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).fromCache, false);
  });

  it('checks the certificate chain against trusted certificates', async () => {
    const trusted = await cli([
      'fetch',
      imageId,
      '--cache-dir',
      file('cache2'),
      '--trusted-cert-id',
      caCertId,
    ]);
    assert.equal(trusted.code, 0, trusted.stderr);
    // A certificate that vouches for nothing in this chain: the image is refused.
    await cli([
      'keys',
      'generate',
      '--type',
      'DSA',
      '--cn',
      'other CA',
      '--days',
      '30',
      '--out-key',
      file('other.key'),
      '--out-cert',
      file('other.pem'),
    ]);
    const other = await cli([
      'sign',
      file('disk.raw'),
      '--key',
      file('other.key'),
      '--cert',
      file('other.pem'),
      '--format',
      'json',
    ]);
    const otherId = JSON.parse(other.stdout).certificateId;
    const refused = await cli([
      'fetch',
      imageId,
      '--cache-dir',
      file('cache3'),
      '--trusted-cert-id',
      otherId,
    ]);
    assert.equal(refused.code, 5);
    assert.match(refused.stderr, /Image signature certificate validation failed for certificate/);
  });

  it('refuses an unsigned image', async () => {
    const created = await fetch(`${t.url}/image/v2/images`, {
      method: 'POST',
      headers: { 'x-auth-token': await t.token(), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'unsigned', disk_format: 'raw', container_format: 'bare' }),
    });
    const { id } = (await created.json()) as { id: string };
    await fetch(`${t.url}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': await t.token(), 'content-type': 'application/octet-stream' },
      body: new Uint8Array(randomBytes(1000)),
    });
    const refused = await cli(['fetch', id, '--cache-dir', file('cache4')]);
    assert.equal(refused.code, 5);
    assert.match(refused.stderr, /Missing property: img_signature/);
  });
});

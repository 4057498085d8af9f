// Reports by kind over HTTP: boot-test reports bound to the image's bytes, provenance attestations
// verified with the trusted build keys, one current report per kind, and releases that need them.
// Hostile or mistaken bodies get 4xx with codes, never 500.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageTrustError } from '../../src/errors/index.ts';
import {
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  makeBuildProvenance,
  signEnvelope,
} from '../../src/pipeline/provenance/index.ts';
import { buildInput } from '../pipeline/provenance/fixtures.ts';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const DATA = Buffer.alloc(1024, 7);
const SHA512 = createHash('sha512').update(DATA).digest('hex');
const SHA256 = createHash('sha256').update(DATA).digest('hex');
const OTHER_SHA512 = createHash('sha512').update('other bytes').digest('hex');

const bootReport = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    kind: 'boot-test',
    tool: { name: 'imagetrust', version: '0.1.0' },
    image: 'disk.raw',
    image_sha512: SHA512,
    profile: 'debian-cloud',
    firmware: 'uefi',
    accelerator: 'tcg',
    results: [
      { id: 'reaches-login', status: 'pass', message: 'login prompt', duration_ms: 20100 },
      { id: 'cloud-init-done', status: 'pass', message: 'ok', duration_ms: 310 },
      { id: 'kvm-clock', status: 'skip', message: 'tcg', duration_ms: 0 },
    ],
    serial_log: 'Debian GNU/Linux 12 debian ttyS0\n',
    timings: { boot_ms: 20100 },
    ...overrides,
  });

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;
const provenanceOf = (sha512: string, key: KeyObject) =>
  JSON.stringify(
    signEnvelope(
      IN_TOTO_PAYLOAD_TYPE,
      JSON.stringify(
        makeBuildProvenance(buildInput({ image: { name: 'disk.raw', sha512, sha256: SHA256 } })),
      ),
      key,
    ),
  );

describe('reports by kind over HTTP', () => {
  let s: TestServer;
  let work: string;
  let member: string;
  let checker: string;
  let admin: string;
  let id: string;
  const builder = generateKeyPairSync('ed25519');
  const ciKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = generateKeyPairSync('ed25519');

  const call = (
    token: string,
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => apiCall(`${s.url}/image`, token, method, url, body, headers);
  const attach = (route: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    call(member, 'PUT', `/v2/images/${id}/${route}`, body, {
      'content-type': 'application/json',
      ...headers,
    });
  const release = () => call(member, 'POST', `/v2/images/${id}/releases`, { target: 'stock' });
  const expectCode = (
    r: { status: number; headers: Headers; text: string },
    status: number,
    code: string,
  ) => {
    assert.equal(r.status, status, r.text);
    assert.equal(r.headers.get('x-imagetrust-error-code'), code, r.text);
  };

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-report-kinds-'));
    const keyFiles = [path.join(work, 'builder.pem'), path.join(work, 'ci.pem')];
    writeFileSync(keyFiles[0], pem(builder.publicKey));
    writeFileSync(keyFiles[1], pem(ciKey.publicKey));
    s = await startTestServer({
      release: { requireBootTest: true, requireProvenance: true },
      provenance: { trustedKeys: keyFiles },
    });
    const m = await s.addUser('builder', 'member', 'images');
    member = await s.token('builder', m.password, 'images');
    const c = await s.addUser('checker', 'member', 'images');
    await s.server.services.identity.grantRole(c.userId, m.projectId, 'approver');
    checker = await s.token('checker', c.password, 'images');
    admin = await s.token();
    const created = await call(member, 'POST', '/v2/images', {
      disk_format: 'raw',
      container_format: 'bare',
    });
    id = created.json.id as string;
    const upload = await call(member, 'PUT', `/v2/images/${id}/file`, DATA, {
      'content-type': 'application/octet-stream',
    });
    assert.equal(upload.status, 204, upload.text);
  });
  after(async () => {
    await s?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses a release without a boot-test report, saying how to make one', async () => {
    const r = await release();
    expectCode(r, 409, 'RELEASE_NOT_READY');
    assert.match(r.text, /boot-test report is required/);
  });

  it('refuses boot-test reports that are malformed, of another kind, unbound or of other bytes', async () => {
    expectCode(await attach('boot-test-report', '{"kind":'), 400, 'MALFORMED_JSON');
    expectCode(await attach('boot-test-report', '[]'), 400, 'BAD_REQUEST');
    // A compliance report sent to the boot-test route is the wrong kind.
    const compliance = JSON.stringify({ image_sha512: SHA512, results: [{ id: 'a', status: 'pass' }] });
    expectCode(await attach('boot-test-report', compliance), 400, 'BAD_REQUEST');
    expectCode(await attach('boot-test-report', bootReport({ image_sha512: undefined })), 400, 'BAD_REQUEST');
    expectCode(
      await attach('boot-test-report', bootReport({ image_sha512: SHA512.toUpperCase() })),
      400,
      'BAD_REQUEST',
    );
    expectCode(await attach('boot-test-report', bootReport({ results: [] })), 400, 'BAD_REQUEST');
    expectCode(
      await attach('boot-test-report', bootReport({ results: [{ id: 'x', status: 'passed' }] })),
      400,
      'BAD_REQUEST',
    );
    expectCode(await attach('boot-test-report', bootReport({ firmware: 'coreboot' })), 400, 'BAD_REQUEST');
    expectCode(
      await attach('boot-test-report', bootReport({ image_sha512: OTHER_SHA512 })),
      409,
      'RELEASE_NOT_READY',
    );
    expectCode(
      await attach('boot-test-report', bootReport(), { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const huge = await attach('boot-test-report', bootReport({ serial_log: 'x'.repeat(5 * 1024 * 1024) }));
    // Refused at the edge, before any reader sees it, as every body over the API's limit.
    assert.ok(huge.status >= 400 && huge.status < 500, huge.text);
    assert.ok(huge.headers.get('x-imagetrust-error-code'), 'the refusal carries a code');
    assert.equal((await call(member, 'GET', `/v2/images/${id}/boot-test-report`)).status, 404);
  });

  it('keeps a failing boot test, which blocks the release, and a passing one that lets it go on', async () => {
    const failing = await attach(
      'boot-test-report',
      bootReport({
        results: [{ id: 'reaches-login', status: 'fail', message: 'timeout', duration_ms: 300000 }],
      }),
    );
    assert.equal(failing.status, 200, failing.text);
    assert.equal(failing.json.passed, false);
    assert.equal(failing.json.kind, 'boot-test');
    assert.match((await release()).text, /has failed tests: reaches-login/);

    const skipped = await attach('boot-test-report', bootReport({ results: [{ id: 'a', status: 'skip' }] }));
    assert.equal(skipped.json.passed, false, 'a report whose every test was skipped proves nothing');
    assert.match((await release()).text, /ran no test/);

    const passing = await attach('boot-test-report', bootReport());
    assert.equal(passing.status, 200, passing.text);
    assert.equal(passing.json.passed, true);
    assert.match(passing.json.digest as string, /^sha256:[0-9a-f]{64}$/);
    assert.equal(passing.json.document, undefined);
    const shown = await call(member, 'GET', `/v2/images/${id}/boot-test-report`);
    assert.equal(shown.status, 200);
    assert.equal(shown.json.kind, 'boot-test');
    assert.equal((shown.json.document as { image_sha512: string }).image_sha512, SHA512);
    // Kinds stay apart: the image still has no compliance report.
    expectCode(await call(member, 'GET', `/v2/images/${id}/compliance-report`), 404, 'NOT_FOUND');

    const r = await release();
    expectCode(r, 409, 'RELEASE_NOT_READY');
    assert.match(r.text, /provenance attestation is required/);
  });

  it('refuses provenance that is malformed, untrusted, altered or about other bytes', async () => {
    expectCode(await attach('provenance', '{"payload":'), 400, 'ATTESTATION_MALFORMED');
    expectCode(await attach('provenance', bootReport()), 400, 'ATTESTATION_MALFORMED');
    expectCode(
      await attach(
        'provenance',
        JSON.stringify({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: '%%', signatures: [{ sig: 'AA==' }] }),
      ),
      400,
      'ATTESTATION_MALFORMED',
    );
    expectCode(
      await attach('provenance', provenanceOf(SHA512, stranger.privateKey)),
      400,
      'ATTESTATION_UNTRUSTED',
    );
    const envelope = JSON.parse(provenanceOf(SHA512, builder.privateKey));
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
    statement.predicate.runDetails.builder.id = 'https://evil.example/builder';
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    expectCode(await attach('provenance', JSON.stringify(envelope)), 400, 'ATTESTATION_INVALID');
    const wrongType = signEnvelope(
      'application/json',
      Buffer.from(envelope.payload, 'base64'),
      builder.privateKey,
    );
    expectCode(await attach('provenance', JSON.stringify(wrongType)), 400, 'ATTESTATION_MALFORMED');
    expectCode(
      await attach('provenance', provenanceOf(OTHER_SHA512, builder.privateKey)),
      409,
      'RELEASE_NOT_READY',
    );
    assert.equal((await call(member, 'GET', `/v2/images/${id}/provenance`)).status, 404);
  });

  it('takes provenance signed by a trusted key (Ed25519 or P-256), and the release goes through', async () => {
    const byCi = await attach('provenance', provenanceOf(SHA512, ciKey.privateKey));
    assert.equal(byCi.status, 200, byCi.text);
    assert.equal((byCi.json.details as { key_id: string }).key_id, keyIdOf(ciKey.publicKey));
    const attached = await attach('provenance', provenanceOf(SHA512, builder.privateKey));
    assert.equal(attached.status, 200, attached.text);
    assert.equal(attached.json.passed, true);
    assert.deepEqual(attached.json.details, {
      passed: true,
      subject_sha512: SHA512,
      builder_id: 'https://imagetrust.dev/builders/ci/v1',
      key_id: keyIdOf(builder.publicKey),
    });
    const shown = await call(member, 'GET', `/v2/images/${id}/provenance`);
    assert.equal(shown.status, 200);
    assert.equal((shown.json.document as { payloadType: string }).payloadType, IN_TOTO_PAYLOAD_TYPE);
    assert.equal(
      (shown.json.statement as { predicateType: string }).predicateType,
      'https://slsa.dev/provenance/v1',
    );

    const asked = await release();
    assert.equal(asked.status, 201, asked.text);
    const approved = await call(checker, 'POST', `/v2/releases/${asked.json.id}/approve`, {});
    assert.equal(approved.status, 200, approved.text);
  });

  it('logs every attachment with its kind, digest and verdict', async () => {
    const history = await fetch(`${s.url}/audit/v1/images/${id}`, { headers: { 'x-auth-token': admin } });
    assert.equal(history.status, 200);
    const leaves = ((await history.json()).entries as { leaf: string }[])
      .map((e) => JSON.parse(e.leaf))
      .filter((leaf) => leaf.type === 'image.report_attached');
    assert.deepEqual(
      leaves.map((l) => [l.details.kind, l.details.passed]),
      [
        ['boot-test', false],
        ['boot-test', false],
        ['boot-test', true],
        ['provenance', true],
        ['provenance', true],
      ],
    );
    const last = leaves[leaves.length - 1];
    assert.equal(last.content_digest, last.details.digest);
    assert.equal(last.details.subject_sha512, SHA512);
    assert.equal(last.details.builder_id, 'https://imagetrust.dev/builders/ci/v1');
    assert.equal(last.details.key_id, keyIdOf(builder.publicKey));
    assert.equal(leaves[2].details.image_sha512, SHA512);
  });
});

describe('provenance without trusted keys', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s?.stop());

  it('refuses every provenance attachment and says to configure the keys', async () => {
    const token = await s.token();
    const created = await apiCall(`${s.url}/image`, token, 'POST', '/v2/images', {
      disk_format: 'raw',
      container_format: 'bare',
    });
    const id = created.json.id as string;
    await apiCall(`${s.url}/image`, token, 'PUT', `/v2/images/${id}/file`, DATA, {
      'content-type': 'application/octet-stream',
    });
    const r = await apiCall(
      `${s.url}/image`,
      token,
      'PUT',
      `/v2/images/${id}/provenance`,
      provenanceOf(SHA512, generateKeyPairSync('ed25519').privateKey),
    );
    assert.equal(r.status, 400, r.text);
    assert.equal(r.headers.get('x-imagetrust-error-code'), 'ATTESTATION_UNTRUSTED');
    assert.match(r.text, /provenance\.trustedKeys/);
  });

  it('stops the start when a trusted key file cannot be read or holds no usable key', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-bad-keys-'));
    try {
      const rsa = path.join(dir, 'rsa.pem');
      writeFileSync(rsa, pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey));
      for (const file of [path.join(dir, 'missing.pem'), rsa]) {
        await assert.rejects(startTestServer({ provenance: { trustedKeys: [file] } }), (error: unknown) => {
          assert.ok(error instanceof ImageTrustError);
          assert.equal(error.code, 'CONFIG_INVALID');
          assert.match(error.message, /provenance\.trustedKeys/);
          return true;
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

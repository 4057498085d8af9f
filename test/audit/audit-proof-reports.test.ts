// Every report attached to an image is in its history: `imagetrust image report attach --kind` for
// each kind, then `imagetrust audit proof` lists the attachments with kind and verdict, and
// `image report show` reads each back. Real CLI against a real server.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  makeBuildProvenance,
  signEnvelope,
} from '../../src/pipeline/provenance/index.ts';
import { buildInput } from '../pipeline/provenance/fixtures.ts';
import { apiCall } from '../support/http.ts';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const DATA = Buffer.alloc(2048, 3);
const SHA512 = createHash('sha512').update(DATA).digest('hex');

describe('imagetrust image report and audit proof: every attachment in the log', () => {
  let s: TestServer;
  let work: string;
  let env: Record<string, string>;
  let id: string;
  const builder = generateKeyPairSync('ed25519');
  const file = (name: string) => path.join(work, name);
  const cli = (args: string[]) => run(BIN, args, env);
  const ok = async (args: string[]) => {
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr || r.stdout);
    return r.stdout;
  };

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-report-proof-'));
    writeFileSync(file('builder.pem'), builder.publicKey.export({ type: 'spki', format: 'pem' }));
    s = await startTestServer({ provenance: { trustedKeys: [file('builder.pem')] } });
    env = clientEnvironment(s.url, work);
    const token = await s.token();
    const created = await apiCall(`${s.url}/image`, token, 'POST', '/v2/images', {
      name: 'debian-12',
      disk_format: 'raw',
      container_format: 'bare',
    });
    id = created.json.id as string;
    const upload = await apiCall(`${s.url}/image`, token, 'PUT', `/v2/images/${id}/file`, DATA, {
      'content-type': 'application/octet-stream',
    });
    assert.equal(upload.status, 204, upload.text);
    writeFileSync(
      file('scan.json'),
      JSON.stringify({ image_sha512: SHA512, results: [{ id: 'no-swap', status: 'pass' }] }),
    );
    writeFileSync(
      file('boot.json'),
      JSON.stringify({
        kind: 'boot-test',
        image: 'disk.raw',
        image_sha512: SHA512,
        profile: 'smoke',
        firmware: 'bios',
        accelerator: 'tcg',
        results: [{ id: 'reaches-login', status: 'pass', message: 'ok', duration_ms: 1 }],
        serial_log: '',
        timings: {},
      }),
    );
    const statement = makeBuildProvenance(
      buildInput({
        image: { name: 'disk.raw', sha512: SHA512, sha256: createHash('sha256').update(DATA).digest('hex') },
      }),
    );
    writeFileSync(
      file('provenance.json'),
      JSON.stringify(signEnvelope(IN_TOTO_PAYLOAD_TYPE, JSON.stringify(statement), builder.privateKey)),
    );
  });
  after(async () => {
    await s?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('attaches each kind; the compliance default keeps its old output', async () => {
    assert.match(
      await ok(['image', 'report', 'attach', id, file('scan.json')]),
      /^passed sha256:[0-9a-f]{64} attached to /,
    );
    assert.match(
      await ok(['image', 'report', 'attach', id, file('boot.json'), '--kind', 'boot-test']),
      /^passed boot-test report sha256:[0-9a-f]{64} attached to /,
    );
    assert.match(
      await ok(['image', 'report', 'attach', id, file('provenance.json'), '--kind', 'provenance']),
      /^verified provenance sha256:[0-9a-f]{64} \(builder https:\/\/imagetrust\.dev\/builders\/ci\/v1, key [0-9a-f]{64}\)/,
    );
  });

  it('exits with the code of the refusal: 5 for an untrusted signer, 65 for a malformed envelope, 2 for a bad kind', async () => {
    const stranger = generateKeyPairSync('ed25519');
    writeFileSync(
      file('untrusted.json'),
      JSON.stringify(signEnvelope(IN_TOTO_PAYLOAD_TYPE, '{}', stranger.privateKey)),
    );
    const untrusted = await cli([
      'image',
      'report',
      'attach',
      id,
      file('untrusted.json'),
      '--kind',
      'provenance',
    ]);
    assert.equal(untrusted.code, 5, untrusted.stderr);
    assert.match(untrusted.stderr, /\[ATTESTATION_UNTRUSTED\]/);
    const malformed = await cli(['image', 'report', 'attach', id, file('scan.json'), '--kind', 'provenance']);
    assert.equal(malformed.code, 65, malformed.stderr);
    const badKind = await cli(['image', 'report', 'attach', id, file('scan.json'), '--kind', 'sbom']);
    assert.equal(badKind.code, 2, badKind.stderr);
  });

  it('shows each kind back', async () => {
    const shown = JSON.parse(
      await ok(['image', 'report', 'show', id, '--kind', 'provenance', '--format', 'json']),
    );
    assert.equal(shown.kind, 'provenance');
    assert.equal(shown.statement.subject[0].digest.sha512, SHA512);
    const text = await ok(['image', 'report', 'show', id, '--kind', 'boot-test']);
    assert.match(text, /^kind: boot-test$/m);
    assert.match(text, /^passed: true$/m);
    assert.equal(
      JSON.parse(await ok(['image', 'report', 'show', id, '--format', 'json'])).kind,
      'compliance',
    );
  });

  it('lists every attachment in audit proof with its kind, verdict and signer', async () => {
    const text = await ok(['audit', 'proof', id]);
    const lines = text.split('\n').filter((line) => line.includes('image.report_attached'));
    assert.equal(lines.length, 3, text);
    assert.match(lines[0], /\(compliance passed\)/);
    assert.match(lines[1], /\(boot-test passed\)/);
    assert.match(
      lines[2],
      new RegExp(
        `\\(provenance verified: builder https://imagetrust.dev/builders/ci/v1, key ${keyIdOf(builder.publicKey).slice(0, 16)}…\\)`,
      ),
    );

    const bundle = JSON.parse(await ok(['audit', 'proof', id, '--format', 'json']));
    const attached = (bundle.entries as { leaf: string }[])
      .map((entry) => JSON.parse(entry.leaf))
      .filter((leaf) => leaf.type === 'image.report_attached');
    assert.deepEqual(
      attached.map((leaf) => leaf.details.kind),
      ['compliance', 'boot-test', 'provenance'],
    );
    assert.equal(attached[2].details.subject_sha512, SHA512);
    assert.equal(attached[2].details.key_id, keyIdOf(builder.publicKey));
    for (const leaf of attached) assert.equal(leaf.content_digest, leaf.details.digest);
  });
});

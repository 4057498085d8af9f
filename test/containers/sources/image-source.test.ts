// Opening images for the policy: docker:// through the real registry with lookaside (HTTP and file:)
// and sigstore attachments, dir: layouts with signature files, and oci: layouts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { OCI_MANIFEST } from '../../../src/containers/registry/index.ts';
import {
  lookasideAt,
  openPolicyImage,
  parseStoredSignature,
  readLookasideSignatures,
} from '../../../src/containers/sources/index.ts';
import { ImageTrustError } from '../../../src/errors/index.ts';
import {
  inspectRaw,
  pushSigstoreAttachments,
  pushTestImage,
  startRegistry,
  startStaticServer,
  type TestRegistry,
  writeOciImage,
} from '../../support/registry.ts';
import { runOk } from '../../support/tools.ts';

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
// A stand-in for a binary OpenPGP message: only the first byte matters to storage.
const SIMPLE = Buffer.from([0xa3, 0x01, 0x02, 0x03]);
const sigstoreJson = (payload: string) =>
  Buffer.concat([
    Buffer.from('\0sigstore-json\n'),
    Buffer.from(
      JSON.stringify({
        mimeType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        payload: Buffer.from(payload).toString('base64'),
        annotations: { 'dev.cosignproject.cosign/signature': 'c2ln' },
      }),
    ),
  ]);

describe('openPolicyImage', () => {
  let registry: TestRegistry;
  let dir: string;
  let lookaside: Awaited<ReturnType<typeof startStaticServer>>;
  let digest: string;

  function writeSignature(root: string, repo: string, index: number, blob: Buffer): void {
    const folder = path.join(root, `${repo}@${digest.replace(':', '=')}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `signature-${index}`), blob);
  }

  before(async () => {
    registry = await startRegistry();
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-sources-'));
    await pushTestImage(registry.host, 'signed/app:v1');
    await pushTestImage(registry.host, 'garbage/app:v1');
    digest = sha256(await inspectRaw(registry.host, 'signed/app:v1'));
    mkdirSync(path.join(dir, 'lookaside'));
    writeSignature(path.join(dir, 'lookaside'), 'signed/app', 1, SIMPLE);
    writeSignature(path.join(dir, 'lookaside'), 'signed/app', 2, sigstoreJson('{"from":"lookaside"}'));
    // A gap: signature-4 without signature-3 is never read.
    writeSignature(path.join(dir, 'lookaside'), 'signed/app', 4, SIMPLE);
    writeSignature(path.join(dir, 'lookaside'), 'garbage/app', 1, Buffer.from('this is not a signature'));
    lookaside = await startStaticServer(path.join(dir, 'lookaside'));
    await pushSigstoreAttachments(registry.host, 'signed/app', digest, [
      {
        payload: Buffer.from('{"from":"attachment"}'),
        annotations: { 'dev.cosignproject.cosign/signature': 'YQ==' },
      },
      {
        payload: Buffer.from('{"attestation":true}'),
        annotations: {},
        mediaType: 'application/vnd.dsse.envelope.v1+json',
      },
    ]);
  });
  after(async () => {
    await lookaside?.stop();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the manifest and lookaside signatures over HTTP up to the first missing one', async () => {
    const image = openPolicyImage(`docker://${registry.host}/signed/app:v1`, {
      tlsVerify: false,
      signatureStorage: (ref) => ({
        lookaside: lookasideAt(lookaside.url, ref.path),
        useSigstoreAttachments: false,
      }),
    });
    assert.equal(image.reference.policyIdentity, `${registry.host}/signed/app:v1`);
    const manifest = await image.manifest();
    assert.equal(manifest.mimeType, OCI_MANIFEST);
    assert.equal(sha256(manifest.bytes), digest);
    assert.deepEqual(await image.simpleSignatures(), [SIMPLE]);
    const sigstore = await image.sigstoreSignatures();
    assert.deepEqual(
      sigstore.map((s) => s.payload.toString()),
      ['{"from":"lookaside"}'],
    );
    assert.ok(lookaside.requests.includes(`/signed/app@${digest.replace(':', '=')}/signature-3`));
    assert.ok(!lookaside.requests.some((r) => r.endsWith('signature-4')));
  });

  it('adds sigstore attachments, every layer with its MIME type, when registries.d enables them', async () => {
    const image = openPolicyImage(`docker://${registry.host}/signed/app@${digest}`, {
      tlsVerify: false,
      signatureStorage: (ref) => ({
        lookaside: lookasideAt(lookaside.url, ref.path),
        useSigstoreAttachments: true,
      }),
    });
    const sigstore = await image.sigstoreSignatures();
    assert.deepEqual(
      sigstore.map((s) => [s.mimeType, s.payload.toString()]),
      [
        ['application/vnd.dev.cosign.simplesigning.v1+json', '{"from":"lookaside"}'],
        ['application/vnd.dev.cosign.simplesigning.v1+json', '{"from":"attachment"}'],
        ['application/vnd.dsse.envelope.v1+json', '{"attestation":true}'],
      ],
    );
    assert.equal(sigstore[1].annotations['dev.cosignproject.cosign/signature'], 'YQ==');
  });

  it('reads a file: lookaside', async () => {
    const image = openPolicyImage(`docker://${registry.host}/signed/app:v1`, {
      tlsVerify: false,
      signatureStorage: (ref) => ({
        lookaside: lookasideAt(pathToFileURL(path.join(dir, 'lookaside')).href, ref.path),
        useSigstoreAttachments: false,
      }),
    });
    assert.deepEqual(await image.simpleSignatures(), [SIMPLE]);
  });

  it('fails the whole read on an unparsable lookaside blob, naming its URL', async () => {
    const image = openPolicyImage(`docker://${registry.host}/garbage/app:v1`, {
      tlsVerify: false,
      signatureStorage: (ref) => ({
        lookaside: lookasideAt(lookaside.url, ref.path),
        useSigstoreAttachments: false,
      }),
    });
    await assert.rejects(image.simpleSignatures(), (error: unknown) => {
      assert.ok(error instanceof ImageTrustError);
      assert.match(
        error.message,
        /^parsing signature http:\/\/127\.0\.0\.1:\d+\/garbage\/app@sha256=[a-f0-9]{64}\/signature-1: unrecognized signature format, starting with binary 0x74$/,
      );
      return true;
    });
  });

  it('refuses a lookaside scheme it cannot read', async () => {
    const image = openPolicyImage(`docker://${registry.host}/signed/app:v1`, {
      tlsVerify: false,
      signatureStorage: (ref) => ({
        lookaside: lookasideAt('ftp://example.com/sigs', ref.path),
        useSigstoreAttachments: false,
      }),
    });
    await assert.rejects(
      image.simpleSignatures(),
      /^ImageTrustError: Unsupported scheme when reading signature from ftp:/,
    );
  });

  it('reads a dir: layout with its signature files', async () => {
    const target = path.join(dir, 'dir-image');
    await runOk('skopeo', [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      `docker://${registry.host}/signed/app:v1`,
      `dir:${target}`,
    ]);
    writeFileSync(path.join(target, 'signature-1'), SIMPLE);
    writeFileSync(path.join(target, 'signature-2'), sigstoreJson('{"dir":1}'));
    const image = openPolicyImage(`dir:${target}`);
    assert.equal(image.reference.policyIdentity, target);
    assert.equal(sha256((await image.manifest()).bytes), digest);
    assert.deepEqual(await image.simpleSignatures(), [SIMPLE]);
    assert.equal((await image.sigstoreSignatures())[0].payload.toString(), '{"dir":1}');
  });

  it('reads an oci: layout by image name, checking the manifest digest', async () => {
    const layout = writeOciImage(path.join(dir, 'oci-image'));
    const image = openPolicyImage(`oci:${layout}:latest`);
    assert.equal((await image.manifest()).mimeType, OCI_MANIFEST);
    await assert.rejects(openPolicyImage(`oci:${layout}:other`).manifest(), /no descriptor found/);
  });
});

describe('parseStoredSignature', () => {
  it('sniffs simple signing, typed blobs and rejects ASCII armour', () => {
    assert.equal(parseStoredSignature(SIMPLE).format, 'simple-signing');
    assert.deepEqual(parseStoredSignature(Buffer.concat([Buffer.from('\0simple-signing\n'), SIMPLE])), {
      format: 'simple-signing',
      signature: SIMPLE,
    });
    assert.throws(
      () => parseStoredSignature(Buffer.from('-----BEGIN PGP MESSAGE-----')),
      /unrecognized signature format, starting with binary 0x2d/,
    );
    assert.throws(
      () => parseStoredSignature(Buffer.from('\0other\nx')),
      /unrecognized signature format "other"/,
    );
  });
});

describe('parseStoredSignature of sigstore-json, as Go decodes it', () => {
  const blob = (json: string) => Buffer.concat([Buffer.from('\0sigstore-json\n'), Buffer.from(json)]);
  const fails = (json: string, message: string) =>
    assert.throws(
      () => parseStoredSignature(blob(json)),
      (error: Error) => error.message === message,
      json,
    );

  it("rejects a wrong JSON type or illegal base64 with encoding/json's text, the first in document order", () => {
    fails(
      '{"mimeType":1,"payload":"YQ=="}',
      'json: cannot unmarshal number into Go struct field sigstoreJSONRepresentation.mimeType of type string',
    );
    fails('{"mimeType":"x","payload":"!!"}', 'illegal base64 data at input byte 0');
    fails('{"payload":"!!","mimeType":1}', 'illegal base64 data at input byte 0');
    fails('{"annotations":{"a":"b"},"mimeType":"x","payload":"YQ="}', 'illegal base64 data at input byte 3');
    fails(
      '{"annotations":{"a":1}}',
      'json: cannot unmarshal number into Go struct field sigstoreJSONRepresentation.annotations of type string',
    );
    fails(
      '{"annotations":[]}',
      'json: cannot unmarshal array into Go struct field sigstoreJSONRepresentation.annotations of type map[string]string',
    );
    fails('[]', 'json: cannot unmarshal array into Go value of type signature.sigstoreJSONRepresentation');
    fails('{"mimeType":"x",}', "invalid character '}' looking for beginning of object key string");
  });

  it('matches field names case-insensitively and skips CR and LF in base64', () => {
    assert.deepEqual(
      parseStoredSignature(blob('{"MIMETYPE":"m","Payload":"YQ=\\n=","annotations":{"k":"v"}}')),
      {
        format: 'sigstore-json',
        mimeType: 'm',
        payload: Buffer.from('a'),
        annotations: { k: 'v' },
      },
    );
    assert.deepEqual(parseStoredSignature(blob('null')), {
      format: 'sigstore-json',
      mimeType: '',
      payload: Buffer.alloc(0),
      annotations: {},
    });
  });
});

describe('readLookasideSignatures from a file: lookaside', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-lookaside-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("words read and parse errors as c/image does: Go's os error, and the path quoted", async () => {
    const file = path.join(dir, 'signature-1');
    const url = () => pathToFileURL(file).href;
    mkdirSync(file);
    await assert.rejects(readLookasideSignatures(url, 'sha256:abc'), {
      code: 'SIGNATURE_FETCH_FAILED',
      message: `read ${file}: is a directory`,
    });
    rmSync(file, { recursive: true });
    writeFileSync(file, '\0sigstore-json\n{"mimeType":1}');
    await assert.rejects(readLookasideSignatures(url, 'sha256:abc'), {
      message: `parsing signature "${file}": json: cannot unmarshal number into Go struct field sigstoreJSONRepresentation.mimeType of type string`,
    });
  });
});

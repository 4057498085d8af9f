import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { computeManifestDigest, matchesDigest } from '../../../src/containers/signing/index.ts';
import { DOCKER_V2S2_MANIFEST, OCI_MANIFEST, SCHEMA1_PAYLOAD, signSchema1Manifest } from './fixtures.ts';

const sha256 = (text: string | Buffer) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('computeManifestDigest', () => {
  it('hashes the exact bytes of docker v2s2 and OCI manifests', () => {
    assert.equal(computeManifestDigest(bytes(DOCKER_V2S2_MANIFEST)), sha256(DOCKER_V2S2_MANIFEST));
    assert.equal(computeManifestDigest(bytes(OCI_MANIFEST)), sha256(OCI_MANIFEST));
  });

  it('changes when the manifest is only reformatted', () => {
    const reformatted = JSON.stringify(JSON.parse(DOCKER_V2S2_MANIFEST));
    assert.notEqual(
      computeManifestDigest(bytes(reformatted)),
      computeManifestDigest(bytes(DOCKER_V2S2_MANIFEST)),
    );
  });

  it('strips the JWS signatures of a signed schema1 manifest', () => {
    const signed = signSchema1Manifest(SCHEMA1_PAYLOAD);
    assert.notEqual(sha256(signed), sha256(SCHEMA1_PAYLOAD));
    assert.equal(computeManifestDigest(bytes(signed)), sha256(SCHEMA1_PAYLOAD));
  });

  it('gives the same digest whatever the number of JWS signatures', () => {
    assert.equal(
      computeManifestDigest(bytes(signSchema1Manifest(SCHEMA1_PAYLOAD, 3))),
      sha256(SCHEMA1_PAYLOAD),
    );
  });

  it('hashes an unsigned schema1 manifest as it is', () => {
    assert.equal(computeManifestDigest(bytes(SCHEMA1_PAYLOAD)), sha256(SCHEMA1_PAYLOAD));
  });

  it('does not strip signatures when a recognized mediaType says it is not schema1', () => {
    const signed = signSchema1Manifest(SCHEMA1_PAYLOAD).replace(
      '"schemaVersion": 1,',
      '"schemaVersion": 1, "mediaType": "application/vnd.oci.image.manifest.v1+json",',
    );
    assert.equal(computeManifestDigest(bytes(signed)), sha256(signed));
  });

  it('treats a schemaVersion that Go cannot decode as an int as not schema1', () => {
    const signed = signSchema1Manifest(SCHEMA1_PAYLOAD).replace(
      '"schemaVersion": 1,',
      '"schemaVersion": 1.0,',
    );
    assert.equal(computeManifestDigest(bytes(signed)), sha256(signed));
  });

  it('matches the signatures field case-insensitively, as Go struct decoding does', () => {
    const signed = signSchema1Manifest(SCHEMA1_PAYLOAD).replace('"signatures"', '"Signatures"');
    // Sniffed as signed, but libtrust looks the key up exactly and finds none.
    assert.throws(() => computeManifestDigest(bytes(signed)), {
      code: 'BAD_REQUEST',
      message: 'missing signature key',
    });
  });

  it('refuses conflicting format lengths between JWS signatures', () => {
    const signed = JSON.parse(signSchema1Manifest(SCHEMA1_PAYLOAD, 2)) as {
      signatures: { protected: string }[];
    };
    const header = JSON.parse(Buffer.from(signed.signatures[1].protected, 'base64url').toString()) as {
      formatLength: number;
    };
    header.formatLength -= 1;
    signed.signatures[1].protected = Buffer.from(JSON.stringify(header)).toString('base64url');
    assert.throws(() => computeManifestDigest(bytes(JSON.stringify(signed))), {
      message: 'conflicting format length',
    });
  });

  it('refuses a format length past the end of the manifest', () => {
    const protectedHeader = Buffer.from(JSON.stringify({ formatLength: 1e6, formatTail: 'fQ' })).toString(
      'base64url',
    );
    const manifest = JSON.stringify({ schemaVersion: 1, signatures: [{ protected: protectedHeader }] });
    assert.throws(() => computeManifestDigest(bytes(manifest)), { message: 'invalid format length' });
  });

  it('refuses a protected header without formatTail', () => {
    const protectedHeader = Buffer.from(JSON.stringify({ formatLength: 10 })).toString('base64url');
    const manifest = JSON.stringify({ schemaVersion: 1, signatures: [{ protected: protectedHeader }] });
    assert.throws(() => computeManifestDigest(bytes(manifest)), { message: 'missing formatted tail' });
  });

  it('hashes bytes that are not JSON as they are', () => {
    assert.equal(computeManifestDigest(bytes('not json')), sha256('not json'));
  });
});

describe('matchesDigest', () => {
  it('compares the sha256 string exactly', () => {
    const digest = sha256(DOCKER_V2S2_MANIFEST);
    assert.equal(matchesDigest(bytes(DOCKER_V2S2_MANIFEST), digest), true);
    assert.equal(matchesDigest(bytes(DOCKER_V2S2_MANIFEST), digest.toUpperCase()), false);
    assert.equal(
      matchesDigest(bytes(DOCKER_V2S2_MANIFEST), `sha256:${digest.slice(7).toUpperCase()}`),
      false,
    );
    const sha512 = `sha512:${createHash('sha512').update(DOCKER_V2S2_MANIFEST).digest('hex')}`;
    assert.equal(matchesDigest(bytes(DOCKER_V2S2_MANIFEST), sha512), false);
  });
});

describe('computeManifestDigest with another algorithm', () => {
  it('hashes the same payload with sha512 and refuses unknown algorithms', () => {
    const signed = signSchema1Manifest(SCHEMA1_PAYLOAD);
    assert.equal(
      computeManifestDigest(bytes(signed), 'sha512'),
      `sha512:${createHash('sha512').update(SCHEMA1_PAYLOAD).digest('hex')}`,
    );
    assert.throws(() => computeManifestDigest(bytes(signed), 'md5'), { code: 'BAD_REQUEST' });
  });
});

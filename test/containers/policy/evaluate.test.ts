// evaluatePolicy decides as c/image's IsRunningImageAllowed does, on real signatures: gpg keys,
// `skopeo standalone-sign` signatures, and ECDSA sigstore signatures. Reasons are c/image's texts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evaluatePolicy, type PolicyDecision, parsePolicy } from '../../../src/containers/policy/index.ts';
import { requireTool } from '../../support/tools.ts';
import { createTestMechanisms, GpgSigner, SigstoreSigner, testImage } from './support.ts';

const MANIFEST = Buffer.from(
  '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}\n',
);
const OTHER_MANIFEST = Buffer.from('{"schemaVersion":2,"layers":[]}');
const DIGEST = `sha256:${createHash('sha256').update(MANIFEST).digest('hex')}`;
const mechanisms = createTestMechanisms();

describe('evaluatePolicy', () => {
  let dir: string;
  let signer: GpgSigner;
  let stranger: GpgSigner;
  let armoredKey: string;
  let binaryKey: string;
  let strangerKey: string;
  let goodSig: Buffer;

  before(() => {
    requireTool('gpg', 'gnupg');
    requireTool('skopeo', 'skopeo');
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-policy-'));
    signer = new GpgSigner(dir, 'release@example.com');
    stranger = new GpgSigner(dir, 'stranger@example.com');
    armoredKey = path.join(dir, 'release.asc');
    binaryKey = path.join(dir, 'release.gpg');
    strangerKey = path.join(dir, 'stranger.asc');
    signer.exportPublicKey(armoredKey, true);
    signer.exportPublicKey(binaryKey, false);
    stranger.exportPublicKey(strangerKey, true);
    goodSig = signer.sign(dir, MANIFEST, 'quay.io/app:v1');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const signedBy = (fields: Record<string, unknown> = {}) =>
    JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: armoredKey, ...fields }] });
  const decide = (policyJson: string, image: ReturnType<typeof testImage>): Promise<PolicyDecision> =>
    evaluatePolicy(parsePolicy(policyJson), image, mechanisms);

  it('allows anything under insecureAcceptAnything', async () => {
    const decision = await decide(
      '{"default":[{"type":"insecureAcceptAnything"}]}',
      testImage('docker://busybox', MANIFEST),
    );
    assert.equal(decision.allowed, true);
    assert.deepEqual(decision.requirements, [
      { type: 'insecureAcceptAnything', result: 'accepted', reason: 'accepted' },
    ]);
  });

  it('rejects with the image name as c/image prints it', async () => {
    const policy = '{"default":[{"type":"reject"}]}';
    assert.equal(
      (await decide(policy, testImage('docker://127.0.0.1:5123/unsigned/app:v1', MANIFEST))).reason,
      'Running image docker://127.0.0.1:5123/unsigned/app:v1 is rejected by policy.',
    );
    assert.equal(
      (await decide(policy, testImage('docker://busybox', MANIFEST))).reason,
      'Running image docker://busybox:latest is rejected by policy.',
    );
    assert.equal(
      (await decide(policy, testImage('dir:/abs/path', MANIFEST))).reason,
      'Running image dir:/abs/path is rejected by policy.',
    );
  });

  it('always rejects signedBaseLayer', async () => {
    const policy = '{"default":[{"type":"signedBaseLayer","baseLayerIdentity":{"type":"matchRepository"}}]}';
    const decision = await decide(policy, testImage('docker://quay.io/app:v1', MANIFEST, [goodSig]));
    assert.equal(decision.reason, 'signedBaseLayer not implemented yet!');
  });

  it('accepts a skopeo signature with an armored keyPath, a binary keyPath, keyPaths and keyData', async () => {
    const image = testImage('docker://quay.io/app:v1', MANIFEST, [goodSig]);
    const keyData = signer.exportPublicKey(path.join(dir, 'again.gpg'), false).toString('base64');
    for (const policy of [
      signedBy(),
      signedBy({ keyPath: binaryKey }),
      JSON.stringify({
        default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPaths: [strangerKey, armoredKey] }],
      }),
      JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyData }] }),
    ]) {
      const decision = await decide(policy, image);
      assert.equal(decision.allowed, true, `${policy}: ${decision.reason}`);
    }
  });

  it('says no signature exists when there is none', async () => {
    const decision = await decide(signedBy(), testImage('docker://quay.io/app:v1', MANIFEST));
    assert.equal(decision.allowed, false);
    assert.equal(decision.reason, 'A signature was required, but no signature exists');
  });

  it('checks the manifest digest before the identity', async () => {
    const wrongBoth = signer.sign(dir, OTHER_MANIFEST, 'quay.io/other:v9');
    const decision = await decide(signedBy(), testImage('docker://quay.io/app:v1', MANIFEST, [wrongBoth]));
    assert.equal(
      decision.reason,
      `Signature for digest sha256:${createHash('sha256').update(OTHER_MANIFEST).digest('hex')} does not match`,
    );
  });

  it('rejects a signature for another identity, and finds signatures shared by tags of one digest', async () => {
    const decision = await decide(signedBy(), testImage('docker://quay.io/app:v2', MANIFEST, [goodSig]));
    assert.equal(decision.reason, 'Signature for identity quay.io/app:v1 is not accepted');
    const byRepository = await decide(
      signedBy({ signedIdentity: { type: 'matchRepository' } }),
      testImage('docker://quay.io/app:latest', MANIFEST, [goodSig]),
    );
    assert.equal(byRepository.allowed, true);
    const byDigest = await decide(
      signedBy(),
      testImage(`docker://quay.io/app@${DIGEST}`, MANIFEST, [goodSig]),
    );
    assert.equal(byDigest.allowed, true);
  });

  it('rejects a signature by a key outside the policy', async () => {
    const foreign = stranger.sign(dir, MANIFEST, 'quay.io/app:v1');
    const decision = await decide(signedBy(), testImage('docker://quay.io/app:v1', MANIFEST, [foreign]));
    assert.equal(decision.allowed, false);
    assert.match(decision.reason!, /^Invalid GPG signature: /);
  });

  it('needs only one good signature, and summarises when none is good', async () => {
    const foreign = stranger.sign(dir, MANIFEST, 'quay.io/app:v1');
    const wrongIdentity = signer.sign(dir, MANIFEST, 'quay.io/app:v2');
    const oneGood = await decide(
      signedBy(),
      testImage('docker://quay.io/app:v1', MANIFEST, [foreign, wrongIdentity, goodSig]),
    );
    assert.equal(oneGood.allowed, true);
    const noneGood = await decide(
      signedBy(),
      testImage('docker://quay.io/app:v1', MANIFEST, [wrongIdentity, wrongIdentity]),
    );
    assert.equal(
      noneGood.reason,
      'None of the signatures were accepted, reasons: Signature for identity quay.io/app:v2 is not accepted; Signature for identity quay.io/app:v2 is not accepted',
    );
  });

  it('requires every requirement of the scope and stops at the first rejection', async () => {
    const policy = JSON.stringify({
      default: [
        { type: 'signedBy', keyType: 'GPGKeys', keyPath: armoredKey },
        { type: 'reject' },
        { type: 'insecureAcceptAnything' },
      ],
    });
    const decision = await decide(policy, testImage('docker://quay.io/app:v1', MANIFEST, [goodSig]));
    assert.equal(decision.allowed, false);
    assert.deepEqual(
      decision.requirements.map((r) => [r.type, r.result]),
      [
        ['signedBy', 'accepted'],
        ['reject', 'rejected'],
      ],
    );
  });

  it("reports key problems as each signature's reason", async () => {
    const image = testImage('docker://quay.io/app:v1', MANIFEST, [goodSig]);
    assert.equal(
      (await decide(signedBy({ keyPath: path.join(dir, 'missing.gpg') }), image)).reason,
      `open ${path.join(dir, 'missing.gpg')}: no such file or directory`,
    );
    assert.equal(
      (
        await decide(
          JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyData: 'bm90IGEga2V5' }] }),
          image,
        )
      ).reason,
      'No public keys imported',
    );
    assert.equal(
      (await decide(signedBy({ keyType: 'X509Certificates' }), image)).reason,
      'Unimplemented "keyType" value "X509Certificates"',
    );
  });

  it('selects requirements by scope, so a signed scope does not cover a sibling', async () => {
    const policy = JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: { 'quay.io/app': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: armoredKey }] },
      },
    });
    const allowed = await decide(policy, testImage('docker://quay.io/app:v1', MANIFEST, [goodSig]));
    assert.deepEqual([allowed.allowed, allowed.scope], [true, { transport: 'docker', scope: 'quay.io/app' }]);
    const sibling = await decide(policy, testImage('docker://quay.io/application:v1', MANIFEST, [goodSig]));
    assert.equal(sibling.reason, 'Running image docker://quay.io/application:v1 is rejected by policy.');
  });

  it('accepts dir: images only through exactReference or exactRepository', async () => {
    const image = testImage('dir:/srv/images/app', MANIFEST, [goodSig]);
    assert.equal(
      (await decide(signedBy(), image)).reason,
      'Signature for identity quay.io/app:v1 is not accepted',
    );
    const exact = signedBy({ signedIdentity: { type: 'exactReference', dockerReference: 'quay.io/app:v1' } });
    assert.equal((await decide(exact, image)).allowed, true);
  });

  it('maps a mirror onto the signed name with remapIdentity', async () => {
    const policy = signedBy({
      signedIdentity: { type: 'remapIdentity', prefix: 'mirror.local:5000/quay', signedPrefix: 'quay.io' },
    });
    const decision = await decide(
      policy,
      testImage('docker://mirror.local:5000/quay/app:v1', MANIFEST, [goodSig]),
    );
    assert.equal(decision.allowed, true, decision.reason);
  });

  describe('sigstoreSigned', () => {
    const cosign = new SigstoreSigner();
    const sigstorePolicy = () =>
      JSON.stringify({
        default: [{ type: 'sigstoreSigned', keyData: cosign.publicKeyPem.toString('base64') }],
      });

    it('accepts a signature by the configured key', async () => {
      const image = testImage(
        'docker://quay.io/app:v1',
        MANIFEST,
        [],
        [cosign.sign(MANIFEST, 'quay.io/app:v1')],
      );
      const decision = await decide(sigstorePolicy(), image);
      assert.equal(decision.allowed, true, decision.reason);
    });

    it('counts simple signatures and non-signature attachments when none applies', async () => {
      const attestation = {
        mimeType: 'application/vnd.dsse.envelope.v1+json',
        payload: Buffer.from('{}'),
        annotations: {},
      };
      const image = testImage('docker://quay.io/app:v1', MANIFEST, [goodSig], [attestation]);
      assert.equal(
        (await decide(sigstorePolicy(), image)).reason,
        'A signature was required, but no signature exists (1 non-sigstore signatures, 1 sigstore non-signature attachments)',
      );
      assert.equal(
        (await decide(sigstorePolicy(), testImage('docker://quay.io/app:v1', MANIFEST))).reason,
        'A signature was required, but no signature exists',
      );
    });

    it('ignores sigstore signatures under signedBy', async () => {
      const image = testImage(
        'docker://quay.io/app:v1',
        MANIFEST,
        [],
        [cosign.sign(MANIFEST, 'quay.io/app:v1')],
      );
      assert.equal(
        (await decide(signedBy(), image)).reason,
        'A signature was required, but no signature exists',
      );
    });

    it('rejects a repository-only cosign signature under the default identity rule', async () => {
      const image = testImage(
        'docker://quay.io/app:v1',
        MANIFEST,
        [],
        [cosign.sign(MANIFEST, 'quay.io/app')],
      );
      assert.equal(
        (await decide(sigstorePolicy(), image)).reason,
        'Signature for identity quay.io/app is not accepted',
      );
    });
  });
});

// Evaluation against the oracle: the same dir: image, signatures and policy go to `skopeo copy` and to
// evaluatePolicy; both must allow, or both reject with the same reason.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evaluatePolicy, parsePolicy } from '../../../src/containers/policy/index.ts';
import { computeManifestDigest } from '../../../src/containers/signing/index.ts';
import { requireTool } from '../../support/tools.ts';
import { createTestMechanisms, GpgSigner, testImage } from './support.ts';

const CONFIG = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const CONFIG_HEX = createHash('sha256').update(CONFIG).digest('hex');
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: `sha256:${CONFIG_HEX}`,
      size: CONFIG.length,
    },
    layers: [],
  }),
);

function skopeoVerdict(policyFile: string, imageDir: string, out: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'skopeo',
      ['--policy', policyFile, 'copy', `dir:${imageDir}`, `dir:${out}`],
      (error, _stdout, stderr) => {
        if (!error) return resolve('allowed');
        const match = /msg="(?:Source image rejected: )?(.*)"\n?$/.exec(stderr);
        resolve(match ? JSON.parse(`"${match[1]}"`) : stderr);
      },
    );
  });
}

describe('evaluatePolicy against skopeo', () => {
  let work: string;
  let signer: GpgSigner;
  let stranger: GpgSigner;
  let keyFile: string;
  const mechanisms = createTestMechanisms();

  before(() => {
    requireTool('skopeo', 'skopeo');
    requireTool('gpg', 'gnupg');
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-eval-oracle-'));
    signer = new GpgSigner(work, 'release@example.com');
    stranger = new GpgSigner(work, 'stranger@example.com');
    keyFile = path.join(work, 'release.asc');
    signer.exportPublicKey(keyFile, true);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('allows and rejects dir: images as skopeo copy does', async () => {
    const good = () => signer.sign(work, MANIFEST, 'quay.io/app:v1');
    const otherManifest = () => signer.sign(work, Buffer.from('{"schemaVersion":2}'), 'quay.io/app:v1');
    const signedBy = (extra: Record<string, unknown> = {}) => [
      { type: 'signedBy', keyType: 'GPGKeys', keyPath: keyFile, ...extra },
    ];
    const cases: [string, unknown[], () => Buffer[]][] = [
      ['accept anything', [{ type: 'insecureAcceptAnything' }], () => [good()]],
      ['reject', [{ type: 'reject' }], () => []],
      ['base layer', [{ type: 'signedBaseLayer', baseLayerIdentity: { type: 'matchRepository' } }], () => []],
      ['unsigned', signedBy(), () => []],
      ['no docker identity', signedBy(), () => [good()]],
      [
        'exact reference',
        signedBy({ signedIdentity: { type: 'exactReference', dockerReference: 'quay.io/app:v1' } }),
        () => [good()],
      ],
      [
        'wrong reference',
        signedBy({ signedIdentity: { type: 'exactReference', dockerReference: 'quay.io/app:v2' } }),
        () => [good()],
      ],
      [
        'exact repository',
        signedBy({ signedIdentity: { type: 'exactRepository', dockerRepository: 'quay.io/app' } }),
        () => [good()],
      ],
      ['other manifest', signedBy({ signedIdentity: { type: 'matchRepository' } }), () => [otherManifest()]],
      ['two bad', signedBy(), () => [otherManifest(), good()]],
      [
        'one good of two',
        signedBy({ signedIdentity: { type: 'exactRepository', dockerRepository: 'quay.io/app' } }),
        () => [otherManifest(), good()],
      ],
      ['missing key', signedBy({ keyPath: path.join(work, 'missing.asc') }), () => [good()]],
      ['x509', signedBy({ keyType: 'X509Certificates' }), () => [good()]],
      [
        'not a key',
        [{ type: 'signedBy', keyType: 'GPGKeys', keyData: Buffer.from('not a key').toString('base64') }],
        () => [good()],
      ],
      [
        'all must pass',
        [
          ...signedBy({ signedIdentity: { type: 'exactRepository', dockerRepository: 'quay.io/app' } }),
          { type: 'reject' },
        ],
        () => [good()],
      ],
    ];
    for (const [index, [name, requirements, signatures]] of cases.entries()) {
      const imageDir = path.join(work, `image-${index}`);
      mkdirSync(imageDir);
      writeFileSync(path.join(imageDir, 'version'), 'Directory Transport Version: 1.1\n');
      writeFileSync(path.join(imageDir, 'manifest.json'), MANIFEST);
      writeFileSync(path.join(imageDir, CONFIG_HEX), CONFIG);
      const blobs = signatures();
      for (const [i, blob] of blobs.entries()) writeFileSync(path.join(imageDir, `signature-${i + 1}`), blob);
      const policyText = JSON.stringify({ default: requirements });
      const policyFile = path.join(work, `policy-${index}.json`);
      writeFileSync(policyFile, policyText);
      const expected = await skopeoVerdict(policyFile, imageDir, path.join(work, `out-${index}`));
      const decision = await evaluatePolicy(
        parsePolicy(policyText),
        testImage(`dir:${imageDir}`, MANIFEST, blobs),
        mechanisms,
      );
      assert.equal(decision.allowed ? 'allowed' : decision.reason, expected, name);
    }
  });

  it('rejects a signature by a key outside the policy, as gpgme does', async () => {
    const imageDir = path.join(work, 'image-stranger');
    mkdirSync(imageDir);
    writeFileSync(path.join(imageDir, 'version'), 'Directory Transport Version: 1.1\n');
    writeFileSync(path.join(imageDir, 'manifest.json'), MANIFEST);
    const blob = stranger.sign(work, MANIFEST, 'quay.io/app:v1');
    writeFileSync(path.join(imageDir, 'signature-1'), blob);
    const policyText = JSON.stringify({
      default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: keyFile }],
    });
    const policyFile = path.join(work, 'policy-stranger.json');
    writeFileSync(policyFile, policyText);
    const expected = await skopeoVerdict(policyFile, imageDir, path.join(work, 'out-stranger'));
    const decision = await evaluatePolicy(
      parsePolicy(policyText),
      testImage(`dir:${imageDir}`, MANIFEST, [blob]),
      mechanisms,
    );
    // gpgme's text embeds a struct dump; only the prefix is comparable.
    assert.match(expected, /^Invalid GPG signature: /);
    assert.match(decision.reason!, /^Invalid GPG signature: /);
  });

  it("rejects with a malformed schema1 manifest's digest error, as skopeo does", async () => {
    // `signatures` must be a list; Go's manifest.Digest fails, and that error is the rejection reason.
    const manifest = Buffer.from(
      '{"schemaVersion":1,"name":"app","tag":"v1","architecture":"amd64","fsLayers":[],"history":[],"signatures":1}',
    );
    const imageDir = path.join(work, 'image-schema1');
    mkdirSync(imageDir);
    writeFileSync(path.join(imageDir, 'version'), 'Directory Transport Version: 1.1\n');
    writeFileSync(path.join(imageDir, 'manifest.json'), manifest);
    const blob = signer.sign(work, MANIFEST, 'quay.io/app:v1');
    writeFileSync(path.join(imageDir, 'signature-1'), blob);
    const policyText = JSON.stringify({
      default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: keyFile }],
    });
    const policyFile = path.join(work, 'policy-schema1.json');
    writeFileSync(policyFile, policyText);
    const expected = await skopeoVerdict(policyFile, imageDir, path.join(work, 'out-schema1'));
    const decision = await evaluatePolicy(
      parsePolicy(policyText),
      testImage(`dir:${imageDir}`, manifest, [blob]),
      // c/image's own digest rules (schema1 signatures stripped), not the plain hash of the test double.
      { ...mechanisms, manifestDigest: (bytes, algorithm) => computeManifestDigest(bytes, algorithm) },
    );
    assert.equal(
      expected,
      'error unmarshalling signatures: json: cannot unmarshal number into Go value of type []libtrust.jsParsedSignature',
    );
    assert.equal(decision.allowed ? 'allowed' : decision.reason, expected);
  });
});

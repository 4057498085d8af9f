// May this image boot? The decision over plain data at a fixed time: no server, no key manager, no disk.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { type BootImageView, decideBoot, type ImageRecord, toImageView } from '../../src/catalog/index.ts';
import { createCertificate } from '../../src/trust/index.ts';
import { activeImageRecord } from '../support/images.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const at = (offsetHours: number) =>
  new Date(NOW.getTime() + offsetHours * 3600_000).toISOString().replace('.000Z', 'Z');
const DAY = 24 * 3600_000;
const REPLACEMENT = '22222222-2222-4222-8222-222222222222';

/** The image as the gate fetches it: the API's view, made by the service at `shownAt`. */
function view(overrides: Partial<ImageRecord> = {}, shownAt = NOW): BootImageView {
  const record = activeImageRecord({
    properties: { img_signature_certificate_uuid: 'cert-uuid' },
    ...overrides,
  });
  return toImageView(record, shownAt) as BootImageView;
}

describe('decideBoot', () => {
  let root: X509Certificate;
  let otherRoot: X509Certificate;
  let leaf: X509Certificate;
  let expiredLeaf: X509Certificate;
  let strangerLeaf: X509Certificate;
  before(() => {
    const key = () => generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const rootKeys = key();
    const otherKeys = key();
    const from = new Date(NOW.getTime() - 365 * DAY);
    const to = new Date(NOW.getTime() + 365 * DAY);
    root = createCertificate({
      publicKey: rootKeys.publicKey,
      commonName: 'root',
      notBefore: from,
      notAfter: to,
      signer: { privateKey: rootKeys.privateKey },
      ca: { pathLength: 0 },
    });
    otherRoot = createCertificate({
      publicKey: otherKeys.publicKey,
      commonName: 'other root',
      notBefore: from,
      notAfter: to,
      signer: { privateKey: otherKeys.privateKey },
      ca: { pathLength: 0 },
    });
    const issue = (issuer: X509Certificate, issuerKey: typeof rootKeys, notAfter: Date) =>
      createCertificate({
        publicKey: key().publicKey,
        commonName: 'signer',
        notBefore: from,
        notAfter,
        signer: { privateKey: issuerKey.privateKey, certificate: issuer },
      });
    leaf = issue(root, rootKeys, to);
    expiredLeaf = issue(root, rootKeys, new Date(NOW.getTime() - DAY));
    strangerLeaf = issue(otherRoot, otherKeys, to);
  });

  it('boots an active, available image', () => {
    assert.deepEqual(decideBoot({ view: view(), now: NOW }), { kind: 'boot' });
  });

  it('refuses an image that is not active with CONFLICT', () => {
    const decision = decideBoot({ view: view({ status: 'queued' }), now: NOW });
    assert.equal(decision.kind, 'refuse');
    assert.equal(decision.kind === 'refuse' && decision.code, 'CONFLICT');
  });

  it('refuses an obsolete image with IMAGE_OBSOLETE, naming its replacement, and drops the cached copy', () => {
    const decision = decideBoot({
      view: view({ lifecycle_state: 'obsolete', obsolescence_at: at(-1), replacement: REPLACEMENT }),
      now: NOW,
    });
    assert.equal(decision.kind, 'refuse');
    if (decision.kind !== 'refuse') return;
    assert.equal(decision.code, 'IMAGE_OBSOLETE');
    assert.equal(decision.error.code, 'IMAGE_OBSOLETE');
    assert.equal(decision.dropCachedCopy, true);
    assert.ok(decision.message.includes(REPLACEMENT));
  });

  it('refuses an obsolete image before it looks at the certificate', () => {
    const decision = decideBoot({
      view: view({ lifecycle_state: 'obsolete' }),
      certificate: strangerLeaf,
      trusted: [root],
      now: NOW,
    });
    assert.equal(decision.kind === 'refuse' && decision.code, 'IMAGE_OBSOLETE');
  });

  it('boots a deprecated image with a warning carrying its obsolescence time and replacement', () => {
    const decision = decideBoot({
      view: view({ lifecycle_state: 'deprecated', obsolescence_at: at(48), replacement: REPLACEMENT }),
      now: NOW,
    });
    assert.equal(decision.kind, 'boot-with-warning');
    if (decision.kind !== 'boot-with-warning') return;
    assert.equal(decision.state, 'deprecated');
    assert.equal(decision.obsolescenceAt, at(48));
    assert.equal(decision.replacement, REPLACEMENT);
  });

  it('counts a schedule that fell due after the service showed the image', () => {
    // Shown two days ago: deprecated then, with obsolescence scheduled for an hour ago.
    const shown = view(
      { lifecycle_state: 'deprecated', deprecation_at: at(-72), obsolescence_at: at(-1) },
      new Date(NOW.getTime() - 2 * DAY),
    );
    assert.equal(shown.lifecycle_state, 'deprecated');
    const decision = decideBoot({ view: shown, now: NOW });
    assert.equal(decision.kind === 'refuse' && decision.code, 'IMAGE_OBSOLETE');
    // The same for a due deprecation: it warns although the view still says available.
    const dueDeprecation = view({ deprecation_at: at(-1) }, new Date(NOW.getTime() - 2 * DAY));
    assert.equal(dueDeprecation.lifecycle_state, 'available');
    assert.equal(decideBoot({ view: dueDeprecation, now: NOW }).kind, 'boot-with-warning');
  });

  it('boots with a certificate that chains to a trusted one', () => {
    assert.deepEqual(decideBoot({ view: view(), certificate: leaf, trusted: [root], now: NOW }), {
      kind: 'boot',
    });
  });

  it('refuses an expired signing certificate with CERTIFICATE_EXPIRED', () => {
    const decision = decideBoot({ view: view(), certificate: expiredLeaf, trusted: [root], now: NOW });
    assert.equal(decision.kind, 'refuse');
    if (decision.kind !== 'refuse') return;
    assert.equal(decision.code, 'CERTIFICATE_EXPIRED');
    assert.equal(decision.dropCachedCopy, false);
    assert.ok(decision.message.includes('cert-uuid'));
  });

  it('refuses a certificate that does not chain to a trusted one', () => {
    for (const trusted of [[root], []]) {
      const decision = decideBoot({ view: view(), certificate: strangerLeaf, trusted, now: NOW });
      assert.equal(decision.kind, 'refuse');
      assert.equal(decision.kind === 'refuse' && decision.code, 'CERTIFICATE_UNTRUSTED');
    }
  });

  it('checks no chain when no trusted certificates are configured', () => {
    assert.deepEqual(decideBoot({ view: view(), certificate: strangerLeaf, trusted: null, now: NOW }), {
      kind: 'boot',
    });
  });
});

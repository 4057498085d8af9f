// May this image be used? c/image's IsRunningImageAllowed over a parsed policy: every requirement of the
// selected scope must allow the image (the first failure stops), and for signature requirements one
// accepted signature suffices. Cryptography and I/O come in through PolicyMechanisms.
import { ImageTrustError, PolicyError } from '../../errors/index.ts';
import { formatImageName } from '../reference/index.ts';
import { matchesSignedIdentity } from './identity.ts';
import type { PolicyImage, PolicyMechanisms, SignedClaims, SigstoreSignature } from './ports.ts';
import { resolvePolicyScope } from './scope.ts';
import type { Policy, PolicyRequirement, SignedByRequirement, SigstoreSignedRequirement } from './types.ts';

export const SIGSTORE_SIGNATURE_MIME_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';

/** The outcome of one requirement. */
export interface RequirementOutcome {
  type: PolicyRequirement['type'];
  result: 'accepted' | 'rejected';
  reason: string;
}

/** Whether the image may be used, why not, and what each evaluated requirement said. */
export interface PolicyDecision {
  allowed: boolean;
  /** The first rejection's text, exactly as c/image words it. */
  reason?: string;
  /** The policy entry that applied: `transports[transport][scope]`, or the global default. */
  scope: { transport?: string; scope?: string };
  /** Requirements in order, up to and including the first rejection. */
  requirements: RequirementOutcome[];
}

const rejection = (message: string) => new PolicyError('SIGNATURE_REJECTED', message);

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Signatures are fetched at most once per evaluation, whatever the number of requirements.
class ImageSignatures {
  readonly image: PolicyImage;
  #simple?: Promise<Buffer[]>;
  #sigstore?: Promise<SigstoreSignature[]>;
  #manifest?: Promise<Buffer>;

  constructor(image: PolicyImage) {
    this.image = image;
  }

  simple(): Promise<Buffer[]> {
    this.#simple ??= this.image.simpleSignatures();
    return this.#simple;
  }

  sigstore(): Promise<SigstoreSignature[]> {
    this.#sigstore ??= this.image.sigstoreSignatures();
    return this.#sigstore;
  }

  manifest(): Promise<Buffer> {
    this.#manifest ??= this.image.manifest().then((m) => m.bytes);
    return this.#manifest;
  }
}

async function loadSources(
  mechanisms: PolicyMechanisms,
  path: string | undefined,
  paths: string[] | undefined,
  data: Buffer | undefined,
  datas?: Buffer[],
): Promise<Buffer[] | undefined> {
  if (path) return [await mechanisms.readKeyFile(path)];
  if (paths) {
    const result: Buffer[] = [];
    for (const p of paths) result.push(await mechanisms.readKeyFile(p));
    return result;
  }
  if (data) return [data];
  return datas;
}

// Digest first, identity second, as c/image's verifyAndExtractSignature orders them.
async function checkClaims(
  claims: SignedClaims,
  requirement: SignedByRequirement | SigstoreSignedRequirement,
  images: ImageSignatures,
  mechanisms: PolicyMechanisms,
): Promise<void> {
  const manifest = await images.manifest();
  let actual: string;
  try {
    // c/image 5.23 compares against the sha256 digest whatever algorithm the signature names.
    actual = mechanisms.manifestDigest(manifest, 'sha256');
  } catch (error) {
    // manifest.MatchesDigest returns the digest error itself (a malformed schema1 manifest's), and
    // that error is the signature's rejection reason.
    throw new PolicyError('SIGNATURE_REJECTED', reasonOf(error), { cause: error });
  }
  if (actual !== claims.dockerManifestDigest) {
    throw rejection(`Signature for digest ${claims.dockerManifestDigest} does not match`);
  }
  if (
    !matchesSignedIdentity(
      requirement.signedIdentity,
      images.image.reference.dockerReference,
      claims.dockerReference,
    )
  ) {
    throw rejection(`Signature for identity ${claims.dockerReference} is not accepted`);
  }
}

async function acceptSimpleSignature(
  requirement: SignedByRequirement,
  signature: Buffer,
  images: ImageSignatures,
  mechanisms: PolicyMechanisms,
): Promise<void> {
  if (requirement.keyType !== 'GPGKeys') {
    throw rejection(`Unimplemented "keyType" value "${requirement.keyType}"`);
  }
  // Keys are loaded per signature, as upstream does, so a missing key file is each signature's reason.
  const keys = await loadSources(mechanisms, requirement.keyPath, requirement.keyPaths, requirement.keyData);
  if (!keys) {
    throw rejection(
      'Internal inconsistency: not exactly one of "keyPath", "keyPaths" and "keyData" specified',
    );
  }
  const { payload } = await mechanisms.simpleSigning.verify(signature, keys, { keyType: 'GPGKeys' });
  await checkClaims(payload, requirement, images, mechanisms);
}

async function acceptSigstoreSignature(
  requirement: SigstoreSignedRequirement,
  signature: SigstoreSignature,
  images: ImageSignatures,
  mechanisms: PolicyMechanisms,
): Promise<void> {
  const trust: Parameters<PolicyMechanisms['sigstore']['verify']>[1] = {};
  const publicKeys = await loadSources(
    mechanisms,
    requirement.keyPath,
    requirement.keyPaths,
    requirement.keyData,
    requirement.keyDatas,
  );
  if (publicKeys) trust.publicKeys = publicKeys;
  if (requirement.fulcio) {
    const { caPath, caData, oidcIssuer, subjectEmail } = requirement.fulcio;
    const caCertificates = caPath ? await mechanisms.readKeyFile(caPath) : caData!;
    trust.fulcio = { caCertificates, oidcIssuer, subjectEmail };
  }
  const rekorPublicKeys = await loadSources(
    mechanisms,
    requirement.rekorPublicKeyPath,
    requirement.rekorPublicKeyPaths,
    requirement.rekorPublicKeyData,
    requirement.rekorPublicKeyDatas,
  );
  if (rekorPublicKeys) trust.rekorPublicKeys = rekorPublicKeys;
  const { payload } = await mechanisms.sigstore.verify(signature, trust);
  await checkClaims(payload, requirement, images, mechanisms);
}

// One accepted signature suffices; otherwise the summary c/image builds from the rejections.
async function firstAccepted<S>(
  signatures: S[],
  accept: (s: S) => Promise<void>,
  none: string,
): Promise<void> {
  const reasons: string[] = [];
  for (const signature of signatures) {
    try {
      await accept(signature);
      return;
    } catch (error) {
      reasons.push(reasonOf(error));
    }
  }
  if (reasons.length === 0) throw rejection(none);
  if (reasons.length === 1) throw rejection(reasons[0]);
  throw rejection(`None of the signatures were accepted, reasons: ${reasons.join('; ')}`);
}

async function evaluateRequirement(
  requirement: PolicyRequirement,
  images: ImageSignatures,
  mechanisms: PolicyMechanisms,
): Promise<void> {
  switch (requirement.type) {
    case 'insecureAcceptAnything':
      return;
    case 'reject':
      throw new PolicyError(
        'POLICY_REJECTED',
        `Running image ${formatImageName(images.image.reference)} is rejected by policy.`,
      );
    case 'signedBaseLayer':
      throw new PolicyError('POLICY_REJECTED', 'signedBaseLayer not implemented yet!');
    case 'signedBy': {
      const signatures = await images.simple();
      return firstAccepted(
        signatures,
        (s) => acceptSimpleSignature(requirement, s, images, mechanisms),
        'A signature was required, but no signature exists',
      );
    }
    case 'sigstoreSigned': {
      const nonSigstore = (await images.simple()).length;
      const attachments = await images.sigstore();
      const signatures = attachments.filter((s) => s.mimeType === SIGSTORE_SIGNATURE_MIME_TYPE);
      const nonSignatures = attachments.length - signatures.length;
      const none =
        nonSigstore === 0 && nonSignatures === 0
          ? 'A signature was required, but no signature exists'
          : `A signature was required, but no signature exists (${nonSigstore} non-sigstore signatures, ${nonSignatures} sigstore non-signature attachments)`;
      return firstAccepted(
        signatures,
        (s) => acceptSigstoreSignature(requirement, s, images, mechanisms),
        none,
      );
    }
  }
}

/**
 * Decides whether `image` may be used under `policy` (c/image's IsRunningImageAllowed). Rejections are
 * returned in the decision, not thrown; failures to read the image's signatures or manifest are thrown.
 */
export async function evaluatePolicy(
  policy: Policy,
  image: PolicyImage,
  mechanisms: PolicyMechanisms,
): Promise<PolicyDecision> {
  const match = resolvePolicyScope(policy, image.reference);
  const images = new ImageSignatures(image);
  const outcomes: RequirementOutcome[] = [];
  const scope = match.transport === undefined ? {} : { transport: match.transport, scope: match.scope };
  for (const requirement of match.requirements) {
    try {
      await evaluateRequirement(requirement, images, mechanisms);
      outcomes.push({ type: requirement.type, result: 'accepted', reason: 'accepted' });
    } catch (error) {
      // Errors from fetching signatures are not a policy verdict: let them through.
      if (error instanceof ImageTrustError && !(error instanceof PolicyError)) throw error;
      const reason = reasonOf(error);
      outcomes.push({ type: requirement.type, result: 'rejected', reason });
      return { allowed: false, reason, scope, requirements: outcomes };
    }
  }
  return { allowed: true, scope, requirements: outcomes };
}

/** Like evaluatePolicy, but throws POLICY_REJECTED with the reason when the image is not allowed. */
export async function assertImageAllowed(
  policy: Policy,
  image: PolicyImage,
  mechanisms: PolicyMechanisms,
): Promise<PolicyDecision> {
  const decision = await evaluatePolicy(policy, image, mechanisms);
  if (!decision.allowed) throw new PolicyError('POLICY_REJECTED', decision.reason!);
  return decision;
}

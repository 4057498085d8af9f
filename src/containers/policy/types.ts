// The data model of containers-policy.json once parsed: requirements and signed-identity rules as
// discriminated unions, scopes per transport in file order.

/** How a signature's claimed docker reference must relate to the image (`signedIdentity`). */
export type SignedIdentity =
  | { type: 'matchExact' }
  | { type: 'matchRepoDigestOrExact' }
  | { type: 'matchRepository' }
  | { type: 'exactReference'; dockerReference: string }
  | { type: 'exactRepository'; dockerRepository: string }
  | { type: 'remapIdentity'; prefix: string; signedPrefix: string };

export const SIGNED_BY_KEY_TYPES = [
  'GPGKeys',
  'signedByGPGKeys',
  'X509Certificates',
  'signedByX509CAs',
] as const;
/** `keyType` values c/image accepts; only `GPGKeys` is implemented at evaluation time, as upstream. */
export type SignedByKeyType = (typeof SIGNED_BY_KEY_TYPES)[number];

/** Simple signing (OpenPGP); exactly one of keyPath, keyPaths, keyData is set. */
export interface SignedByRequirement {
  type: 'signedBy';
  keyType: SignedByKeyType;
  keyPath?: string;
  keyPaths?: string[];
  keyData?: Buffer;
  signedIdentity: SignedIdentity;
}

/** Fulcio trust for keyless sigstore signatures. */
export interface FulcioTrustConfig {
  caPath?: string;
  caData?: Buffer;
  oidcIssuer: string;
  subjectEmail: string;
}

/** Sigstore signatures (cosign layout); exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio. */
export interface SigstoreSignedRequirement {
  type: 'sigstoreSigned';
  keyPath?: string;
  keyPaths?: string[];
  keyData?: Buffer;
  keyDatas?: Buffer[];
  fulcio?: FulcioTrustConfig;
  rekorPublicKeyPath?: string;
  rekorPublicKeyPaths?: string[];
  rekorPublicKeyData?: Buffer;
  rekorPublicKeyDatas?: Buffer[];
  signedIdentity: SignedIdentity;
}

export type PolicyRequirement =
  | { type: 'insecureAcceptAnything' }
  | { type: 'reject' }
  | SignedByRequirement
  | SigstoreSignedRequirement
  | { type: 'signedBaseLayer'; baseLayerIdentity: SignedIdentity };

/** A parsed policy.json. Maps keep file order and never confuse a scope named `__proto__` with a prototype. */
export interface Policy {
  default: PolicyRequirement[];
  transports: Map<string, Map<string, PolicyRequirement[]>>;
}

// What policy evaluation needs from the outside: the image (manifest and signatures, fetched by a
// registry or layout adapter) and the signature cryptography (implemented by the signing module).
import type { ImageReference } from '../reference/index.ts';

/** What evaluation needs to know about the image. */
export interface PolicyImage {
  reference: ImageReference;
  /** The exact manifest bytes; for a digest reference the adapter has already checked them against it. */
  manifest(): Promise<{ bytes: Buffer; mimeType: string }>;
  /** Simple-signing (OpenPGP) signature blobs from the lookaside, dir:/oci: layout or registry extension. */
  simpleSignatures(): Promise<Buffer[]>;
  /** Sigstore attachments, including non-signature ones (counted, never verified). */
  sigstoreSignatures(): Promise<SigstoreSignature[]>;
}

/** One layer of a cosign attachment manifest. */
export interface SigstoreSignature {
  /** The layer media type; only `application/vnd.dev.cosign.simplesigning.v1+json` is a signature. */
  mimeType: string;
  payload: Buffer;
  annotations: Record<string, string>;
}

/** The payload fields policy checks after the cryptography passed. */
export interface SignedClaims {
  dockerManifestDigest: string;
  dockerReference: string;
}

/**
 * Simple signing: verify one signature blob with the given armored/binary key material; returns the
 * accepted payload or throws a PolicyError with the reference's reason text (`No public keys imported`,
 * `Invalid GPG signature: ...`, payload parse errors). Only keys in `keyMaterial` are trusted.
 */
export interface SimpleSigningMechanism {
  verify(
    signature: Buffer,
    keyMaterial: Buffer[],
    options: { keyType: 'GPGKeys' },
  ): Promise<{ fingerprint: string; payload: SignedClaims }>;
}

/** Fulcio trust as loaded from the policy: the CA certificates (PEM) and the identity they must attest. */
export interface FulcioTrust {
  caCertificates: Buffer;
  oidcIssuer: string;
  subjectEmail: string;
}

/** Sigstore: verify one signature with exactly one kind of trust; throws a PolicyError with the reason. */
export interface SigstoreMechanism {
  verify(
    signature: SigstoreSignature,
    trust: { publicKeys?: Buffer[]; fulcio?: FulcioTrust; rekorPublicKeys?: Buffer[] },
  ): Promise<{ payload: SignedClaims }>;
}

/** All injected capabilities of evaluatePolicy. */
export interface PolicyMechanisms {
  simpleSigning: SimpleSigningMechanism;
  sigstore: SigstoreMechanism;
  /** `<algorithm>:<hex>` of the manifest, with the docker schema1 rule; c/image 5.23 always asks for sha256. */
  manifestDigest(manifest: Buffer, algorithm: string): string;
  /** Reads a key or CA file; rejects with Go's text (`open <path>: no such file or directory`). */
  readKeyFile(path: string): Promise<Buffer>;
}

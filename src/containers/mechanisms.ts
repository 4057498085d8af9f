// The production wiring of policy evaluation: the real signature mechanisms, and where a docker
// image's signatures live according to registries.d (c/image's built-in lookaside as the fallback).
import { homedir } from 'node:os';
import type { PolicyMechanisms } from './policy/index.ts';
import { readKeyFile } from './policy/index.ts';
import type { DockerReference } from './reference/index.ts';
import {
  builtinLookaside,
  lookasideRepositoryURL,
  lookasideSignatureURL,
  type RegistriesConfig,
  usesSigstoreAttachments,
} from './registries-d/index.ts';
import { digestOf } from './registry/index.ts';
import { computeManifestDigest, createSimpleSigningMechanism } from './signing/index.ts';
import { createSigstoreMechanism } from './sigstore/index.ts';
import type { SignatureStorage } from './sources/index.ts';

export interface PolicyMechanismOptions {
  /** The time signatures and certificates are judged at. */
  now: () => Date;
  /** How signedBy/sigstoreSigned key paths are read; the CLI reads files, the server its stored keys. */
  readKeyFile?: PolicyMechanisms['readKeyFile'];
}

/** Simple signing (OpenPGP), sigstore, c/image's manifest digests, and key loading. */
export function createPolicyMechanisms(options: PolicyMechanismOptions): PolicyMechanisms {
  return {
    simpleSigning: createSimpleSigningMechanism({ now: options.now }),
    sigstore: createSigstoreMechanism(),
    manifestDigest: (manifest, algorithm) =>
      algorithm === 'sha256' ? computeManifestDigest(manifest) : digestOf(manifest, algorithm),
    readKeyFile: options.readKeyFile ?? readKeyFile,
  };
}

/** registries.d resolved for one docker image, with c/image's built-in lookaside as the fallback. */
export function signatureStorageFor(
  config: RegistriesConfig,
  user: { euid: number; home: string } = { euid: process.geteuid?.() ?? 1000, home: homedir() },
): (ref: DockerReference) => SignatureStorage {
  const fallback = builtinLookaside(user);
  return (ref) => {
    const repository = lookasideRepositoryURL(config, ref, { fallback });
    return {
      lookaside: (manifestDigest, index) => String(lookasideSignatureURL(repository, manifestDigest, index)),
      useSigstoreAttachments: usesSigstoreAttachments(config, ref),
    };
  };
}

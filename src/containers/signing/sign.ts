// skopeo standalone-sign's work (c/image SignDockerManifest): the payload for the manifest's digest and
// the given reference, signed as a binary OpenPGP message by the chosen key.
import type * as openpgp from 'openpgp';
import { computeManifestDigest } from './manifest-digest.ts';
import { signOpenPgpMessage } from './openpgp.ts';
import { createSimpleSigningPayload } from './payload.ts';

/** c/image writes `atomic <version>`; we say who really signed. */
export const SIMPLE_SIGNING_CREATOR = 'atomic imagetrust';

export interface SignDockerManifestOptions {
  manifest: Uint8Array;
  /** Not validated or normalised, as skopeo: the string is stored as given. */
  dockerReference: string;
  privateKeys: openpgp.PrivateKey[];
  fingerprint: string;
  now: Date;
  creator?: string;
}

/** The signature blob skopeo would write for this manifest and reference. */
export async function signDockerManifest(options: SignDockerManifestOptions): Promise<Uint8Array> {
  const payload = createSimpleSigningPayload({
    dockerManifestDigest: computeManifestDigest(options.manifest),
    dockerReference: options.dockerReference,
    creator: options.creator ?? SIMPLE_SIGNING_CREATOR,
    now: options.now,
  });
  return signOpenPgpMessage({
    content: payload,
    privateKeys: options.privateKeys,
    fingerprint: options.fingerprint,
    now: options.now,
  });
}

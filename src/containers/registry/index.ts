// The registry client: read manifests, blobs and tags from a Docker Registry v2 / OCI distribution API.
export {
  type AuthChallenge,
  parseAuthChallenges,
  parseCredentials,
  type RegistryCredentials,
} from './auth.ts';
export {
  digestOf,
  type FetchedManifest,
  isDigest,
  RegistryClient,
  type RegistryClientOptions,
} from './client.ts';
export {
  DOCKER_LIST,
  DOCKER_V2S1,
  DOCKER_V2S1_SIGNED,
  DOCKER_V2S2,
  guessManifestMimeType,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_MANIFEST,
} from './media-types.ts';
export { loadRegistryTls, type RegistryTls } from './tls.ts';

// registries.d: lookaside signature storage and sigstore attachment settings for docker images.

export {
  mergeRegistriesFiles,
  parseRegistriesFile,
  type RegistriesConfig,
  type RegistriesFile,
  type RegistryNamespace,
} from './config.ts';
export { lintRegistries } from './lint.ts';
export { readRegistriesDir } from './loader.ts';
export {
  builtinLookaside,
  configuredLookaside,
  type LookasideOptions,
  lookasideRepositoryURL,
  lookasideSignatureURL,
  registriesSectionsFor,
  usesSigstoreAttachments,
} from './lookaside.ts';

// The key manager: secrets with Barbican v1 semantics, envelope-encrypted at rest, and KEK rotation.
export {
  ACL_OPERATIONS,
  type AclAccess,
  type AclChange,
  type AclEntryRequest,
  type AclOperation,
  type AclRequest,
  aclAccessFor,
  planAclChange,
  readAclRequest,
  type SecretAcl,
  toAclView,
} from './acl.ts';
export {
  addCurrentKek,
  createKek,
  type KeyEncryptionKey,
  type Keyring,
  keyringFromBase64,
  openPayload,
  type PayloadBinding,
  parseKeyring,
  retireKeks,
  rewrapDataKey,
  sealPayload,
  serializeKeyring,
} from './envelope.ts';
export {
  isJsonAccept,
  negotiatePayload,
  type PayloadRepresentation,
  SUPPORTED_CONTENT_TYPES,
} from './media-types.ts';
export {
  readMetadataRequest,
  readMetadatumRequest,
  type SecretMetadata,
  type SecretMetadatum,
} from './metadata.ts';
export {
  KEY_MANAGER_VERSIONS,
  type KeyManagerVersion,
  SECRET_TYPES,
  type SealedPayload,
  type SecretRecord,
  type SecretType,
  type StoredContentType,
  toBarbicanTime,
  toSecretView,
} from './model.ts';
export type {
  Clock,
  KeyringProvider,
  KeyringStore,
  SecretListQuery,
  SecretRepository,
  WrappedKeyRow,
} from './ports.ts';
export {
  type DateFilterOp,
  DEFAULT_PAGE_SIZE,
  type ListQueryParams,
  MAX_PAGE_SIZE,
  MAX_SECRET_BYTES,
  parseIsoTime,
  readSecretCreateRequest,
  readSecretListQuery,
  type SecretSortKey,
} from './requests.ts';
export {
  type RetirementReport,
  type RotationReport,
  retireUnusedKeks,
  rewrapAllDataKeys,
  rotateKeyEncryptionKey,
} from './rotation.ts';
export {
  type AclChangeInput,
  type RawBody,
  type SecretForVerification,
  type SecretPage,
  SecretService,
  type SecretServiceOptions,
} from './service.ts';

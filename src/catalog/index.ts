// The image catalog: image records, statuses, visibility, members, and the catalog service.

export {
  type BootDecision,
  type BootDecisionInput,
  type BootImageView,
  decideBoot,
} from './boot/index.ts';
export { GovernanceService, type GovernanceServiceOptions } from './governance.ts';
export { DEFAULT_IMPORT_URI_FILTER, type ImportUriFilter, isImportUriAllowed } from './import-uri.ts';
export {
  assertNotObsolete,
  deprecationWarning,
  dueLifecycleChange,
  type LifecyclePlan,
  type LifecycleRequest,
  planLifecycleChange,
  readLifecycleRequest,
} from './lifecycle.ts';
export {
  CONTAINER_FORMATS,
  DISK_FORMATS,
  effectiveLifecycle,
  IMAGE_STATUSES,
  type ImageClass,
  type ImageMember,
  type ImageRecord,
  type ImageStatus,
  isStatusTransitionAllowed,
  LIFECYCLE_STATES,
  type LifecycleState,
  MEMBER_STATUSES,
  type MemberStatus,
  NEW_IMAGE_GOVERNANCE,
  toGlanceTimestamp,
  toImageView,
  toMemberView,
  VISIBILITIES,
  type Visibility,
} from './model.ts';
export type {
  BlobData,
  BlobHolder,
  BlobStore,
  ByteRange,
  Clock,
  Digester,
  DigesterFactory,
  DigestOptions,
  DigestResult,
  Digests,
  GovernanceFields,
  ImageListQuery,
  ImageRepository,
  ImportSource,
  ReleaseRepository,
  SortKey,
  SortOrder,
  StreamVerifierSpec,
  TaskRepository,
  TemporaryBlob,
  UploadInFlight,
  UploadLease,
  Viewer,
  WebDownloader,
} from './ports.ts';
export {
  planReconciliation,
  type ReconcileInput,
  type ReconcilePlan,
  type ReconcileReport,
  UploadRecovery,
} from './recovery.ts';
export {
  assertReleasable,
  assertSeparateApprover,
  type ComplianceReport,
  type ImageReport,
  REPORT_KINDS,
  type ReleaseRequest,
  type ReleaseRequirements,
  type ReleaseStatus,
  type ReleaseTarget,
  type ReportKind,
  readBootTestReport,
  readComplianceReport,
  sameDigest,
  type VerifiedProvenance,
} from './releases.ts';
export { type PatchOperation, type QueryParams, readImagePatch } from './requests.ts';
export { imageSchema, imagesSchema, memberSchema, membersSchema } from './schemas.ts';
export {
  type CatalogLimits,
  CatalogService,
  type DownloadResult,
  IMPORT_METHODS,
  OS_HASH_ALGO,
} from './service.ts';
export {
  type CertificateSource,
  createSignerTrustCheck,
  createUploadSignatureCheck,
  type SignatureCheckOptions,
  type UploadSignatureCheck,
} from './signature-check.ts';
export { stagingKey } from './staging.ts';
export {
  type ImportTask,
  TASK_STATUSES,
  type TaskListQuery,
  type TaskStatus,
  taskSchema,
  tasksSchema,
  toImageTaskView,
  toTaskStub,
  toTaskView,
} from './tasks.ts';
export { readVirtualSize } from './virtual-size.ts';

// Container admission decisions per project: stored policy.json, keys and registries.d, and the
// service that answers "may these images run?" with them for admission controllers and CI.
export { isContainerKeyName, KEY_MEDIA_TYPES, readContainerKey } from './keys.ts';
export type {
  ContainerKeyRecord,
  ContainerKeyType,
  ContainerTrustRepository,
  ProjectDocument,
  ProjectDocumentKind,
} from './ports.ts';
export {
  type ContainerKeyView,
  ContainerTrustService,
  type ContainerTrustServiceOptions,
  type ImageDecision,
  MAX_DECISION_IMAGES,
  parseApiPolicy,
  parseApiRegistries,
  readDecisionRequest,
  toContainerKeyView,
} from './service.ts';

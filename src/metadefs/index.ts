// Metadata definitions (Glance's metadefs): namespaces of property, object and tag definitions that
// tools such as Horizon read to describe image, volume and flavor properties.
export { type DefinitionFile, parseDefinitionFile } from './definitions.ts';
export {
  type AssociationRecord,
  ITEM_KINDS,
  type ItemKind,
  type ItemRecord,
  type NamespaceContents,
  type NamespaceRecord,
  type NamespaceVisibility,
  type ObjectDocument,
  type PropertyDocument,
  type ResourceTypeRecord,
} from './model.ts';
export {
  type MetadefRepository,
  NAMESPACE_SORT_KEYS,
  type NamespaceListQuery,
  type NamespaceSortKey,
} from './ports.ts';
export { METADEF_SCHEMA_NAMES, type MetadefSchemaName, metadefSchema } from './schemas.ts';
export {
  type MetadefEvents,
  type MetadefQuery,
  MetadefService,
  type MetadefServiceOptions,
} from './service.ts';

// The storage port of metadata definitions. Adapters throw ConflictError('CONFLICT') on a duplicate
// name and NotFoundError when what they change is gone; every multi-row change is one transaction.
import type {
  AssociationRecord,
  ItemKind,
  ItemRecord,
  NamespaceContents,
  NamespaceRecord,
  NamespaceVisibility,
  ResourceTypeRecord,
} from './model.ts';

export const NAMESPACE_SORT_KEYS = ['created_at', 'updated_at', 'namespace', 'visibility'] as const;
export type NamespaceSortKey = (typeof NAMESPACE_SORT_KEYS)[number];

export interface NamespaceListQuery {
  /** Administrators see every namespace; others the public ones and their project's. */
  viewer: { isAdmin: boolean; projectId: string | null };
  visibility?: NamespaceVisibility;
  /** Only namespaces associated with one of these resource types. */
  resourceTypes?: string[];
  sortKey: NamespaceSortKey;
  sortDir: 'asc' | 'desc';
  /** The namespace the page starts after. */
  marker?: NamespaceRecord;
  limit: number;
}

export interface MetadefRepository {
  findNamespace(name: string): Promise<NamespaceRecord | null>;
  listNamespaces(query: NamespaceListQuery): Promise<NamespaceRecord[]>;
  /** Creates a namespace with all it holds, or nothing; CONFLICT if the name (or an item's) is taken. */
  createNamespace(namespace: NamespaceRecord, contents: NamespaceContents): Promise<void>;
  /** Replaces a namespace's own fields (a rename included); CONFLICT if the new name is taken. */
  updateNamespace(namespace: NamespaceRecord): Promise<void>;
  /** Deletes a namespace and everything it holds. */
  deleteNamespace(id: string): Promise<void>;

  listItems<D = unknown>(namespaceId: string, kind: ItemKind): Promise<ItemRecord<D>[]>;
  findItem<D = unknown>(namespaceId: string, kind: ItemKind, name: string): Promise<ItemRecord<D> | null>;
  /** CONFLICT if the namespace already holds an item of that kind and name. */
  createItem(item: ItemRecord): Promise<void>;
  /** Replaces the item named `oldName` (renaming it to `item.name`); CONFLICT if the new name is taken. */
  updateItem(oldName: string, item: ItemRecord): Promise<void>;
  deleteItem(namespaceId: string, kind: ItemKind, name: string): Promise<void>;
  /** Deletes every item of a kind; for tags, also what `replaceTags` replaces. */
  deleteItems(namespaceId: string, kind: ItemKind): Promise<void>;
  /** Adds tags (after deleting the existing ones unless `append`), all or none; CONFLICT on a duplicate. */
  addTags(namespaceId: string, tags: ItemRecord[], append: boolean): Promise<void>;

  listResourceTypes(): Promise<ResourceTypeRecord[]>;
  listAssociations(namespaceIds: string[]): Promise<AssociationRecord[]>;
  /** Creates the resource type too when it is new (unprotected, as Glance does); CONFLICT if associated already. */
  createAssociation(association: AssociationRecord): Promise<void>;
  /** False when the namespace has no association with that resource type. */
  deleteAssociation(namespaceId: string, name: string): Promise<boolean>;

  /** The definition files already loaded (or skipped because their namespace existed), by file name. */
  loadedDefinitions(): Promise<Set<string>>;
  /**
   * Loads one definition file: its namespace and contents (resource types made protected) and the
   * record that it was loaded, in one transaction. A namespace of that name already there is kept
   * as it is and the file is only recorded. Returns whether the namespace was created.
   */
  loadDefinition(
    file: string,
    digest: string,
    namespace: NamespaceRecord,
    contents: NamespaceContents,
  ): Promise<boolean>;
}

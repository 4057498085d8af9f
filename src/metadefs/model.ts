// Metadata definitions as stored and as Glance renders them: namespaces, and what a namespace holds
// (objects, properties, tags, resource-type associations). Views follow Glance's WSME models: an
// attribute whose value is null is left out.

export const NAMESPACE_VISIBILITIES = ['public', 'private'] as const;
export type NamespaceVisibility = (typeof NAMESPACE_VISIBILITIES)[number];

export interface NamespaceRecord {
  /** Internal key; never shown (Glance names namespaces by their `namespace` text). */
  id: string;
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: NamespaceVisibility;
  protected: boolean;
  owner: string | null;
  created_at: string;
  updated_at: string;
}

/** A property type: Glance's PropertyType attributes (title, type, enum, ...), kept as JSON. */
export type PropertyDocument = Record<string, unknown>;

export interface ObjectDocument {
  description: string | null;
  required: string[] | null;
  properties: Record<string, PropertyDocument> | null;
}

/** What a namespace holds is stored as named items of one of three kinds, each with its JSON document. */
export const ITEM_KINDS = ['object', 'property', 'tag'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

export interface ItemRecord<D = unknown> {
  namespaceId: string;
  kind: ItemKind;
  name: string;
  document: D;
  created_at: string;
  updated_at: string;
}

export interface ResourceTypeRecord {
  name: string;
  protected: boolean;
  created_at: string;
  updated_at: string;
}

export interface AssociationRecord {
  namespaceId: string;
  name: string;
  prefix: string | null;
  properties_target: string | null;
  created_at: string;
  updated_at: string;
}

/** A namespace with everything it holds, as a definition file or a create request gives it. */
export interface NamespaceContents {
  associations: { name: string; prefix: string | null; properties_target: string | null }[];
  objects: { name: string; document: ObjectDocument }[];
  properties: { name: string; document: PropertyDocument }[];
  tags: string[];
}

/** The attributes of Glance's PropertyType, the only ones a stored property keeps. */
export const PROPERTY_ATTRIBUTES = [
  'name',
  'type',
  'title',
  'description',
  'operators',
  'default',
  'readonly',
  'minimum',
  'maximum',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'confidential',
  'items',
  'uniqueItems',
  'minItems',
  'maxItems',
  'additionalItems',
] as const;

/** A property as Glance stores it: its known attributes only (and `items` only with type and enum). */
export function toPropertyDocument(input: Record<string, unknown>): PropertyDocument {
  const out: PropertyDocument = {};
  for (const key of PROPERTY_ATTRIBUTES) {
    if (!(key in input)) continue;
    const value = input[key];
    if (key === 'items' && value !== null && typeof value === 'object') {
      const items = value as Record<string, unknown>;
      out.items = {
        ...('type' in items ? { type: items.type } : {}),
        ...('enum' in items ? { enum: items.enum } : {}),
      };
    } else {
      out[key] = value;
    }
  }
  return out;
}

export const namespaceHref = (namespace: string): string => `/v2/metadefs/namespaces/${namespace}`;
export const objectHref = (namespace: string, name: string): string =>
  `/v2/metadefs/namespaces/${namespace}/objects/${name}`;

function withoutNulls(view: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(view).filter(([, value]) => value !== null && value !== undefined),
  );
}

/** A namespace alone, as in lists and update answers. */
export function toNamespaceView(ns: NamespaceRecord): Record<string, unknown> {
  return withoutNulls({
    namespace: ns.namespace,
    display_name: ns.display_name,
    description: ns.description,
    visibility: ns.visibility,
    protected: ns.protected,
    owner: ns.owner,
    created_at: ns.created_at,
    updated_at: ns.updated_at,
    self: namespaceHref(ns.namespace),
    schema: '/v2/schemas/metadefs/namespace',
  });
}

export function toObjectView(namespace: string, item: ItemRecord<ObjectDocument>): Record<string, unknown> {
  return withoutNulls({
    name: item.name,
    description: item.document.description,
    required: item.document.required,
    properties: item.document.properties,
    created_at: item.created_at,
    updated_at: item.updated_at,
    self: objectHref(namespace, item.name),
    schema: '/v2/schemas/metadefs/object',
  });
}

/** A property on its own: its document with the name it is stored under. */
export function toPropertyView(item: ItemRecord<PropertyDocument>): Record<string, unknown> {
  return { ...item.document, name: item.name };
}

export function toTagView(item: ItemRecord): Record<string, unknown> {
  return { name: item.name, created_at: item.created_at, updated_at: item.updated_at };
}

export function toAssociationView(association: AssociationRecord): Record<string, unknown> {
  return withoutNulls({
    name: association.name,
    prefix: association.prefix,
    properties_target: association.properties_target,
    created_at: association.created_at,
    updated_at: association.updated_at,
  });
}

export function toResourceTypeView(type: ResourceTypeRecord): Record<string, unknown> {
  return { name: type.name, created_at: type.created_at, updated_at: type.updated_at };
}

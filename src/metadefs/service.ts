// The metadata-definitions service (Glance's metadefs API): every action is authorized under Glance's
// metadef rule names, a namespace the caller may not see is a 404 (never a 403 that would reveal it),
// and bodies are checked against Glance's schemas before anything is stored.
import { randomUUID } from 'node:crypto';
import { AuthError, ConflictError, NotFoundError, ValidationError } from '../errors/index.ts';
import type { DomainEvent, DomainEventStream } from '../events/index.ts';
import type { Authorizer, Credentials } from '../identity/index.ts';
import {
  type AssociationRecord,
  type ItemKind,
  type ItemRecord,
  type NamespaceContents,
  type NamespaceRecord,
  type NamespaceVisibility,
  type ObjectDocument,
  type PropertyDocument,
  toAssociationView,
  toNamespaceView,
  toObjectView,
  toPropertyDocument,
  toPropertyView,
  toResourceTypeView,
  toTagView,
} from './model.ts';
import { type MetadefRepository, NAMESPACE_SORT_KEYS, type NamespaceSortKey } from './ports.ts';
import { BODY_SCHEMAS, findSchemaViolation } from './schemas.ts';

export interface MetadefClock {
  now(): Date;
}

/** Where changes are recorded, each with its event in one transaction (the domain-event stream). */
export type MetadefEvents = Pick<DomainEventStream, 'withEvents'>;

export interface MetadefServiceOptions {
  repository: MetadefRepository;
  authorizer: Authorizer;
  clock: MetadefClock;
  events: MetadefEvents;
  /** Glance's limit_param_default and api_limit_max for namespace lists. */
  limits?: { default: number; max: number };
}

/** Query parameters as the HTTP edge hands them over (repeated ones as arrays). */
export type MetadefQuery = Record<string, string | string[] | undefined>;

type Body = Record<string, unknown>;
type View = Record<string, unknown>;

const NAMESPACE_READ_ONLY = ['self', 'schema', 'created_at', 'updated_at'];
const ITEM_READ_ONLY = ['created_at', 'updated_at'];
const TRUE_WORDS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);

function lastValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Glance refuses read-only keys with 403 before it validates, then checks the schema (400). */
function readBody(body: unknown, schema: Record<string, unknown>, readOnly: string[]): Body {
  if (body === undefined || body === null)
    throw new ValidationError('BAD_REQUEST', 'Body expected in request.');
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError(
      'SCHEMA_VIOLATION',
      `Provided object does not match schema '${schema.name}': the body must be a JSON object`,
    );
  }
  const object = body as Body;
  for (const key of readOnly) {
    if (key in object) throw new ValidationError('READ_ONLY_ATTRIBUTE', `Attribute '${key}' is read-only.`);
  }
  const problem = findSchemaViolation(schema, object);
  if (problem) {
    throw new ValidationError(
      'SCHEMA_VIOLATION',
      `Provided object does not match schema '${schema.name}': ${problem}`,
    );
  }
  return object;
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function toObjectDocument(body: Body): ObjectDocument {
  const properties = body.properties as Record<string, Body> | undefined | null;
  return {
    description: text(body.description),
    required: Array.isArray(body.required) ? (body.required as string[]) : null,
    properties: properties
      ? Object.fromEntries(Object.entries(properties).map(([name, p]) => [name, toPropertyDocument(p)]))
      : null,
  };
}

function requireName(entry: Body, what: string): string {
  if (typeof entry.name !== 'string') {
    throw new ValidationError('SCHEMA_VIOLATION', `Invalid input: ${what} needs a 'name'.`);
  }
  return entry.name;
}

/** What a namespace body (a create request or a definition file) holds besides the namespace itself. */
export function readNamespaceContents(body: Body): NamespaceContents {
  const list = (key: string) => (Array.isArray(body[key]) ? (body[key] as Body[]) : []);
  return {
    associations: list('resource_type_associations').map((entry) => ({
      name: requireName(entry, 'a resource type association'),
      prefix: text(entry.prefix),
      properties_target: text(entry.properties_target),
    })),
    objects: list('objects').map((entry) => ({
      name: requireName(entry, 'an object'),
      document: toObjectDocument(entry),
    })),
    properties: Object.entries((body.properties as Record<string, Body> | undefined) ?? {}).map(
      ([name, document]) => ({ name, document: toPropertyDocument(document) }),
    ),
    tags: list('tags').map((entry) => requireName(entry, 'a tag')),
  };
}

function prefixed(view: View, prefix: string): View {
  const properties = view.properties as Record<string, unknown> | undefined;
  const out: View = { ...view };
  if (properties)
    out.properties = Object.fromEntries(Object.entries(properties).map(([k, v]) => [prefix + k, v]));
  if (Array.isArray(view.required) && view.required.length > 0) {
    out.required = (view.required as string[]).map((name) => prefix + name);
  }
  return out;
}

export class MetadefService {
  readonly #repository: MetadefRepository;
  readonly #authorizer: Authorizer;
  readonly #clock: MetadefClock;
  readonly #events: MetadefEvents;
  readonly #limits: { default: number; max: number };

  constructor(options: MetadefServiceOptions) {
    this.#repository = options.repository;
    this.#authorizer = options.authorizer;
    this.#clock = options.clock;
    this.#events = options.events;
    this.#limits = options.limits ?? { default: 25, max: 1000 };
  }

  // --- authorization -------------------------------------------------------------------------------

  #target(credentials: Credentials, namespace?: NamespaceRecord) {
    return namespace
      ? { projectId: namespace.owner, visibility: namespace.visibility }
      : { projectId: credentials.projectId };
  }

  /**
   * Enforces a rule on a namespace. Refused, it is a 404 when the caller may not even see the
   * namespace (as Glance hides namespaces outside the caller's reach), and a 403 otherwise.
   */
  #enforce(credentials: Credentials, action: string, namespace?: NamespaceRecord): void {
    const target = this.#target(credentials, namespace);
    if (this.#authorizer.isAllowed(action, credentials, target)) return;
    if (
      namespace &&
      (action === 'get_metadef_namespace' ||
        !this.#authorizer.isAllowed('get_metadef_namespace', credentials, target))
    ) {
      throw new NotFoundError(`Namespace ${namespace.namespace} not found`);
    }
    throw new AuthError('FORBIDDEN', `You are not authorized to complete ${action} action.`);
  }

  #isAllowed(credentials: Credentials, action: string, namespace: NamespaceRecord): boolean {
    return this.#authorizer.isAllowed(action, credentials, this.#target(credentials, namespace));
  }

  /** Glance's `context.is_admin`: whatever the `context_is_admin` rule says of the caller. */
  #isAdmin(credentials: Credentials): boolean {
    return this.#authorizer.isAllowed('context_is_admin', credentials, { projectId: credentials.projectId });
  }

  /** The namespace if the caller may see it at all (admin, public, unowned or their project's); else 404. */
  async #visibleNamespace(credentials: Credentials, name: string): Promise<NamespaceRecord> {
    const namespace = await this.#repository.findNamespace(name);
    const visible =
      namespace !== null &&
      (this.#isAdmin(credentials) ||
        namespace.owner === null ||
        namespace.visibility === 'public' ||
        (credentials.projectId !== null && credentials.projectId === namespace.owner));
    if (!visible) throw new NotFoundError(`Namespace ${name} not found`);
    return namespace;
  }

  #assertDeletable(namespace: NamespaceRecord, what: string): void {
    if (namespace.protected) {
      throw new ConflictError('METADEF_PROTECTED', `${what} is protected and cannot be deleted.`);
    }
  }

  #now(): string {
    return timestamp(this.#clock.now());
  }

  /**
   * Runs a change with its `metadef.changed` event in one transaction. The event names the action by
   * its rule name, the namespace (and the item) changed, and the namespace's owner.
   */
  async #change(
    credentials: Credentials,
    action: string,
    namespace: Pick<NamespaceRecord, 'namespace' | 'owner'>,
    item: string | null,
    work: () => Promise<unknown>,
  ): Promise<void> {
    const event: DomainEvent = {
      type: 'metadef.changed',
      actor: { userId: credentials.userId, userName: credentials.userName, projectId: credentials.projectId },
      projectId: namespace.owner,
      subjectId: namespace.namespace,
      details: { action, namespace: namespace.namespace, ...(item !== null ? { name: item } : {}) },
    };
    await this.#events.withEvents(async (record) => {
      await work();
      record(event);
    });
  }

  // --- namespaces ----------------------------------------------------------------------------------

  async listNamespaces(credentials: Credentials, query: MetadefQuery): Promise<View> {
    const limitText = lastValue(query.limit);
    let limit = this.#limits.default;
    if (limitText !== undefined) {
      if (!/^-?\d+$/.test(limitText.trim()))
        throw new ValidationError('INVALID_QUERY', 'limit param must be an integer');
      limit = Math.min(this.#limits.max, Number(limitText));
      if (limit < 0) throw new ValidationError('INVALID_QUERY', 'limit param must be positive');
    }
    const sortDir = lastValue(query.sort_dir) ?? 'desc';
    if (sortDir !== 'asc' && sortDir !== 'desc') {
      throw new ValidationError('INVALID_QUERY', `Invalid sort direction: ${sortDir}`);
    }
    const sortKey = lastValue(query.sort_key) ?? 'created_at';
    if (!(NAMESPACE_SORT_KEYS as readonly string[]).includes(sortKey)) {
      throw new ValidationError('INVALID_QUERY', `Invalid sort key: ${sortKey}`);
    }
    const visibility = lastValue(query.visibility);
    if (visibility && visibility !== 'public' && visibility !== 'private') {
      throw new ValidationError('INVALID_QUERY', `Invalid visibility value: ${visibility}`);
    }
    this.#enforce(credentials, 'get_metadef_namespaces');
    this.#enforce(credentials, 'list_metadef_resource_types');
    const markerName = lastValue(query.marker);
    const marker = markerName ? await this.#visibleNamespace(credentials, markerName) : undefined;
    const resourceTypes = lastValue(query.resource_types);
    const found = await this.#repository.listNamespaces({
      viewer: { isAdmin: this.#isAdmin(credentials), projectId: credentials.projectId },
      visibility: (visibility || undefined) as NamespaceVisibility | undefined,
      resourceTypes: resourceTypes !== undefined ? resourceTypes.split(',') : undefined,
      sortKey: sortKey as NamespaceSortKey,
      sortDir,
      marker,
      limit,
    });
    // As in Glance, a page is cut before the per-namespace rule filters it, so it may come out short.
    const shown = found.filter((ns) => this.#isAllowed(credentials, 'get_metadef_namespace', ns));
    const associations = await this.#repository.listAssociations(shown.map((ns) => ns.id));
    const namespaces = shown.map((ns) => {
      const view = toNamespaceView(ns);
      const own = associations.filter((a) => a.namespaceId === ns.id).map(toAssociationView);
      return own.length > 0 ? { ...view, resource_type_associations: own } : view;
    });
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (key !== 'marker' && value !== undefined) params.set(key, lastValue(value)!);
    }
    const first = `/v2/metadefs/namespaces${params.size > 0 ? `?${params}` : ''}`;
    const result: View = { namespaces, first, schema: '/v2/schemas/metadefs/namespaces' };
    if (namespaces.length !== 0 && namespaces.length === limit) {
      params.set('marker', shown[shown.length - 1].namespace);
      result.next = `/v2/metadefs/namespaces?${params}`;
    }
    return result;
  }

  async createNamespace(credentials: Credentials, input: unknown): Promise<View> {
    const body = readBody(input, BODY_SCHEMAS.namespace(), NAMESPACE_READ_ONLY);
    const contents = readNamespaceContents(body);
    this.#enforce(credentials, 'add_metadef_namespace');
    if (contents.associations.length > 0) this.#enforce(credentials, 'add_metadef_resource_type_association');
    if (contents.objects.length > 0) this.#enforce(credentials, 'add_metadef_object');
    if (contents.properties.length > 0) this.#enforce(credentials, 'add_metadef_property');
    if (contents.tags.length > 0) this.#enforce(credentials, 'add_metadef_tag');
    const now = this.#now();
    const namespace: NamespaceRecord = {
      id: randomUUID(),
      namespace: body.namespace as string,
      display_name: text(body.display_name),
      description: text(body.description),
      visibility: (body.visibility as NamespaceVisibility | undefined) ?? 'private',
      protected: (body.protected as boolean | undefined) ?? false,
      owner: 'owner' in body ? (body.owner as string) : credentials.projectId,
      created_at: now,
      updated_at: now,
    };
    await this.#change(credentials, 'add_metadef_namespace', namespace, null, () =>
      this.#repository.createNamespace(namespace, contents),
    );
    // Glance answers with what was asked for: the contents as given, without their own timestamps.
    const view = toNamespaceView(namespace);
    for (const key of ['resource_type_associations', 'properties', 'objects', 'tags']) {
      if (body[key] !== undefined && body[key] !== null) view[key] = body[key];
    }
    if (body.properties)
      view.properties = Object.fromEntries(contents.properties.map((p) => [p.name, p.document]));
    return view;
  }

  async getNamespace(credentials: Credentials, name: string, resourceType?: string): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'get_metadef_namespace', namespace);
    for (const action of [
      'list_metadef_resource_types',
      'get_metadef_objects',
      'get_metadef_properties',
      'get_metadef_tags',
    ]) {
      this.#enforce(credentials, action, namespace);
    }
    let view = toNamespaceView(namespace);
    const objects = await this.#repository.listItems<ObjectDocument>(namespace.id, 'object');
    if (objects.length > 0) view.objects = objects.map((o) => toObjectView(name, o));
    const associations = await this.#repository.listAssociations([namespace.id]);
    if (associations.length > 0) view.resource_type_associations = associations.map(toAssociationView);
    const properties = await this.#repository.listItems<PropertyDocument>(namespace.id, 'property');
    if (properties.length > 0)
      view.properties = Object.fromEntries(properties.map((p) => [p.name, p.document]));
    const prefix = resourceType ? associations.find((a) => a.name === resourceType)?.prefix : null;
    if (prefix) {
      view = prefixed(view, prefix);
      if (Array.isArray(view.objects))
        view.objects = (view.objects as View[]).map((o) => prefixed(o, prefix));
    }
    const tags = await this.#repository.listItems(namespace.id, 'tag');
    if (tags.length > 0) view.tags = tags.map((t) => ({ name: t.name }));
    return view;
  }

  async updateNamespace(credentials: Credentials, name: string, input: unknown): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    const body = readBody(input, BODY_SCHEMAS.namespace(), NAMESPACE_READ_ONLY);
    this.#enforce(credentials, 'modify_metadef_namespace', namespace);
    // A PUT replaces: what is left out goes back to its default, as at creation.
    const updated: NamespaceRecord = {
      ...namespace,
      namespace: body.namespace as string,
      display_name: text(body.display_name),
      description: text(body.description),
      visibility: (body.visibility as NamespaceVisibility | undefined) ?? 'private',
      protected: (body.protected as boolean | undefined) ?? false,
      owner: (body.owner as string | undefined) || credentials.projectId,
      updated_at: this.#now(),
    };
    await this.#change(credentials, 'modify_metadef_namespace', namespace, null, () =>
      this.#repository.updateNamespace(updated),
    );
    return toNamespaceView(updated);
  }

  async deleteNamespace(credentials: Credentials, name: string): Promise<void> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'delete_metadef_namespace', namespace);
    this.#assertDeletable(namespace, `Metadata definition namespace ${name}`);
    await this.#change(credentials, 'delete_metadef_namespace', namespace, null, () =>
      this.#repository.deleteNamespace(namespace.id),
    );
  }

  /** DELETE .../objects, .../properties, .../tags: empties the namespace of one kind (Glance's rules). */
  async deleteNamespaceContents(credentials: Credentials, name: string, kind: ItemKind): Promise<void> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'delete_metadef_namespace', namespace);
    if (kind === 'tag') this.#enforce(credentials, 'delete_metadef_tags', namespace);
    this.#assertDeletable(namespace, `Metadata definition namespace ${name}`);
    const plural = { object: 'objects', property: 'properties', tag: 'tags' }[kind];
    await this.#change(credentials, `delete_all_metadef_${plural}`, namespace, null, () =>
      this.#repository.deleteItems(namespace.id, kind),
    );
  }

  // --- objects -------------------------------------------------------------------------------------

  async #item<D>(namespace: NamespaceRecord, kind: ItemKind, name: string): Promise<ItemRecord<D>> {
    const item = await this.#repository.findItem<D>(namespace.id, kind, name);
    if (!item) {
      throw new NotFoundError(
        `The metadata definition ${kind} with name=${name} was not found in namespace=${namespace.namespace}.`,
      );
    }
    return item;
  }

  async listObjects(credentials: Credentials, name: string): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'get_metadef_objects', namespace);
    const objects = await this.#repository.listItems<ObjectDocument>(namespace.id, 'object');
    const shown = this.#isAllowed(credentials, 'get_metadef_object', namespace) ? objects : [];
    return { objects: shown.map((o) => toObjectView(name, o)), schema: 'v2/schemas/metadefs/objects' };
  }

  async createObject(credentials: Credentials, name: string, input: unknown): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    const body = readBody(input, BODY_SCHEMAS.object(), NAMESPACE_READ_ONLY);
    const propertySchema = BODY_SCHEMAS.objectProperty();
    for (const [key, value] of Object.entries((body.properties as Body | undefined) ?? {})) {
      const problem = findSchemaViolation(propertySchema, value);
      if (problem) {
        throw new ValidationError(
          'SCHEMA_VIOLATION',
          `Provided object does not match schema 'property': ${problem} (property '${key}')`,
        );
      }
    }
    this.#enforce(credentials, 'add_metadef_object', namespace);
    const now = this.#now();
    const item: ItemRecord<ObjectDocument> = {
      namespaceId: namespace.id,
      kind: 'object',
      name: body.name as string,
      document: toObjectDocument(body),
      created_at: now,
      updated_at: now,
    };
    await this.#change(credentials, 'add_metadef_object', namespace, item.name, () =>
      this.#repository.createItem(item),
    );
    return toObjectView(name, item);
  }

  async getObject(credentials: Credentials, name: string, objectName: string): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'get_metadef_object', namespace);
    return toObjectView(name, await this.#item<ObjectDocument>(namespace, 'object', objectName));
  }

  async updateObject(
    credentials: Credentials,
    name: string,
    objectName: string,
    input: unknown,
  ): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    const body = readBody(input, BODY_SCHEMAS.object(), NAMESPACE_READ_ONLY);
    this.#enforce(credentials, 'modify_metadef_object', namespace);
    const existing = await this.#item<ObjectDocument>(namespace, 'object', objectName);
    const updated = {
      ...existing,
      name: body.name as string,
      document: toObjectDocument(body),
      updated_at: this.#now(),
    };
    await this.#change(credentials, 'modify_metadef_object', namespace, objectName, () =>
      this.#repository.updateItem(objectName, updated),
    );
    return toObjectView(name, updated);
  }

  async deleteObject(credentials: Credentials, name: string, objectName: string): Promise<void> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'delete_metadef_object', namespace);
    await this.#item(namespace, 'object', objectName);
    this.#assertDeletable(namespace, `Metadata definition object ${objectName}`);
    await this.#change(credentials, 'delete_metadef_object', namespace, objectName, () =>
      this.#repository.deleteItem(namespace.id, 'object', objectName),
    );
  }

  // --- properties ----------------------------------------------------------------------------------

  async listProperties(credentials: Credentials, name: string): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'get_metadef_properties', namespace);
    const properties = await this.#repository.listItems<PropertyDocument>(namespace.id, 'property');
    return { properties: Object.fromEntries(properties.map((p) => [p.name, p.document])) };
  }

  async createProperty(credentials: Credentials, name: string, input: unknown): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    const body = readBody(input, BODY_SCHEMAS.property(), ITEM_READ_ONLY);
    this.#enforce(credentials, 'add_metadef_property', namespace);
    const now = this.#now();
    const item: ItemRecord<PropertyDocument> = {
      namespaceId: namespace.id,
      kind: 'property',
      name: body.name as string,
      document: toPropertyDocument(body),
      created_at: now,
      updated_at: now,
    };
    await this.#change(credentials, 'add_metadef_property', namespace, item.name, () =>
      this.#repository.createItem(item),
    );
    return toPropertyView(item);
  }

  async getProperty(
    credentials: Credentials,
    name: string,
    propertyName: string,
    resourceType?: string,
  ): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'get_metadef_property', namespace);
    let stored = propertyName;
    if (resourceType) {
      this.#enforce(credentials, 'get_metadef_resource_type', namespace);
      const association = (await this.#repository.listAssociations([namespace.id])).find(
        (a) => a.name === resourceType,
      );
      if (!association) {
        throw new NotFoundError(
          `The metadata definition resource-type association of resource-type=${resourceType} to namespace=${name}, was not found.`,
        );
      }
      const prefix = association.prefix;
      if (!prefix || !propertyName.startsWith(prefix)) {
        throw new NotFoundError(
          `Property ${propertyName} does not start with the expected resource type association prefix of '${prefix}'.`,
        );
      }
      stored = propertyName.slice(prefix.length);
    }
    return toPropertyView(await this.#item<PropertyDocument>(namespace, 'property', stored));
  }

  async updateProperty(
    credentials: Credentials,
    name: string,
    propertyName: string,
    input: unknown,
  ): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    const body = readBody(input, BODY_SCHEMAS.property(), ITEM_READ_ONLY);
    this.#enforce(credentials, 'modify_metadef_property', namespace);
    const existing = await this.#item<PropertyDocument>(namespace, 'property', propertyName);
    const updated = {
      ...existing,
      name: body.name as string,
      document: toPropertyDocument(body),
      updated_at: this.#now(),
    };
    await this.#change(credentials, 'modify_metadef_property', namespace, propertyName, () =>
      this.#repository.updateItem(propertyName, updated),
    );
    return toPropertyView(updated);
  }

  async deleteProperty(credentials: Credentials, name: string, propertyName: string): Promise<void> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'remove_metadef_property', namespace);
    await this.#item(namespace, 'property', propertyName);
    this.#assertDeletable(namespace, `Metadata definition property ${propertyName}`);
    await this.#change(credentials, 'remove_metadef_property', namespace, propertyName, () =>
      this.#repository.deleteItem(namespace.id, 'property', propertyName),
    );
  }

  // --- tags ----------------------------------------------------------------------------------------

  async listTags(credentials: Credentials, name: string, query: MetadefQuery): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    const sortDir = lastValue(query.sort_dir) ?? 'desc';
    if (sortDir !== 'asc' && sortDir !== 'desc') {
      throw new ValidationError('INVALID_QUERY', `Invalid sort direction: ${sortDir}`);
    }
    const sortKey = lastValue(query.sort_key) ?? 'created_at';
    if (!['created_at', 'updated_at', 'name'].includes(sortKey)) {
      throw new ValidationError('INVALID_QUERY', `Invalid sort key: ${sortKey}`);
    }
    const limitText = lastValue(query.limit);
    let limit: number | undefined;
    if (limitText) {
      if (!/^-?\d+$/.test(limitText.trim()))
        throw new ValidationError('INVALID_QUERY', 'limit param must be an integer');
      limit = Number(limitText);
      if (limit < 0) throw new ValidationError('INVALID_QUERY', 'limit param must be positive');
    }
    this.#enforce(credentials, 'get_metadef_tags', namespace);
    const tags = await this.#repository.listItems(namespace.id, 'tag');
    const key = sortKey as 'created_at' | 'updated_at' | 'name';
    const sign = sortDir === 'asc' ? 1 : -1;
    tags.sort((a, b) => sign * (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.name < b.name ? -1 : 1));
    let start = 0;
    const marker = lastValue(query.marker);
    if (marker) {
      start = tags.findIndex((t) => t.name === marker) + 1;
      if (start === 0) {
        throw new NotFoundError(
          `The metadata definition tag with name=${marker} was not found in namespace=${name}.`,
        );
      }
    }
    const page = tags.slice(start, limit === undefined ? undefined : start + limit);
    return { tags: page.map((t) => ({ name: t.name })) };
  }

  async createTag(credentials: Credentials, name: string, tagName: string): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    readBody({ name: tagName }, BODY_SCHEMAS.tag(), []);
    this.#enforce(credentials, 'add_metadef_tag', namespace);
    const now = this.#now();
    const item: ItemRecord = {
      namespaceId: namespace.id,
      kind: 'tag',
      name: tagName,
      document: {},
      created_at: now,
      updated_at: now,
    };
    await this.#change(credentials, 'add_metadef_tag', namespace, item.name, () =>
      this.#repository.createItem(item),
    );
    return toTagView(item);
  }

  async createTags(
    credentials: Credentials,
    name: string,
    input: unknown,
    append: string | undefined,
  ): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    const body = readBody(input, BODY_SCHEMAS.tags(), ITEM_READ_ONLY);
    // Glance fails with a 500 on a body without `tags`; replacing every tag with nothing is no better.
    if (!Array.isArray(body.tags)) {
      throw new ValidationError(
        'SCHEMA_VIOLATION',
        "Provided object does not match schema 'tags': 'tags' is a required property",
      );
    }
    this.#enforce(credentials, 'add_metadef_tags', namespace);
    const now = this.#now();
    const names = ((body.tags as Body[] | undefined) ?? []).map((t) => t.name as string);
    const items: ItemRecord[] = names.map((tag) => ({
      namespaceId: namespace.id,
      kind: 'tag',
      name: tag,
      document: {},
      created_at: now,
      updated_at: now,
    }));
    const appending = TRUE_WORDS.has((append ?? '').trim().toLowerCase());
    await this.#change(credentials, 'add_metadef_tags', namespace, null, () =>
      this.#repository.addTags(namespace.id, items, appending),
    );
    return { tags: names.map((tag) => ({ name: tag })) };
  }

  async getTag(credentials: Credentials, name: string, tagName: string): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'get_metadef_tag', namespace);
    return toTagView(await this.#item(namespace, 'tag', tagName));
  }

  async updateTag(credentials: Credentials, name: string, tagName: string, input: unknown): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    const body = readBody(input, BODY_SCHEMAS.tag(), ITEM_READ_ONLY);
    this.#enforce(credentials, 'modify_metadef_tag', namespace);
    const existing = await this.#item(namespace, 'tag', tagName);
    const updated = { ...existing, name: body.name as string, updated_at: this.#now() };
    await this.#change(credentials, 'modify_metadef_tag', namespace, tagName, () =>
      this.#repository.updateItem(tagName, updated),
    );
    return toTagView(updated);
  }

  async deleteTag(credentials: Credentials, name: string, tagName: string): Promise<void> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'delete_metadef_tag', namespace);
    await this.#item(namespace, 'tag', tagName);
    this.#assertDeletable(namespace, `Metadata definition tag ${tagName}`);
    await this.#change(credentials, 'delete_metadef_tag', namespace, tagName, () =>
      this.#repository.deleteItem(namespace.id, 'tag', tagName),
    );
  }

  // --- resource types ------------------------------------------------------------------------------

  async listResourceTypes(credentials: Credentials): Promise<View> {
    this.#enforce(credentials, 'list_metadef_resource_types');
    const types = await this.#repository.listResourceTypes();
    return { resource_types: types.map(toResourceTypeView) };
  }

  async listAssociations(credentials: Credentials, name: string): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'list_metadef_resource_types', namespace);
    const associations = await this.#repository.listAssociations([namespace.id]);
    const shown = this.#isAllowed(credentials, 'get_metadef_resource_type', namespace) ? associations : [];
    return { resource_type_associations: shown.map(toAssociationView) };
  }

  async createAssociation(credentials: Credentials, name: string, input: unknown): Promise<View> {
    const namespace = await this.#visibleNamespace(credentials, name);
    const body = readBody(input, BODY_SCHEMAS.resourceTypeAssociation(), ITEM_READ_ONLY);
    this.#enforce(credentials, 'add_metadef_resource_type_association', namespace);
    const now = this.#now();
    const association: AssociationRecord = {
      namespaceId: namespace.id,
      name: body.name as string,
      prefix: text(body.prefix),
      properties_target: text(body.properties_target),
      created_at: now,
      updated_at: now,
    };
    await this.#change(
      credentials,
      'add_metadef_resource_type_association',
      namespace,
      association.name,
      () => this.#repository.createAssociation(association),
    );
    return toAssociationView(association);
  }

  async deleteAssociation(credentials: Credentials, name: string, resourceType: string): Promise<void> {
    const namespace = await this.#visibleNamespace(credentials, name);
    this.#enforce(credentials, 'remove_metadef_resource_type_association', namespace);
    const associations = await this.#repository.listAssociations([namespace.id]);
    if (!associations.some((a) => a.name === resourceType)) {
      throw new NotFoundError(`Failed to find resource type ${resourceType} to delete`);
    }
    this.#assertDeletable(namespace, `Metadata definition resource-type-association ${resourceType}`);
    await this.#change(credentials, 'remove_metadef_resource_type_association', namespace, resourceType, () =>
      this.#repository.deleteAssociation(namespace.id, resourceType),
    );
  }
}

// Glance's metadata-definition schemas (served at /v2/schemas/metadefs/...) and the small JSON Schema
// (draft 4) check Glance runs on request bodies with them. The documents are the API contract, so
// their field names, limits and descriptions follow Glance 25 (Zed); the checker is our own.

type Json = unknown;
type SchemaNode = Record<string, Json>;

const TYPE_NAMES = ['array', 'boolean', 'integer', 'number', 'object', 'string', null];

/** Glance's shared definitions: a property type and the helpers it refers to. */
function namespaceDefinitions(): SchemaNode {
  return {
    positiveInteger: { type: 'integer', minimum: 0 },
    positiveIntegerDefault0: { allOf: [{ $ref: '#/definitions/positiveInteger' }, { default: 0 }] },
    stringArray: { type: 'array', items: { type: 'string' }, uniqueItems: true },
    property: { type: 'object', additionalProperties: propertyDocument() },
  };
}

function propertyFields(): SchemaNode {
  return {
    name: { type: 'string', maxLength: 80 },
    title: { type: 'string' },
    description: { type: 'string' },
    operators: { type: 'array', items: { type: 'string' } },
    type: { type: 'string', enum: TYPE_NAMES },
    required: { $ref: '#/definitions/stringArray' },
    minimum: { type: 'number' },
    maximum: { type: 'number' },
    maxLength: { $ref: '#/definitions/positiveInteger' },
    minLength: { $ref: '#/definitions/positiveIntegerDefault0' },
    pattern: { type: 'string', format: 'regex' },
    enum: { type: 'array' },
    readonly: { type: 'boolean' },
    default: {},
    items: {
      type: 'object',
      properties: { type: { type: 'string', enum: TYPE_NAMES }, enum: { type: 'array' } },
    },
    maxItems: { $ref: '#/definitions/positiveInteger' },
    minItems: { $ref: '#/definitions/positiveIntegerDefault0' },
    uniqueItems: { type: 'boolean', default: false },
    additionalItems: { type: 'boolean' },
  };
}

function propertyDocument(): SchemaNode {
  return { type: 'object', required: ['title', 'type'], properties: propertyFields() };
}

const readOnlyTime = (what: string): SchemaNode => ({
  type: 'string',
  readOnly: true,
  description: what,
  format: 'date-time',
});

const readOnlyString = (): SchemaNode => ({ readOnly: true, type: 'string' });

function namespaceSchema(): SchemaNode {
  return {
    name: 'namespace',
    properties: {
      namespace: { type: 'string', description: 'The unique namespace text.', maxLength: 80 },
      display_name: {
        type: 'string',
        description: 'The user friendly name for the namespace. Used by UI if available.',
        maxLength: 80,
      },
      description: {
        type: 'string',
        description: 'Provides a user friendly description of the namespace.',
        maxLength: 500,
      },
      visibility: {
        type: 'string',
        description: 'Scope of namespace accessibility.',
        enum: ['public', 'private'],
      },
      protected: { type: 'boolean', description: 'If true, namespace will not be deletable.' },
      owner: { type: 'string', description: 'Owner of the namespace.', maxLength: 255 },
      created_at: readOnlyTime('Date and time of namespace creation'),
      updated_at: readOnlyTime('Date and time of the last namespace modification'),
      schema: readOnlyString(),
      self: readOnlyString(),
      resource_type_associations: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            prefix: { type: 'string' },
            properties_target: { type: 'string' },
          },
        },
      },
      properties: { $ref: '#/definitions/property' },
      objects: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            description: { type: 'string' },
            required: { $ref: '#/definitions/stringArray' },
            properties: { $ref: '#/definitions/property' },
          },
        },
      },
      tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
    },
    additionalProperties: false,
    definitions: namespaceDefinitions(),
    required: ['namespace'],
  };
}

function objectSchema(): SchemaNode {
  return {
    name: 'object',
    properties: {
      name: { type: 'string', maxLength: 80 },
      description: { type: 'string' },
      required: { $ref: '#/definitions/stringArray' },
      properties: { $ref: '#/definitions/property' },
      schema: readOnlyString(),
      self: readOnlyString(),
      created_at: readOnlyTime('Date and time of object creation'),
      updated_at: readOnlyTime('Date and time of the last object modification'),
    },
    additionalProperties: false,
    definitions: namespaceDefinitions(),
    required: ['name'],
  };
}

/** The property schema; `requireName` is false where the name is the key of a map (objects, collections). */
function propertySchema(requireName = true): SchemaNode {
  return {
    name: 'property',
    properties: propertyFields(),
    additionalProperties: false,
    definitions: {
      positiveInteger: { type: 'integer', minimum: 0 },
      positiveIntegerDefault0: { allOf: [{ $ref: '#/definitions/positiveInteger' }, { default: 0 }] },
      stringArray: { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true },
    },
    required: requireName ? ['title', 'type', 'name'] : ['title', 'type'],
  };
}

function tagSchema(): SchemaNode {
  return {
    name: 'tag',
    properties: {
      name: { type: 'string', maxLength: 80 },
      created_at: readOnlyTime('Date and time of tag creation'),
      updated_at: readOnlyTime('Date and time of the last tag modification'),
    },
    additionalProperties: false,
    required: ['name'],
  };
}

function tagListSchema(): SchemaNode {
  return {
    name: 'tags',
    properties: {
      tags: {
        type: 'array',
        items: {
          type: 'object',
          properties: { name: { type: 'string' } },
          required: ['name'],
          additionalProperties: false,
        },
      },
    },
    additionalProperties: false,
  };
}

function resourceTypeAssociationSchema(): SchemaNode {
  return {
    name: 'resource_type_association',
    properties: {
      name: {
        type: 'string',
        description:
          'Resource type names should be aligned with Heat resource types whenever possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html',
        maxLength: 80,
      },
      prefix: {
        type: 'string',
        description:
          'Specifies the prefix to use for the given resource type. Any properties in the namespace should be prefixed with this prefix when being applied to the specified resource type. Must include prefix separator (e.g. a colon :).',
        maxLength: 80,
      },
      properties_target: {
        type: 'string',
        description:
          'Some resource types allow more than one key / value pair per instance.  For example, Cinder allows user and image metadata on volumes. Only the image properties metadata is evaluated by Nova (scheduling or drivers). This property allows a namespace target to remove the ambiguity.',
        maxLength: 80,
      },
      created_at: readOnlyTime('Date and time of resource type association'),
      updated_at: readOnlyTime('Date and time of the last resource type association modification'),
    },
    additionalProperties: false,
    required: ['name'],
  };
}

/** Glance's CollectionSchema: the item schema under `name`, its definitions lifted to the top. */
function collection(name: string, item: SchemaNode, kind: 'array' | 'map' = 'array'): SchemaNode {
  const { definitions, ...rest } = item;
  const items =
    kind === 'array' ? { type: 'array', items: rest } : { type: 'object', additionalProperties: rest };
  return {
    name,
    properties: {
      [name]: items,
      first: { type: 'string' },
      next: { type: 'string' },
      schema: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
    ...(definitions ? { definitions } : {}),
  };
}

/** The documents served under /v2/schemas/metadefs/, by the last segment of their path. */
export const METADEF_SCHEMA_NAMES = [
  'namespace',
  'namespaces',
  'object',
  'objects',
  'property',
  'properties',
  'tag',
  'tags',
  'resource_type',
  'resource_types',
] as const;
export type MetadefSchemaName = (typeof METADEF_SCHEMA_NAMES)[number];

export function metadefSchema(name: MetadefSchemaName): SchemaNode {
  switch (name) {
    case 'namespace':
      return namespaceSchema();
    case 'namespaces':
      return collection('namespaces', namespaceSchema());
    case 'object':
      return objectSchema();
    case 'objects':
      return collection('objects', objectSchema());
    case 'property':
      return propertySchema();
    case 'properties':
      return collection('properties', propertySchema(false), 'map');
    case 'tag':
      return tagSchema();
    case 'tags':
      return collection('tags', tagSchema());
    case 'resource_type':
      return resourceTypeAssociationSchema();
    case 'resource_types':
      return collection('resource_type_associations', resourceTypeAssociationSchema());
  }
}

/** The schemas request bodies are checked against. */
export const BODY_SCHEMAS = {
  namespace: namespaceSchema,
  object: objectSchema,
  property: () => propertySchema(true),
  objectProperty: () => propertySchema(false),
  tag: tagSchema,
  tags: tagListSchema,
  resourceTypeAssociation: resourceTypeAssociationSchema,
};

const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function typeMatches(type: Json, value: Json): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    case 'null':
      return value === null;
    default:
      return false;
  }
}

function sameJson(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The first way `value` breaks `schema` (draft 4: type, enum, maxLength, minimum, required,
 * properties, additionalProperties, items, minItems, uniqueItems, allOf, local $ref), or null. The walk
 * follows the schema, so its depth is the schema's, whatever the value's nesting.
 */
export function findSchemaViolation(schema: SchemaNode, value: Json): string | null {
  const root = schema;
  const check = (node: SchemaNode, at: Json, where: string): string | null => {
    if (typeof node.$ref === 'string') {
      const target = node.$ref.replace(/^#\/definitions\//, '');
      const definitions = root.definitions as Record<string, SchemaNode>;
      return check(definitions[target], at, where);
    }
    if (Array.isArray(node.allOf)) {
      for (const part of node.allOf as SchemaNode[]) {
        const problem = check(part, at, where);
        if (problem) return problem;
      }
    }
    if (node.type !== undefined) {
      const types = Array.isArray(node.type) ? node.type : [node.type];
      if (!types.some((t) => typeMatches(t, at)))
        return `${show(at)} is not of type ${show(node.type)}${where}`;
    }
    if (Array.isArray(node.enum) && !node.enum.some((option) => sameJson(option, at))) {
      return `${show(at)} is not one of ${show(node.enum)}${where}`;
    }
    if (typeof at === 'string' && typeof node.maxLength === 'number' && [...at].length > node.maxLength) {
      return `${show(at)} is too long${where}`;
    }
    if (typeof at === 'number' && typeof node.minimum === 'number' && at < node.minimum) {
      return `${at} is less than the minimum of ${node.minimum}${where}`;
    }
    if (Array.isArray(at)) {
      if (typeof node.minItems === 'number' && at.length < node.minItems)
        return `${show(at)} is too short${where}`;
      if (node.uniqueItems === true) {
        const seen = new Set(at.map((item) => JSON.stringify(item)));
        if (seen.size !== at.length) return `${show(at)} has non-unique elements${where}`;
      }
      if (isObject(node.items)) {
        for (const [index, item] of at.entries()) {
          const problem = check(node.items as SchemaNode, item, ` in ${where || 'the body'}[${index}]`);
          if (problem) return problem;
        }
      }
    }
    if (isObject(at)) {
      for (const key of (node.required as string[] | undefined) ?? []) {
        if (!(key in at)) return `'${key}' is a required property${where}`;
      }
      const properties = (node.properties ?? {}) as Record<string, SchemaNode>;
      for (const [key, item] of Object.entries(at)) {
        if (Object.hasOwn(properties, key)) {
          const problem = check(properties[key], item, ` in '${key}'`);
          if (problem) return problem;
        } else if (node.additionalProperties === false) {
          return `Additional properties are not allowed ('${key}' was unexpected)${where}`;
        } else if (isObject(node.additionalProperties)) {
          const problem = check(node.additionalProperties as SchemaNode, item, ` in '${key}'`);
          if (problem) return problem;
        }
      }
    }
    return null;
  };
  return check(schema, value, '');
}

function show(value: Json): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

// registries.d: where simple-signing signatures of docker images live (lookaside URLs) and whether
// sigstore attachments are used. Files are merged; a section defined twice is an error, unknown keys are not.
import { parseDocument, type Tags } from 'yaml';
import { PolicyError, type SourcePosition } from '../../errors/index.ts';
import { goFoldKey } from '../go-json.ts';

/** One `default-docker` or `docker.<scope>` section. */
export interface RegistryNamespace {
  lookaside?: string;
  lookasideStaging?: string;
  /** Deprecated alias of lookaside. */
  sigstore?: string;
  /** Deprecated alias of lookaside-staging. */
  sigstoreStaging?: string;
  useSigstoreAttachments?: boolean;
  /** The file the section came from, and where in it. */
  source: { file: string; position?: SourcePosition };
}

/** The merged configuration of a registries.d directory. */
export interface RegistriesConfig {
  defaultDocker?: RegistryNamespace;
  docker: Map<string, RegistryNamespace>;
}

/** One registries.d file as read from disk. */
export interface RegistriesFile {
  path: string;
  text: string;
}

const invalid = (message: string, position?: SourcePosition) =>
  new PolicyError('POLICY_INVALID', message, position ? { position } : {});

/** The namespace's fields by their JSON names, as c/image's registryNamespace declares them. */
const NAMESPACE_FIELDS: Record<string, keyof Omit<RegistryNamespace, 'source'>> = {
  lookaside: 'lookaside',
  'lookaside-staging': 'lookasideStaging',
  sigstore: 'sigstore',
  'sigstore-staging': 'sigstoreStaging',
  'use-sigstore-attachments': 'useSigstoreAttachments',
};

function linePosition(text: string, offset: number | undefined): SourcePosition | undefined {
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset).split('\n');
  return { offset, line: before.length, column: before[before.length - 1].length + 1 };
}

interface YamlNodeLike {
  range?: [number, number, number];
}

/**
 * sigs.k8s.io/yaml turns the YAML into JSON with json.Marshal, which writes an object's keys sorted by
 * their bytes; Go then decodes them in that order, a later key overriding an earlier one for the
 * same field, and reports the first type error.
 */
function goSortedEntries(value: object): [string, unknown][] {
  return Object.entries(value).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** The JSON type name in Go's `cannot unmarshal X into ...`. */
function goKind(value: unknown): string {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return 'number';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) return 'object';
  return 'string';
}

const isObject = (value: unknown): value is object => goKind(value) === 'object';

function typeError(file: RegistriesFile, what: string, value: unknown, position?: SourcePosition) {
  return invalid(
    `parsing ${file.path}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${goKind(value)} into ${what}`,
    position,
  );
}

function readNamespace(
  file: RegistriesFile,
  value: unknown,
  node: YamlNodeLike | undefined,
  where: 'default-docker' | 'docker',
  into?: RegistryNamespace,
): RegistryNamespace {
  const position = linePosition(file.text, node?.range?.[0]);
  const section: RegistryNamespace = into ?? {
    source: position ? { file: file.path, position } : { file: file.path },
  };
  if (value === null || value === undefined) return section;
  if (!isObject(value)) {
    const field = where === 'docker' ? 'docker' : 'default-docker';
    throw typeError(
      file,
      `Go struct field registryConfiguration.${field} of type docker.registryNamespace`,
      value,
      position,
    );
  }
  // Unknown keys are ignored, as Go's decoding into a struct ignores them.
  for (const [key, raw] of goSortedEntries(value)) {
    const name = Object.keys(NAMESPACE_FIELDS).find((field) => field === goFoldKey(key));
    if (name === undefined || raw === null) continue;
    const field = NAMESPACE_FIELDS[name];
    const goField = `Go struct field registryNamespace.${where}.${name}`;
    if (field === 'useSigstoreAttachments') {
      // YAML 1.1 (yaml.v2): yes, on, y and true are all the boolean true; a quoted "true" is a string.
      if (typeof raw !== 'boolean') throw typeError(file, `${goField} of type bool`, raw, position);
      section.useSigstoreAttachments = raw;
      continue;
    }
    // sigs.k8s.io/yaml turns a number or boolean meant for a string field into its text.
    if (Array.isArray(raw) || isObject(raw))
      throw typeError(file, `${goField} of type string`, raw, position);
    section[field] = raw instanceof Uint8Array ? Buffer.from(raw).toString('latin1') : String(raw);
  }
  return section;
}

/** The YAML 1.1 schema of go-yaml v2, which keeps timestamps and sexagesimal numbers as strings. */
const YAML_V2_OPTIONS = {
  version: '1.1',
  uniqueKeys: false,
  customTags: (tags: Tags) =>
    tags.filter((tag) =>
      typeof tag === 'string'
        ? !['intTime', 'floatTime', 'timestamp'].includes(tag)
        : tag.format !== 'TIME' && tag.tag !== 'tag:yaml.org,2002:timestamp',
    ),
} as const;

/**
 * Parses one file's sections as c/image does: sigs.k8s.io/yaml reads YAML 1.1 (go-yaml v2), converts it
 * to JSON and decodes that with encoding/json, so key names match case-insensitively and the error
 * texts are encoding/json's.
 */
export function parseRegistriesFile(file: RegistriesFile): RegistriesConfig {
  const document = parseDocument(file.text, YAML_V2_OPTIONS);
  if (document.errors.length > 0) {
    const [first] = document.errors;
    const position = linePosition(file.text, first.pos[0]);
    throw invalid(
      `parsing ${file.path}: error converting YAML to JSON: yaml: line ${position?.line ?? 0}: ${first.message.split('\n')[0]}`,
      position,
    );
  }
  let data: unknown;
  try {
    data = document.toJS();
  } catch (error) {
    // yaml's guard against alias bombs ("billion laughs") throws here; Go's yaml names it so.
    throw new PolicyError(
      'POLICY_INVALID',
      `parsing ${file.path}: error converting YAML to JSON: yaml: document contains excessive aliasing`,
      { cause: error },
    );
  }
  const result: RegistriesConfig = { docker: new Map() };
  if (data === null || data === undefined) return result;
  if (!isObject(data)) throw typeError(file, 'Go value of type docker.registryConfiguration', data);
  const nodeAt = (...keys: string[]) => document.getIn(keys, true) as YamlNodeLike | undefined;
  for (const [key, value] of goSortedEntries(data)) {
    const name = goFoldKey(key);
    if (name === 'default-docker') {
      // A JSON null sets Go's *registryNamespace to nil; a repeated key decodes into the same section.
      result.defaultDocker =
        value === null
          ? undefined
          : readNamespace(file, value, nodeAt(key), 'default-docker', result.defaultDocker);
    } else if (name === 'docker') {
      if (value === null) {
        result.docker = new Map();
        continue;
      }
      if (!isObject(value)) {
        throw typeError(
          file,
          'Go struct field registryConfiguration.docker of type map[string]docker.registryNamespace',
          value,
        );
      }
      // Each map entry is decoded afresh, replacing one an earlier "Docker" key gave.
      for (const [scope, section] of goSortedEntries(value)) {
        result.docker.set(scope, readNamespace(file, section, nodeAt(key, scope), 'docker'));
      }
    }
  }
  return result;
}

/**
 * Merges registries.d files as c/image does: only names ending in `.yaml` count (not `.yml`), and a
 * `default-docker` or `docker` scope defined in two files is an error. Files are taken in name order.
 */
export function mergeRegistriesFiles(files: RegistriesFile[]): RegistriesConfig {
  const merged: RegistriesConfig = { docker: new Map() };
  const ordered = files.filter((f) => f.path.endsWith('.yaml')).sort((a, b) => (a.path < b.path ? -1 : 1));
  for (const file of ordered) {
    const config = parseRegistriesFile(file);
    if (config.defaultDocker) {
      if (merged.defaultDocker) {
        throw invalid(
          `Error parsing signature storage configuration: "default-docker" defined both in ${JSON.stringify(merged.defaultDocker.source.file)} and ${JSON.stringify(file.path)}`,
          config.defaultDocker.source.position,
        );
      }
      merged.defaultDocker = config.defaultDocker;
    }
    for (const [scope, section] of config.docker) {
      const earlier = merged.docker.get(scope);
      if (earlier) {
        throw invalid(
          `Error parsing signature storage configuration: "docker" namespace ${JSON.stringify(scope)} defined both in ${JSON.stringify(earlier.source.file)} and ${JSON.stringify(file.path)}`,
          section.source.position,
        );
      }
      merged.docker.set(scope, section);
    }
  }
  return merged;
}

// registries.d: where simple-signing signatures of docker images live (lookaside URLs) and whether
// sigstore attachments are used. Files are merged; a section defined twice is an error, unknown keys are not.
import { parseDocument } from 'yaml';
import { PolicyError, type SourcePosition } from '../../errors/index.ts';

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

const NAMESPACE_KEYS: Record<string, keyof Omit<RegistryNamespace, 'source' | 'useSigstoreAttachments'>> = {
  lookaside: 'lookaside',
  'lookaside-staging': 'lookasideStaging',
  sigstore: 'sigstore',
  'sigstore-staging': 'sigstoreStaging',
};

function linePosition(text: string, offset: number | undefined): SourcePosition | undefined {
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset).split('\n');
  return { offset, line: before.length, column: before[before.length - 1].length + 1 };
}

interface YamlNodeLike {
  range?: [number, number, number];
}

function readNamespace(file: RegistriesFile, value: unknown, node: YamlNodeLike | undefined, where: string) {
  const position = linePosition(file.text, node?.range?.[0]);
  const section: RegistryNamespace = {
    source: position ? { file: file.path, position } : { file: file.path },
  };
  if (value === null || value === undefined) return section;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(
      `parsing ${file.path}: yaml: unmarshal errors: cannot unmarshal ${where} into a section`,
      position,
    );
  }
  // Like Go's yaml decoding into a struct: unknown keys are ignored, scalars become strings.
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'use-sigstore-attachments') {
      if (raw === null) continue;
      if (typeof raw !== 'boolean') {
        throw invalid(
          `parsing ${file.path}: yaml: unmarshal errors: cannot unmarshal ${String(raw)} into bool`,
          position,
        );
      }
      section.useSigstoreAttachments = raw;
      continue;
    }
    const field = NAMESPACE_KEYS[key];
    if (!field || raw === null) continue;
    if (typeof raw === 'object') {
      throw invalid(
        `parsing ${file.path}: yaml: unmarshal errors: cannot unmarshal ${key} into string`,
        position,
      );
    }
    section[field] = String(raw);
  }
  return section;
}

/** Parses one file's sections. */
export function parseRegistriesFile(file: RegistriesFile): RegistriesConfig {
  const document = parseDocument(file.text, { uniqueKeys: false });
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
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw invalid(
      `parsing ${file.path}: yaml: unmarshal errors: cannot unmarshal the document into a configuration`,
    );
  }
  const top = data as Record<string, unknown>;
  const nodeAt = (...keys: string[]) => document.getIn(keys, true) as YamlNodeLike | undefined;
  if ('default-docker' in top && top['default-docker'] !== null) {
    result.defaultDocker = readNamespace(
      file,
      top['default-docker'],
      nodeAt('default-docker'),
      'default-docker',
    );
  }
  const docker = top.docker;
  if (docker !== null && docker !== undefined) {
    if (typeof docker !== 'object' || Array.isArray(docker)) {
      throw invalid(`parsing ${file.path}: yaml: unmarshal errors: cannot unmarshal docker into a map`);
    }
    for (const [scope, value] of Object.entries(docker as Record<string, unknown>)) {
      result.docker.set(scope, readNamespace(file, value, nodeAt('docker', scope), `docker.${scope}`));
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

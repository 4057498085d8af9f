// Loads Glance's metadata-definition files at start: the configured directory (or Debian's, or the
// subset shipped with imagetrust) and imagetrust's own namespace. Each file is stored with the record
// that it was loaded in one transaction, so a restart never loads it twice and a crash mid-way
// leaves every file either loaded whole or not at all (and loaded at the next start).
import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors/index.ts';
import { type MetadefRepository, parseDefinitionFile } from '../metadefs/index.ts';
import type { Clock } from './clock.ts';

const SHIPPED = new URL('../../data/metadefs/', import.meta.url).pathname;
/** Where Debian puts them: glance-api's configuration directory, then glance-common's data directory. */
export const SYSTEM_METADEF_DIRECTORIES = ['/etc/glance/metadefs', '/usr/share/glance-common/metadefs'];

export interface MetadefLoadReport {
  directory: string;
  /** Namespaces created now. */
  created: string[];
  /** Files recorded now whose namespace existed already (kept as it was). */
  kept: string[];
  /** Files that could not be read or stored, with why; they are tried again at the next start. */
  failed: { file: string; error: string }[];
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A system directory is used only when this process can read its files: Debian installs
 * /etc/glance/metadefs as glance:glance 0640, which another service user may not read.
 */
async function isReadableDefinitionDirectory(dir: string): Promise<boolean> {
  try {
    const first = (await readdir(dir)).find((name) => name.endsWith('.json'));
    if (!first) return false;
    await access(path.join(dir, first), constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The configured directory (which must exist), else the first readable system one, else the shipped subset. */
export async function resolveMetadefDirectory(
  configured: string,
  candidates: readonly string[] = SYSTEM_METADEF_DIRECTORIES,
): Promise<string> {
  if (configured) {
    if (!(await isDirectory(configured))) {
      throw new ConfigError(`metadefs.directory ${configured} is not a directory.`);
    }
    return configured;
  }
  for (const dir of candidates) if (await isReadableDefinitionDirectory(dir)) return dir;
  return path.join(SHIPPED, 'glance');
}

async function jsonFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((name) => name.endsWith('.json')).sort();
}

export async function loadMetadefDefinitions(options: {
  repository: MetadefRepository;
  directory: string;
  clock: Clock;
  /** Crash point for fault tests, reached after each file is loaded. */
  failpoint?: (name: string) => void;
}): Promise<MetadefLoadReport> {
  const { repository, directory, clock, failpoint } = options;
  const report: MetadefLoadReport = { directory, created: [], kept: [], failed: [] };
  const loaded = await repository.loadedDefinitions();
  const own = path.join(SHIPPED, 'imagetrust');
  const files = [
    ...(await jsonFiles(directory)).map((name) => path.join(directory, name)),
    ...(await jsonFiles(own)).map((name) => path.join(own, name)),
  ];
  for (const file of files) {
    // Files are known by name, so switching between Debian's copy and ours loads nothing twice.
    const name = path.basename(file);
    if (loaded.has(name)) continue;
    try {
      const bytes = await readFile(file);
      const { namespace, contents } = parseDefinitionFile(JSON.parse(bytes.toString('utf8')), name);
      const now = clock
        .now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      const record = { ...namespace, id: randomUUID(), created_at: now, updated_at: now };
      const digest = createHash('sha256').update(bytes).digest('hex');
      const created = await repository.loadDefinition(name, digest, record, contents);
      (created ? report.created : report.kept).push(namespace.namespace);
      loaded.add(name);
      failpoint?.('metadefs-file-loaded');
    } catch (error) {
      report.failed.push({ file, error: (error as Error).message });
    }
  }
  return report;
}

// Glance's standard metadata-definition files as Debian ships them (glance-common), unpacked once per
// test process from a cached .deb: the oracle the metadefs tests compare imagetrust's API with.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { extractDeb, fetchDeb } from './debs.ts';

const CACHE = process.env.IMAGETRUST_METADEFS_DEB_CACHE ?? '/var/cache/imagetrust-fixtures/metadefs';

let directory: string | undefined;

/** The directory holding Debian's glance-common metadefs/*.json (unpacked into a temporary directory). */
export function debianMetadefDirectory(): string {
  if (directory) return directory;
  const deb = fetchDeb('glance-common', CACHE);
  const into = mkdtempSync(path.join(tmpdir(), 'imagetrust-glance-common-'));
  extractDeb(deb, into, 'glance-common');
  directory = path.join(into, 'usr/share/glance-common/metadefs');
  return directory;
}

export interface DefinitionFixture {
  file: string;
  document: Record<string, unknown>;
}

/** Every definition file of Debian's glance-common, parsed. */
export function debianMetadefFiles(): DefinitionFixture[] {
  const dir = debianMetadefDirectory();
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((file) => ({ file, document: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) }));
}

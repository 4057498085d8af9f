// Glance's metadata-definition files (etc/metadefs/*.json, installed by Debian's glance-common): one
// namespace per file with its resource-type associations, properties, objects and tags. Parsing is
// pure; reading the directory and storing what it holds is the composition root's.
import { ValidationError } from '../errors/index.ts';
import type { NamespaceContents, NamespaceRecord, NamespaceVisibility } from './model.ts';
import { readNamespaceContents } from './service.ts';

export interface DefinitionFile {
  namespace: Omit<NamespaceRecord, 'id' | 'created_at' | 'updated_at'>;
  contents: NamespaceContents;
}

/**
 * Reads one definition document as `glance-manage db load_metadefs` does: the owner defaults to
 * `admin`, visibility and protection to what the file says (private and unprotected when it is silent).
 */
export function parseDefinitionFile(document: unknown, file: string): DefinitionFile {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ValidationError('SCHEMA_VIOLATION', `${file}: a definition file holds one JSON object.`);
  }
  const body = document as Record<string, unknown>;
  if (typeof body.namespace !== 'string' || body.namespace === '') {
    throw new ValidationError('SCHEMA_VIOLATION', `${file}: 'namespace' must be a non-empty string.`);
  }
  const visibility = body.visibility === 'public' ? 'public' : 'private';
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    namespace: {
      namespace: body.namespace,
      display_name: text(body.display_name),
      description: text(body.description),
      visibility: visibility as NamespaceVisibility,
      protected: body.protected === true,
      owner: typeof body.owner === 'string' ? body.owner : 'admin',
    },
    contents: readNamespaceContents(body),
  };
}

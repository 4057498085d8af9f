// Reads the openstack client's JSON exports of flavors and images (list --long and show), and images as
// the Glance v2 API returns them, into the plain records the flavor and image checks judge.
import type { Flavor, ImageRecord } from './evaluate.ts';

type Json = Record<string, unknown>;

/** `hw_rng:allowed='False', quota:x='1'` as older clients print a Properties column. */
function parsePropertyText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of text.matchAll(/([^=,\s]+)='((?:[^'\\]|\\.)*)'/g)) out[match[1]] = match[2];
  return out;
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value === 'string') return parsePropertyText(value);
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value as Json).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

function records(doc: unknown): Json[] {
  if (Array.isArray(doc)) return doc.filter((r): r is Json => typeof r === 'object' && r !== null);
  if (typeof doc === 'object' && doc !== null) {
    const d = doc as Json;
    // A Glance or nova API body: {"images": [...]} / {"flavors": [...]}.
    for (const key of ['images', 'flavors']) if (Array.isArray(d[key])) return records(d[key]);
    return [d];
  }
  return [];
}

/** Flavors from `openstack flavor list --long -f json`, `flavor show -f json` or the compute API. */
export function parseFlavorExport(doc: unknown, source: string): Flavor[] {
  return records(doc).map((r) => ({
    source,
    name: String(r.Name ?? r.name ?? r.ID ?? r.id ?? '?'),
    id: r.ID === undefined && r.id === undefined ? undefined : String(r.ID ?? r.id),
    properties: {
      ...stringRecord(r.Properties ?? r.properties),
      ...stringRecord(r['OS-FLV-WITH-EXT-SPECS:extra_specs'] ?? r.extra_specs),
    },
  }));
}

/** Images from `openstack image show -f json`, `image list --long -f json` or the Glance v2 API (flattened properties). */
export function parseImageExport(doc: unknown, source: string): ImageRecord[] {
  return records(doc).map((r) => {
    const nested = r.properties ?? r.Properties;
    const properties: Record<string, unknown> = { ...r };
    if (typeof nested === 'object' && nested !== null) Object.assign(properties, nested as Json);
    else if (typeof nested === 'string') Object.assign(properties, parsePropertyText(nested));
    // `image list --long` rows (capitalised columns, no properties) say nothing about properties.
    const listRow = r.ID !== undefined && r.id === undefined && nested === undefined;
    return {
      source,
      propertiesKnown: !listRow,
      id: String(r.id ?? r.ID ?? '?'),
      name: r.name === undefined && r.Name === undefined ? undefined : String(r.name ?? r.Name),
      visibility:
        r.visibility === undefined && r.Visibility === undefined
          ? undefined
          : String(r.visibility ?? r.Visibility),
      properties,
    };
  });
}

// The check catalogue as data: checks.yaml shipped beside this module, plus an operator's `--checks`
// files (an entry with a known id replaces it, a new id is added, `enabled: false` drops one). Parsed and
// validated here; unknown keys are errors so a typo does not silently disable a check.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors/index.ts';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const value = z.union([scalar, z.array(scalar)]);

export const expectSchema = z.strictObject({
  equals: scalar.optional(),
  not_equals: scalar.optional(),
  one_of: z.array(scalar).optional(),
  not_one_of: z.array(scalar).optional(),
  prefix: z.string().optional(),
  set: z.boolean().optional(),
  unset: z.boolean().optional(),
  nonempty: z.boolean().optional(),
  max: z.number().optional(),
  min: z.number().optional(),
  contains_all: z.array(z.string()).optional(),
  contains_none: z.array(z.string()).optional(),
});
export type Expect = z.infer<typeof expectSchema>;

const valueType = z.enum(['bool', 'string', 'list', 'int', 'float']);
export type ValueType = z.infer<typeof valueType>;

const condition = z.strictObject({
  service: z.string().optional(),
  option: z.string(),
  aliases: z.array(z.string()).optional(),
  type: valueType.default('string'),
  choices: z.array(z.string()).optional(),
  default: value.optional(),
  expect: expectSchema,
});
export type Condition = z.infer<typeof condition>;

const severity = z.enum(['error', 'warning', 'info']);
export type Severity = z.infer<typeof severity>;

const KINDS = [
  'option',
  'libvirt',
  'paste',
  'owner',
  'mode',
  'policy',
  'policy-lint',
  'policy-default',
  'config-invalid',
  'config-shadowed',
  'config-deprecated',
  'flavor',
  'image',
  'setting',
  'secret-mode',
  'imagetrust-policy',
] as const;

export const checkSchema = z.strictObject({
  id: z.string().regex(/^[A-Z0-9][A-Z0-9-]*$/, 'ids are upper-case words joined by -'),
  kind: z.enum(KINDS),
  enabled: z.boolean().default(true),
  service: z.string().optional(),
  services: z.array(z.string()).optional(),
  option: z.string().optional(),
  aliases: z.array(z.string()).optional(),
  type: valueType.default('string'),
  // a string option's choices, as the service registers them: oslo refuses any other value (case counts)
  choices: z.array(z.string()).optional(),
  default: value.optional(),
  expect: expectSchema.optional(),
  when: z.array(condition).optional(),
  // option: a URI option that, when set, replaces the option (its transport is the effective value)
  from_uri: z.string().optional(),
  severity,
  reference: z.string(),
  message: z.string(),
  remediation: z.string(),
  // paste
  file: z.string().optional(),
  section: z.string().optional(),
  filter: z.string().optional(),
  // owner / mode
  owner: z.string().optional(),
  mode: z
    .string()
    .regex(/^[0-7]{3,4}$/)
    .optional(),
  dir_mode: z
    .string()
    .regex(/^[0-7]{3,4}$/)
    .optional(),
  // policy
  // A rule name alone is judged with oslo.context's default target (the caller's project_id and
  // user_id); `{rule, target}` names the keys of the resource owner the service really passes.
  rules: z
    .array(
      z.union([
        z.string(),
        z.strictObject({ rule: z.string(), target: z.array(z.enum(['project_id', 'user_id'])) }),
      ]),
    )
    .optional(),
  posture: z.enum(['admin-only', 'disabled']).optional(),
  // secret-mode: which of imagetrust's paths (dataDir, kekFile, tlsKey, auditKey)
  paths: z.array(z.enum(['dataDir', 'kekFile', 'tlsKey', 'auditKey'])).optional(),
  // flavor / image
  property: z.string().optional(),
  properties: z.array(z.string()).optional(),
  visibility: z.string().optional(),
});
export type CheckDefinition = z.infer<typeof checkSchema>;

const catalogueSchema = z.strictObject({ checks: z.array(z.unknown()) });

/** The services a check applies to (`service` or `services`). */
export function servicesOf(check: CheckDefinition): string[] {
  return check.services ?? (check.service ? [check.service] : []);
}

function parseEntries(text: string, source: string): unknown[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${source}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  const parsed = catalogueSchema.safeParse(doc);
  if (!parsed.success)
    throw new ConfigError(`${source}: a check catalogue is a mapping with a "checks" list`);
  return parsed.data.checks;
}

function validate(entry: unknown, source: string, index: number): CheckDefinition {
  const parsed = checkSchema.safeParse(entry);
  if (!parsed.success) {
    const id = (entry as { id?: unknown })?.id;
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `${source}: check ${typeof id === 'string' ? id : `#${index + 1}`}: ${issue.path.join('.') || 'entry'}: ${issue.message}`,
    );
  }
  const check = parsed.data;
  const needs: Record<string, (keyof CheckDefinition)[]> = {
    option: ['option', 'expect'],
    libvirt: ['option', 'expect'],
    paste: ['file', 'section', 'filter'],
    policy: ['rules', 'posture'],
    flavor: ['property', 'expect'],
    image: ['expect'],
    setting: ['option', 'expect'],
    'secret-mode': ['paths', 'mode'],
  };
  for (const field of needs[check.kind] ?? []) {
    if (check[field] === undefined)
      throw new ConfigError(`${source}: check ${check.id}: kind ${check.kind} needs "${field}"`);
  }
  if (['option', 'libvirt', 'paste', 'policy'].includes(check.kind) && servicesOf(check).length === 0)
    throw new ConfigError(`${source}: check ${check.id}: kind ${check.kind} needs "service" or "services"`);
  return check;
}

/**
 * The catalogue: the shipped text first, then each override text in order. An override entry may be
 * partial when its id exists (`{id: X, severity: info}` or `{id: X, enabled: false}`).
 */
export function loadCatalogue(
  shipped: { text: string; source: string },
  overrides: readonly { text: string; source: string }[] = [],
): CheckDefinition[] {
  const checks = new Map<string, CheckDefinition>();
  parseEntries(shipped.text, shipped.source).forEach((entry, i) => {
    const check = validate(entry, shipped.source, i);
    if (checks.has(check.id)) throw new ConfigError(`${shipped.source}: check ${check.id} is defined twice`);
    checks.set(check.id, check);
  });
  for (const override of overrides) {
    parseEntries(override.text, override.source).forEach((entry, i) => {
      const id = (entry as { id?: unknown })?.id;
      const base = typeof id === 'string' ? checks.get(id) : undefined;
      const merged = base && typeof entry === 'object' ? { ...base, ...(entry as object) } : entry;
      const check = validate(merged, override.source, i);
      checks.set(check.id, check);
    });
  }
  return [...checks.values()].filter((check) => check.enabled);
}

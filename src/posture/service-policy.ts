// Another service's policy as oslo.policy enforces it, without imagetrust's own rules: the service's
// in-code defaults (only those the checks use), overlaid by its policy file and policy.d files; and the
// personas a posture is judged for. Pure: the loader supplies the files' text.
import type { Check } from '../identity/policy/index.ts';
import { parseRule, readPolicyText } from '../identity/policy/index.ts';

export interface PolicySource {
  file: string;
  text: string;
}

/** The personas a posture is judged for: what a project member, manager, reader and admin may do. */
export const PERSONAS: { name: string; admin: boolean; creds: Record<string, unknown> }[] = [
  { name: 'anonymous', admin: false, creds: { roles: [], user_id: 'u-other', project_id: 'p-other' } },
  { name: 'reader', admin: false, creds: { roles: ['reader'], user_id: 'u1', project_id: 'p1' } },
  { name: 'member', admin: false, creds: { roles: ['member', 'reader'], user_id: 'u1', project_id: 'p1' } },
  {
    name: 'manager',
    admin: false,
    creds: { roles: ['manager', 'member', 'reader'], user_id: 'u1', project_id: 'p1' },
  },
  {
    name: 'admin',
    admin: true,
    creds: { roles: ['admin', 'member', 'reader'], user_id: 'u2', project_id: 'p2', is_admin: true },
  },
];
/** The owner of the resource acted on: the member's project and user. */
export const PERSONA_TARGET = { project_id: 'p1', user_id: 'u1' };

/** A checked rule: its name alone (oslo.context's default target), or with the target keys the service passes. */
export type CheckedRule = string | { rule: string; target: ('project_id' | 'user_id')[] };

/**
 * The rule's name and the target its service passes to enforce(): only the listed keys of the
 * resource owner (nova's migrate calls pass {'project_id': instance.project_id} alone), or, for a bare
 * name, oslo.context's default of the owner's project_id and user_id.
 */
export function ruleTarget(checked: CheckedRule): { rule: string; target: Record<string, unknown> } {
  if (typeof checked === 'string') return { rule: checked, target: { ...PERSONA_TARGET } };
  return {
    rule: checked.rule,
    target: Object.fromEntries(checked.target.map((key) => [key, PERSONA_TARGET[key]])),
  };
}

export interface EffectivePolicy {
  rules: Map<string, Check>;
  /** Where each rule a file defines came from. */
  where: Map<string, { file: string; line: number }>;
  problems: {
    file: string;
    line: number;
    message: string;
    rule?: string;
    kind: 'null' | 'empty' | 'legacy' | 'load';
  }[];
}

/**
 * The service's policy as oslo.policy would enforce it without imagetrust's rules: the service's in-code
 * defaults we ship for the rules the checks use, overlaid by the policy file then each policy.d file.
 */
export function effectivePolicy(
  sources: readonly PolicySource[],
  defaults: Record<string, string>,
): EffectivePolicy {
  const rules = new Map<string, Check>(
    Object.entries(defaults).map(([name, text]) => [name, parseRule(text)]),
  );
  const where = new Map<string, { file: string; line: number }>();
  const problems: EffectivePolicy['problems'] = [];
  for (const source of sources) {
    let entries: ReturnType<typeof readPolicyText>['entries'];
    try {
      entries = readPolicyText(source.text, source.file).entries;
    } catch (error) {
      problems.push({ file: source.file, line: 1, message: (error as Error).message, kind: 'load' });
      continue;
    }
    for (const entry of entries) {
      if (entry.nonStringKey) continue;
      if (entry.value === null || entry.value === '') {
        problems.push({
          file: source.file,
          line: entry.line,
          rule: entry.name,
          kind: entry.value === null ? 'null' : 'empty',
          message:
            entry.value === null
              ? 'the value is YAML null (an unquoted ! or nothing after the colon): oslo.policy allows everyone'
              : 'the empty rule allows everyone',
        });
      }
      if (entry.name.startsWith('compute_extension:')) {
        problems.push({
          file: source.file,
          line: entry.line,
          rule: entry.name,
          kind: 'legacy',
          message:
            'legacy v2 policy name, deleted in nova 14: dead configuration that disables nothing (current names: os_compute_api:os-migrate-server:migrate, ...:migrate_live)',
        });
      }
      try {
        rules.set(entry.name, parseRule(entry.value));
        where.set(entry.name, { file: source.file, line: entry.line });
      } catch {
        problems.push({
          file: source.file,
          line: entry.line,
          rule: entry.name,
          kind: 'load',
          message: 'a rule must be a string or a list: oslo.policy fails to load the file',
        });
      }
    }
  }
  return { rules, where, problems };
}

/** oslo's Rules lookup: the rule, else the `default` rule, else a KeyError (deny). */
export function decidePolicy(
  policy: EffectivePolicy,
  rule: string,
  creds: Record<string, unknown>,
  target: Record<string, unknown>,
): boolean {
  const resolve = (name: string) => policy.rules.get(name) ?? policy.rules.get('default');
  const check = resolve(rule);
  if (!check) return false;
  try {
    return check.evaluate(target, creds, resolve, new Set([check]));
  } catch {
    return false;
  }
}

// Lints a policy file for the traps that make oslo.policy allow or deny what the author did not mean:
// YAML nulls and tags that allow everything, values that stop the file loading, undefined references.
import { isMap, isScalar } from 'yaml';
import { ImageTrustError } from '../../errors/index.ts';
import type { RuleDefault } from '../default-rules.ts';
import type { Check } from './checks.ts';
import { parseWithProblems, readPolicyText } from './files.ts';
import { parseRule } from './parser.ts';
import { classifyCheckKind } from './python.ts';

export type PolicyFindingSeverity = 'error' | 'warning' | 'info';

export interface PolicyFinding {
  /** Stable id of the lint rule, e.g. POLICY-YAML-NULL. */
  ruleId: string;
  severity: PolicyFindingSeverity;
  /** The policy rule name the finding is about ('' for the whole file). */
  rule: string;
  line: number;
  message: string;
  hint: string;
}

/** Every lint rule id with its severity and what it catches. */
export const POLICY_LINT_RULES = {
  'POLICY-UNREADABLE': { severity: 'error', doc: 'The file cannot be read.' },
  'POLICY-YAML-SYNTAX': {
    severity: 'error',
    doc: 'The file is not valid YAML/JSON; oslo refuses to load it.',
  },
  'POLICY-NOT-MAPPING': { severity: 'error', doc: 'The file is not a mapping of rule names to rules.' },
  'POLICY-YAML-TAG': {
    severity: 'error',
    doc: 'An unquoted "!" is a YAML tag: the value is null and the rule allows everyone.',
  },
  'POLICY-YAML-NULL': { severity: 'error', doc: 'A rule with no value is null in YAML and allows everyone.' },
  'POLICY-NON-STRING': {
    severity: 'error',
    doc: 'A boolean or number rule: true/1 stop the file loading, false/0 allow everyone.',
  },
  'POLICY-ALLOW-ALL': {
    severity: 'warning',
    doc: 'The rule allows everyone where the default was restrictive.',
  },
  'POLICY-ALWAYS-TRUE-ALTERNATIVE': {
    severity: 'error',
    doc: 'An "or" has an alternative that is always true ("@" or an empty check): the whole "or" allows everyone.',
  },
  'POLICY-UNPARSEABLE': { severity: 'error', doc: 'The rule (or part of it) cannot be parsed and denies.' },
  'POLICY-EVAL-ERROR': { severity: 'error', doc: 'A check raises when evaluated (bad %-format or kind).' },
  'POLICY-UNDEFINED-REF': {
    severity: 'error',
    doc: 'rule:NAME names no rule; oslo then uses the default rule.',
  },
  'POLICY-CYCLE': {
    severity: 'error',
    doc: 'Rules refer to each other in a cycle; deciding them never ends.',
  },
  'POLICY-DUPLICATE-KEY': { severity: 'warning', doc: 'A rule is defined twice; only the last one counts.' },
  'POLICY-UNKNOWN-NAME': {
    severity: 'warning',
    doc: 'No action uses this rule name (not a registered default).',
  },
  'POLICY-UNREACHABLE-KEY': {
    severity: 'warning',
    doc: 'The key is not a string, so no rule can ever be it.',
  },
  'POLICY-KIND-CASE': {
    severity: 'warning',
    doc: 'Check kinds are case-sensitive: Role:x is a generic check on a credential named Role.',
  },
  'POLICY-EXTERNAL-CHECK': {
    severity: 'warning',
    doc: 'http:/https: checks need a remote policy server; here they raise and deny.',
  },
  'POLICY-REDUNDANT': { severity: 'info', doc: 'The rule equals its in-code default and can be removed.' },
} as const satisfies Record<string, { severity: PolicyFindingSeverity; doc: string }>;

export type PolicyLintRuleId = keyof typeof POLICY_LINT_RULES;

function finding(
  ruleId: PolicyLintRuleId,
  rule: string,
  line: number,
  message: string,
  hint: string,
): PolicyFinding {
  return { ruleId, severity: POLICY_LINT_RULES[ruleId].severity, rule, line, message, hint };
}

function walk(check: Check, visit: (check: Check) => void): void {
  visit(check);
  if (check.type === 'and' || check.type === 'or') for (const c of check.rules) walk(c, visit);
  if (check.type === 'not') walk(check.rule, visit);
}

// A default is "restrictive" when it does not allow everyone whatever the caller.
function isAllowAll(check: Check): boolean {
  return check.type === 'true';
}

/** Lints the text of one policy file against the registered defaults. */
export function lintPolicyFile(
  text: string,
  fileName: string,
  defaults: readonly RuleDefault[],
): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  let contents: ReturnType<typeof readPolicyText>;
  try {
    contents = readPolicyText(text, fileName);
  } catch (error) {
    if (!(error instanceof ImageTrustError)) throw error;
    const line = Number(/:(\d+): /.exec(error.message)?.[1] ?? 1);
    const notMapping = error.message.includes('must be a mapping');
    const atSign = /reserved character @/.test(error.message);
    findings.push(
      finding(
        notMapping ? 'POLICY-NOT-MAPPING' : 'POLICY-YAML-SYNTAX',
        '',
        line,
        error.message.replace(/^[^:]*:\d+: /, ''),
        atSign
          ? 'Quote the rule: "name": "@" (an unquoted @ is reserved in YAML and the whole file fails to load).'
          : 'Fix the syntax; until then oslo cannot load the file at all.',
      ),
    );
    return findings;
  }
  const defaultsByName = new Map(defaults.map((d) => [d.name, d]));
  const effective = new Map<string, Check>(defaults.map((d) => [d.name, parseRule(d.check)]));
  const seen = new Map<string, number>();
  const tagged = new Set<number>();
  // Which values were written as a bare `!` tag: the yaml package reads them as '' where PyYAML reads null.
  const contentsNode = contents.document?.contents;
  if (isMap(contentsNode)) {
    for (const pair of contentsNode.items) {
      if (isScalar(pair.value) && pair.value.tag === '!' && isScalar(pair.key) && pair.key.range) {
        tagged.add(contents.lineCounter.linePos(pair.key.range[0]).line);
      }
    }
  }
  // Names other rules refer to are helpers (admin_or_owner), not misspelt actions.
  const referenced = new Set<string>();
  for (const entry of contents.entries) {
    const parsed = entry.nonStringKey ? undefined : parseWithProblems(entry.value).check;
    if (parsed) {
      walk(parsed, (c) => {
        if (c.type === 'rule') referenced.add(c.match);
      });
    }
  }
  for (const entry of contents.entries) {
    const { name, value, line } = entry;
    if (entry.nonStringKey) {
      findings.push(
        finding(
          'POLICY-UNREACHABLE-KEY',
          name,
          line,
          `the key ${name} is read as a ${typeof value === 'string' ? 'non-string' : 'non-string'} value, not a name`,
          `Quote the name: "${name}": ...`,
        ),
      );
      continue;
    }
    const previous = seen.get(name);
    if (previous !== undefined) {
      findings.push(
        finding(
          'POLICY-DUPLICATE-KEY',
          name,
          line,
          `"${name}" is defined again (first on line ${previous}); the earlier definition is ignored`,
          'Keep one definition of each rule.',
        ),
      );
    } else seen.set(name, line);
    if (!defaultsByName.has(name) && !referenced.has(name)) {
      findings.push(
        finding(
          'POLICY-UNKNOWN-NAME',
          name,
          line,
          `no action uses the rule "${name}"`,
          'Check the spelling against `imagetrust policy list-defaults`; rules only other rules reference are fine.',
        ),
      );
    }
    if (tagged.has(line)) {
      findings.push(
        finding(
          'POLICY-YAML-TAG',
          name,
          line,
          `"${name}": ! is a YAML tag with no value, so the rule is null and allows everyone`,
          `Quote it to deny: "${name}": "!"`,
        ),
      );
    } else if (value === null) {
      findings.push(
        finding(
          'POLICY-YAML-NULL',
          name,
          line,
          `"${name}" has no value; YAML reads null and the rule allows everyone`,
          `Write the rule, or "${name}": "" if allowing everyone is really meant.`,
        ),
      );
    } else if (typeof value === 'boolean' || typeof value === 'number') {
      const blocks = value !== false && value !== 0;
      findings.push(
        finding(
          'POLICY-NON-STRING',
          name,
          line,
          blocks
            ? `"${name}" is ${String(value)}, not a rule; oslo fails to load the whole file`
            : `"${name}" is ${String(value)}, not a rule; oslo reads it as allow-all`,
          `Quote the value: "${name}": "${String(value)}" is still no rule; write a check such as "role:admin".`,
        ),
      );
    }
    const parsed = parseWithProblems(value);
    if (parsed.loadError) continue;
    const check = parsed.check as Check;
    effective.set(name, check);
    if (parsed.problems.length > 0) {
      findings.push(
        finding(
          'POLICY-UNPARSEABLE',
          name,
          line,
          `${parsed.problems.map((p) => p.message).join('; ')}: that part denies everyone`,
          'Write checks as kind:match with no spaces, and and/or/not between them; do not quote checks.',
        ),
      );
    }
    const fallback = defaultsByName.get(name);
    if (
      typeof value === 'string' &&
      isAllowAll(check) &&
      fallback &&
      !isAllowAll(parseRule(fallback.check)) &&
      !tagged.has(line)
    ) {
      findings.push(
        finding(
          'POLICY-ALLOW-ALL',
          name,
          line,
          `"${name}" allows everyone; its default is "${fallback.check}"`,
          'Make sure that is intended, or remove the line to keep the default.',
        ),
      );
    }
    if (fallback && typeof value === 'string' && value === fallback.check) {
      findings.push(
        finding(
          'POLICY-REDUNDANT',
          name,
          line,
          `"${name}" is the same as its default`,
          'Remove it so the file only says what differs.',
        ),
      );
    }
    walk(check, (c) => {
      if (c.type === 'or' && c.rules.some(isAllowAll)) {
        findings.push(
          finding(
            'POLICY-ALWAYS-TRUE-ALTERNATIVE',
            name,
            line,
            `"${c.toString()}" has an alternative that is always true, so it allows everyone`,
            'Remove the "or @" (or the empty alternative) to keep the other checks, or write "@" if everyone is meant.',
          ),
        );
      }
      if (c.type === 'external') {
        findings.push(
          finding(
            'POLICY-EXTERNAL-CHECK',
            name,
            line,
            `"${c.toString()}" asks a remote policy server in oslo; here it raises and the decision is a deny`,
            'Express the decision with roles and attributes instead.',
          ),
        );
      }
      if (c.type !== 'generic') return;
      const lower = c.kind.toLowerCase();
      if ((lower === 'role' || lower === 'rule') && c.kind !== lower) {
        findings.push(
          finding(
            'POLICY-KIND-CASE',
            name,
            line,
            `"${c.toString()}" is a generic check on a credential named ${c.kind}, not a ${lower} check`,
            `Write ${lower}:${c.match}`,
          ),
        );
      } else if (classifyCheckKind(c.kind).kind === 'syntax-error') {
        findings.push(
          finding(
            'POLICY-EVAL-ERROR',
            name,
            line,
            `"${c.kind}" is neither a Python literal nor a credential path; oslo raises when it evaluates it`,
            "Use a credential name (project_id, user.id) or a literal (True, 'public', 20).",
          ),
        );
      }
    });
  }
  for (const [name, line] of seen) {
    const check = effective.get(name);
    if (!check) continue;
    const undefinedRefs = new Set<string>();
    walk(check, (c) => {
      if (c.type === 'rule' && !effective.has(c.match)) undefinedRefs.add(c.match);
    });
    for (const ref of undefinedRefs) {
      findings.push(
        finding(
          'POLICY-UNDEFINED-REF',
          name,
          line,
          `rule:${ref} names no rule; oslo silently uses the "default" rule instead`,
          `Define "${ref}" or fix the name.`,
        ),
      );
    }
    if (hasCycle(check, effective, new Set())) {
      findings.push(
        finding(
          'POLICY-CYCLE',
          name,
          line,
          `"${name}" is part of a cycle of rule: references`,
          'Break the cycle; oslo fails every decision that reaches it.',
        ),
      );
    }
  }
  return findings.sort((a, b) => a.line - b.line || a.ruleId.localeCompare(b.ruleId));
}

// oslo's _cycle_check: a rule: reference already seen on the path is a cycle.
function hasCycle(check: Check, rules: Map<string, Check>, seen: Set<string>): boolean {
  if (check.type === 'rule') {
    if (seen.has(check.match)) return true;
    seen.add(check.match);
    const target = rules.get(check.match);
    if (target && hasCycle(target, rules, seen)) return true;
  }
  if (check.type === 'and' || check.type === 'or') {
    for (const c of check.rules) if (hasCycle(c, rules, new Set(seen))) return true;
  }
  return false;
}

// The check tree of the oslo.policy language and its evaluation, with oslo's exact semantics:
// case-insensitive roles, %-substitution from the target, Python literals and dotted credential paths.
import { classifyCheckKind, isPlainObject, PythonError, pythonFormat, pythonStr } from './python.ts';

/** Attributes of the caller: user_id, project_id, roles, is_admin, ... */
export type PolicyCredentials = Record<string, unknown>;
/** Attributes of the thing acted on: project_id, user_id, visibility, ... */
export type PolicyTarget = Record<string, unknown>;
/** Finds a rule by name as oslo's Rules store does (default-rule fallback included); undefined is a KeyError. */
export type RuleResolver = (name: string) => Check | undefined;

/** Rules being evaluated on the current path: meeting one again is endless recursion in oslo. */
type Active = Set<Check> | undefined;

export type Check =
  | TrueCheck
  | FalseCheck
  | NotCheck
  | AndCheck
  | OrCheck
  | RuleCheck
  | RoleCheck
  | GenericCheck
  | ExternalCheck;

export class TrueCheck {
  readonly type = 'true';
  evaluate(): boolean {
    return true;
  }
  toString(): string {
    return '@';
  }
}

export class FalseCheck {
  readonly type = 'false';
  evaluate(): boolean {
    return false;
  }
  toString(): string {
    return '!';
  }
}

export class NotCheck {
  readonly type = 'not';
  readonly rule: Check;
  constructor(rule: Check) {
    this.rule = rule;
  }
  evaluate(target: PolicyTarget, creds: PolicyCredentials, resolve: RuleResolver, active?: Active): boolean {
    return !this.rule.evaluate(target, creds, resolve, active);
  }
  toString(): string {
    return `not ${this.rule.toString()}`;
  }
}

export class AndCheck {
  readonly type = 'and';
  readonly rules: Check[];
  constructor(rules: Check[]) {
    this.rules = rules;
  }
  evaluate(target: PolicyTarget, creds: PolicyCredentials, resolve: RuleResolver, active?: Active): boolean {
    for (const rule of this.rules) if (!rule.evaluate(target, creds, resolve, active)) return false;
    return true;
  }
  toString(): string {
    return `(${this.rules.map(String).join(' and ')})`;
  }
}

export class OrCheck {
  readonly type = 'or';
  readonly rules: Check[];
  constructor(rules: Check[]) {
    this.rules = rules;
  }
  evaluate(target: PolicyTarget, creds: PolicyCredentials, resolve: RuleResolver, active?: Active): boolean {
    for (const rule of this.rules) if (rule.evaluate(target, creds, resolve, active)) return true;
    return false;
  }
  toString(): string {
    return `(${this.rules.map(String).join(' or ')})`;
  }
}

export class RuleCheck {
  readonly type = 'rule';
  readonly kind: string;
  readonly match: string;
  constructor(kind: string, match: string) {
    this.kind = kind;
    this.match = match;
  }
  evaluate(target: PolicyTarget, creds: PolicyCredentials, resolve: RuleResolver, active?: Active): boolean {
    const rule = resolve(this.match);
    if (rule === undefined) return false;
    // Evaluation is deterministic, so reaching a rule already on the path never terminates:
    // oslo ends in RecursionError, which we raise at once.
    const path = active ?? new Set<Check>();
    if (path.has(rule)) throw new PythonError('RecursionError', `rule:${this.match} refers back to itself`);
    path.add(rule);
    try {
      return rule.evaluate(target, creds, resolve, path);
    } catch (error) {
      // oslo wraps the lookup and the evaluation in one `except KeyError`, so a KeyError escaping a
      // nested check (an http: check missing a target key) makes this reference false.
      if (error instanceof PythonError && error.type === 'KeyError') return false;
      throw error;
    } finally {
      path.delete(rule);
    }
  }
  toString(): string {
    return `${this.kind}:${this.match}`;
  }
}

/** `match % target` as Python formats it; null when the target lacks a key (the check is then false). */
function formatMatch(match: string, target: PolicyTarget): string | null {
  try {
    return pythonFormat(match, target);
  } catch (error) {
    if (error instanceof PythonError && error.type === 'KeyError') return null;
    throw error;
  }
}

export class RoleCheck {
  readonly type = 'role';
  readonly kind: string;
  readonly match: string;
  constructor(kind: string, match: string) {
    this.kind = kind;
    this.match = match;
  }
  evaluate(target: PolicyTarget, creds: PolicyCredentials): boolean {
    const match = formatMatch(this.match, target);
    if (match === null) return false;
    if (!hasKey(creds, 'roles')) return false;
    const wanted = match.toLowerCase();
    let found = false;
    // Python builds the whole lowered list first, so a non-string role anywhere raises.
    for (const role of iteratePython(creds.roles)) {
      if (typeof role !== 'string') throw new PythonError('AttributeError', 'role has no lower()');
      if (role.toLowerCase() === wanted) found = true;
    }
    return found;
  }
  toString(): string {
    return `${this.kind}:${this.match}`;
  }
}

export class GenericCheck {
  readonly type = 'generic';
  readonly kind: string;
  readonly match: string;
  constructor(kind: string, match: string) {
    this.kind = kind;
    this.match = match;
  }
  evaluate(target: PolicyTarget, creds: PolicyCredentials): boolean {
    const match = formatMatch(this.match, target);
    if (match === null) return false;
    const verdict = classifyCheckKind(this.kind);
    switch (verdict.kind) {
      case 'literal':
        return match === verdict.text;
      case 'syntax-error':
        throw new PythonError('SyntaxError', `check kind ${this.kind} is not valid Python`);
      case 'path':
        return findInCredentials(creds, this.kind.split('.'), 0, match);
    }
  }
  toString(): string {
    return `${this.kind}:${this.match}`;
  }
}

/**
 * oslo ships http: and https: checks that POST the decision to a remote server. We call no server, so
 * the check raises, as oslo does when the server cannot be reached: the decision is a deny. (Falling back
 * to a generic check instead would make `not http:...` allow everyone.)
 */
export class ExternalCheck {
  readonly type = 'external';
  readonly kind: string;
  readonly match: string;
  constructor(kind: string, match: string) {
    this.kind = kind;
    this.match = match;
  }
  evaluate(target: PolicyTarget): boolean {
    // oslo formats the URL first; a missing key raises KeyError before any request is made.
    pythonFormat(`${this.kind}:${this.match}`, target);
    throw new PythonError('ExternalCheckUnsupported', `${this.kind}: checks need a remote policy server`);
  }
  toString(): string {
    return `${this.kind}:${this.match}`;
  }
}

function hasKey(object: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(object, key) && object[key] !== undefined;
}

function iteratePython(value: unknown): Iterable<unknown> {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (isPlainObject(value)) return Object.keys(value).filter((k) => value[k] !== undefined);
  throw new PythonError('TypeError', 'object is not iterable');
}

// oslo's _find_in_dict: a list fans out over its items; indexing anything but a dict raises TypeError.
function findInCredentials(value: unknown, segments: string[], index: number, match: string): boolean {
  if (index === segments.length) return match === pythonStr(value);
  if (!isPlainObject(value)) throw new PythonError('TypeError', 'object is not subscriptable by a string');
  const key = segments[index];
  if (!hasKey(value, key)) return false;
  const next = value[key];
  if (Array.isArray(next)) {
    for (const item of next) if (findInCredentials(item, segments, index + 1, match)) return true;
    return false;
  }
  return findInCredentials(next, segments, index + 1, match);
}

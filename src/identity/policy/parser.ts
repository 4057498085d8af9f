// Parses oslo.policy rule text (and the legacy list-of-lists form) into a check tree. It is oslo's own
// shift-reduce parser, rebuilt, so precedence and every failure (which means "deny") match it exactly.
import {
  AndCheck,
  type Check,
  ExternalCheck,
  FalseCheck,
  GenericCheck,
  NotCheck,
  OrCheck,
  RoleCheck,
  RuleCheck,
  TrueCheck,
} from './checks.ts';
import { PythonError } from './python.ts';

type TokenType = '(' | ')' | 'and' | 'or' | 'not' | 'string' | 'check' | 'and_expr' | 'or_expr';
interface Token {
  type: TokenType;
  value: unknown;
}

/** Why a rule text fell back to deny, for lint; undefined when it parsed. */
export interface ParseProblem {
  message: string;
}

/** Parses one `kind:match` token; a token without a colon is a deny, as in oslo. */
export function parseCheck(rule: string, problems?: ParseProblem[]): Check {
  if (rule === '!') return new FalseCheck();
  if (rule === '@') return new TrueCheck();
  const colon = rule.indexOf(':');
  if (colon < 0) {
    problems?.push({ message: `"${rule}" is not a check (kind:match)` });
    return new FalseCheck();
  }
  const kind = rule.slice(0, colon);
  const match = rule.slice(colon + 1);
  // http and https are oslo's stevedore plugins (looked up first); see ExternalCheck.
  if (kind === 'http' || kind === 'https') return new ExternalCheck(kind, match);
  if (kind === 'rule') return new RuleCheck(kind, match);
  if (kind === 'role') return new RoleCheck(kind, match);
  return new GenericCheck(kind, match);
}

function parseListRule(rule: unknown, problems?: ParseProblem[]): Check {
  if (isPythonFalsy(rule)) return new TrueCheck();
  const orList: Check[] = [];
  for (let inner of iterateRule(rule)) {
    if (isPythonFalsy(inner)) continue;
    if (typeof inner === 'string') inner = [inner];
    const andList = [...iterateRule(inner)].map((item) => {
      // oslo catches the AttributeError of a non-string item and denies.
      if (typeof item !== 'string') {
        problems?.push({ message: `list item ${JSON.stringify(item)} is not a string` });
        return new FalseCheck();
      }
      return parseCheck(item, problems);
    });
    orList.push(andList.length === 1 ? andList[0] : new AndCheck(andList));
  }
  if (orList.length === 0) return new FalseCheck();
  if (orList.length === 1) return orList[0];
  return new OrCheck(orList);
}

/** Thrown for rule values oslo cannot load at all (a bare number or true): the whole file fails. */
export class RuleValueError extends Error {}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isPythonFalsy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isPlainRecord(value)) return Object.keys(value).length === 0;
  return false;
}

function iterateRule(value: unknown): Iterable<unknown> {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (isPlainRecord(value)) return Object.keys(value);
  throw new RuleValueError(`a rule cannot be ${JSON.stringify(value) ?? String(value)}`);
}

// Python's \s (str.isspace), which is not JavaScript's: it has \x1c-\x1f and \x85 but not \ufeff.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the separators are the point
const PYTHON_WHITESPACE = /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

function* tokenize(rule: string, problems?: ParseProblem[]): Generator<Token> {
  for (const raw of rule.split(PYTHON_WHITESPACE)) {
    if (!raw) continue;
    let tok = raw;
    const clean = tok.replace(/^\(+/, '');
    for (let i = 0; i < tok.length - clean.length; i++) yield { type: '(', value: '(' };
    if (!clean) continue;
    tok = clean;
    const body = tok.replace(/\)+$/, '');
    const trail = tok.length - body.length;
    const lowered = body.toLowerCase();
    if (lowered === 'and' || lowered === 'or' || lowered === 'not') {
      yield { type: lowered, value: body };
    } else if (body) {
      // The quote test looks at the token with its closing parentheses, as oslo does.
      if (
        tok.length >= 2 &&
        ((tok[0] === '"' && tok.at(-1) === '"') || (tok[0] === "'" && tok.at(-1) === "'"))
      ) {
        problems?.push({ message: `quoted token ${tok} is not a check` });
        yield { type: 'string', value: tok.slice(1, -1) };
      } else {
        yield { type: 'check', value: parseCheck(body, problems) };
      }
    }
    for (let i = 0; i < trail; i++) yield { type: ')', value: ')' };
  }
}

// The reductions in oslo's order; the first whose pattern ends the stack applies.
const REDUCTIONS: { pattern: TokenType[]; reduce: (values: unknown[]) => Token }[] = [
  { pattern: ['(', 'or_expr', ')'], reduce: (v) => ({ type: 'check', value: v[1] }) },
  { pattern: ['(', 'and_expr', ')'], reduce: (v) => ({ type: 'check', value: v[1] }) },
  { pattern: ['(', 'check', ')'], reduce: (v) => ({ type: 'check', value: v[1] }) },
  {
    pattern: ['check', 'and', 'check'],
    reduce: (v) => ({ type: 'and_expr', value: new AndCheck([v[0] as Check, v[2] as Check]) }),
  },
  {
    pattern: ['or_expr', 'and', 'check'],
    reduce: (v) => {
      // "A or B and C": the and binds to B, the last operand of the or.
      const or = v[0] as OrCheck;
      const last = or.rules.pop() as Check;
      const and = last instanceof AndCheck ? last : new AndCheck([last]);
      and.rules.push(v[2] as Check);
      or.rules.push(and);
      return { type: 'or_expr', value: or };
    },
  },
  {
    pattern: ['and_expr', 'and', 'check'],
    reduce: (v) => {
      (v[0] as AndCheck).rules.push(v[2] as Check);
      return { type: 'and_expr', value: v[0] };
    },
  },
  {
    pattern: ['and_expr', 'or', 'check'],
    reduce: (v) => ({ type: 'or_expr', value: new OrCheck([v[0] as Check, v[2] as Check]) }),
  },
  {
    pattern: ['check', 'or', 'check'],
    reduce: (v) => ({ type: 'or_expr', value: new OrCheck([v[0] as Check, v[2] as Check]) }),
  },
  {
    pattern: ['or_expr', 'or', 'check'],
    reduce: (v) => {
      (v[0] as OrCheck).rules.push(v[2] as Check);
      return { type: 'or_expr', value: v[0] };
    },
  },
  { pattern: ['not', 'check'], reduce: (v) => ({ type: 'check', value: new NotCheck(v[1] as Check) }) },
];

function reduce(types: TokenType[], values: unknown[]): void {
  for (;;) {
    const reduction = REDUCTIONS.find(
      ({ pattern }) =>
        types.length >= pattern.length &&
        pattern.every((t, i) => types[types.length - pattern.length + i] === t),
    );
    if (!reduction) return;
    const n = reduction.pattern.length;
    const result = reduction.reduce(values.slice(-n));
    types.splice(-n, n, result.type);
    values.splice(-n, n, result.value);
  }
}

function parseTextRule(rule: string, problems?: ParseProblem[]): Check {
  if (!rule) return new TrueCheck();
  const types: TokenType[] = [];
  const values: unknown[] = [];
  for (const token of tokenize(rule, problems)) {
    types.push(token.type);
    values.push(token.value);
    reduce(types, values);
  }
  if (values.length !== 1) {
    problems?.push({ message: `cannot parse rule "${rule}"` });
    return new FalseCheck();
  }
  // A lone keyword or parenthesis reduces to nothing useful; oslo returns it as is and it fails at use.
  const result = values[0];
  if (typeof result === 'string') {
    problems?.push({ message: `cannot parse rule "${rule}"` });
    return new StrayTokenCheck(result);
  }
  return result as Check;
}

/**
 * oslo returns a lone leftover token (a bare "and", "(", or a quoted string) as the rule itself; calling
 * it then fails, so the decision is an error. It behaves as a check that raises.
 */
class StrayTokenCheck extends FalseCheck {
  readonly token: string;
  constructor(token: string) {
    super();
    this.token = token;
  }
  override evaluate(): boolean {
    throw new PythonError('TypeError', `rule is the bare token ${this.token}`);
  }
  override toString(): string {
    return this.token;
  }
}

/** Parses a rule as oslo's parse_rule: text in the policy language, or the legacy list-of-lists form. */
export function parseRule(rule: string | unknown[] | unknown, problems?: ParseProblem[]): Check {
  if (typeof rule === 'string') return parseTextRule(rule, problems);
  return parseListRule(rule, problems);
}

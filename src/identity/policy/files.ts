// Reads a policy file as oslo does (JSON first, then YAML 1.1 safe_load; the last duplicate wins) and
// keeps the line of every rule so errors and lint findings can point at it.
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import { ConfigError } from '../../errors/index.ts';
import type { Check } from './checks.ts';
import { type ParseProblem, parseRule, RuleValueError } from './parser.ts';

/** One `name: rule` pair of a policy file, in file order (duplicates included). */
export interface PolicyFileEntry {
  name: string;
  /** The value as Python would see it: a string, a list, null, ... */
  value: unknown;
  line: number;
  /** True when YAML read the key as something other than a string (oslo can never look it up). */
  nonStringKey?: boolean;
}

export interface PolicyFileContents {
  entries: PolicyFileEntry[];
  /** The parsed YAML document, for lint; undefined when only JSON could read the text. */
  document?: Document;
  lineCounter: LineCounter;
}

/** A parsed rule with the text it came from. */
export interface LoadedRule {
  check: Check;
  line: number;
  file: string;
}

/** A YAML timestamp: PyYAML makes it a date, which no rule can be. */
export class YamlTimestamp {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

class YamlConstructorError extends Error {}

// PyYAML's implicit resolvers (YAML 1.1 as PyYAML has them, not as the yaml package has them: `y`,
// `1e3`, `-.5` and `08` stay strings there).
const PY_NULL = /^(?:~|null|Null|NULL|)$/;
const PY_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const PY_INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PY_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const PY_TIMESTAMP =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;

function sexagesimal(text: string): number {
  const negative = text.startsWith('-');
  const parts = text.replace(/^[-+]/, '').split(':').map(Number);
  const value = parts.reduce((sum, part) => sum * 60 + part, 0);
  return negative ? -value : value;
}

/** The value PyYAML's safe_load gives a plain (unquoted, untagged) scalar. */
function resolvePlainScalar(text: string): unknown {
  if (PY_NULL.test(text)) return null;
  if (PY_BOOL.test(text)) return /^(?:yes|true|on)$/i.test(text);
  if (PY_INT.test(text)) {
    const clean = text.replaceAll('_', '');
    if (clean.includes(':')) return sexagesimal(clean);
    const negative = clean.startsWith('-');
    const body = clean.replace(/^[-+]/, '');
    let value: number;
    if (body.startsWith('0b')) value = Number.parseInt(body.slice(2), 2);
    else if (body.startsWith('0x')) value = Number.parseInt(body.slice(2), 16);
    else if (body.length > 1 && body.startsWith('0')) value = Number.parseInt(body, 8);
    else value = Number(body);
    return negative ? -value : value;
  }
  if (PY_FLOAT.test(text)) {
    const clean = text.replaceAll('_', '').toLowerCase();
    if (clean.endsWith('.nan')) return Number.NaN;
    if (clean.endsWith('.inf')) return clean.startsWith('-') ? -Infinity : Infinity;
    if (clean.includes(':')) return sexagesimal(clean);
    return Number(clean);
  }
  if (PY_TIMESTAMP.test(text)) return new YamlTimestamp(text);
  if (text === '=' || text === '<<') throw new YamlConstructorError(`could not construct the value ${text}`);
  return text;
}

/** Converts a YAML node to the value PyYAML's safe_load would give. */
function toPython(node: unknown, document: Document): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toPython(node.resolve(document), document);
  if (isScalar(node)) {
    if (node.tag === '!') return node.source === '' ? null : String(node.value);
    if (node.type === 'PLAIN' && !node.tag) {
      return resolvePlainScalar(
        typeof node.value === 'string' ? node.value : String(node.source ?? node.value),
      );
    }
    return node.value;
  }
  if (isSeq(node)) return node.items.map((item) => toPython(item, document));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) out[String(toPython(pair.key, document))] = toPython(pair.value, document);
    return out;
  }
  return null;
}

function isPythonFalsy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/** Parses the text of a policy file; throws ConfigError naming the file and line when oslo would fail to load it. */
export function readPolicyText(text: string, fileName: string): PolicyFileContents {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    version: '1.1',
    uniqueKeys: false,
    lineCounter,
    prettyErrors: false,
  });
  let json: unknown;
  let isJson = false;
  try {
    json = JSON.parse(text);
    isJson = true;
  } catch {
    // Not JSON: oslo goes on with YAML.
  }
  if (!isJson) {
    // PyYAML refuses unknown tags (`!foo x`) where the yaml package only warns.
    const problem = document.errors[0] ?? document.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
    if (problem) {
      const line = problem.linePos?.[0].line ?? lineOf(text, problem.pos[0]);
      throw new ConfigError(
        `${fileName}:${line}: the policy file is not valid YAML: ${problem.message.split('\n')[0]}`,
      );
    }
  }
  if (!isJson) {
    // PyYAML reads a tag up to the next blank, so `[!, x]` has the tag "!," and `{a: !}` does not scan;
    // the yaml package stops the tag at the flow indicator.
    visit(document, (_key, node) => {
      if ((isScalar(node) || isMap(node) || isSeq(node)) && node.tag === '!' && node.range) {
        const bang = text.lastIndexOf('!', node.range[0]);
        const next = text[bang + 1];
        if (bang >= 0 && next !== undefined && !/\s/.test(next)) {
          throw new ConfigError(
            `${fileName}:${lineOf(text, bang)}: the policy file is not valid YAML: the tag !${next} is unknown`,
          );
        }
      }
    });
  }
  const lines = new Map<string, number[]>();
  const entries: PolicyFileEntry[] = [];
  const contents = document.errors.length === 0 ? document.contents : null;
  if (isMap(contents)) {
    for (const pair of contents.items) {
      const keyNode = pair.key;
      const offset = isScalar(keyNode) && keyNode.range ? keyNode.range[0] : 0;
      const line = lineCounter.linePos(offset).line;
      let key: unknown;
      let value: unknown;
      try {
        key = isScalar(keyNode) ? toPython(keyNode, document) : keyNode;
        value = isJson ? undefined : toPython(pair.value, document);
      } catch (error) {
        if (!(error instanceof YamlConstructorError)) throw error;
        throw new ConfigError(`${fileName}:${line}: the policy file is not valid YAML: ${error.message}`);
      }
      if (typeof key === 'string') {
        lines.set(key, [...(lines.get(key) ?? []), line]);
        if (!isJson) entries.push({ name: key, value: value ?? null, line });
      } else if (!isJson) {
        entries.push({ name: String(key), value: value ?? null, line, nonStringKey: true });
      }
    }
  }
  const topLevel = isJson ? json : contents === null ? null : toPython(contents, document);
  if (
    !isPythonFalsy(topLevel) &&
    (typeof topLevel !== 'object' || Array.isArray(topLevel) || topLevel === null)
  ) {
    throw new ConfigError(`${fileName}:1: a policy file must be a mapping of rule names to rules`);
  }
  if (isJson && topLevel) {
    // JSON keeps the last duplicate too; lines come from the YAML reading of the same text when it has one.
    const seen = new Map<string, number>();
    const raw = topLevel as Record<string, unknown>;
    for (const name of Object.keys(raw)) {
      const found = lines.get(name) ?? [];
      const index = seen.get(name) ?? 0;
      seen.set(name, index + 1);
      entries.push({ name, value: raw[name], line: found.at(-1) ?? 1 });
    }
  }
  return { entries, document: document.errors.length === 0 ? document : undefined, lineCounter };
}

/** Parses every rule of a file; a value oslo cannot load at all (a bare number, true) fails the file. */
export function loadPolicyText(text: string, fileName: string): Map<string, LoadedRule> {
  const { entries } = readPolicyText(text, fileName);
  const rules = new Map<string, LoadedRule>();
  for (const entry of entries) {
    if (entry.nonStringKey) continue;
    try {
      rules.set(entry.name, { check: parseRule(entry.value), line: entry.line, file: fileName });
    } catch (error) {
      if (error instanceof RuleValueError) {
        throw new ConfigError(
          `${fileName}:${entry.line}: rule "${entry.name}" has value ${JSON.stringify(entry.value)}; a rule must be a string or a list`,
        );
      }
      throw error;
    }
  }
  return rules;
}

/** Parses one value and collects why parts of it fell back to deny. */
export function parseWithProblems(value: unknown): {
  check?: Check;
  problems: ParseProblem[];
  loadError?: string;
} {
  const problems: ParseProblem[] = [];
  try {
    return { check: parseRule(value, problems), problems };
  } catch (error) {
    if (error instanceof RuleValueError) return { problems, loadError: error.message };
    throw error;
  }
}

// A JSON parser that keeps what policy.json's strict reading needs and JSON.parse throws away: key
// order, duplicate keys and source offsets. Syntax errors carry Go encoding/json's exact texts, because
// c/image validates the whole input with it before walking the tokens.
import { PolicyError, type SourcePosition } from '../errors/index.ts';

export type JsonNode =
  | { kind: 'object'; entries: JsonEntry[]; offset: number }
  | { kind: 'array'; items: JsonNode[]; offset: number }
  | { kind: 'string'; value: string; offset: number }
  | { kind: 'number'; value: number; raw: string; offset: number }
  | { kind: 'bool'; value: boolean; offset: number }
  | { kind: 'null'; offset: number };

export interface JsonEntry {
  key: string;
  keyOffset: number;
  value: JsonNode;
}

/** Line and column (from 1) of a character offset. */
export function positionAt(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

// Go's quoteChar: the offending character in single quotes, escaped as strconv.Quote would.
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const named: Record<string, string> = {
    '\x07': '\\a',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
    '\\': '\\\\',
  };
  if (named[c]) return `'${named[c]}'`;
  const code = c.charCodeAt(0);
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

const WHITESPACE = new Set([' ', '\t', '\r', '\n']);
const HEX = /^[0-9a-fA-F]$/;

class EndOfInput extends Error {}

class Parser {
  readonly text: string;
  pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  fail(context: string, at = this.pos): never {
    throw new PolicyError('POLICY_INVALID', `invalid character ${quoteChar(this.text[at])} ${context}`, {
      position: positionAt(this.text, at),
    });
  }

  peek(): string {
    if (this.pos >= this.text.length) throw new EndOfInput();
    return this.text[this.pos];
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length && WHITESPACE.has(this.text[this.pos])) this.pos++;
  }

  value(): JsonNode {
    this.skipWhitespace();
    const c = this.peek();
    const offset = this.pos;
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return { kind: 'string', value: this.string(), offset };
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    if (c === 't') return this.literal('true', { kind: 'bool', value: true, offset });
    if (c === 'f') return this.literal('false', { kind: 'bool', value: false, offset });
    if (c === 'n') return this.literal('null', { kind: 'null', offset });
    return this.fail('looking for beginning of value');
  }

  literal(word: string, node: JsonNode): JsonNode {
    for (let i = 0; i < word.length; i++) {
      if (this.peek() !== word[i]) this.fail(`in literal ${word} (expecting '${word[i]}')`);
      this.pos++;
    }
    return node;
  }

  number(): JsonNode {
    const offset = this.pos;
    const digit = () => {
      const c = this.peek();
      return c >= '0' && c <= '9';
    };
    // Past the end of the number the input may legitimately end; only mid-number does EOF matter.
    const more = () => this.pos < this.text.length;
    if (this.peek() === '-') {
      this.pos++;
      if (!digit()) this.fail('in numeric literal');
    }
    if (this.peek() === '0') this.pos++;
    else while (more() && digit()) this.pos++;
    if (more() && this.text[this.pos] === '.') {
      this.pos++;
      if (!digit()) this.fail('after decimal point in numeric literal');
      while (more() && digit()) this.pos++;
    }
    if (more() && (this.text[this.pos] === 'e' || this.text[this.pos] === 'E')) {
      this.pos++;
      if (this.peek() === '+' || this.peek() === '-') this.pos++;
      if (!digit()) this.fail('in exponent of numeric literal');
      while (more() && digit()) this.pos++;
    }
    const raw = this.text.slice(offset, this.pos);
    return { kind: 'number', value: Number(raw), raw, offset };
  }

  string(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        this.pos++;
        const e = this.peek();
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e in simple) {
          out += simple[e];
          this.pos++;
        } else if (e === 'u') {
          this.pos++;
          for (let i = 0; i < 4; i++) {
            if (!HEX.test(this.peek())) this.fail('in \\u hexadecimal character escape', this.pos);
            this.pos++;
          }
          out += String.fromCharCode(Number.parseInt(this.text.slice(this.pos - 4, this.pos), 16));
        } else {
          this.fail('in string escape code');
        }
        continue;
      }
      if (c.charCodeAt(0) < 0x20) this.fail('in string literal');
      out += c;
      this.pos++;
    }
  }

  object(): JsonNode {
    const offset = this.pos;
    this.pos++;
    const entries: JsonEntry[] = [];
    this.skipWhitespace();
    if (this.peek() === '}') {
      this.pos++;
      return { kind: 'object', entries, offset };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.peek() !== '"') this.fail('looking for beginning of object key string');
      const keyOffset = this.pos;
      const key = this.string();
      this.skipWhitespace();
      if (this.peek() !== ':') this.fail('after object key');
      this.pos++;
      const value = this.value();
      entries.push({ key, keyOffset, value });
      this.skipWhitespace();
      const c = this.peek();
      this.pos++;
      if (c === '}') return { kind: 'object', entries, offset };
      if (c !== ',') this.fail('after object key:value pair', this.pos - 1);
    }
  }

  array(): JsonNode {
    const offset = this.pos;
    this.pos++;
    const items: JsonNode[] = [];
    this.skipWhitespace();
    if (this.peek() === ']') {
      this.pos++;
      return { kind: 'array', items, offset };
    }
    for (;;) {
      items.push(this.value());
      this.skipWhitespace();
      const c = this.peek();
      this.pos++;
      if (c === ']') return { kind: 'array', items, offset };
      if (c !== ',') this.fail('after array element', this.pos - 1);
    }
  }
}

/** Parses one JSON document; throws POLICY_INVALID with Go's syntax error text and the position. */
export function parseGoJson(text: string): JsonNode {
  const parser = new Parser(text);
  try {
    const node = parser.value();
    parser.skipWhitespace();
    if (parser.pos < text.length) parser.fail('after top-level value');
    return node;
  } catch (error) {
    if (error instanceof EndOfInput) {
      throw new PolicyError('POLICY_INVALID', 'unexpected end of JSON input', {
        position: positionAt(text, text.length),
      });
    }
    throw error;
  }
}

/** How Go's `%s` prints the token json.Decoder returns where an object was expected. */
export function goTokenText(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return '{';
    case 'array':
      return '[';
    case 'string':
      return node.value;
    case 'number':
      return `%!s(float64=${goFloat(node.value)})`;
    case 'bool':
      return `%!s(bool=${node.value})`;
    case 'null':
      return '%!s(<nil>)';
  }
}

// Go's %v of a float64: shortest digits, exponent form below 1e-4 or from 1e6 (strconv's 'g', -1).
function goFloat(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e6)) {
    return value.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(value);
}

/** The JSON type name Go's `cannot unmarshal X into ...` errors use. */
export function goJsonTypeName(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return 'object';
    case 'array':
      return 'array';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'bool':
      return 'bool';
    case 'null':
      return 'null';
  }
}

/** Decodes one value of an object entry into wherever the caller keeps it. */
export type JsonFieldDecoder = (value: JsonNode, entry: JsonEntry) => void;

/** Throws the caller's error for a message at an offset of the input. */
export type JsonFail = (message: string, offset: number) => never;

/**
 * Walks an object as c/image's paranoidUnmarshalJSONObject does: entry by entry in document order, a
 * duplicate or an unknown key (no decoder) stops it, and each value is decoded before the next key is
 * looked at, so a bad value reports before a later unknown key. Returns the keys seen.
 */
export function walkParanoidObject(
  node: JsonNode,
  decoderFor: (key: string, entry: JsonEntry) => JsonFieldDecoder | undefined,
  fail: JsonFail,
): Set<string> {
  if (node.kind !== 'object') fail(`JSON object expected, got "${goTokenText(node)}"`, node.offset);
  const seen = new Set<string>();
  for (const entry of node.entries) {
    if (seen.has(entry.key)) fail(`Duplicate key "${entry.key}"`, entry.keyOffset);
    seen.add(entry.key);
    const decode = decoderFor(entry.key, entry);
    if (!decode) fail(`Unknown key "${entry.key}"`, entry.keyOffset);
    decode(entry.value, entry);
  }
  return seen;
}

/** paranoidUnmarshalJSONObjectExactFields: every one of `fields` exactly once, and nothing else. */
export function walkParanoidExactObject(
  node: JsonNode,
  fields: Record<string, JsonFieldDecoder>,
  fail: JsonFail,
): void {
  const seen = walkParanoidObject(
    node,
    (key) => (Object.hasOwn(fields, key) ? fields[key] : undefined),
    fail,
  );
  for (const key of Object.keys(fields)) {
    if (!seen.has(key)) fail(`Key "${key}" missing in a JSON object`, node.offset);
  }
}

const BASE64_ALPHABET = /^[A-Za-z0-9+/]$/;

/**
 * Go's base64.StdEncoding as encoding/json uses it for []byte: padding required, CR and LF skipped;
 * `fail` gets the byte offset Go's decoder stops at (`illegal base64 data at input byte N`).
 */
export function decodeGoBase64(s: string, fail: (byte: number) => never): Buffer {
  const chars: { c: string; at: number }[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] !== '\r' && s[i] !== '\n') chars.push({ c: s[i], at: i });
  for (let q = 0; q < chars.length; q += 4) {
    const quantum = chars.slice(q, q + 4);
    for (let j = 0; j < quantum.length; j++) {
      const { c, at } = quantum[j];
      if (BASE64_ALPHABET.test(c)) continue;
      if (c !== '=' || j < 2) fail(at);
      if (j === 2) {
        const next = quantum[3];
        if (!next) fail(s.length);
        if (next.c !== '=') fail(next.at);
      }
      // Padding ends the data; anything after it is trailing garbage.
      const after = chars[q + 4];
      if (after) fail(after.at);
      return Buffer.from(s.replace(/[\r\n]/g, ''), 'base64');
    }
    if (quantum.length < 4) fail(quantum[0].at);
  }
  return Buffer.from(s.replace(/[\r\n]/g, ''), 'base64');
}

/**
 * Folds a key as encoding/json matches it against a struct field name, case-insensitively: ASCII
 * letters, and "ſ" (U+017F) and "K" (U+212A), which Go folds to s and k. Compare the folds of both.
 */
export function goFoldKey(key: string): string {
  return key.replace(/[A-Z\u017f\u212a]/g, (c) =>
    c === '\u017f' ? 's' : c === '\u212a' ? 'k' : c.toLowerCase(),
  );
}

// The few pieces of Python that oslo.policy's checks lean on, reproduced so decisions match it exactly:
// str() and repr() of JSON-like values, `fmt % mapping`, and ast.literal_eval's verdict on a check kind.

/** A Python exception raised while evaluating a rule; oslo lets these escape `enforce`, we deny. */
export class PythonError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(`${type}: ${message}`);
    this.type = type;
  }
}

/** A JSON number written with a point or exponent: Python keeps it a float, so str(1.0) is '1.0'. */
export class PythonFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

/** Python's complex numbers and bytes, only ever produced by literal_eval on a check kind. */
class PythonComplex {
  readonly real: number;
  readonly imag: number;
  constructor(real: number, imag: number) {
    this.real = real;
    this.imag = imag;
  }
}
class PythonBytes {
  readonly bytes: number[];
  constructor(bytes: number[]) {
    this.bytes = bytes;
  }
}
class PythonTuple {
  readonly items: unknown[];
  constructor(items: unknown[]) {
    this.items = items;
  }
}
class PythonSet {
  readonly items: unknown[];
  constructor(items: unknown[]) {
    this.items = items;
  }
}
const ELLIPSIS = Symbol('Ellipsis');

/** Parses JSON as Python's json module does, keeping floats (1.0, 1e3) apart from ints. */
export function parsePythonJson(text: string): unknown {
  return JSON.parse(text, function revive(
    this: unknown,
    _key: string,
    value: unknown,
    context?: { source?: string },
  ) {
    if (typeof value === 'number' && context?.source !== undefined && /[.eE]/.test(context.source)) {
      return new PythonFloat(value);
    }
    if (typeof value === 'number' && context?.source !== undefined && !Number.isSafeInteger(value)) {
      return BigInt(context.source);
    }
    return value;
  } as (key: string, value: unknown) => unknown);
}

function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = x.toExponential().split('e');
  const exponent = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exponent >= -4 && exponent < 16) {
    let text: string;
    if (exponent < 0) text = `0.${'0'.repeat(-exponent - 1)}${digits}`;
    else if (digits.length <= exponent + 1) text = `${digits}${'0'.repeat(exponent + 1 - digits.length)}.0`;
    else text = `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
    return sign + text;
  }
  const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const expSign = exponent < 0 ? '-' : '+';
  return `${sign}${body}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

function complexRepr(c: PythonComplex): string {
  // Python drops the ".0" of integral parts in complex repr: (1+2j), 2j.
  const part = (x: number) => {
    const text = floatRepr(x);
    return text.endsWith('.0') ? text.slice(0, -2) : text;
  };
  if (c.real === 0 && !Object.is(c.real, -0)) return `${part(c.imag)}j`;
  const imag = part(c.imag);
  const joined = imag.startsWith('-') || imag === 'nan' ? imag : `+${imag}`;
  return `(${part(c.real)}${joined}j)`;
}

const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

function stringRepr(text: string, asciiOnly = false): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x7f) out += ch;
    else if (!asciiOnly && ch !== ' ' && !NON_PRINTABLE.test(ch)) out += ch;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return out + quote;
}

function bytesRepr(b: PythonBytes): string {
  const hasSingle = b.bytes.includes(0x27);
  const quote = hasSingle && !b.bytes.includes(0x22) ? '"' : "'";
  let out = `b${quote}`;
  for (const code of b.bytes) {
    const ch = String.fromCharCode(code);
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code >= 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

function numberText(n: number): string {
  return Number.isInteger(n) ? BigInt(n).toString() : floatRepr(n);
}

/** Python's repr() of a value from JSON (or of a literal_eval result). */
export function pythonRepr(value: unknown, asciiOnly = false): string {
  if (typeof value === 'string') return stringRepr(value, asciiOnly);
  if (Array.isArray(value)) return `[${value.map((v) => pythonRepr(v, asciiOnly)).join(', ')}]`;
  if (value instanceof PythonTuple) {
    const items = value.items.map((v) => pythonRepr(v, asciiOnly));
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  if (value instanceof PythonSet) {
    return value.items.length === 0
      ? 'set()'
      : `{${value.items.map((v) => pythonRepr(v, asciiOnly)).join(', ')}}`;
  }
  if (value instanceof Map) {
    const items = [...value].map(([k, v]) => `${pythonRepr(k, asciiOnly)}: ${pythonRepr(v, asciiOnly)}`);
    return `{${items.join(', ')}}`;
  }
  if (value instanceof PythonBytes) return bytesRepr(value);
  if (isPlainObject(value)) {
    const items = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${stringRepr(k, asciiOnly)}: ${pythonRepr(v, asciiOnly)}`);
    return `{${items.join(', ')}}`;
  }
  return pythonStr(value);
}

/** Python's str() of a value from JSON (or of a literal_eval result). */
export function pythonStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof PythonFloat) return floatRepr(value.value);
  if (value instanceof PythonComplex) return complexRepr(value);
  if (value === ELLIPSIS) return 'Ellipsis';
  return pythonRepr(value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function typeName(value: unknown): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'bigint') return 'int';
  if (value instanceof PythonFloat) return 'float';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}

/** The value of a Python int/float/bool for %d and friends, or undefined when it is not a number. */
function numericValue(value: unknown): { int: bigint; float: number; isInt: boolean } | undefined {
  if (typeof value === 'boolean') return { int: value ? 1n : 0n, float: value ? 1 : 0, isInt: true };
  if (typeof value === 'bigint') return { int: value, float: Number(value), isInt: true };
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return { int: BigInt(value), float: value, isInt: true };
    return { int: Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n, float: value, isInt: false };
  }
  if (value instanceof PythonFloat) {
    const v = value.value;
    return { int: Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n, float: v, isInt: false };
  }
  return undefined;
}

function pad(
  body: string,
  sign: string,
  prefix: string,
  flags: string,
  width: number,
  numeric: boolean,
): string {
  const total = sign.length + prefix.length + body.length;
  if (total >= width) return sign + prefix + body;
  const fill = width - total;
  if (flags.includes('-')) return sign + prefix + body + ' '.repeat(fill);
  if (numeric && flags.includes('0')) return sign + prefix + '0'.repeat(fill) + body;
  return ' '.repeat(fill) + sign + prefix + body;
}

function formatFloat(x: number, conversion: string, precision: number, flags: string): string {
  if (!Number.isFinite(x)) {
    const text = Number.isNaN(x) ? 'nan' : 'inf';
    return conversion === conversion.toUpperCase() ? text.toUpperCase() : text;
  }
  const abs = Math.abs(x);
  let text: string;
  const lower = conversion.toLowerCase();
  if (lower === 'f') text = abs.toFixed(precision);
  else if (lower === 'e') text = expForm(abs.toExponential(precision));
  else {
    const p = precision === 0 ? 1 : precision;
    const exponent = abs === 0 ? 0 : Math.floor(Math.log10(Number(abs.toExponential(p - 1))));
    if (exponent >= -4 && exponent < p) {
      text = abs.toFixed(Math.max(0, p - 1 - exponent));
      if (!flags.includes('#') && text.includes('.')) text = text.replace(/\.?0+$/, '');
    } else {
      text = abs.toExponential(p - 1);
      if (!flags.includes('#')) text = text.replace(/\.?0+e/, 'e');
      text = expForm(text);
    }
  }
  return conversion === conversion.toUpperCase() ? text.toUpperCase() : text;
}

function expForm(text: string): string {
  return text.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Python's `fmt % mapping` as oslo applies it to a check's match; a missing key raises KeyError. */
export function pythonFormat(fmt: string, mapping: Record<string, unknown>): string {
  if (!fmt.includes('%')) return fmt;
  let out = '';
  let i = 0;
  // Python hands the whole mapping to the first unkeyed spec; after a keyed spec none is left.
  let argumentUsed = false;
  while (i < fmt.length) {
    const at = fmt.indexOf('%', i);
    if (at < 0) {
      out += fmt.slice(i);
      break;
    }
    out += fmt.slice(i, at);
    i = at + 1;
    if (i >= fmt.length) throw new PythonError('ValueError', 'incomplete format');
    if (fmt[i] === '%') {
      out += '%';
      i++;
      continue;
    }
    let value: unknown;
    let keyed = false;
    if (fmt[i] === '(') {
      let depth = 1;
      const start = ++i;
      while (i < fmt.length && depth > 0) {
        if (fmt[i] === '(') depth++;
        else if (fmt[i] === ')') depth--;
        i++;
      }
      if (depth > 0) throw new PythonError('ValueError', 'incomplete format key');
      const key = fmt.slice(start, i - 1);
      if (!Object.hasOwn(mapping, key) || mapping[key] === undefined) throw new PythonError('KeyError', key);
      value = mapping[key];
      keyed = true;
      argumentUsed = true;
    }
    let flags = '';
    while (i < fmt.length && '-+ #0'.includes(fmt[i])) flags += fmt[i++];
    let width = 0;
    if (fmt[i] === '*') throw new PythonError('TypeError', 'not enough arguments for format string');
    while (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9') width = width * 10 + Number(fmt[i++]);
    let precision: number | undefined;
    if (fmt[i] === '.') {
      i++;
      if (fmt[i] === '*') throw new PythonError('TypeError', 'not enough arguments for format string');
      precision = 0;
      while (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9') precision = precision * 10 + Number(fmt[i++]);
    }
    while (i < fmt.length && 'hlL'.includes(fmt[i])) i++;
    if (i >= fmt.length) throw new PythonError('ValueError', 'incomplete format');
    const conversion = fmt[i++];
    if (!'sradiuoxXeEfFgGc'.includes(conversion)) {
      throw new PythonError('ValueError', `unsupported format character '${conversion}'`);
    }
    if (!keyed) {
      if (argumentUsed) throw new PythonError('TypeError', 'not enough arguments for format string');
      argumentUsed = true;
      value = mapping;
    }
    out += formatOne(value, conversion, flags, width, precision);
  }
  return out;
}

function formatOne(
  value: unknown,
  conversion: string,
  flags: string,
  width: number,
  precision?: number,
): string {
  switch (conversion) {
    case 's':
    case 'r':
    case 'a': {
      let text = conversion === 's' ? pythonStr(value) : pythonRepr(value, conversion === 'a');
      if (precision !== undefined) text = [...text].slice(0, precision).join('');
      return pad(text, '', '', flags, width, false);
    }
    case 'c': {
      let ch: string;
      if (typeof value === 'string') {
        if ([...value].length !== 1) throw new PythonError('TypeError', '%c requires int or char');
        ch = value;
      } else {
        const n = numericValue(value);
        if (!n?.isInt) throw new PythonError('TypeError', '%c requires int or char');
        if (n.int < 0n || n.int > 0x10ffffn)
          throw new PythonError('OverflowError', '%c arg not in range(0x110000)');
        ch = String.fromCodePoint(Number(n.int));
      }
      return pad(ch, '', '', flags, width, false);
    }
    case 'd':
    case 'i':
    case 'u':
    case 'o':
    case 'x':
    case 'X': {
      const n = numericValue(value);
      const integerOnly = conversion === 'o' || conversion === 'x' || conversion === 'X';
      if (!n || (integerOnly && !n.isInt)) {
        throw new PythonError(
          'TypeError',
          `%${conversion} format: ${integerOnly ? 'an integer' : 'a real number'} is required, not ${typeName(value)}`,
        );
      }
      if (!n.isInt && !Number.isFinite(n.float)) {
        throw new PythonError(Number.isNaN(n.float) ? 'ValueError' : 'OverflowError', 'cannot convert float');
      }
      const negative = n.int < 0n;
      const abs = negative ? -n.int : n.int;
      const radix =
        conversion === 'o' ? 8 : conversion === 'd' || conversion === 'i' || conversion === 'u' ? 10 : 16;
      let body = abs.toString(radix);
      if (conversion === 'X') body = body.toUpperCase();
      if (precision !== undefined && body.length < precision) body = body.padStart(precision, '0');
      const sign = negative ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
      const prefix = flags.includes('#') && radix !== 10 ? `0${conversion === 'o' ? 'o' : conversion}` : '';
      return pad(body, sign, prefix, flags, width, true);
    }
    default: {
      const n = numericValue(value);
      if (!n) throw new PythonError('TypeError', `must be real number, not ${typeName(value)}`);
      const x = n.float;
      const body = formatFloat(x, conversion, precision ?? 6, flags);
      const negative = x < 0 || Object.is(x, -0);
      const sign = negative ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
      return pad(body, sign, '', flags, width, Number.isFinite(x));
    }
  }
}

// ---- ast.literal_eval, enough to tell a literal (True, 20, 'shared') from a credential path ----

/** What ast.literal_eval makes of a check kind: a value, ValueError (a path) or SyntaxError (raised). */
export type LiteralVerdict = { kind: 'literal'; text: string } | { kind: 'path' } | { kind: 'syntax-error' };

type Token =
  | { t: 'name'; v: string }
  | { t: 'number'; v: unknown }
  | { t: 'string'; v: string; bytes: boolean; fstring: boolean }
  | { t: 'op'; v: string }
  | { t: 'end' };

const KEYWORDS = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield',
]);

const OPERATORS = [
  '**=',
  '//=',
  '>>=',
  '<<=',
  '...',
  '->',
  '**',
  '//',
  '<<',
  '>>',
  '<=',
  '>=',
  '==',
  '!=',
  ':=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '@=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '@',
  '<',
  '>',
  '&',
  '|',
  '^',
  '~',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '.',
  ';',
  '=',
];

class SyntaxFailure extends Error {}
class NotLiteral extends Error {}

const NUMBER =
  /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?[jJ]?)/;

function unescapePython(body: string, raw: boolean, bytes: boolean): string {
  if (raw) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = body[++i];
    const simple: Record<string, string> = {
      '\n': '',
      '\\': '\\',
      "'": "'",
      '"': '"',
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
    };
    if (next === undefined) throw new SyntaxFailure('trailing backslash');
    if (next in simple) out += simple[next];
    else if (next >= '0' && next <= '7') {
      let digits = next;
      while (digits.length < 3 && body[i + 1] >= '0' && body[i + 1] <= '7') digits += body[++i];
      out += String.fromCodePoint(Number.parseInt(digits, 8));
    } else if (next === 'x' || (!bytes && (next === 'u' || next === 'U'))) {
      const length = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + length);
      if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(hex)) throw new SyntaxFailure('bad escape');
      const code = Number.parseInt(hex, 16);
      if (code > 0x10ffff) throw new SyntaxFailure('bad escape');
      out += String.fromCodePoint(code);
      i += length;
    } else if (!bytes && next === 'N') throw new NotLiteral('named escapes are not supported');
    else out += `\\${next}`;
  }
  return out;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let depth = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const ch = source[i];
    if (ch === ' ' || ch === '\t' || ch === '\f') {
      i++;
      continue;
    }
    if (ch === '#') break;
    if (ch === '\n' || ch === '\r') {
      if (depth === 0 && source.slice(i).trim() !== '' && !source.slice(i).trim().startsWith('#')) {
        throw new SyntaxFailure('newline');
      }
      i++;
      continue;
    }
    if (ch === '\\' && (source[i + 1] === '\n' || source[i + 1] === '\r')) {
      i += 2;
      continue;
    }
    const stringStart = /^([rRbBuUfF]{0,2})(['"])/.exec(rest);
    if (
      stringStart &&
      /^(?:|[rR]|[uU]|[bB]|[fF]|[rR][bB]|[bB][rR]|[rR][fF]|[fF][rR])$/.test(stringStart[1])
    ) {
      const prefix = stringStart[1].toLowerCase();
      const quote = stringStart[2];
      const triple = rest.startsWith(quote.repeat(3), prefix.length);
      const delimiter = triple ? quote.repeat(3) : quote;
      let j = i + prefix.length + delimiter.length;
      let body = '';
      let closed = false;
      while (j < source.length) {
        if (source[j] === '\\') {
          body += source.slice(j, j + 2);
          j += 2;
          continue;
        }
        if (source.startsWith(delimiter, j)) {
          closed = true;
          j += delimiter.length;
          break;
        }
        if (!triple && (source[j] === '\n' || source[j] === '\r')) break;
        body += source[j++];
      }
      if (!closed) throw new SyntaxFailure('unterminated string');
      const bytes = prefix.includes('b');
      if (bytes && [...body].some((c) => (c.codePointAt(0) ?? 0) > 0x7f))
        throw new SyntaxFailure('bytes can only contain ASCII');
      tokens.push({
        t: 'string',
        v: unescapePython(body, prefix.includes('r'), bytes),
        bytes,
        fstring: prefix.includes('f'),
      });
      i = j;
      continue;
    }
    const name = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/u.exec(rest);
    if (name) {
      tokens.push({ t: 'name', v: name[0] });
      i += name[0].length;
      continue;
    }
    const number = /^[0-9]|^\.[0-9]/.test(rest) ? NUMBER.exec(rest) : null;
    if (number) {
      const text = number[0];
      const after = rest[text.length];
      // Python lets a keyword follow a number directly (`0in x`), nothing else that is a letter or digit.
      const tail = rest.slice(text.length);
      if (
        after !== undefined &&
        /[\p{L}\p{Nd}_]/u.test(after) &&
        !/^(?:and|else|for|if|in|is|not|or)/.test(tail)
      ) {
        throw new SyntaxFailure('invalid number');
      }
      tokens.push({ t: 'number', v: numberValue(text) });
      i += text.length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (!op) throw new SyntaxFailure(`invalid character ${ch}`);
    if (op === '(' || op === '[' || op === '{') depth++;
    if (op === ')' || op === ']' || op === '}') depth--;
    tokens.push({ t: 'op', v: op });
    i += op.length;
  }
  tokens.push({ t: 'end' });
  return tokens;
}

function numberValue(text: string): unknown {
  const clean = text.replaceAll('_', '');
  if (/[jJ]$/.test(clean)) return new PythonComplex(0, Number(clean.slice(0, -1)));
  if (/^0[xXoObB]/.test(clean)) {
    return BigInt(clean.slice(0, 2).toLowerCase() + clean.slice(2));
  }
  if (/[.eE]/.test(clean)) return new PythonFloat(Number(clean));
  if (/^0+$/.test(clean)) return 0n;
  if (clean.startsWith('0')) throw new SyntaxFailure('leading zeros');
  return BigInt(clean);
}

// A node is a literal value (already evaluated) or a marker that the expression is valid Python
// but no literal: literal_eval then raises ValueError, which oslo reads as "a credential path".
type Node =
  | { literal: true; value: unknown; kind: 'num' | 'str' | 'other'; paren: boolean }
  | { literal: false };

const NOT_LITERAL: Node = { literal: false };

class ExpressionParser {
  readonly tokens: Token[];
  pos = 0;
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }
  peek(): Token {
    return this.tokens[this.pos];
  }
  isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  isName(v: string): boolean {
    const t = this.peek();
    return t.t === 'name' && t.v === v;
  }
  expectOp(v: string): void {
    if (!this.isOp(v)) throw new SyntaxFailure(`expected ${v}`);
    this.pos++;
  }
  // expression_list at the top: a bare tuple `1, 2` is a literal too.
  parseTop(): Node {
    const first = this.parseTest();
    if (!this.isOp(',')) return first;
    const items = [first];
    while (this.isOp(',')) {
      this.pos++;
      if (this.peek().t === 'end' || this.isOp(')')) break;
      items.push(this.parseTest());
    }
    return collection(items, (values) => new PythonTuple(values));
  }
  parseTest(): Node {
    if (this.isName('lambda')) {
      this.pos++;
      while (!this.isOp(':')) {
        const t = this.peek();
        if (t.t === 'op' && (t.v === '*' || t.v === '**' || t.v === '/')) this.pos++;
        if (this.peek().t === 'name' && !KEYWORDS.has((this.peek() as { v: string }).v)) {
          this.pos++;
          if (this.isOp('=')) {
            this.pos++;
            this.parseTest();
          }
        } else if (!(t.t === 'op' && (t.v === '*' || t.v === '/'))) throw new SyntaxFailure('lambda');
        if (this.isOp(',')) this.pos++;
        else if (!this.isOp(':')) throw new SyntaxFailure('lambda');
      }
      this.pos++;
      this.parseTest();
      return NOT_LITERAL;
    }
    const body = this.parseOr();
    if (this.isName('if')) {
      this.pos++;
      this.parseOr();
      if (!this.isName('else')) throw new SyntaxFailure('expected else');
      this.pos++;
      this.parseTest();
      return NOT_LITERAL;
    }
    return body;
  }
  parseOr(): Node {
    let node = this.parseAnd();
    while (this.isName('or')) {
      this.pos++;
      this.parseAnd();
      node = NOT_LITERAL;
    }
    return node;
  }
  parseAnd(): Node {
    let node = this.parseNot();
    while (this.isName('and')) {
      this.pos++;
      this.parseNot();
      node = NOT_LITERAL;
    }
    return node;
  }
  parseNot(): Node {
    if (this.isName('not')) {
      this.pos++;
      this.parseNot();
      return NOT_LITERAL;
    }
    return this.parseComparison();
  }
  parseComparison(): Node {
    let node = this.parseBinary(0);
    for (;;) {
      const t = this.peek();
      if (t.t === 'op' && ['<', '>', '==', '>=', '<=', '!='].includes(t.v)) this.pos++;
      else if (this.isName('in')) this.pos++;
      else if (this.isName('not') && this.tokens[this.pos + 1]?.t === 'name') {
        const next = this.tokens[this.pos + 1] as { v: string };
        if (next.v !== 'in') break;
        this.pos += 2;
      } else if (this.isName('is')) {
        this.pos++;
        if (this.isName('not')) this.pos++;
      } else break;
      this.parseBinary(0);
      node = NOT_LITERAL;
    }
    return node;
  }
  parseBinary(level: number): Node {
    const levels = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '//', '%', '@']];
    if (level >= levels.length) return this.parseUnary();
    let node = this.parseBinary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !levels[level].includes(t.v)) return node;
      this.pos++;
      const right = this.parseBinary(level + 1);
      node = level === 4 ? complexSum(node, t.v, right) : NOT_LITERAL;
    }
  }
  parseUnary(): Node {
    const t = this.peek();
    if (t.t === 'op' && (t.v === '+' || t.v === '-' || t.v === '~')) {
      this.pos++;
      const operand = this.parseUnary();
      if (t.v === '~' || !operand.literal || operand.kind !== 'num') return NOT_LITERAL;
      return {
        literal: true,
        value: t.v === '-' ? negate(operand.value) : operand.value,
        kind: 'other',
        paren: false,
      };
    }
    return this.parsePower();
  }
  parsePower(): Node {
    let node = this.parsePrimary();
    if (this.isOp('**')) {
      this.pos++;
      this.parseUnary();
      node = NOT_LITERAL;
    }
    return node;
  }
  parsePrimary(): Node {
    let node = this.parseAtom();
    for (;;) {
      if (this.isOp('.')) {
        this.pos++;
        if (this.peek().t !== 'name' || KEYWORDS.has((this.peek() as { v: string }).v)) {
          throw new SyntaxFailure('attribute');
        }
        this.pos++;
        node = NOT_LITERAL;
      } else if (this.isOp('(')) {
        this.pos++;
        const args = this.parseArguments(')');
        // set() is the one call literal_eval accepts.
        node =
          node.literal === false && (node as { setName?: boolean }).setName && args === 0
            ? { literal: true, value: new PythonSet([]), kind: 'other', paren: false }
            : NOT_LITERAL;
      } else if (this.isOp('[')) {
        this.pos++;
        this.parseSubscript();
        node = NOT_LITERAL;
      } else return node;
    }
  }
  // a[i], a[i:j:k], a[:, 1]: slices may leave any part out.
  parseSubscript(): void {
    const ends = () => this.isOp(',') || this.isOp(']') || this.isOp(':');
    if (this.isOp(']')) throw new SyntaxFailure('empty subscript');
    for (;;) {
      if (!this.isOp(':')) this.parseTest();
      let colons = 0;
      while (this.isOp(':') && colons < 2) {
        this.pos++;
        colons++;
        if (!ends()) this.parseTest();
      }
      if (!this.isOp(',')) break;
      this.pos++;
      if (this.isOp(']')) break;
    }
    this.expectOp(']');
  }
  parseArguments(close: string): number {
    let count = 0;
    while (!this.isOp(close)) {
      if (this.isOp('*') || this.isOp('**')) this.pos++;
      this.parseTest();
      if (this.isOp('=') || this.isOp(':')) {
        this.pos++;
        this.parseTest();
      }
      count++;
      if (!this.isOp(',')) break;
      this.pos++;
    }
    this.expectOp(close);
    return count;
  }
  parseAtom(): Node {
    const t = this.peek();
    this.pos++;
    switch (t.t) {
      case 'name':
        if (t.v === 'True' || t.v === 'False')
          return { literal: true, value: t.v === 'True', kind: 'other', paren: false };
        if (t.v === 'None') return { literal: true, value: null, kind: 'other', paren: false };
        if (KEYWORDS.has(t.v)) throw new SyntaxFailure(`keyword ${t.v}`);
        return t.v === 'set' ? ({ literal: false, setName: true } as Node) : NOT_LITERAL;
      case 'number':
        return { literal: true, value: t.v, kind: 'num', paren: false };
      case 'string': {
        let value = t.v;
        let bytes = t.bytes;
        let fstring = t.fstring;
        const first = t.bytes;
        while (this.peek().t === 'string') {
          const next = this.peek() as { v: string; bytes: boolean; fstring: boolean };
          if (next.bytes !== first) throw new SyntaxFailure('cannot mix bytes and nonbytes literals');
          value += next.v;
          bytes = next.bytes;
          fstring ||= next.fstring;
          this.pos++;
        }
        if (fstring) return NOT_LITERAL;
        const literal = bytes ? new PythonBytes([...value].map((c) => c.charCodeAt(0))) : value;
        return { literal: true, value: literal, kind: 'str', paren: false };
      }
      case 'op':
        if (t.v === '(') {
          if (this.isOp(')')) {
            this.pos++;
            return { literal: true, value: new PythonTuple([]), kind: 'other', paren: true };
          }
          const inner = this.parseTop();
          this.expectOp(')');
          return inner.literal ? { ...inner, paren: true } : inner;
        }
        if (t.v === '[') {
          const items: Node[] = [];
          while (!this.isOp(']')) {
            items.push(this.parseTest());
            if (this.isName('for')) throw new NotLiteral('comprehension');
            if (!this.isOp(',')) break;
            this.pos++;
          }
          this.expectOp(']');
          return collection(items, (values) => values);
        }
        if (t.v === '{') {
          const keys: Node[] = [];
          const values: Node[] = [];
          let isDict: boolean | undefined;
          while (!this.isOp('}')) {
            keys.push(this.parseTest());
            if (this.isOp(':')) {
              if (isDict === false) throw new SyntaxFailure('mixed set and dict');
              isDict = true;
              this.pos++;
              values.push(this.parseTest());
            } else {
              if (isDict === true) throw new SyntaxFailure('mixed set and dict');
              isDict = false;
            }
            if (this.isName('for')) throw new NotLiteral('comprehension');
            if (!this.isOp(',')) break;
            this.pos++;
          }
          this.expectOp('}');
          if (isDict === false) return collection(keys, (items) => new PythonSet(items));
          if (!keys.every((k) => k.literal) || !values.every((v) => v.literal)) return NOT_LITERAL;
          const map = new Map<unknown, unknown>();
          keys.forEach((k, index) => {
            map.set((k as { value: unknown }).value, (values[index] as { value: unknown }).value);
          });
          return { literal: true, value: map, kind: 'other', paren: false };
        }
        if (t.v === '...') return { literal: true, value: ELLIPSIS, kind: 'other', paren: false };
        throw new SyntaxFailure(`unexpected ${t.v}`);
      default:
        throw new SyntaxFailure('unexpected end');
    }
  }
}

function collection(items: Node[], make: (values: unknown[]) => unknown): Node {
  if (!items.every((i) => i.literal)) return NOT_LITERAL;
  return {
    literal: true,
    value: make(items.map((i) => (i as { value: unknown }).value)),
    kind: 'other',
    paren: false,
  };
}

function negate(value: unknown): unknown {
  if (typeof value === 'bigint') return -value;
  if (value instanceof PythonFloat) return new PythonFloat(-value.value);
  if (value instanceof PythonComplex) return new PythonComplex(-value.real, -value.imag);
  return value;
}

function realPart(node: Node): number | undefined {
  if (!node.literal) return undefined;
  const v = node.value;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PythonFloat) return v.value;
  return undefined;
}

// literal_eval allows `real + imag j` and `real - imag j` so complex numbers can be written.
function complexSum(left: Node, op: string, right: Node): Node {
  const real = realPart(left);
  if (
    real === undefined ||
    !right.literal ||
    right.kind !== 'num' ||
    !(right.value instanceof PythonComplex)
  ) {
    return NOT_LITERAL;
  }
  if (left.literal && left.kind === 'other' && typeof left.value === 'boolean') return NOT_LITERAL;
  const imag = right.value.imag;
  return {
    literal: true,
    value: new PythonComplex(real, op === '+' ? imag : -imag),
    kind: 'other',
    paren: false,
  };
}

const verdicts = new Map<string, LiteralVerdict>();

/** ast.literal_eval(kind) as oslo's GenericCheck uses it: the literal's str(), "path", or a SyntaxError. */
export function classifyCheckKind(kind: string): LiteralVerdict {
  const cached = verdicts.get(kind);
  if (cached) return cached;
  let verdict: LiteralVerdict;
  try {
    const source = kind.replace(/^[ \t]+/, '');
    if (source.includes('\0')) throw new SyntaxFailure('null byte');
    const parser = new ExpressionParser(tokenize(source));
    const node = parser.parseTop();
    if (parser.peek().t !== 'end') throw new SyntaxFailure('trailing tokens');
    verdict = node.literal ? { kind: 'literal', text: pythonStr(node.value) } : { kind: 'path' };
  } catch (error) {
    if (error instanceof SyntaxFailure) verdict = { kind: 'syntax-error' };
    else if (error instanceof NotLiteral) verdict = { kind: 'path' };
    else throw error;
  }
  if (verdicts.size < 10_000) verdicts.set(kind, verdict);
  return verdict;
}

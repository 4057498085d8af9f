// A JSON reader that keeps what JSON.parse throws away — key order, duplicate keys and number
// spelling — so the payload and manifest rules can reject exactly what c/image's Go decoder rejects.

/** One JSON value with its object entries in document order (duplicates kept). */
export type JsonNode =
  | { kind: 'object'; entries: { key: string; value: JsonNode }[] }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

/** Thrown with Go's encoding/json wording, so callers can pass the text on as c/image does. */
export class JsonSyntaxError extends Error {}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function describe(char: string): string {
  return char === "'" ? "'\\''" : `'${char}'`;
}

/** Parses a whole JSON text; anything after the value other than whitespace is an error. */
export function readJsonTree(text: string): JsonNode {
  let at = 0;
  const skip = (): void => {
    while (at < text.length && WHITESPACE.has(text[at])) at++;
  };
  const end = (): never => {
    throw new JsonSyntaxError('unexpected end of JSON input');
  };
  const unexpected = (context: string): never => {
    if (at >= text.length) end();
    throw new JsonSyntaxError(`invalid character ${describe(text[at])} ${context}`);
  };

  const readString = (): string => {
    // Find the closing quote, then let JSON.parse apply the escapes it shares with Go.
    const start = at;
    at++;
    while (at < text.length && text[at] !== '"') {
      if (text[at] === '\\') at++;
      else if (text.charCodeAt(at) < 0x20) unexpected('in string literal');
      at++;
    }
    if (at >= text.length) end();
    at++;
    try {
      return JSON.parse(text.slice(start, at)) as string;
    } catch {
      throw new JsonSyntaxError('invalid character in string escape code');
    }
  };

  const readValue = (): JsonNode => {
    skip();
    const char = text[at];
    if (char === undefined) return end();
    if (char === '{') {
      at++;
      const entries: { key: string; value: JsonNode }[] = [];
      skip();
      if (text[at] === '}') {
        at++;
        return { kind: 'object', entries };
      }
      for (;;) {
        skip();
        if (text[at] !== '"') unexpected('looking for beginning of object key string');
        const key = readString();
        skip();
        if (text[at] !== ':') unexpected('after object key');
        at++;
        entries.push({ key, value: readValue() });
        skip();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === '}') {
          at++;
          return { kind: 'object', entries };
        }
        unexpected('after object key:value pair');
      }
    }
    if (char === '[') {
      at++;
      const items: JsonNode[] = [];
      skip();
      if (text[at] === ']') {
        at++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(readValue());
        skip();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === ']') {
          at++;
          return { kind: 'array', items };
        }
        unexpected('after array element');
      }
    }
    if (char === '"') return { kind: 'string', value: readString() };
    for (const [word, node] of [
      ['true', { kind: 'boolean', value: true }],
      ['false', { kind: 'boolean', value: false }],
      ['null', { kind: 'null' }],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return node;
      }
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (number) {
      at += number[0].length;
      return { kind: 'number', text: number[0], value: Number(number[0]) };
    }
    return unexpected('looking for beginning of value');
  };

  const value = readValue();
  skip();
  if (at < text.length) unexpected('after top-level value');
  return value;
}

/** The Go type name encoding/json uses in "cannot unmarshal X into ..." messages. */
export function goJsonKind(node: JsonNode): string {
  return node.kind === 'boolean' ? 'bool' : node.kind;
}

/** How Go's `%s` prints the decoder token that opens this value (c/image 5.23.1 quotes it). */
export function goTokenText(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return '{';
    case 'array':
      return '[';
    case 'string':
      return node.value;
    case 'number':
      return `%!s(float64=${node.value})`;
    case 'boolean':
      return `%!s(bool=${node.value})`;
    case 'null':
      return '%!s(<nil>)';
  }
}

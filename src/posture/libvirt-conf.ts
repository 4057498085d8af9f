// Reads libvirt's own configuration syntax (libvirtd.conf, qemu.conf, virtproxyd.conf) as libvirt 9.0's
// virConfParse (src/util/virconf.c) does, checked against virsh in the tests: `name = value`, a name
// starting with a letter (then letters, digits, `_`), a value a number, a '…' or "…" string on one line,
// a """…""" string (may span lines) or a [ list ] of strings (no comments inside a list); statements end
// at a newline or `;` (`a = "x"; b = 1` is one line); `#` starts a comment at the start of a statement or
// after a value. A duplicate key keeps its FIRST value; a syntax error makes the whole file unreadable
// (the daemon refuses to start), so the reader reports that instead of guessing.
export type LibvirtValue = number | string | string[];

export interface LibvirtEntry {
  key: string;
  value: LibvirtValue;
  line: number;
}

export interface ParsedLibvirtConf {
  file: string;
  entries: Map<string, LibvirtEntry>;
  error?: { line: number; message: string };
}

export function parseLibvirtConf(text: string, file: string): ParsedLibvirtConf {
  const entries = new Map<string, LibvirtEntry>();
  const end = text.length;
  let at = 0;
  let line = 1;
  const cur = () => text[at];
  const isBlank = (c: string | undefined) => c === ' ' || c === '\t';
  const isEol = (c: string | undefined) => c === '\n' || c === '\r';
  const skipBlanks = () => {
    while (at < end && isBlank(cur())) at++;
  };
  const skipBlanksAndEol = () => {
    while (at < end && (isBlank(cur()) || isEol(cur()))) {
      if (cur() === '\n') line++;
      at++;
    }
  };
  const toEol = () => {
    while (at < end && !isEol(cur())) at++;
  };
  class ConfSyntaxError extends Error {}
  const fail = (message: string): never => {
    throw new ConfSyntaxError(message);
  };
  // virConfParseString: '…' and "…" end at the line's end; """…""" may span lines.
  const parseString = (): string => {
    if (cur() === "'" || (cur() === '"' && !(at + 6 < end && text.startsWith('"""', at)))) {
      const quote = cur();
      at++;
      const base = at;
      while (at < end && cur() !== quote && !isEol(cur())) at++;
      if (cur() !== quote) fail('unterminated string');
      const value = text.slice(base, at);
      at++;
      return value;
    }
    at += 3;
    const base = at;
    while (at + 2 < end && !text.startsWith('"""', at)) {
      if (cur() === '\n') line++;
      at++;
    }
    if (!text.startsWith('"""', at)) fail('unterminated string');
    const value = text.slice(base, at);
    at += 3;
    return value;
  };
  // virConfParseValue; a list's items are values too (a list of other than strings is refused here,
  // as the daemon's string-list getters refuse it).
  const parseValue = (key: string): LibvirtValue => {
    skipBlanks();
    if (at >= end) fail('expecting a value');
    const c = cur();
    if (c === '"' || c === "'") return parseString();
    if (c === '[') {
      at++;
      skipBlanksAndEol();
      const items: string[] = [];
      const item = () => {
        const value = parseValue(key);
        if (typeof value !== 'string') fail(`${key}: a list holds quoted strings only`);
        items.push(value as string);
        skipBlanksAndEol();
      };
      if (at < end && cur() !== ']') item();
      while (at < end && cur() !== ']') {
        if (cur() !== ',') fail('expecting a separator in list');
        at++;
        skipBlanksAndEol();
        if (cur() === ']') break;
        item();
      }
      if (cur() !== ']') fail('list is not closed with ]');
      at++;
      return items;
    }
    if (/[0-9+-]/.test(c)) {
      const num = /^[-+]?[0-9]+/.exec(text.slice(at, at + 64));
      if (!num) fail('unterminated number');
      at += (num as RegExpExecArray)[0].length;
      return Number((num as RegExpExecArray)[0]);
    }
    if (c === '#') return fail(`${key}: expecting a value (libvirt allows no comment inside a list)`);
    return fail(`${key}: expecting a value (an unquoted string is an error)`);
  };
  try {
    while (at < end) {
      // virConfParseStatement
      skipBlanksAndEol();
      if (cur() === '#') toEol();
      else if (at < end) {
        const name = /^[A-Za-z][A-Za-z0-9_]*/.exec(text.slice(at, at + 256));
        if (!name) fail('expecting a name');
        const key = (name as RegExpExecArray)[0];
        const keyLine = line;
        at += key.length;
        skipBlanks();
        if (cur() !== '=') fail(`expecting an assignment after ${key}`);
        at++;
        skipBlanks();
        const value = parseValue(key);
        skipBlanks();
        if (cur() === '#') toEol();
        if (!entries.has(key)) entries.set(key, { key, value, line: keyLine });
      }
      // virConfParseSeparator
      skipBlanks();
      if (at >= end) break;
      if (isEol(cur())) skipBlanksAndEol();
      else if (cur() === ';') {
        at++;
        skipBlanksAndEol();
      } else fail('expecting a separator');
    }
  } catch (error) {
    if (error instanceof ConfSyntaxError) return { file, entries, error: { line, message: error.message } };
    throw error;
  }
  return { file, entries };
}

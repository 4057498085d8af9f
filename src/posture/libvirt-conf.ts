// Reads libvirt's own configuration syntax (libvirtd.conf, qemu.conf, virtproxyd.conf) as virConf does:
// `key = value` with a number, a quoted string or a [ list ] of strings; `#` starts a comment anywhere
// outside a string; a duplicate key keeps its FIRST value; an unquoted word makes the whole file
// unreadable (the daemon refuses to start), so the reader reports that instead of guessing.

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
  let at = 0;
  let line = 1;
  const peek = () => text[at];
  const skipBlanks = (newlines: boolean) => {
    for (;;) {
      const c = text[at];
      if (c === ' ' || c === '\t' || c === '\r') at++;
      else if (c === '\n' && newlines) {
        at++;
        line++;
      } else if (c === '#') {
        while (at < text.length && text[at] !== '\n') at++;
      } else return;
    }
  };
  const fail = (message: string): ParsedLibvirtConf => ({ file, entries, error: { line, message } });
  const readString = (): string | undefined => {
    const quote = text[at];
    if (quote !== '"' && quote !== "'") return undefined;
    const end = text.indexOf(quote, at + 1);
    if (end < 0) return undefined;
    const value = text.slice(at + 1, end);
    line += value.split('\n').length - 1;
    at = end + 1;
    return value;
  };
  while (at < text.length) {
    skipBlanks(true);
    if (at >= text.length) break;
    const keyMatch = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(at, at + 256));
    if (!keyMatch) return fail('expecting a name');
    const key = keyMatch[0];
    const keyLine = line;
    at += key.length;
    skipBlanks(false);
    if (peek() !== '=') return fail(`expecting an assignment after ${key}`);
    at++;
    skipBlanks(false);
    let value: LibvirtValue;
    const c = peek();
    if (c === '"' || c === "'") {
      const s = readString();
      if (s === undefined) return fail('unterminated string');
      value = s;
    } else if (c === '[') {
      at++;
      const items: string[] = [];
      for (;;) {
        skipBlanks(true);
        if (peek() === ']') {
          at++;
          break;
        }
        const s = readString();
        if (s === undefined) return fail(`${key}: a list holds quoted strings only`);
        items.push(s);
        skipBlanks(true);
        if (peek() === ',') at++;
        else if (peek() !== ']') return fail(`${key}: expecting , or ] in a list`);
      }
      value = items;
    } else {
      const num = /^[-+]?[0-9]+/.exec(text.slice(at, at + 64));
      if (!num) return fail(`${key}: expecting a value (an unquoted string is an error)`);
      at += num[0].length;
      value = Number(num[0]);
    }
    skipBlanks(false);
    if (peek() === ';') at++;
    skipBlanks(false);
    if (at < text.length && peek() !== '\n') return fail(`${key}: expecting a separator after the value`);
    if (!entries.has(key)) entries.set(key, { key, value, line: keyLine });
  }
  return { file, entries };
}

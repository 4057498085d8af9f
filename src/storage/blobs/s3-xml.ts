// A small, strict XML reader for the S3 responses we use (errors, listings, upload ids): elements,
// attributes (skipped), text, the five predefined entities and character references, comments, CDATA.
// No DTDs (so no entity expansion), bounded size, depth and element count; a linear scan, no regex over
// the input. Anything else is refused: an answer we cannot read is an error, not a guess.

export interface XmlElement {
  name: string;
  children: XmlElement[];
  /** The element's own text (its children's text excluded), entities decoded. */
  text: string;
}

export interface XmlLimits {
  maxChars?: number;
  maxDepth?: number;
  maxElements?: number;
}

export class XmlError extends Error {
  override name = 'XmlError';
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeText(raw: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let at = 0;
  while (at < raw.length) {
    const amp = raw.indexOf('&', at);
    if (amp < 0) {
      out += raw.slice(at);
      break;
    }
    out += raw.slice(at, amp);
    const semi = raw.indexOf(';', amp);
    if (semi < 0 || semi - amp > 12) throw new XmlError('Unterminated entity reference.');
    const name = raw.slice(amp + 1, semi);
    if (name.startsWith('#')) {
      const hex = name[1] === 'x' || name[1] === 'X';
      const digits = hex ? name.slice(2) : name.slice(1);
      if (!(hex ? /^[0-9a-fA-F]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) {
        throw new XmlError(`Bad character reference &${name};`);
      }
      const code = Number.parseInt(digits, hex ? 16 : 10);
      if (code > 0x10ffff || code === 0) throw new XmlError(`Bad character reference &${name};`);
      out += String.fromCodePoint(code);
    } else {
      const value = ENTITIES[name];
      if (value === undefined) throw new XmlError(`Unknown entity &${name};`);
      out += value;
    }
    at = semi + 1;
  }
  return out;
}

function isNameChar(c: string): boolean {
  return /[A-Za-z0-9_:.-]/.test(c);
}

/** Parses one document; throws XmlError on anything malformed or over the limits. */
export function parseXml(input: string, limits: XmlLimits = {}): XmlElement {
  const maxChars = limits.maxChars ?? 8 * 1024 * 1024;
  const maxDepth = limits.maxDepth ?? 16;
  const maxElements = limits.maxElements ?? 200_000;
  if (input.length > maxChars) throw new XmlError(`XML document over ${maxChars} characters.`);
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let elements = 0;
  let at = 0;
  const n = input.length;
  const appendText = (text: string) => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
    else if (text.trim() !== '') throw new XmlError('Text outside the root element.');
  };
  while (at < n) {
    const lt = input.indexOf('<', at);
    if (lt < 0) {
      appendText(decodeText(input.slice(at)));
      break;
    }
    if (lt > at) appendText(decodeText(input.slice(at, lt)));
    if (input.startsWith('<?', lt)) {
      const end = input.indexOf('?>', lt + 2);
      if (end < 0) throw new XmlError('Unterminated processing instruction.');
      at = end + 2;
    } else if (input.startsWith('<!--', lt)) {
      const end = input.indexOf('-->', lt + 4);
      if (end < 0) throw new XmlError('Unterminated comment.');
      at = end + 3;
    } else if (input.startsWith('<![CDATA[', lt)) {
      const end = input.indexOf(']]>', lt + 9);
      if (end < 0) throw new XmlError('Unterminated CDATA section.');
      if (stack.length === 0) throw new XmlError('CDATA outside the root element.');
      appendText(input.slice(lt + 9, end));
      at = end + 3;
    } else if (input.startsWith('<!', lt)) {
      throw new XmlError('Document type declarations are refused.');
    } else if (input.startsWith('</', lt)) {
      let i = lt + 2;
      while (i < n && isNameChar(input[i])) i++;
      const name = input.slice(lt + 2, i);
      while (i < n && /\s/.test(input[i])) i++;
      if (input[i] !== '>') throw new XmlError(`Malformed end tag </${name}.`);
      const open = stack.pop();
      if (!open || open.name !== name) throw new XmlError(`End tag </${name}> does not match.`);
      at = i + 1;
    } else {
      let i = lt + 1;
      while (i < n && isNameChar(input[i])) i++;
      const name = input.slice(lt + 1, i);
      if (name === '') throw new XmlError('Malformed start tag.');
      // Attributes: name="value" or name='value', skipped (namespaces are not needed here).
      let selfClosing = false;
      for (;;) {
        while (i < n && /\s/.test(input[i])) i++;
        if (input[i] === '>') {
          i++;
          break;
        }
        if (input.startsWith('/>', i)) {
          selfClosing = true;
          i += 2;
          break;
        }
        const nameStart = i;
        while (i < n && isNameChar(input[i])) i++;
        if (i === nameStart || input[i] !== '=') throw new XmlError(`Malformed attribute in <${name}>.`);
        const quote = input[i + 1];
        if (quote !== '"' && quote !== "'") throw new XmlError(`Unquoted attribute in <${name}>.`);
        const close = input.indexOf(quote, i + 2);
        if (close < 0) throw new XmlError(`Unterminated attribute in <${name}>.`);
        i = close + 1;
      }
      if (++elements > maxElements) throw new XmlError(`XML document over ${maxElements} elements.`);
      const element: XmlElement = { name, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) throw new XmlError('More than one root element.');
      else root = element;
      if (!selfClosing) {
        stack.push(element);
        if (stack.length > maxDepth) throw new XmlError(`XML nested deeper than ${maxDepth}.`);
      }
      at = i;
    }
  }
  if (stack.length > 0) throw new XmlError(`Unclosed element <${stack[stack.length - 1].name}>.`);
  if (!root) throw new XmlError('No root element.');
  return root;
}

export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

/** The text of the first child `name`, or undefined when there is none. */
export function childText(element: XmlElement, name: string): string | undefined {
  return element.children.find((child) => child.name === name)?.text;
}

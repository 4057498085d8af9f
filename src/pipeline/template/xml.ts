// A small element tree over saxes with source positions, so every lint finding can point at a line.
// DOCTYPE is refused outright: Oz templates never need one, and it is the door to entity expansion (XXE).
import { SaxesParser } from 'saxes';
import type { TemplateLocation } from './types.ts';

/** One parsed XML element with the place it starts in the source. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
  at: TemplateLocation;
}

/** A document that is not well-formed XML (or carries a DOCTYPE), with where the parser stopped. */
export interface XmlProblem {
  message: string;
  line: number;
  column: number;
}

export type XmlParseResult = { ok: true; root: XmlElement } | { ok: false; problem: XmlProblem };

class XmlStop extends Error {}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function positionOf(starts: number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid] <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: offset - starts[low] + 1 };
}

/** Parses `text` into an element tree; never throws for bad input, never expands entities. */
export function parseXml(text: string): XmlParseResult {
  const starts = lineStarts(text);
  const parser = new SaxesParser({ position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let problem: XmlProblem | undefined;
  let tagStart = 0;

  const fail = (message: string): never => {
    // saxes columns are zero-based; findings use one-based columns like compilers do.
    problem ??= { message, line: parser.line, column: parser.column + 1 };
    throw new XmlStop();
  };

  parser.on('error', (error) => fail(error.message.replace(/^[^:]*:\d+:\d+: /, '')));
  parser.on('doctype', () => fail('DOCTYPE declarations are refused (entity expansion is never performed)'));
  parser.on('opentagstart', (tag) => {
    const found = text.lastIndexOf(`<${tag.name}`, parser.position);
    tagStart = found >= 0 ? found : parser.position;
  });
  parser.on('opentag', (tag) => {
    const element: XmlElement = {
      name: tag.name,
      attributes: { ...(tag.attributes as Record<string, string>) },
      children: [],
      text: '',
      // The path is filled in once the whole tree is known (see simplifyPaths).
      at: { path: '', ...positionOf(starts, tagStart) },
    };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
    stack.push(element);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const addText = (chunk: string) => {
    const current = stack[stack.length - 1];
    if (current) current.text += chunk;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);

  try {
    parser.write(text).close();
  } catch (error) {
    if (!(error instanceof XmlStop)) {
      problem ??= { message: (error as Error).message, line: parser.line, column: parser.column + 1 };
    }
  }
  if (problem) return { ok: false, problem };
  if (!root) return { ok: false, problem: { message: 'document has no root element', line: 1, column: 1 } };
  return { ok: true, root: simplifyPaths(root) };
}

/** Drops `[1]` from elements that have no same-named sibling, so paths read like Oz's XPaths. */
function simplifyPaths(root: XmlElement): XmlElement {
  const visit = (element: XmlElement, path: string) => {
    element.at = { ...element.at, path };
    const totals = new Map<string, number>();
    for (const child of element.children) totals.set(child.name, (totals.get(child.name) ?? 0) + 1);
    const seen = new Map<string, number>();
    for (const child of element.children) {
      const index = (seen.get(child.name) ?? 0) + 1;
      seen.set(child.name, index);
      const repeatable = REPEATABLE.has(child.name) || (totals.get(child.name) ?? 0) > 1;
      visit(child, `${path}/${child.name}${repeatable ? `[${index}]` : ''}`);
    }
  };
  visit(root, `/${root.name}`);
  return root;
}

// Elements the schema allows many times are always indexed, so a path names the same element in every file.
const REPEATABLE = new Set(['package', 'file', 'command', 'repository', 'directory']);

// Reads OpenStack service configuration as oslo.config 9 does (iniparser.py, cfg.py): `key = value` or
// `key: value` (whichever separator comes first), matching quotes stripped, indented continuation lines,
// comments only at the start of a line, section names lowercased except DEFAULT, and the last file and
// the last line winning. Every value keeps its file and line so a finding can point at it.

/** One assignment as it stands in a file. */
export interface IniAssignment {
  section: string;
  key: string;
  value: string;
  file: string;
  line: number;
}

/** A line oslo.config refuses: the service would not start with this file. */
export interface IniParseError {
  file: string;
  line: number;
  message: string;
}

export interface ParsedIni {
  file: string;
  assignments: IniAssignment[];
  /** Sections in file order, with the line of their header (paste pipelines need the section itself). */
  sections: { name: string; line: number }[];
  error?: IniParseError;
}

/** oslo.config's group-name normalisation: DEFAULT stays, every other section is looked up lowercased. */
export function normalizeSection(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

/** Parses one file's text as oslo_config.iniparser.BaseParser does. */
export function parseOsloIni(text: string, file: string): ParsedIni {
  const assignments: IniAssignment[] = [];
  const sections: { name: string; line: number }[] = [];
  let section: string | undefined;
  let key: string | undefined;
  let value: string[] = [];
  let keyLine = 0;
  const flush = () => {
    if (key === undefined) return;
    // oslo joins continuation lines with a newline.
    if (section !== undefined)
      assignments.push({ section, key, value: value.join('\n'), file, line: keyLine });
    key = undefined;
    value = [];
  };
  const fail = (line: number, message: string): ParsedIni => ({
    file,
    assignments,
    sections,
    error: { file, line, message },
  });
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].replace(/\s+$/, '');
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (key === undefined) return fail(lineNo, 'Unexpected continuation line');
      value.push(line.trimStart());
      continue;
    }
    flush();
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) return fail(lineNo, 'Invalid section (must end with ])');
      if (line.length <= 2) return fail(lineNo, 'Empty section name');
      section = normalizeSection(line.slice(1, -1));
      sections.push({ name: section, line: lineNo });
    } else if (line.startsWith('#') || line.startsWith(';')) {
      // A comment; there are no inline comments in oslo.config.
    } else {
      const colon = line.indexOf(':');
      const equal = line.indexOf('=');
      if (colon < 0 && equal < 0) return fail(lineNo, "No ':' or '=' found in assignment");
      const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
      const k = line.slice(0, at).trim();
      let v = line.slice(at + 1).trim();
      if (v.length > 0 && v[0] === v[v.length - 1] && (v[0] === '"' || v[0] === "'")) v = v.slice(1, -1);
      if (!k) return fail(lineNo, 'Key cannot be empty');
      // oslo raises "No section" for an assignment before any header.
      if (section === undefined) return fail(lineNo, 'Assignment before any section header');
      key = k;
      value = [v];
      keyLine = lineNo;
    }
  }
  flush();
  return { file, assignments, sections };
}

/** Where an effective value came from; `alias` is set when a deprecated name or group supplied it. */
export interface ResolvedValue {
  value: string;
  file: string;
  line: number;
  alias?: { section: string; key: string };
}

/** A name an option may also be written under (oslo's deprecated_name / deprecated_group). */
export interface OptionAlias {
  section?: string;
  key?: string;
}

/** A service's configuration: its files in oslo.config's precedence order (lowest first). */
export class OsloConfig {
  readonly files: readonly ParsedIni[];
  readonly #index = new Map<string, IniAssignment[]>();

  constructor(files: readonly ParsedIni[]) {
    this.files = files;
    for (const parsed of files) {
      for (const a of parsed.assignments) {
        const id = `${a.section}\0${a.key}`;
        const list = this.#index.get(id);
        if (list) list.push(a);
        else this.#index.set(id, [a]);
      }
    }
  }

  /** Every assignment of exactly this section and key, in precedence order. */
  occurrences(section: string, key: string): readonly IniAssignment[] {
    return this.#index.get(`${normalizeSection(section)}\0${key}`) ?? [];
  }

  /**
   * The effective value of a single-valued option, as oslo's _Namespace._get_file_value finds it: files
   * newest first and, within a file, the current name before each deprecated alias; so a deprecated name
   * in a later file beats the current name in an earlier one. Within a file the last line wins.
   */
  get(section: string, key: string, aliases: readonly OptionAlias[] = []): ResolvedValue | undefined {
    const names = [
      { section: normalizeSection(section), key, alias: false },
      ...aliases.map((a) => ({
        section: normalizeSection(a.section ?? section),
        key: a.key ?? key,
        alias: true,
      })),
    ];
    const found = names.map((name) => this.occurrences(name.section, name.key));
    for (let f = this.files.length - 1; f >= 0; f--) {
      const file = this.files[f].file;
      for (let n = 0; n < names.length; n++) {
        const inFile = found[n].filter((a) => a.file === file).at(-1);
        if (inFile) {
          const { section: s, key: k, alias } = names[n];
          return {
            value: inFile.value,
            file,
            line: inFile.line,
            ...(alias ? { alias: { section: s, key: k } } : {}),
          };
        }
      }
    }
    return undefined;
  }

  /** A MultiStrOpt: every occurrence in every file, in order. */
  getAll(section: string, key: string): readonly IniAssignment[] {
    return this.occurrences(section, key);
  }

  /** The section's header line in the last file that has it, for findings about a whole section. */
  sectionLine(section: string): { file: string; line: number } | undefined {
    const name = normalizeSection(section);
    for (let i = this.files.length - 1; i >= 0; i--) {
      const found = this.files[i].sections.find((s) => s.name === name);
      if (found) return { file: this.files[i].file, line: found.line };
    }
    return undefined;
  }
}

/** oslo.config's Boolean type: case-insensitive true/1/on/yes and false/0/off/no; anything else is invalid. */
export function parseOsloBool(text: string): boolean | undefined {
  const lower = text.toLowerCase();
  if (['true', '1', 'on', 'yes'].includes(lower)) return true;
  if (['false', '0', 'off', 'no'].includes(lower)) return false;
  return undefined;
}

/**
 * oslo.config's List type: comma-separated, items stripped, empty text an empty list. Like oslo, the text
 * is stripped of whitespace and then of every trailing comma before it is split, so `a,` is `[a]`, not
 * `[a, '']` (an empty item would fail a prefix test the service itself never sees).
 */
export function parseOsloList(text: string): string[] {
  const body = text.trim().replace(/,+$/, '');
  if (body === '') return [];
  return body.split(',').map((item) => item.trim());
}

// Python's int() and float() grammars for text (oslo's Integer and Float call them): optional sign,
// decimal digits with single underscores between them, no 0x/0o/0b prefixes; float() adds a fraction,
// an exponent, inf/infinity and nan. JavaScript's Number() takes "0x2" and "", which oslo refuses or
// reads as unset, and Number.isInteger(1e3) would let "1e3" through where int() raises.
const DIGITS = String.raw`\d(?:_?\d)*`;
const PY_INT = new RegExp(`^[+-]?${DIGITS}$`);
const PY_FLOAT = new RegExp(
  `^[+-]?(?:(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?|inf(?:inity)?|nan)$`,
  'i',
);

/**
 * oslo.config's Integer or Float type: `null` for empty or blank text (oslo's Number returns None, so the
 * option is unset, not invalid), `undefined` for text Python's int()/float() refuses.
 */
export function parseOsloNumber(text: string, type: 'int' | 'float'): number | null | undefined {
  const s = text.trim();
  if (s === '') return null;
  if (!(type === 'int' ? PY_INT : PY_FLOAT).test(s)) return undefined;
  const plain = s.replace(/_/g, '').toLowerCase();
  if (plain.endsWith('nan')) return Number.NaN;
  if (plain.endsWith('inf') || plain.endsWith('infinity'))
    return plain.startsWith('-') ? -Infinity : Infinity;
  return Number(plain);
}

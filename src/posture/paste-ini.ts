// Reads paste.deploy files (api-paste.ini, glance-api-paste.ini, barbican-api-paste.ini) as paste.deploy 3
// does: its NicerConfigParser is Python 3.11's configparser.ConfigParser with its defaults (strict: a
// duplicate section or key is an error; comments `#`/`;` are whole lines, indented ones too, and are
// dropped from a multi-line value; blank lines stay in one) and `optionxform = str` (keys keep their
// case). Section names are case-sensitive, and paste.deploy finds `[pipeline:NAME]` case-sensitively.
import type { IniAssignment, ParsedIni, ResolvedValue } from './oslo-ini.ts';

/** Parses one file's text as configparser.RawConfigParser._read does (strict, no inline comments). */
export function parsePasteIni(text: string, file: string): ParsedIni {
  const sections: { name: string; line: number }[] = [];
  const entries: { section: string; key: string; value: string[]; line: number }[] = [];
  const seenSections = new Set<string>();
  const seenOptions = new Set<string>();
  let section: string | undefined;
  let current: { value: string[] } | undefined;
  let indentLevel = 0;
  // configparser collects ParsingErrors and raises them after the file; duplicates and a missing section
  // header raise at once. Either way paste.deploy loads nothing from the file.
  let error: ParsedIni['error'];
  const result = (): ParsedIni => ({
    file,
    assignments: entries.map(
      (e): IniAssignment => ({
        section: e.section,
        key: e.key,
        value: e.value.join('\n').trimEnd(),
        file,
        line: e.line,
      }),
    ),
    sections,
    ...(error ? { error } : {}),
  });
  // Python reads text files with universal newlines.
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i];
    const stripped = line.trim();
    const comment = stripped.startsWith('#') || stripped.startsWith(';');
    const value = comment ? '' : stripped;
    if (value === '') {
      // empty_lines_in_values: a blank line (not a comment) stays in the value being read.
      if (!comment && section !== undefined && current) current.value.push('');
      continue;
    }
    const indent = line.search(/\S/);
    if (section !== undefined && current && indent > indentLevel) {
      current.value.push(value);
      continue;
    }
    indentLevel = indent;
    const header = /^\[([^\n]+)\]/.exec(value);
    if (header) {
      const name = header[1];
      if (name !== 'DEFAULT' && seenSections.has(name)) {
        error = { file, line: lineNo, message: `section ${JSON.stringify(name)} already exists` };
        return result();
      }
      if (name !== 'DEFAULT') seenSections.add(name);
      section = name;
      sections.push({ name, line: lineNo });
      current = undefined;
      continue;
    }
    if (section === undefined) {
      error = { file, line: lineNo, message: 'File contains no section headers' };
      return result();
    }
    const option = /^(.*?)\s*([=:])\s*(.*)$/.exec(value);
    if (!option) {
      error ??= { file, line: lineNo, message: 'Source contains parsing errors (no = or :)' };
      continue;
    }
    const key = option[1].trimEnd();
    if (key === '') error ??= { file, line: lineNo, message: 'Source contains parsing errors (empty key)' };
    const id = `${section}\0${key}`;
    if (seenOptions.has(id)) {
      error = {
        file,
        line: lineNo,
        message: `option ${JSON.stringify(key)} in section ${JSON.stringify(section)} already exists`,
      };
      return result();
    }
    seenOptions.add(id);
    const entry = { section, key, value: [option[3].trim()], line: lineNo };
    entries.push(entry);
    current = entry;
  }
  return result();
}

/** paste.deploy's section lookup: `prefix:name`, the name compared after stripping, case counts. */
function sameSection(found: string, wanted: string): boolean {
  if (found === wanted) return true;
  const colon = wanted.indexOf(':');
  if (colon < 0) return false;
  const prefix = wanted.slice(0, colon + 1);
  return found.startsWith(prefix) && found.slice(prefix.length).trim() === wanted.slice(prefix.length).trim();
}

/** One paste.deploy file as the service loads it: nothing when configparser refuses the file. */
export class PasteConfig {
  readonly files: readonly ParsedIni[];

  constructor(parsed: ParsedIni) {
    this.files = [parsed];
  }

  /** The key (exact case) in the section, as paste.deploy's local_conf has it. */
  get(section: string, key: string): ResolvedValue | undefined {
    const parsed = this.files[0];
    if (parsed.error) return undefined;
    const found = parsed.assignments.find((a) => a.key === key && sameSection(a.section, section));
    return found && { value: found.value, file: found.file, line: found.line };
  }

  sectionLine(section: string): { file: string; line: number } | undefined {
    const parsed = this.files[0];
    const found = parsed.sections.find((s) => sameSection(s.name, section));
    return found && { file: parsed.file, line: found.line };
  }
}

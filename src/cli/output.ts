// The one way imagetrust prints data, as the openstack client does: `-f/--format table|value|json|yaml`
// (plus a command's own forms such as text, sarif or junit) and `-c/--column` to pick columns. Every
// command declares its formats here and prints through printResult; no command draws its own table.
import { createRequire } from 'node:module';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { stringify } from 'yaml';
import { ImageTrustError } from '../errors/index.ts';

/** The formats every command that prints data offers. */
export const DATA_FORMATS = ['table', 'value', 'json', 'yaml'] as const;
/** A report with a human form (text, the default) and the data forms. */
export const REPORT_FORMATS = ['text', ...DATA_FORMATS] as const;
/** The three linters: text, the data forms and SARIF 2.1.0 for code-scanning tools. */
export const LINT_FORMATS = [...REPORT_FORMATS, 'sarif'] as const;
/** The columns of a lint finding, the same for every linter. */
export const LINT_COLUMNS = ['file', 'line', 'column', 'severity', 'rule', 'message', 'path', 'fix'] as const;

export interface OutputSpec {
  /** Accepted --format values; the first is the default. */
  formats: readonly string[];
  /** Column names -c may pick; absent when the output has no columns. */
  columns?: readonly string[];
}

export interface OutputFlags {
  format?: string;
  column?: string[];
}

/** `-f/--format` with its choices (an unknown one is a usage error, exit 2); the first is the default. */
/** The YAML writer, loaded only for `--format yaml` (it adds 15 ms to every command's start-up). */
const toYaml = (): typeof stringify => createRequire(import.meta.url)('yaml').stringify;

export function formatOption(formats: readonly string[]): Option {
  return new Option('-f, --format <format>', 'output format').choices([...formats]).default(formats[0]);
}

const columnsOf = new WeakMap<Option, readonly string[]>();

/** `-c/--column`, repeatable, as openstack's: only these columns (or fields), in this order. */
export function columnOption(columns: readonly string[]): Option {
  const option = new Option(
    '-c, --column <column>',
    `show only this column (repeatable): ${columns.join(', ')}`,
  ).argParser((value: string, all: string[] = []) => {
    if (!columns.includes(value)) {
      throw new InvalidArgumentError(`no such column; choose from ${columns.join(', ')}.`);
    }
    return [...all, value];
  });
  columnsOf.set(option, columns);
  return option;
}

/** The output a command declared, for the docs, the man page and the contract test. */
export function outputSpecOf(command: Command): OutputSpec | undefined {
  const format = command.options.find((option) => option.long === '--format');
  if (!format?.argChoices) return undefined;
  const column = command.options.find((option) => option.long === '--column');
  const columns = column ? columnsOf.get(column) : undefined;
  return { formats: format.argChoices, ...(columns ? { columns } : {}) };
}

type Row = Record<string, unknown>;

/** How a result looks as rows: a list of records, or one record shown as Field | Value. */
export type Tabular = { list: readonly object[]; columns: readonly string[] } | { record: object };

export interface ResultViews {
  /** The human form (`--format text`), when the command has one. */
  text?: () => void;
  /** The rows for table and value; by default the value itself (an array is a list, an object a record). */
  tabular?: () => Tabular;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A prettytable box, as openstack prints: a header row, then one row per record; multi-line cells stay aligned. */
export function renderTable(columns: readonly string[], rows: string[][]): string {
  const lines = (text: string) => text.split('\n');
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...rows.flatMap((row) => lines(row[i]).map((line) => line.length))),
  );
  const rule = `+${widths.map((width) => '-'.repeat(width + 2)).join('+')}+`;
  const render = (cells: readonly string[]) => {
    const split = cells.map(lines);
    const height = Math.max(...split.map((part) => part.length));
    return Array.from(
      { length: height },
      (_, n) => `| ${split.map((part, i) => (part[n] ?? '').padEnd(widths[i])).join(' | ')} |`,
    );
  };
  return [rule, ...render(columns), rule, ...rows.flatMap(render), rule].join('\n');
}

function toTabular(value: unknown): Tabular {
  if (Array.isArray(value)) {
    const columns = [...new Set(value.flatMap((row) => Object.keys(row as Row)))];
    return { list: value as Row[], columns };
  }
  return { record: (value ?? {}) as Row };
}

/** Picks -c columns out of a JSON value: the same selection table, value, json and yaml see. */
function selectJson(value: unknown, tabular: Tabular, columns: string[] | undefined): unknown {
  if (!columns || columns.length === 0) return value;
  const pick = (row: Row) => Object.fromEntries(columns.map((column) => [column, row[column] ?? null]));
  return 'list' in tabular ? (tabular.list as Row[]).map(pick) : pick(tabular.record as Row);
}

/** Prints `value` in the format the user chose. */
export function printResult(value: unknown, flags: OutputFlags, views: ResultViews = {}): void {
  const format = flags.format ?? (views.text ? 'text' : 'table');
  const tabular = () => (views.tabular ? views.tabular() : toTabular(value));
  const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  switch (format) {
    case 'text':
      if (views.text) {
        views.text();
        return;
      }
      break;
    case 'json':
    case 'yaml': {
      const selected = flags.column?.length ? selectJson(value, tabular(), flags.column) : value;
      out(format === 'json' ? JSON.stringify(selected, null, 2) : toYaml()(selected));
      return;
    }
    case 'table':
    case 'value': {
      const shape = tabular();
      if ('list' in shape) {
        const list = shape.list as Row[];
        const columns = flags.column?.length ? flags.column : shape.columns;
        const rows = list.map((row) => columns.map((column) => cell(row[column])));
        if (format === 'table') out(renderTable(columns, rows));
        else if (rows.length > 0) out(rows.map((row) => row.join(' ')).join('\n'));
        return;
      }
      const record = shape.record as Row;
      const fields = flags.column?.length ? flags.column : Object.keys(record);
      if (format === 'table') {
        out(
          renderTable(
            ['Field', 'Value'],
            fields.map((field) => [field, cell(record[field])]),
          ),
        );
      } else out(fields.map((field) => cell(record[field])).join('\n'));
      return;
    }
  }
  throw new ImageTrustError('USAGE', `This command does not print --format ${format}.`);
}

/** Prints a list with its columns named, so an empty list still has its header. */
export function printList(rows: readonly object[], columns: readonly string[], flags: OutputFlags): void {
  printResult(rows, flags, { tabular: () => ({ list: rows, columns }) });
}

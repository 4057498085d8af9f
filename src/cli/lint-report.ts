// The one report of the three linters (template lint, containers lint, policy lint): the same finding
// fields, the same JSON/YAML document, the same text lines and SARIF 2.1.0, and exit 1 on any error.
import { type OutputFlags, printResult } from './output.ts';
import { readPackageVersion } from './version.ts';

export type LintSeverity = 'error' | 'warning' | 'info';

/** One finding, whatever the linter: `rule` is the stable id, `path` where in the document, `fix` what to do. */
export interface LintFindingView {
  rule: string;
  severity: LintSeverity;
  message: string;
  line: number | null;
  column: number | null;
  path: string | null;
  fix: string | null;
}

export interface LintFileView {
  file: string;
  findings: LintFindingView[];
}

/** A rule a linter knows, for SARIF's rule list; rules seen only in findings are listed by id. */
export interface LintRuleInfo {
  id: string;
  summary: string;
  severity: LintSeverity;
}

export interface LintReport {
  files: LintFileView[];
  summary: { errors: number; warnings: number; infos: number };
}

export function toLintReport(files: LintFileView[]): LintReport {
  const all = files.flatMap((file) => file.findings);
  const count = (severity: LintSeverity) => all.filter((f) => f.severity === severity).length;
  return { files, summary: { errors: count('error'), warnings: count('warning'), infos: count('info') } };
}

/** `file:line:column: severity RULE message (path) — fix: ...`, the parts a finding has. */
export function toLintText(report: LintReport): string {
  const lines = report.files.flatMap(({ file, findings }) =>
    findings.map((f) => {
      const at = `${file}${f.line === null ? '' : `:${f.line}`}${f.line !== null && f.column !== null ? `:${f.column}` : ''}`;
      return `${at}: ${f.severity} ${f.rule} ${f.message}${f.path ? ` (${f.path})` : ''}${f.fix ? ` — fix: ${f.fix}` : ''}`;
    }),
  );
  const { errors, warnings } = report.summary;
  lines.push(`${errors} error(s), ${warnings} warning(s) in ${report.files.length} file(s)`);
  return `${lines.join('\n')}\n`;
}

const SARIF_LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

/** SARIF 2.1.0, as code-scanning tools (GitHub, GitLab) read it. */
export function toLintSarif(
  report: LintReport,
  meta: { rules?: readonly LintRuleInfo[]; informationUri?: string } = {},
) {
  const known = [...(meta.rules ?? [])];
  for (const { findings } of report.files) {
    for (const f of findings) {
      if (!known.some((rule) => rule.id === f.rule))
        known.push({ id: f.rule, summary: f.rule, severity: f.severity });
    }
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'imagetrust',
            version: readPackageVersion(),
            ...(meta.informationUri ? { informationUri: meta.informationUri } : {}),
            rules: known.map((rule) => ({
              id: rule.id,
              shortDescription: { text: rule.summary },
              defaultConfiguration: { level: SARIF_LEVEL[rule.severity] },
            })),
          },
        },
        results: report.files.flatMap(({ file, findings }) =>
          findings.map((f) => ({
            ruleId: f.rule,
            ruleIndex: known.findIndex((rule) => rule.id === f.rule),
            level: SARIF_LEVEL[f.severity],
            message: { text: f.fix ? `${f.message} Fix: ${f.fix}` : f.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: file },
                  region: { startLine: f.line ?? 1, ...(f.column === null ? {} : { startColumn: f.column }) },
                },
                ...(f.path ? { logicalLocations: [{ fullyQualifiedName: f.path }] } : {}),
              },
            ],
          })),
        ),
      },
    ],
  };
}

/** Prints the report in the chosen format (text to stderr, the rest to stdout); exit 1 on any error finding. */
export function printLintReport(
  files: LintFileView[],
  flags: OutputFlags,
  meta: { rules?: readonly LintRuleInfo[]; informationUri?: string } = {},
): void {
  const report = toLintReport(files);
  if (flags.format === 'sarif')
    process.stdout.write(`${JSON.stringify(toLintSarif(report, meta), null, 2)}\n`);
  else {
    printResult(report, flags, {
      text: () => process.stderr.write(toLintText(report)),
      tabular: () => ({
        list: report.files.flatMap(({ file, findings }) => findings.map((f) => ({ file, ...f }))),
        columns: ['file', 'line', 'column', 'severity', 'rule', 'message'],
      }),
    });
  }
  if (report.summary.errors > 0) process.exitCode = 1;
}

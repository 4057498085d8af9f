// Renders lint findings as text lines, a JSON report, or SARIF 2.1.0 for code-scanning tools. Pure.
import { TEMPLATE_RULES } from './rules.ts';
import type { TemplateFinding } from './types.ts';

/** Findings of one file, as the CLI collects them. */
export interface TemplateLintResult {
  file: string;
  findings: TemplateFinding[];
}

/** `file:line:col: severity rule message`, one line per finding, with the fix hint after it. */
export function toTemplateLintText(results: TemplateLintResult[]): string {
  return results
    .flatMap(({ file, findings }) =>
      findings.map(
        (f) =>
          `${file}:${f.line}:${f.column}: ${f.severity} ${f.rule} ${f.message} (${f.path}) — fix: ${f.fix}`,
      ),
    )
    .join('\n');
}

export function toTemplateLintJson(results: TemplateLintResult[]) {
  const all = results.flatMap((result) => result.findings);
  return {
    files: results,
    summary: {
      errors: all.filter((f) => f.severity === 'error').length,
      warnings: all.filter((f) => f.severity === 'warning').length,
      infos: all.filter((f) => f.severity === 'info').length,
    },
  };
}

const SARIF_LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

export function toTemplateLintSarif(results: TemplateLintResult[], version: string) {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'imagetrust',
            version,
            informationUri: 'https://github.com/clalancette/oz/wiki/Oz-template-description-language',
            rules: TEMPLATE_RULES.map((rule) => ({
              id: rule.id,
              shortDescription: { text: rule.summary },
              defaultConfiguration: { level: SARIF_LEVEL[rule.severity] },
            })),
          },
        },
        results: results.flatMap(({ file, findings }) =>
          findings.map((f) => ({
            ruleId: f.rule,
            ruleIndex: TEMPLATE_RULES.findIndex((rule) => rule.id === f.rule),
            level: SARIF_LEVEL[f.severity],
            message: { text: `${f.message} Fix: ${f.fix}` },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: file },
                  region: { startLine: f.line, startColumn: f.column },
                },
                logicalLocations: [{ fullyQualifiedName: f.path, kind: 'element' }],
              },
            ],
          })),
        ),
      },
    ],
  };
}

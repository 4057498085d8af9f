// `imagetrust containers lint`: checks policy.json (and a registries.d directory) as skopeo would read
// them, with positions for errors, plus what a reviewer should see. Exit 1 when anything is an error.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import {
  goFileErrorText,
  type LintFinding,
  lintPolicy,
  lintRegistries,
  readRegistriesDir,
} from '../containers/index.ts';
import { PolicyError } from '../errors/index.ts';
import { printLintReport } from './lint-report.ts';
import type { OutputFlags } from './output.ts';

export interface LintOptions {
  policy: string;
  'registries.d'?: string;
  format?: string;
}

/** Go's wording for a key file that cannot be used, or undefined when it is a readable file. */
function checkKeyFile(file: string): string | undefined {
  try {
    if (statSync(file).isDirectory()) return `read ${file}: is a directory`;
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (error) {
    return goFileErrorText(file, error);
  }
}

/** Collects every finding for the files named in `options`. */
export async function collectLintFindings(options: LintOptions): Promise<LintFinding[]> {
  let text: string;
  try {
    text = readFileSync(options.policy, 'utf8');
  } catch (error) {
    return [
      {
        rule: 'policy-unreadable',
        severity: 'error',
        message: goFileErrorText(options.policy, error),
        file: options.policy,
      },
    ];
  }
  const findings = lintPolicy(text, { file: options.policy, checkKeyFile });
  const registriesDir = options['registries.d'];
  if (registriesDir) {
    try {
      findings.push(...lintRegistries(await readRegistriesDir(registriesDir)));
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      const finding: LintFinding = {
        rule: 'registries-invalid',
        severity: 'error',
        message: error.message,
        file: registriesDir,
      };
      if (error.position) finding.position = error.position;
      findings.push(finding);
    }
  }
  return findings;
}

/** The command: every finding grouped by the file it is in, in the linters' one report; exit 1 on an error. */
export async function runLint(options: LintOptions & OutputFlags): Promise<void> {
  const findings = await collectLintFindings(options);
  const files = [...new Set([options.policy, ...findings.map((f) => f.file)])];
  printLintReport(
    files.map((file) => ({
      file,
      findings: findings
        .filter((f) => f.file === file)
        .map((f) => ({
          rule: f.rule,
          severity: f.severity,
          message: f.message,
          line: f.position?.line ?? null,
          column: f.position?.column ?? null,
          path: null,
          fix: null,
        })),
    })),
    options,
  );
}

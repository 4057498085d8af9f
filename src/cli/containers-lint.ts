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
import { PolicyError, ValidationError } from '../errors/index.ts';

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

function formatFinding(finding: LintFinding): string {
  const at = finding.position ? `:${finding.position.line}:${finding.position.column}` : '';
  return `${finding.file}${at}: ${finding.severity}: ${finding.message} [${finding.rule}]`;
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

/** The command: text findings to stderr, or a JSON report to stdout; exit 1 on any error finding. */
export async function runLint(options: LintOptions): Promise<void> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new ValidationError('BAD_REQUEST', `Unknown --format ${format}: use text or json.`);
  }
  const findings = await collectLintFindings(options);
  const errors = findings.filter((f) => f.severity === 'error');
  const warnings = findings.filter((f) => f.severity === 'warning');
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify({ policy: options.policy, errors, warnings }, null, 2)}\n`);
  } else {
    const lines = findings.map(formatFinding);
    lines.push(`${errors.length} error(s), ${warnings.length} warning(s)`);
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  if (errors.length > 0) process.exitCode = 1;
}

// `imagetrust policy`: print the default rules as a sample file, decide one rule as oslopolicy-checker
// would, and lint policy files for the traps of the oslo.policy language. The domain loads lazily.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../errors/index.ts';
import { type LintFileView, printLintReport } from './lint-report.ts';
import { columnOption, formatOption, LINT_COLUMNS, LINT_FORMATS, type OutputFlags } from './output.ts';
import { readTextOrReason } from './read-text.ts';

const collect = (value: string, all: string[] = []) => [...all, value];

/** Adds the `policy` command group to the program; main.ts calls it once. */
export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description(
      'Authorization rules in the oslo.policy language: defaults, decisions, and lint of policy files.',
    );

  policy
    .command('list-defaults')
    .description(
      'Print every in-code default rule as a commented sample policy.yaml (like oslopolicy-sample-generator).',
    )
    .addHelpText(
      'after',
      `
Every rule is printed commented out with its description and the API calls it guards. Uncomment
and change only the rules you mean to override; the others keep their defaults.

Example:
  $ imagetrust policy list-defaults > /etc/imagetrust/policy.yaml`,
    )
    .action(async () => runListDefaults());

  policy
    .command('check <rule>')
    .description(
      'Decide RULE for the given credentials and target: print "allowed" (exit 0) or "denied" (exit 1).',
    )
    .option('--policy-file <file>', 'YAML or JSON policy file over the defaults (default: the defaults only)')
    .option(
      '--policy-dir <dir>',
      'policy.d directory layered on top, files in name order (repeatable)',
      collect,
    )
    .option('--default-rule <name>', 'rule used for names no rule defines', 'default')
    .option(
      '--no-defaults',
      "judge the files alone, as oslopolicy-checker does: no imagetrust default rules (for another service's policy file)",
    )
    .requiredOption('--target <json>', 'the target as JSON, or @FILE to read it from a file')
    .requiredOption('--credentials <json>', 'the credentials as JSON, or @FILE to read them from a file')
    .addHelpText(
      'after',
      `
The target describes the thing acted on (project_id, user_id, visibility, ...); the credentials
describe the caller (user_id, project_id, roles, is_admin, ...). A name no rule defines falls back
to the default rule, as oslo.policy does. Bad JSON exits 2; a policy file that cannot load exits 78.

Rule names are those of \`imagetrust policy list-defaults\`; a name no rule defines gets a warning
naming the rules it resembles. With --no-defaults only the files count, as oslopolicy-checker judges
them: a name they do not define falls back to their "default" rule, else is denied (nova's or
glance's policy file is not judged by imagetrust's rules).

Example:
  $ imagetrust policy check delete_image \\
      --target '{"project_id": "p1"}' \\
      --credentials '{"roles": ["member"], "project_id": "p1", "user_id": "u1"}'
  allowed`,
    )
    .action(async (rule: string, options: CheckOptions) => runCheck(rule, options));

  policy
    .command('lint <files...>')
    .description(
      'Lint policy files for rules that allow or deny what they seem not to (YAML nulls, unquoted !, undefined references); exit 1 on an error.',
    )
    .addOption(formatOption(LINT_FORMATS))
    .addOption(columnOption(LINT_COLUMNS))
    .addHelpText(
      'after',
      `
Findings carry a stable id (POLICY-YAML-TAG, POLICY-UNDEFINED-REF, ...), the rule name and line.
Text goes to stderr; --format json or yaml prints {files: [{file, findings}], summary} to stdout,
the same report as template lint and containers lint; --format sarif prints SARIF 2.1.0.

Example:
  $ imagetrust policy lint /etc/imagetrust/policy.yaml
  policy.yaml:3: error POLICY-YAML-TAG "image:delete_image": ! is a YAML tag with no value, ...`,
    )
    .action(async (files: string[], options: OutputFlags) => runLint(files, options));
}

interface CheckOptions {
  policyFile?: string;
  policyDir?: string[];
  defaultRule: string;
  /** commander's --no-defaults: false when given. */
  defaults: boolean;
  target: string;
  credentials: string;
}

async function runListDefaults(): Promise<void> {
  const [{ sampleYaml }, { DEFAULT_RULES }] = await Promise.all([
    import('../identity/policy/index.ts'),
    import('../identity/default-rules.ts'),
  ]);
  process.stdout.write(sampleYaml(DEFAULT_RULES));
}

function readJsonOption(
  name: string,
  value: string,
  parse: (text: string) => unknown,
): Record<string, unknown> {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (error) {
      throw new ValidationError('BAD_REQUEST', `--${name}: cannot read ${value.slice(1)}`, { cause: error });
    }
  }
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (error) {
    throw new ValidationError('MALFORMED_JSON', `--${name} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError(
      'MALFORMED_JSON',
      `--${name} must be a JSON object, like '{"project_id": "p1"}'`,
    );
  }
  return parsed as Record<string, unknown>;
}

async function runCheck(rule: string, options: CheckOptions): Promise<void> {
  const [{ PolicyEnforcer, parsePythonJson }, { DEFAULT_RULES }] = await Promise.all([
    import('../identity/policy/index.ts'),
    import('../identity/default-rules.ts'),
  ]);
  const target = readJsonOption('target', options.target, parsePythonJson);
  const credentials = readJsonOption('credentials', options.credentials, parsePythonJson);
  const enforcer = new PolicyEnforcer({
    defaults: options.defaults === false ? [] : DEFAULT_RULES,
    policyFile: options.policyFile,
    policyDirs: options.policyDir,
    defaultRule: options.defaultRule,
  });
  const known = [...enforcer.rules().keys()];
  if (!known.includes(rule)) {
    const similar = resembling(rule, known);
    process.stderr.write(
      `imagetrust: warning: no rule is named "${rule}"; the "${options.defaultRule}" rule decides${
        similar.length > 0 ? `. Did you mean ${similar.map((name) => `"${name}"`).join(', ')}?` : ''
      }\n`,
    );
  }
  const decision = enforcer.decide(rule, target, credentials);
  if (decision.error)
    process.stderr.write(`imagetrust: oslo.policy would raise here (${decision.error}); denied\n`);
  process.stdout.write(decision.allowed ? 'allowed\n' : 'denied\n');
  process.exitCode = decision.allowed ? 0 : 1;
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/** The closest rule names (at most three), within a third of the name's length in edits. */
function resembling(name: string, known: string[]): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  return known
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .filter(({ distance }) => distance <= limit)
    .sort((x, y) => x.distance - y.distance || x.candidate.localeCompare(y.candidate))
    .slice(0, 3)
    .map(({ candidate }) => candidate);
}

async function runLint(files: string[], options: OutputFlags): Promise<void> {
  const [{ lintPolicyFile }, { DEFAULT_RULES }] = await Promise.all([
    import('../identity/policy/index.ts'),
    import('../identity/default-rules.ts'),
  ]);
  const results = files.map((file): LintFileView => {
    const read = readTextOrReason(file);
    if ('reason' in read) {
      const { reason } = read;
      return {
        file,
        findings: [
          {
            rule: 'POLICY-UNREADABLE',
            severity: 'error',
            message: `cannot read ${file}: ${reason}`,
            line: 1,
            column: null,
            path: null,
            fix: 'Check the path and its permissions.',
          },
        ],
      };
    }
    return {
      file,
      // The policy rule a finding is about ("image:delete_image") is where in the file it sits.
      findings: lintPolicyFile(read.text, file, DEFAULT_RULES).map((f) => ({
        rule: f.ruleId,
        severity: f.severity,
        message: f.message,
        line: f.line,
        column: null,
        path: f.rule || null,
        fix: f.hint,
      })),
    };
  });
  printLintReport(results, options);
}

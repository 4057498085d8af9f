// `imagetrust posture scan`: an OpenStack deployment's configuration (an /etc copy or single files, plus
// flavor and image exports or a live cloud) checked against the Security Guide; findings as text, JSON,
// SARIF 2.1.0 or JUnit, exit 1 when one reaches --fail-on.
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { AuthFlags } from '../client/index.ts';
import { ConfigError, ImageTrustError, ValidationError } from '../errors/index.ts';
import type { CheckDefinition, PostureFinding } from '../posture/index.ts';
import { addAuthOptions } from './connect.ts';
import { type LintFileView, toLintReport, toLintSarif } from './lint-report.ts';
import { DATA_FORMATS, formatOption, printResult } from './output.ts';

const collect = (value: string, all: string[] = []) => [...all, value];

export const POSTURE_FORMATS = ['text', ...DATA_FORMATS, 'sarif', 'junit'] as const;
const SEVERITY_RANK = { info: 0, warning: 1, error: 2 } as const;

/** Adds the `posture` command group to the program. */
export function registerPostureCommands(program: Command): void {
  const posture = program
    .command('posture')
    .description(
      "Deployment posture: an OpenStack cloud's configuration checked against the Security Guide (signature verification, key manager, live migration, scheduler filters, entropy, TLS).",
    );
  addAuthOptions(
    posture
      .command('scan [paths...]')
      .description(
        'Check configuration roots (an /etc copy with nova/, glance/, cinder/, barbican/, libvirt/) or single files; exit 1 on findings at or above --fail-on.',
      )
      .option(
        '--flavors <file>',
        'flavors: `openstack flavor list --long -f json` or `flavor show -f json` (repeatable)',
        collect,
      )
      .option(
        '--images <file>',
        'images: `openstack image show -f json` (or list --long) export (repeatable)',
        collect,
      )
      .option(
        '--checks <file>',
        'YAML check catalogue that adds or overrides checks by id (repeatable)',
        collect,
      )
      .option(
        '--cloud',
        'also read images (and flavors, when the catalog has compute) from the cloud named by OS_* / --os-*',
      )
      .addOption(formatOption(POSTURE_FORMATS))
      .addOption(
        new Option('--fail-on <severity>', 'lowest severity that fails the scan (exit 1)')
          .choices(['error', 'warning', 'info'])
          .default('error'),
      )
      .addHelpText(
        'after',
        `
Findings carry a stable check id (OSP-IMG-SIG-NOVA, ...), a severity, the subject (section/option, a
policy rule, flavor:NAME or image:ID), the file and line, a remediation and the guide section. Files are
read as oslo.config reads them (last value wins, nova.conf.d before nova.conf, deprecated names, no
inline comments); nova's and glance's policy files with the services' own defaults, not imagetrust's.

Examples:
  $ imagetrust posture scan /etc --format sarif > posture.sarif
  $ imagetrust posture scan /etc/nova/nova.conf --images images.json --fail-on warning
  $ imagetrust posture scan /etc --checks site-checks.yaml --format json`,
      ),
  ).action(async (paths: string[], options: PostureScanOptions) => runPostureScan(paths, options));
}

export interface PostureScanOptions extends AuthFlags {
  flavors?: string[];
  images?: string[];
  checks?: string[];
  cloud?: boolean;
  format: (typeof POSTURE_FORMATS)[number];
  failOn: 'error' | 'warning' | 'info';
}

function readInput(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ImageTrustError(
      'INPUT_UNREADABLE',
      `Cannot read ${what} ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function readJsonExport(file: string, what: string): unknown {
  const text = readInput(file, what);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ImageTrustError(
      'INPUT_INVALID',
      `${file} is not the JSON of ${what}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** The scan as a function of its inputs, for the command and the tests. */
export async function scanPosture(paths: string[], options: Omit<PostureScanOptions, 'format' | 'failOn'>) {
  const posture = await import('../posture/index.ts');
  const catalogue = posture.loadCatalogue(
    posture.readShippedCatalogue(),
    (options.checks ?? []).map((file) => {
      try {
        return { text: readFileSync(file, 'utf8'), source: file };
      } catch (error) {
        throw new ConfigError(`Cannot read the check catalogue ${file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }),
  );
  const material = posture.loadPostureMaterial({ paths });
  const flavors = (options.flavors ?? []).flatMap((f) =>
    posture.parseFlavorExport(readJsonExport(f, 'a flavor export'), f),
  );
  const images = (options.images ?? []).flatMap((f) =>
    posture.parseImageExport(readJsonExport(f, 'an image export'), f),
  );
  if (options.cloud) {
    const live = await readCloud(options);
    flavors.push(...posture.parseFlavorExport(live.flavors, live.computeUrl ?? 'cloud'));
    images.push(...posture.parseImageExport(live.images, live.imageUrl));
  }
  const blind = images.filter((image) => !image.propertiesKnown).length;
  if (blind > 0) {
    process.stderr.write(
      `imagetrust: ${blind} image(s) come from 'openstack image list --long', which has no properties: their properties are not checked (export them with 'openstack image show -f json')\n`,
    );
  }
  if (options.flavors || options.cloud) material.flavors = flavors;
  if (options.images || options.cloud) material.images = images;
  const findings = posture.evaluatePosture(catalogue, material);
  return { catalogue, findings, report: toPostureReport(findings, catalogue) };
}

/** Images from the image API; flavors with extra specs from compute when the catalog has it. */
async function readCloud(
  flags: AuthFlags,
): Promise<{ images: unknown[]; flavors: unknown[]; imageUrl: string; computeUrl?: string }> {
  const [{ connect }, { ImageApi }] = await Promise.all([
    import('./connect.ts'),
    import('../client/index.ts'),
  ]);
  const session = await connect(flags);
  const images = await new ImageApi(session).listImages();
  let compute: string | undefined;
  try {
    compute = session.endpoint('compute');
  } catch {
    process.stderr.write(
      'imagetrust: the service catalog has no compute endpoint: flavors are not checked\n',
    );
  }
  const flavors: unknown[] = [];
  if (compute) {
    const { flavors: list } = await session.json<{ flavors: { id: string; name: string }[] }>(
      'GET',
      `${compute}/flavors/detail?is_public=None`,
    );
    for (const flavor of list) {
      const specs = await session.json<{ extra_specs: Record<string, string> }>(
        'GET',
        `${compute}/flavors/${encodeURIComponent(flavor.id)}/os-extra_specs`,
      );
      flavors.push({ ...flavor, extra_specs: specs.extra_specs });
    }
  }
  return {
    images,
    flavors,
    imageUrl: `${session.endpoint('image')}/v2/images`,
    computeUrl: compute && `${compute}/flavors`,
  };
}

export interface PostureReport {
  findings: PostureFinding[];
  summary: { errors: number; warnings: number; infos: number; checks: number };
}

export function toPostureReport(
  findings: PostureFinding[],
  catalogue: readonly CheckDefinition[],
): PostureReport {
  const count = (s: string) => findings.filter((f) => f.severity === s).length;
  return {
    findings,
    summary: {
      errors: count('error'),
      warnings: count('warning'),
      infos: count('info'),
      checks: catalogue.length,
    },
  };
}

function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One testcase per check of the catalogue, a failure per finding at or above the threshold. */
export function toPostureJunit(
  report: PostureReport,
  catalogue: readonly CheckDefinition[],
  failOn: string,
): string {
  const threshold = SEVERITY_RANK[failOn as keyof typeof SEVERITY_RANK];
  let failures = 0;
  const cases = catalogue.map((check) => {
    const mine = report.findings.filter((f) => f.check === check.id);
    const body = mine
      .map((f) => {
        const text = `${f.subject} at ${f.location.file}${f.location.line === null ? '' : `:${f.location.line}`}: ${f.message}\nRemediation: ${f.remediation}\nReference: ${f.reference}`;
        if (SEVERITY_RANK[f.severity] >= threshold) {
          failures++;
          return `\n    <failure type="${f.severity}" message="${escapeXml(`${f.subject}: ${f.message}`)}">${escapeXml(text)}</failure>`;
        }
        return `\n    <system-out>${escapeXml(`${f.severity}: ${text}`)}</system-out>`;
      })
      .join('');
    return `  <testcase classname="imagetrust.posture" name="${escapeXml(check.id)}">${body}${body ? '\n  ' : ''}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="imagetrust posture scan" tests="${catalogue.length}" failures="${failures}" errors="0">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}

/** SARIF 2.1.0 through the linters' writer, with the guide reference and subject carried along. */
export function toPostureSarif(report: PostureReport, catalogue: readonly CheckDefinition[]) {
  const byFile = new Map<string, LintFileView>();
  for (const f of report.findings) {
    const view = byFile.get(f.location.file) ?? { file: f.location.file, findings: [] };
    view.findings.push({
      rule: f.check,
      severity: f.severity,
      message: f.message,
      line: f.location.line,
      column: null,
      path: f.subject,
      fix: f.remediation,
    });
    byFile.set(f.location.file, view);
  }
  const sarif = toLintSarif(toLintReport([...byFile.values()]), {
    rules: catalogue.map((c) => ({ id: c.id, summary: c.message, severity: c.severity })),
  });
  const references = new Map(catalogue.map((c) => [c.id, c.reference]));
  for (const rule of sarif.runs[0].tool.driver.rules as Record<string, unknown>[]) {
    const reference = references.get(rule.id as string);
    if (reference) {
      rule.help = { text: reference };
      rule.properties = { reference };
    }
  }
  // The linters' writer walks files in order; put each finding's subject and reference on its result.
  const ordered = [...byFile.values()].flatMap((v) => v.findings);
  sarif.runs[0].results.forEach((result, i) => {
    (result as Record<string, unknown>).properties = {
      subject: ordered[i].path,
      reference: references.get(ordered[i].rule) ?? '',
    };
  });
  return sarif;
}

export function toPostureText(report: PostureReport): string {
  const lines = report.findings.map((f) => {
    const at = `${f.location.file}${f.location.line === null ? '' : `:${f.location.line}`}`;
    return `${at}: ${f.severity} ${f.check} ${f.subject}: ${f.message} — fix: ${f.remediation} [${f.reference}]`;
  });
  const { errors, warnings, infos, checks } = report.summary;
  lines.push(`${errors} error(s), ${warnings} warning(s), ${infos} info(s) from ${checks} check(s)`);
  return `${lines.join('\n')}\n`;
}

export async function runPostureScan(paths: string[], options: PostureScanOptions): Promise<void> {
  if (paths.length === 0 && !options.cloud && !options.flavors && !options.images) {
    throw new ValidationError(
      'BAD_REQUEST',
      'Name a configuration root or file, --flavors, --images or --cloud.',
    );
  }
  const { catalogue, report } = await scanPosture(paths, options);
  switch (options.format) {
    case 'sarif':
      process.stdout.write(`${JSON.stringify(toPostureSarif(report, catalogue), null, 2)}\n`);
      break;
    case 'junit':
      process.stdout.write(toPostureJunit(report, catalogue, options.failOn));
      break;
    default:
      // json and yaml print the report document; table and value one row per finding.
      printResult(report, options, {
        text: () => process.stderr.write(toPostureText(report)),
        tabular: () => ({
          list: report.findings.map((f) => ({ ...f, file: f.location.file, line: f.location.line })),
          columns: ['severity', 'check', 'subject', 'file', 'line', 'message'],
        }),
      });
  }
  const threshold = SEVERITY_RANK[options.failOn];
  if (report.findings.some((f) => SEVERITY_RANK[f.severity] >= threshold)) process.exitCode = 1;
}

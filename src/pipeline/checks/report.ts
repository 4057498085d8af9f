// Renders scan results as text, JSON, JUnit XML or SARIF 2.1.0.
import type { CheckResult } from './types.ts';

export type ReportFormat = 'text' | 'json' | 'junit' | 'sarif';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'junit', 'sarif'];

function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function toText(results: CheckResult[]): string {
  const lines = results.map((result) => {
    const head = `${result.status.toUpperCase().padEnd(14)} ${result.id}: ${result.title}`;
    return [head, ...result.evidence.map((line) => `    ${line}`)].join('\n');
  });
  const failed = results.filter((result) => result.status === 'fail').length;
  return `${lines.join('\n')}\n${results.length} checks, ${failed} failed\n`;
}

function toJunit(image: string, results: CheckResult[]): string {
  const count = (status: string) => results.filter((result) => result.status === status).length;
  const cases = results.map((result) => {
    const open = `  <testcase classname="imagetrust.scan" name="${escapeXml(result.id)}">`;
    const message = escapeXml(result.evidence.join('\n'));
    const body =
      result.status === 'fail'
        ? `\n    <failure message="${escapeXml(result.evidence[0] ?? 'failed')}">${message}</failure>\n  `
        : result.status === 'error'
          ? `\n    <error message="${escapeXml(result.evidence[0] ?? 'error')}">${message}</error>\n  `
          : result.status === 'not-applicable'
            ? `\n    <skipped message="${escapeXml(result.evidence[0] ?? 'not applicable')}"/>\n  `
            : '';
    return `${open}${body}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="imagetrust scan ${escapeXml(image)}" tests="${results.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('not-applicable')}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}

function toSarif(image: string, results: CheckResult[]): string {
  const level = { pass: 'none', fail: 'error', 'not-applicable': 'none', error: 'warning' } as const;
  const kind = { pass: 'pass', fail: 'fail', 'not-applicable': 'notApplicable', error: 'review' } as const;
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'imagetrust-scan',
            informationUri: 'https://github.com/imagetrust/imagetrust',
            rules: results.map((result) => ({ id: result.id, shortDescription: { text: result.title } })),
          },
        },
        results: results.map((result, ruleIndex) => ({
          ruleId: result.id,
          ruleIndex,
          kind: kind[result.status],
          level: level[result.status],
          message: { text: result.evidence.join('; ') || result.status },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri: result.filesRead[0]?.replace(/^\//, '') ?? '.' } },
              logicalLocations: [{ name: image }],
            },
          ],
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/** What identifies the scanned file: the sha512 that Glance reports as os_hash_value once it is uploaded. */
export interface ReportSubject {
  imageSha512?: string;
}

export function renderReport(
  format: ReportFormat,
  image: string,
  results: CheckResult[],
  subject: ReportSubject = {},
): string {
  switch (format) {
    case 'text':
      return toText(results);
    case 'json':
      return `${JSON.stringify({ image, ...(subject.imageSha512 ? { image_sha512: subject.imageSha512 } : {}), results }, null, 2)}\n`;
    case 'junit':
      return toJunit(image, results);
    case 'sarif':
      return toSarif(image, results);
  }
}

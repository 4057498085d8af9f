// Renders a boot-test run as text, JSON (the scan report's top-level shape plus `kind: boot-test`, so
// the server reads both) or JUnit XML.
import type { BootTestResult } from './types.ts';

export type BootReportFormat = 'text' | 'json' | 'junit';
export const BOOT_REPORT_FORMATS: readonly BootReportFormat[] = ['text', 'json', 'junit'];

/** Everything a run reports; `serial_log` is the tail, or all of it when a test did not pass. */
export interface BootReport {
  kind: 'boot-test';
  tool: { name: string; version: string };
  image: string;
  image_sha512: string;
  profile: string;
  firmware: 'bios' | 'uefi';
  accelerator: 'kvm' | 'tcg';
  results: BootTestResult[];
  serial_log: string;
  timings: {
    boot_to_agent_ms: number | null;
    boot_to_ssh_ms: number | null;
    tests_ms: number;
    total_ms: number;
  };
}

/** The serial log as reported: its last lines when all passed, the whole log when something did not. */
export function serialLogForReport(log: string, results: readonly BootTestResult[], tailLines = 200): string {
  const allPassed = results.every((result) => result.status === 'pass' || result.status === 'skip');
  if (!allPassed) return log;
  return log.split('\n').slice(-tailLines).join('\n');
}

/** XML 1.0 text: markup escaped, and control characters (serial logs are full of them) dropped. */
export function escapeXml(value: string): string {
  return value
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function toText(report: BootReport): string {
  const lines = report.results.map((result) => {
    const head = `${result.status.toUpperCase().padEnd(6)} ${result.id} (${(result.duration_ms / 1000).toFixed(1)} s): ${result.message}`;
    const output =
      result.status === 'pass' || !result.output ? [] : result.output.split('\n').map((l) => `    ${l}`);
    return [head, ...output].join('\n');
  });
  const count = (status: string) => report.results.filter((result) => result.status === status).length;
  const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
  return [
    `${report.image} (${report.profile}, ${report.firmware}, ${report.accelerator})`,
    ...lines,
    `${report.results.length} tests: ${count('pass')} passed, ${count('fail')} failed, ${count('error')} errors, ${count('skip')} skipped; boot to SSH ${seconds(report.timings.boot_to_ssh_ms)}, total ${seconds(report.timings.total_ms)}`,
    '',
  ].join('\n');
}

function junitCase(result: BootTestResult): string {
  const open = `  <testcase classname="imagetrust.boot-test" name="${escapeXml(result.id)}" time="${(result.duration_ms / 1000).toFixed(3)}">`;
  const detail = escapeXml([result.message, result.output].filter(Boolean).join('\n'));
  const message = escapeXml(result.message);
  switch (result.status) {
    case 'pass':
      return `${open}</testcase>`;
    case 'fail':
      return `${open}\n    <failure message="${message}">${detail}</failure>\n  </testcase>`;
    case 'error':
      return `${open}\n    <error message="${message}">${detail}</error>\n  </testcase>`;
    case 'skip':
      return `${open}\n    <skipped message="${message}"/>\n  </testcase>`;
  }
}

function toJunit(report: BootReport): string {
  const count = (status: string) => report.results.filter((result) => result.status === status).length;
  const cases = report.results.map(junitCase);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="imagetrust boot-test ${escapeXml(report.image)}" tests="${report.results.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip')}" time="${(report.timings.total_ms / 1000).toFixed(3)}">`,
    ...cases,
    `  <system-out>${escapeXml(report.serial_log)}</system-out>`,
    '</testsuite>',
    '',
  ].join('\n');
}

export function renderBootReport(format: BootReportFormat, report: BootReport): string {
  switch (format) {
    case 'text':
      return toText(report);
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'junit':
      return toJunit(report);
  }
}

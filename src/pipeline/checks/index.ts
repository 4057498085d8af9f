// The offline compliance suite (spec 6.3): checks over an opened image, profiles and reports.
export { parseProfile, type ScanProfile } from './profile.ts';
export { REPORT_FORMATS, type ReportFormat, renderReport } from './report.ts';
export { CHECK_IDS, OFFLINE_CHECKS, runCheck, runChecks } from './suite.ts';
export type { CheckDefinition, CheckParameters, CheckResult, CheckStatus } from './types.ts';

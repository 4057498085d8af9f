// Booted tests (spec 6.3, issue 13): boot an image under QEMU in a private network and judge it.
export { BOOT_TESTS, type BootTestDefinition } from './catalogue.ts';
export { listOurNetns, NETNS_PREFIX } from './netns.ts';
export { type BootProfile, DEFAULT_PROFILE_NAME, parseBootProfile, withProperties } from './profile.ts';
export { type Accelerator, type Firmware, parseSize } from './qemu.ts';
export { BOOT_REPORT_FORMATS, type BootReport, type BootReportFormat, renderBootReport } from './report.ts';
export { type BootRunOptions, fileSha512, runBootTest } from './session.ts';
export { verdictExitCode } from './suite.ts';
export { BOOT_TOOLS } from './tools.ts';
export { BOOT_TEST_IDS, type BootTestId, type BootTestResult, type BootTestStatus } from './types.ts';

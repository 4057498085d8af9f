// `imagetrust scan`: runs the offline compliance suite on an image; exit 1 when a check fails.
import { readFileSync } from 'node:fs';
import { openImage } from '../disk/index.ts';
import { ConfigError } from '../errors/index.ts';
import {
  CHECK_IDS,
  parseProfile,
  REPORT_FORMATS,
  type ReportFormat,
  renderReport,
  runChecks,
} from '../pipeline/checks/index.ts';

export interface ScanOptions {
  profile?: string;
  format: string;
}

export async function runScan(image: string, options: ScanOptions): Promise<void> {
  if (!REPORT_FORMATS.includes(options.format as ReportFormat))
    throw new ConfigError(`--format must be one of ${REPORT_FORMATS.join(', ')}`);
  let text = '';
  if (options.profile) {
    try {
      text = readFileSync(options.profile, 'utf8');
    } catch (error) {
      throw new ConfigError(`Cannot read profile ${options.profile}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const profile = parseProfile(text, CHECK_IDS);
  const fs = await openImage(image);
  try {
    const results = await runChecks(fs, profile);
    process.stdout.write(renderReport(options.format as ReportFormat, image, results));
    // A check that could not decide is not a pass: CI must not go green on an unreadable image.
    if (results.some((result) => result.status === 'fail' || result.status === 'error')) process.exitCode = 1;
  } finally {
    await fs.close();
  }
}

// `imagetrust scan`: runs the offline compliance suite on an image; exit 1 when a check fails.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
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
import { printResult } from './output.ts';
import { readProfileText } from './read-text.ts';

export interface ScanOptions {
  profile?: string;
  format: string;
  digest?: boolean;
}

/** sha512 of the file as stored, streamed: the os_hash_value Glance gives the same file once uploaded. */
async function fileSha512(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk);
  return hash.digest('hex');
}

export async function runScan(image: string, options: ScanOptions): Promise<void> {
  const text = readProfileText(options.profile);
  const profile = parseProfile(text, CHECK_IDS);
  if (options.digest && statSync(image).isDirectory()) {
    throw new ConfigError('--digest needs an image file (raw, qcow2, tar), not a directory.');
  }
  // The digest is read while the checks run: the file is read twice, but never held in memory.
  const digest = options.digest ? fileSha512(image) : undefined;
  const fs = await openImage(image);
  try {
    const results = await runChecks(fs, profile);
    const imageSha512 = await digest;
    if (REPORT_FORMATS.includes(options.format as ReportFormat)) {
      process.stdout.write(renderReport(options.format as ReportFormat, image, results, { imageSha512 }));
    } else {
      // yaml, table and value: the JSON report's document, one row per check.
      printResult(JSON.parse(renderReport('json', image, results, { imageSha512 })), options, {
        tabular: () => ({ list: results, columns: ['id', 'status', 'title'] }),
      });
    }
    // A check that could not decide is not a pass: CI must not go green on an unreadable image.
    if (results.some((result) => result.status === 'fail' || result.status === 'error')) process.exitCode = 1;
  } finally {
    await fs.close();
  }
}

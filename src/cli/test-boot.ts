// `imagetrust test-boot IMAGE`: boots the image under QEMU in a private network, runs the booted tests
// of a profile and prints the report; exit 1 when a test did not pass.
import { ImageTrustError } from '../errors/index.ts';
import {
  BOOT_REPORT_FORMATS,
  type BootReport,
  type BootReportFormat,
  parseBootProfile,
  parseSize,
  renderBootReport,
  runBootTest,
  verdictExitCode,
  withProperties,
} from '../pipeline/boot/index.ts';
import { printResult } from './output.ts';
import { writeOutputFile } from './output-file.ts';
import { createStageProgress } from './progress.ts';
import { readProfileText } from './read-text.ts';
import { readPackageVersion } from './version.ts';

export interface TestBootOptions {
  profile?: string;
  firmware: 'bios' | 'uefi';
  accel: 'auto' | 'kvm' | 'tcg';
  diskSize?: string;
  bootTimeout?: string;
  property?: string[];
  format: string;
  output?: string;
}

function parseProperties(pairs: string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new ImageTrustError('USAGE', `--property takes key=value, not ${pair}.`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

const isReportFormat = (format: string): format is BootReportFormat =>
  (BOOT_REPORT_FORMATS as readonly string[]).includes(format);

export async function runTestBoot(image: string, options: TestBootOptions): Promise<void> {
  const text = readProfileText(options.profile);
  const profile = withProperties(parseBootProfile(text), parseProperties(options.property ?? []));
  const bootTimeoutS =
    options.bootTimeout === undefined ? profile.timeouts.boot : Number(options.bootTimeout);
  if (!Number.isFinite(bootTimeoutS) || bootTimeoutS <= 0) {
    throw new ImageTrustError(
      'USAGE',
      `--boot-timeout takes a number of seconds, not ${options.bootTimeout}.`,
    );
  }

  // SIGINT/SIGTERM stop the run; its `finally` ends QEMU and dnsmasq and deletes the namespace.
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = createStageProgress('test-boot');
  let report: BootReport;
  try {
    report = await runBootTest({
      image,
      profile,
      firmware: options.firmware,
      accelerator: options.accel,
      ...(options.diskSize ? { diskBytes: parseSize(options.diskSize) } : {}),
      bootTimeoutMs: bootTimeoutS * 1000,
      tool: { name: 'imagetrust', version: readPackageVersion() },
      now: () => performance.now(),
      signal: interrupt.signal,
      onStage: (message) => progress.stage(message),
      onTest: (id, index, total) => progress.stage(`test ${index + 1}/${total}: ${id}`),
    });
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // -o keeps the report in the chosen form; the data forms (yaml, table, value) keep the JSON document.
  if (options.output) {
    await writeOutputFile(
      options.output,
      renderBootReport(isReportFormat(options.format) ? options.format : 'json', report),
    );
  }
  if (isReportFormat(options.format)) {
    process.stdout.write(renderBootReport(options.format, report));
  } else {
    printResult(report, options, {
      tabular: () => ({ list: report.results, columns: ['id', 'status', 'duration_ms', 'message'] }),
    });
  }
  // An interrupted run has `error` results, so it exits 1 like any run that did not pass.
  process.exitCode = verdictExitCode(report.results);
}

// `imagetrust keys rotate-kek`: a new key-encryption key becomes current and every stored data key is
// re-wrapped under it (payloads untouched); with --retire-old, KEKs that wrap nothing any more are dropped.
import { rotateLocalKek } from '../app/index.ts';
import { ConfigError } from '../errors/index.ts';
import { printResult } from './output.ts';
import { configFromFlags, type StoreFlags } from './store.ts';

interface RotateFlags extends StoreFlags {
  retireOld?: boolean;
  format?: string;
}

export async function rotateKek(flags: RotateFlags): Promise<void> {
  const config = configFromFlags(flags);
  if (config.keys.kek) {
    throw new ConfigError(
      'The key-encryption key comes from IMAGETRUST_KEK (keys.kek), which cannot be rotated in place: ' +
        'unset it to use the keyring file, or re-encrypt under a new value by hand.',
    );
  }
  const report = await rotateLocalKek(config, { retireOld: flags.retireOld ?? false });
  if (flags.format !== 'text') {
    printResult(report, flags);
  } else {
    const lines = [
      `New current key-encryption key: ${report.current} (was ${report.previous}).`,
      `Data keys re-wrapped: ${report.rewrapped}; payloads untouched.`,
    ];
    if (report.failed.length > 0) {
      lines.push(`Could not re-wrap ${report.failed.length} secret(s):`);
      for (const failure of report.failed) lines.push(`  ${failure.id}: ${failure.reason}`);
    }
    if (report.retired.length > 0) lines.push(`Retired: ${report.retired.join(', ')}.`);
    for (const [id, count] of Object.entries(report.kept)) {
      lines.push(`Old key ${id} kept; it wraps ${count} data key(s).`);
    }
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  if (report.failed.length > 0) process.exitCode = 70;
}

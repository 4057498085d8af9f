// `imagetrust keys rotate-kek` then `keys retire-kek`: a new key-encryption key becomes current and every
// stored data key is re-wrapped under it (payloads untouched); once every process runs with the new key,
// retire-kek drops the old KEKs that wrap nothing. Two steps, so no running process loses the key it uses.
import { retireLocalKeks, rotateLocalKek } from '../app/index.ts';
import { ConfigError, ImageTrustError } from '../errors/index.ts';
import { type OutputFlags, printResult } from './output.ts';
import { configFromFlags, type StoreFlags } from './store.ts';

interface KekFlags extends StoreFlags, OutputFlags {}

interface RotateFlags extends KekFlags {
  retireOld?: boolean;
}

function keyringConfig(flags: StoreFlags) {
  const config = configFromFlags(flags);
  if (config.keys.kek) {
    throw new ConfigError(
      'The key-encryption key comes from IMAGETRUST_KEK (keys.kek), which cannot be rotated in place: ' +
        'unset it to use the keyring file, or re-encrypt under a new value by hand.',
    );
  }
  return config;
}

function failureLines(failed: { id: string; reason: string }[]): string[] {
  if (failed.length === 0) return [];
  return [
    `Could not re-wrap ${failed.length} secret(s):`,
    ...failed.map((failure) => `  ${failure.id}: ${failure.reason}`),
  ];
}

export async function rotateKek(flags: RotateFlags): Promise<void> {
  if (flags.retireOld) {
    throw new ImageTrustError(
      'USAGE',
      'Retiring is a second step now: restart every imagetrust process on this keyring, then run `imagetrust keys retire-kek`.',
    );
  }
  const report = await rotateLocalKek(keyringConfig(flags));
  if (flags.format !== 'text') {
    printResult(report, flags);
  } else {
    const lines = [
      `New current key-encryption key: ${report.current} (was ${report.previous}).`,
      `Data keys re-wrapped: ${report.rewrapped}; payloads untouched.`,
      ...failureLines(report.failed),
    ];
    for (const [id, count] of Object.entries(report.kept)) {
      lines.push(`Old key ${id} kept; it wraps ${count} data key(s).`);
    }
    lines.push(
      'Restart every imagetrust process on this keyring, then run `imagetrust keys retire-kek` to drop the old keys.',
    );
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  if (report.failed.length > 0) process.exitCode = 70;
}

export async function retireKek(flags: KekFlags): Promise<void> {
  const report = await retireLocalKeks(keyringConfig(flags));
  if (flags.format !== 'text') {
    printResult(report, flags);
  } else {
    const lines = [
      `Current key-encryption key: ${report.current}; data keys re-wrapped now: ${report.rewrapped}.`,
      ...failureLines(report.failed),
      report.retired.length > 0 ? `Retired: ${report.retired.join(', ')}.` : 'No old key to retire.',
    ];
    for (const [id, count] of Object.entries(report.kept)) {
      lines.push(`Old key ${id} kept; it still wraps ${count} data key(s).`);
    }
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  if (report.failed.length > 0) process.exitCode = 70;
}

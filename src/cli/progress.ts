// A progress bar for long transfers, drawn only when stderr is a terminal.
import { Presets, SingleBar } from 'cli-progress';

export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

export function createProgress(label: string, total: number | null): Progress {
  if (!process.stderr.isTTY || !total) return { update() {}, stop() {} };
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value_mib}/{total_mib} MiB | {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
  bar.start(total, 0, { value_mib: mib(0), total_mib: mib(total) });
  return {
    update: (bytes) => bar.update(bytes, { value_mib: mib(bytes) }),
    stop: () => bar.stop(),
  };
}

// A progress bar for long transfers, drawn only when stderr is a terminal: done and total size, the
// rate so far and the time left at that rate.
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';

export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Where to draw; stderr by default, and nothing unless it is a terminal. */
  stream?: NodeJS.WriteStream;
  /** Milliseconds on a monotonic clock; the rate and time left are computed from it. */
  now?: () => number;
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(1);

/** `1:05:09`, `4:07` or `0:09`: how long at the current rate, or `--:--` before there is one. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The bar's fields after `bytes` of `total` in `elapsedMs`: sizes, rate in MiB/s and time left. */
export function progressFields(bytes: number, total: number, elapsedMs: number) {
  const perSecond = elapsedMs > 0 ? bytes / (elapsedMs / 1000) : 0;
  return {
    value_mib: mib(bytes),
    total_mib: mib(total),
    rate: `${mib(perSecond)} MiB/s`,
    left: perSecond > 0 ? formatDuration((total - bytes) / perSecond) : '--:--',
  };
}

export function createProgress(label: string, total: number | null, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY || !total) return { update() {}, stop() {} };
  // Loaded only to draw: a command whose stderr is not a terminal (the boot gate under Nova or a
  // script) does not pay its start-up.
  const { Presets, SingleBar }: typeof CliProgress = createRequire(import.meta.url)('cli-progress');
  const now = options.now ?? (() => performance.now());
  const started = now();
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value_mib}/{total_mib} MiB | {rate} | {left} left`,
      stream,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, progressFields(0, total, 0));
  return {
    update: (bytes) => bar.update(bytes, progressFields(bytes, total, now() - started)),
    stop: () => bar.stop(),
  };
}

/** Where a long multi-stage command stands: one line per stage, redrawn in place on a terminal. */
export interface StageProgress {
  stage(message: string): void;
  stop(): void;
}

/**
 * Stages of a long command (boot-test) on stderr: on a terminal one line redrawn with the time spent so
 * far, refreshed every second; otherwise one plain line per stage, for logs.
 */
export function createStageProgress(label: string, options: ProgressOptions = {}): StageProgress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const started = now();
  if (!stream.isTTY) {
    return { stage: (message) => stream.write(`${label}: ${message}\n`), stop() {} };
  }
  let current = '';
  const draw = () => {
    const line = `${label} ${formatDuration((now() - started) / 1000)} ${current}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 80) - 1)}`);
  };
  const timer = setInterval(draw, 1000);
  timer.unref();
  return {
    stage(message) {
      current = message;
      draw();
    },
    stop() {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}

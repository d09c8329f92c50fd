/**
 * Progress of a long-running command: one line rewritten in place on a terminal, a plain line every few seconds
 * otherwise (logs, CI), nothing with `--quiet`.
 */
import type { CliIO } from './io';

/** What the progress line shows. */
export interface ProgressSnapshot {
  /** Units done (e.g. readings acknowledged). */
  readonly done: number;
  /** Noun of the unit, plural: `readings`. */
  readonly unit: string;
  /** Input bytes consumed and the total, when the total is known (files): gives a percentage and an ETA. */
  readonly bytes?: { readonly read: number; readonly total: number };
  /** Extra text appended, e.g. `3 retried`. */
  readonly extra?: string;
}

/** A running progress display. */
export interface Progress {
  /** Stops updating and clears the in-place line. */
  stop(): void;
}

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  /** Interval of the plain lines when stderr is not a terminal. @default 5000 */
  readonly plainIntervalMs?: number;
  /** Interval of in-place updates on a terminal. @default 250 */
  readonly ttyIntervalMs?: number;
  /** @default - `Date.now` */
  readonly now?: () => number;
}

const grouped = new Intl.NumberFormat('en-US');

/**
 * Formats a duration in seconds as `2.5s`, `42s`, `3m05s` or `1h02m`.
 *
 * @example
 * formatDuration(185); // → '3m05s'
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Formats a count with thousands separators, rounded to an integer.
 *
 * @example
 * formatCount(1234567.4); // → '1,234,567'
 */
export function formatCount(n: number): string {
  return grouped.format(Math.round(n));
}

/**
 * Renders one progress line: count, rate since the start, percentage and ETA when the total size is known.
 *
 * @example
 * renderProgress({ done: 5000, unit: 'readings', bytes: { read: 50, total: 100 } }, 2000);
 * // → '5,000 readings · 2,500/s · 50% · ETA 2s'
 */
export function renderProgress(s: ProgressSnapshot, elapsedMs: number): string {
  const secs = elapsedMs / 1000;
  const rate = secs > 0 ? s.done / secs : 0;
  const parts = [`${formatCount(s.done)} ${s.unit}`, `${formatCount(rate)}/s`];
  if (s.bytes && s.bytes.total > 0) {
    const frac = Math.min(1, s.bytes.read / s.bytes.total);
    parts.push(`${Math.floor(frac * 100)}%`);
    if (frac > 0 && frac < 1) parts.push(`ETA ${formatDuration((secs * (1 - frac)) / frac)}`);
  }
  if (s.extra) parts.push(s.extra);
  return parts.join(' · ');
}

/**
 * Starts reporting progress from `snapshot()` on the command's stderr.
 *
 * @example
 * const progress = startProgress(io, () => ({ done: stats.sent, unit: 'readings' }));
 * try { await work(); } finally { progress.stop(); }
 */
export function startProgress(io: CliIO, snapshot: () => ProgressSnapshot, options: ProgressOptions = {}): Progress {
  const now = options.now ?? Date.now;
  const started = now();
  const inPlace = io.isTTY && io.stderr !== undefined;
  const stream = io.stderr;
  let width = 0;
  const tick = (): void => {
    const line = renderProgress(snapshot(), now() - started);
    if (inPlace) {
      stream!.write(`\r${line}${' '.repeat(Math.max(0, width - line.length))}`);
      width = line.length;
    } else {
      io.err(line);
    }
  };
  const timer = setInterval(tick, inPlace ? (options.ttyIntervalMs ?? 250) : (options.plainIntervalMs ?? 5_000));
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      if (inPlace && width > 0) stream!.write(`\r${' '.repeat(width)}\r`);
    },
  };
}

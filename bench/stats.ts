/**
 * Small statistics and formatting helpers shared by the benchmark sections.
 */

/**
 * Median of a list of numbers (the mean of the two middle values for an even count); NaN when empty.
 *
 * @example
 * median([3, 1, 2]); // → 2
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Percentile `p` (0–100) of sorted values by the nearest-rank method; NaN when empty.
 *
 * Nearest rank never interpolates, so a reported p99 is a latency some reading really had.
 *
 * @example
 * percentile([10, 20, 30, 40], 50); // → 20
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1]!;
}

/**
 * Rounds to `digits` significant digits, keeping integers above that whole (for JSON output).
 *
 * @example
 * round(0.123456); // → 0.1235
 */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value))) + 1;
  if (magnitude >= digits) return Math.round(value);
  const f = 10 ** (digits - magnitude);
  return Math.round(value * f) / f;
}

/**
 * Formats an integer-ish number with thousands separators.
 *
 * @example
 * fmtInt(1234567.4); // → '1,234,567'
 */
export function fmtInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : String(value);
}

/**
 * Formats a number with a fixed number of decimals and thousands separators.
 *
 * @example
 * fmtNum(1234.5, 1); // → '1,234.5'
 */
export function fmtNum(value: number, decimals = 2): string {
  return Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
    : String(value);
}

/**
 * Formats dollars with enough decimals to show small amounts.
 *
 * @example
 * fmtUsd(0.6512); // → '$0.6512'
 */
export function fmtUsd(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '$0';
  const decimals = value >= 1 ? 2 : Math.min(8, Math.max(4, 2 - Math.floor(Math.log10(value)) + 1));
  return '$' + value.toFixed(decimals);
}

/**
 * Formats bytes as B / KiB / MiB.
 *
 * @example
 * fmtBytes(65536); // → '64.0 KiB'
 */
export function fmtBytes(value: number): string {
  if (value < 1024) return `${Math.round(value)} B`;
  if (value < 1024 * 1024) return `${fmtNum(value / 1024, 1)} KiB`;
  return `${fmtNum(value / (1024 * 1024), 2)} MiB`;
}

/**
 * Formats milliseconds as milliseconds below a second, else seconds.
 *
 * @example
 * fmtMs(12345); // → '12.3 s'
 */
export function fmtMs(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value < 1000 ? `${fmtNum(value, value < 10 ? 2 : 0)} ms` : `${fmtNum(value / 1000, 1)} s`;
}

/**
 * Renders rows as a plain-text table with a header rule; numbers are right-aligned, text left-aligned.
 *
 * @example
 * table(['mode', 'records'], [['kpl', '1,041']]);
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+$~≈<>≥≤]?[\d.,]+( ?[%a-zA-Z/×µ]+)?$/.test((r[i] ?? '').trim()) || (r[i] ?? '') === '—'));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric[i] && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * Waits `ms` milliseconds.
 *
 * @example
 * await sleep(100);
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * CSV output of daily statistics and readings, shared by the CLI exports and the local HTTP API.
 *
 * Numbers are printed like `String(n)` (via the faster, identical {@link formatNumber}): the shortest text that reads
 * back as exactly the same double.
 */
import { MEASURES, type DailyStats, type EvaluatedReading, type Measure } from './types';

/** The {@link formatNumber} memo has 2^MEMO_BITS slots. */
const MEMO_BITS = 13;
const MEMO_SLOTS = 1 << MEMO_BITS;
const memoKeys = new Float64Array(MEMO_SLOTS).fill(NaN); // NaN never equals a key, so empty slots always miss
const memoTexts: string[] = new Array<string>(MEMO_SLOTS).fill('');
const bits = new Float64Array(1);
const bitWords = new Uint32Array(bits.buffer);

/**
 * Formats a number exactly like `String(n)` (the shortest text that reads back as the same double), faster.
 *
 * Two layers. A direct-mapped memo of 8,192 slots for non-integers (indexed by a hash of the double's bits, ~200 KB,
 * never grows): sensor measures repeat a few thousand distinct values, so most calls are a hash and a compare.
 * On a miss, `String` on a non-integer double would run the general shortest-round-trip algorithm (~100 ns); sensor
 * values are short decimals, and for those the shortest text is found directly: the smallest k for which `v·10^k`
 * rounds to an integer m below 10^15 with `m / 10^k === v`. Below 10^15 at most one integer lies in the rounding
 * interval, and fewer decimals means fewer significant digits, so this is the representation `String` picks.
 * Everything else (integers, exponent notation, 16–17 significant digits) goes to `String`.
 *
 * @example
 * formatNumber(10.27); // → '10.27'
 * formatNumber(0.1 + 0.2); // → '0.30000000000000004'
 */
export function formatNumber(v: number): string {
  if ((v | 0) === v) return String(v); // small integers: V8's own number-string cache answers (-0 gives '0' too)
  bits[0] = v;
  const slot = Math.imul(bitWords[0]! ^ bitWords[1]!, 0x9e3779b1) >>> (32 - MEMO_BITS);
  if (memoKeys[slot] === v) return memoTexts[slot]!;
  const text = formatUncached(v);
  memoKeys[slot] = v;
  memoTexts[slot] = text;
  return text;
}

function formatUncached(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = v < 0 ? -v : v;
  if (a >= 1e-6 && a < 1e15) {
    let p = 1;
    for (let k = 1; k <= 15; k++) {
      p *= 10; // exact: powers of ten up to 1e22 are doubles
      const m = Math.round(a * p);
      if (m >= 1e15) break;
      if (m / p === a) {
        const digits = String(m);
        const len = digits.length;
        const text = len > k ? digits.slice(0, len - k) + '.' + digits.slice(len - k) : '0.' + '0'.repeat(k - len) + digits;
        return v < 0 ? '-' + text : text;
      }
    }
  }
  return String(v);
}

/** The three aggregates kept per measure, in column order. */
export const STAT_KINDS = ['min', 'max', 'avg'] as const;
/** One aggregate kind. */
export type StatKind = (typeof STAT_KINDS)[number];

/**
 * Name of the column (and stats-table attribute) holding one aggregate of one measure, e.g. `psi_min`.
 *
 * @example
 * statColumn('sedPPM', 'avg'); // → 'sedPPM_avg'
 */
export function statColumn(measure: Measure, kind: StatKind): `${Measure}_${StatKind}` {
  return `${measure}_${kind}`;
}

/** The 18 aggregate columns, `hz_min` … `chlPPM_avg`, measure by measure. */
export const STAT_COLUMNS: readonly `${Measure}_${StatKind}`[] = MEASURES.flatMap((m) => STAT_KINDS.map((k) => statColumn(m, k)));

/** Columns of the stats CSV: `pump,date,count,hz_min,hz_max,hz_avg,…,chlPPM_avg`. */
export const STATS_CSV_COLUMNS: readonly string[] = ['pump', 'date', 'count', ...STAT_COLUMNS];
/** Header line of the stats CSV (no line terminator). */
export const STATS_CSV_HEADER = STATS_CSV_COLUMNS.join(',');

/** Columns of the readings CSV. */
export const READING_CSV_COLUMNS: readonly string[] = ['pump', 'ts', ...MEASURES, 'alerts'];
/** Header line of the readings CSV (no line terminator). */
export const READING_CSV_HEADER = READING_CSV_COLUMNS.join(',');

/** Separator of alert names inside the `alerts` column. */
export const ALERT_SEPARATOR = '|';

/**
 * Escapes one CSV field (RFC 4180): quoted when it contains a comma, a double quote, CR or LF; quotes doubled.
 *
 * @example
 * csvField('a,b'); // → '"a,b"'
 * csvField('say "hi"'); // → '"say ""hi"""'
 */
export function csvField(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 44 || c === 34 || c === 13 || c === 10) return '"' + value.replace(/"/g, '""') + '"';
  }
  return value;
}

/**
 * Formats one day of statistics as a CSV row in {@link STATS_CSV_COLUMNS} order (no line terminator).
 *
 * @example
 * statsToCsvRow(stats); // → 'COHUTTA,2014-03-10,720,0,10.5,8.4,…'
 */
export function statsToCsvRow(s: DailyStats): string {
  let row = csvField(s.pump) + ',' + csvField(s.date) + ',' + String(s.count);
  for (const m of MEASURES) {
    const ms = s.measures[m];
    row += ',' + formatNumber(ms.min) + ',' + formatNumber(ms.max) + ',' + formatNumber(ms.avg);
  }
  return row;
}

/**
 * Formats one reading as a CSV row in {@link READING_CSV_COLUMNS} order (no line terminator); alerts joined with `|`.
 *
 * @example
 * readingToCsvRow(reading); // → 'COHUTTA,2014-03-10T01:01:00Z,10.27,1.73,881,1.56,85,1.94,'
 */
export function readingToCsvRow(r: EvaluatedReading): string {
  let row = csvField(r.pump) + ',' + csvField(r.ts);
  for (const m of MEASURES) row += ',' + formatNumber(r.values[m]);
  return row + ',' + csvField(r.alerts.join(ALERT_SEPARATOR));
}

/**
 * UTC calendar days (`YYYY-MM-DD`) and time bounds for queries and rollups.
 *
 * Days are strings throughout wellwatch because they are key material and sort lexicographically; this module
 * validates them and does the little arithmetic needed (next day, span, range).
 */
import { ParseError } from '../core/errors';

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/**
 * Tells whether `text` is a real calendar day `YYYY-MM-DD` (2014-02-30 is not).
 *
 * @example
 * isDay('2016-02-29'); // → true
 */
export function isDay(text: string): boolean {
  const m = DAY_RE.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/**
 * Validates a day argument.
 *
 * @throws ParseError (code `day`) naming the field and the value.
 * @example
 * requireDay('date', '2014-03-10'); // → '2014-03-10'
 */
export function requireDay(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isDay(value)) {
    throw new ParseError(`${field} must be a calendar day YYYY-MM-DD, got ${JSON.stringify(value)}`, { code: 'day' });
  }
  return value;
}

/**
 * The UTC day of an instant.
 *
 * @example
 * utcDay(new Date('2014-03-10T23:59:59Z')); // → '2014-03-10'
 */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * The day `n` days after `day` (negative `n` goes back).
 *
 * @example
 * addDays('2016-02-28', 1); // → '2016-02-29'
 */
export function addDays(day: string, n: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * MS_PER_DAY));
}

/**
 * Number of days from `from` to `to` inclusive (0 when `to` is before `from`).
 *
 * @example
 * daySpan('2014-03-10', '2014-03-12'); // → 3
 */
export function daySpan(from: string, to: string): number {
  return Math.max(0, Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / MS_PER_DAY) + 1);
}

/**
 * Every day from `from` to `to` inclusive, ascending.
 *
 * @example
 * [...eachDay('2014-03-10', '2014-03-11')]; // → ['2014-03-10', '2014-03-11']
 */
export function* eachDay(from: string, to: string): Generator<string> {
  for (let day = from; day <= to; day = addDays(day, 1)) yield day;
}

/** One end of a time range, resolved to a UTC day, a time of day and a timestamp (all at whole seconds). */
export interface TimeBound {
  readonly day: string;
  /** `HH:MM:SS` */
  readonly time: string;
  /** `YYYY-MM-DDTHH:MM:SSZ` */
  readonly ts: string;
}

const TS_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|z|[+-]\d{2}:?\d{2})?$/;

/**
 * Resolves a range bound given as a day or an ISO timestamp.
 *
 * A day covers the whole day: as `from` it starts at 00:00:00, as `to` it ends at 23:59:59 (inclusive). A timestamp
 * without a zone is UTC; fractions of a second round inwards (up for `from`, down for `to`).
 *
 * @throws ParseError (code `time-bound`) naming the field and the value.
 * @example
 * timeBound('from', '2014-03-10T05:00:30+02:00'); // → { day: '2014-03-10', time: '03:00:30', ts: '2014-03-10T03:00:30Z' }
 */
export function timeBound(field: 'from' | 'to', value: string): TimeBound {
  if (isDay(value)) {
    const time = field === 'from' ? '00:00:00' : '23:59:59';
    return { day: value, time, ts: `${value}T${time}Z` };
  }
  const m = TS_RE.exec(value);
  let ms = NaN;
  if (m && isDay(m[1]!)) {
    const zone = m[6] === undefined || m[6] === 'z' ? 'Z' : m[6];
    ms = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4] ?? '00'}${m[5] ?? ''}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
  }
  if (!Number.isFinite(ms)) {
    throw new ParseError(`${field} must be a day YYYY-MM-DD or a timestamp like 2014-03-10T05:00:00Z, got ${JSON.stringify(value)}`, {
      code: 'time-bound',
    });
  }
  const seconds = field === 'from' ? Math.ceil(ms / 1000) : Math.floor(ms / 1000);
  const ts = new Date(seconds * 1000).toISOString().slice(0, 19) + 'Z';
  return { day: ts.slice(0, 10), time: ts.slice(11, 19), ts };
}

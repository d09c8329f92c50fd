/**
 * Turns one CSV line from a pump sensor into a validated {@link Reading}, or says precisely why it cannot.
 *
 * This is the hot path of the consumer (every line of every Kinesis record goes through it), so it scans the line
 * once with `charCodeAt`, keeps field boundaries as indexes instead of substrings, parses ordinary decimals without
 * allocating, and only builds human-readable reasons on the error path. It never throws on a string.
 */
import { LIMITS } from '../config';
import { ParseError } from './errors';
import type { Reading } from './types';

/** Options of {@link parseLine}. */
export interface ParseOptions {
  /**
   * Offset of the sensors' clock from UTC in minutes (`+120` for `+02:00`); readings are converted to UTC.
   *
   * Must be an integer between -1439 and 1439.
   * @default 0
   */
  readonly utcOffsetMinutes?: number;
}

/** Machine-friendly codes of rejected lines. */
export const PARSE_ERROR_CODES = {
  tooLong: 'too-long',
  controlChar: 'control-char',
  fieldCount: 'field-count',
  pumpId: 'pump-id',
  date: 'date',
  time: 'time',
  number: 'number',
  range: 'range',
} as const;
/** One code of a rejected line. */
export type ParseErrorCode = (typeof PARSE_ERROR_CODES)[keyof typeof PARSE_ERROR_CODES];

/** What {@link parseLine} made of a line: a reading, nothing (blank or header line), or a reasoned rejection. */
export type ParseOutcome =
  | { readonly kind: 'reading'; readonly reading: Reading }
  | { readonly kind: 'skip' }
  | { readonly kind: 'error'; /** One of {@link PARSE_ERROR_CODES}. */ readonly code: string; readonly reason: string };

/** Number of comma-separated fields of a line. */
export const FIELD_COUNT = 9;
/** Largest accepted magnitude of a measure. */
export const MAX_ABS_VALUE = 1e9;
/** Smallest accepted non-zero magnitude of a measure (DynamoDB numbers cannot represent every double). */
export const MIN_ABS_VALUE = 1e-9;
/** Years a reading may fall in (after conversion to UTC). */
export const YEAR_RANGE = { min: 1970, max: 9999 } as const;

const NUMBER_FIELDS = ['hz', 'disp', 'flo', 'sedPPM', 'psi', 'chlPPM'] as const;
const ECHO_LIMIT = 40;
const SKIP: ParseOutcome = Object.freeze({ kind: 'skip' });
/** Below this many UTF-16 code units a line cannot exceed the byte limit (at most 3 UTF-8 bytes per code unit). */
const SAFE_LENGTH = Math.floor(LIMITS.maxLineBytes / 3);
const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + String(i));
/** Powers of ten that are exact doubles, for the fast decimal path. */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number('1e' + String(i)));
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

// Scratch state of the scanner. parseLine is synchronous and never re-entered, so module-level scratch space is safe
// and saves allocating per line.
const commas = new Int32Array(FIELD_COUNT - 1);
let year = 0;
let month = 0;
let day = 0;
let hour = 0;
let minute = 0;
let second = 0;
/** Whether the last parsed number had a non-zero digit (to tell an underflow from a real zero). */
let sawNonZeroDigit = false;
// One-entry cache of the last formatted day (and its `YYYY-MM-DDT` prefix): consecutive lines are almost always from
// the same day.
let cachedDayKey = -1;
let cachedDay = '';
let cachedDayT = '';
/**
 * `HH:MM:SS` and `HH:MM:SSZ` by second of the day, built on first use. Bounded (86,400 entries, ~5 MB when every
 * second of a day has been seen) and shared by all days; saves building the time and timestamp piece by piece for
 * every reading (sensors repeat the same few thousand times of day).
 */
const TIMES: (string | undefined)[] = new Array<string | undefined>(86_400).fill(undefined);
const TIMES_Z: (string | undefined)[] = new Array<string | undefined>(86_400).fill(undefined);

/**
 * Parses one sensor CSV line into a UTC reading.
 *
 * Accepts the seed format `pump,M/D/YY,H:MM,hz,disp,flo,sedPPM,psi,chlPPM` plus ISO dates (`YYYY-MM-DD`),
 * `M/D/YYYY`, and times with leading zeros and/or seconds. Two-digit years are 20YY. Tolerates a trailing `\r`, a
 * leading byte-order mark, and spaces around the line and around fields. Blank lines and a header line (first field
 * `pump`, any case, second field not starting with a digit) are skipped. Everything else is rejected with a stable
 * code and a reason that names the problem and echoes the offending value (truncated to 40 characters).
 *
 * Checks run cheapest first: the byte length (so a 10 MB line is rejected without being scanned), control
 * characters, the field count, then each field in order; the first problem found is reported.
 *
 * @throws ParseError only when `opts.utcOffsetMinutes` is not an integer in -1439..1439 (a programming error);
 *   never because of the line.
 *
 * @example
 * parseLine('COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94');
 * // → { kind: 'reading', reading: { pump: 'COHUTTA', day: '2014-03-10', time: '01:01:00',
 * //      ts: '2014-03-10T01:01:00Z', values: { hz: 10.27, disp: 1.73, flo: 881, sedPPM: 1.56, psi: 85, chlPPM: 1.94 } } }
 */
export function parseLine(line: string, opts?: ParseOptions): ParseOutcome {
  const offset = opts === undefined || opts.utcOffsetMinutes === undefined ? 0 : opts.utcOffsetMinutes;
  if (offset !== 0 && !(Number.isInteger(offset) && offset > -1440 && offset < 1440)) {
    throw new ParseError(`utcOffsetMinutes must be an integer -1439..1439, got ${String(offset)}`, { code: 'utc-offset' });
  }

  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 13) end--; // a CRLF line terminator is not part of the line

  // 1. Size, before anything else looks at the line.
  if (end > SAFE_LENGTH) {
    const bytes = end > LIMITS.maxLineBytes ? Buffer.byteLength(line, 'utf8') - (line.length - end) : utf8Length(line, end);
    if (bytes > LIMITS.maxLineBytes) {
      return fail('too-long', `line is ${bytes} bytes, limit ${LIMITS.maxLineBytes}`);
    }
  }

  let start = 0;
  if (end > 0 && line.charCodeAt(0) === 0xfeff) start = 1; // byte-order mark at the start of a file

  // 2. Blank (or whitespace-only) line.
  let first = start;
  for (; first < end; first++) {
    const c = line.charCodeAt(first);
    if (c !== 32 && c !== 9) break;
  }
  if (first === end) return SKIP;

  // 3. One pass: find the commas, reject control characters.
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === 44) {
      if (n < FIELD_COUNT - 1) commas[n] = i;
      n++;
    } else if (c < 32 || (c >= 127 && c < 160)) {
      return fail('control-char', `control character U+${c.toString(16).toUpperCase().padStart(4, '0')} at column ${i + 1}`);
    }
  }

  // 4. Header line.
  if (isHeader(line, start, n === 0 ? end : commas[0], n === 0 ? -1 : commas[0] + 1, n === 0 ? end : n === 1 ? end : commas[1])) {
    return SKIP;
  }

  // 5. Field count.
  if (n !== FIELD_COUNT - 1) return fail('field-count', `expected ${FIELD_COUNT} fields, got ${n + 1}`);

  // 6. Pump id.
  let s = trimStart(line, start, commas[0]);
  let e = trimEnd(line, s, commas[0]);
  if (!isPumpId(line, s, e)) {
    return fail('pump-id', `pump id must match [A-Za-z0-9_-]{1,64}, got ${quote(line.slice(s, e))}`);
  }
  const pump = line.slice(s, e);

  // 7. Date.
  s = trimStart(line, commas[0] + 1, commas[1]);
  e = trimEnd(line, s, commas[1]);
  const dateStatus = scanDate(line, s, e);
  if (dateStatus !== 0) {
    const raw = line.slice(s, e);
    if (dateStatus === 1) return fail('date', `unrecognised date ${quote(raw)} (expected M/D/YY, M/D/YYYY or YYYY-MM-DD)`);
    if (dateStatus === 2) return fail('date', `impossible date ${raw}`);
    return fail('date', `date ${raw} out of range (years ${YEAR_RANGE.min}–${YEAR_RANGE.max})`);
  }

  // 8. Time.
  s = trimStart(line, commas[1] + 1, commas[2]);
  e = trimEnd(line, s, commas[2]);
  const timeStatus = scanTime(line, s, e);
  if (timeStatus !== 0) {
    const raw = line.slice(s, e);
    if (timeStatus === 1) return fail('time', `unrecognised time ${quote(raw)} (expected H:MM, HH:MM, H:MM:SS or HH:MM:SS)`);
    return fail('time', `impossible time ${raw}`);
  }

  // 9. Measures.
  let hz = 0;
  let disp = 0;
  let flo = 0;
  let sedPPM = 0;
  let psi = 0;
  let chlPPM = 0;
  for (let f = 0; f < 6; f++) {
    const fieldEnd = f === 5 ? end : commas[f + 3];
    s = trimStart(line, commas[f + 2] + 1, fieldEnd);
    e = trimEnd(line, s, fieldEnd);
    let v = parseDecimal(line, s, e);
    if (v !== v) {
      return fail('number', `field ${NUMBER_FIELDS[f]} is not a finite number: ${quote(line.slice(s, e))}`);
    }
    const a = v < 0 ? -v : v;
    if (a > MAX_ABS_VALUE || (a < MIN_ABS_VALUE && (a !== 0 || sawNonZeroDigit))) {
      return fail('range', `field ${NUMBER_FIELDS[f]} out of range: ${truncate(line.slice(s, e))} (allowed: 0 or ${MIN_ABS_VALUE}..${MAX_ABS_VALUE} in magnitude)`);
    }
    v += 0; // -0 → 0: DynamoDB and String() cannot tell them apart, so neither do we
    switch (f) {
      case 0: hz = v; break;
      case 1: disp = v; break;
      case 2: flo = v; break;
      case 3: sedPPM = v; break;
      case 4: psi = v; break;
      default: chlPPM = v;
    }
  }

  // 10. Sensor clock → UTC.
  if (offset !== 0) {
    let minutes = hour * 60 + minute - offset;
    if (minutes < 0) {
      minutes += 1440;
      previousDay();
    } else if (minutes >= 1440) {
      minutes -= 1440;
      nextDay();
    }
    hour = (minutes / 60) | 0;
    minute = minutes - hour * 60;
    if (year < YEAR_RANGE.min || year > YEAR_RANGE.max) {
      return fail('date', `reading at ${line.slice(commas[0] + 1, commas[2]).trim()} converts to UTC year ${year}, outside ${YEAR_RANGE.min}–${YEAR_RANGE.max}`);
    }
  }

  const dayKey = (year * 16 + month) * 32 + day;
  if (dayKey !== cachedDayKey) {
    cachedDayKey = dayKey;
    cachedDay = String(year) + '-' + PAD2[month] + '-' + PAD2[day];
    cachedDayT = cachedDay + 'T';
  }
  const secondOfDay = hour * 3600 + minute * 60 + second;
  let time = TIMES[secondOfDay];
  let timeZ = TIMES_Z[secondOfDay];
  if (time === undefined || timeZ === undefined) {
    time = PAD2[hour] + ':' + PAD2[minute] + ':' + PAD2[second];
    timeZ = time + 'Z';
    TIMES[secondOfDay] = time;
    TIMES_Z[secondOfDay] = timeZ;
  }
  return {
    kind: 'reading',
    reading: { pump, day: cachedDay, time, ts: cachedDayT + timeZ, values: { hz, disp, flo, sedPPM, psi, chlPPM } },
  };
}

/**
 * Splits a text into lines at `\n`, removing a `\r` that ends a line (also on a last line without `\n`); a final
 * line terminator does not produce an empty last line.
 *
 * Empty lines in the middle are kept, so line numbers stay meaningful (the parser skips them).
 *
 * @example
 * splitLines('a\r\nb\n\nc\n'); // → ['a', 'b', '', 'c']
 */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  const length = text.length;
  let from = 0;
  while (from < length) {
    let nl = text.indexOf('\n', from);
    if (nl === -1) nl = length;
    const to = nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    lines.push(text.slice(from, to));
    from = nl + 1;
  }
  return lines;
}

/**
 * Parses a UTC offset into minutes east of UTC.
 *
 * Accepts `±HH:MM` (the configuration format), `±HHMM`, `±HH` and `Z`; hours 00–23, minutes 00–59.
 *
 * @throws ParseError (code `utc-offset`) naming the value when it is not an offset.
 *
 * @example
 * parseUtcOffset('+02:00'); // → 120
 * parseUtcOffset('-05:30'); // → -330
 */
export function parseUtcOffset(text: string): number {
  const t = text.trim();
  if (t === 'Z' || t === 'z') return 0;
  const m = /^([+-])(\d\d)(?::?(\d\d))?$/.exec(t);
  const hours = m ? Number(m[2]) : NaN;
  const minutes = m && m[3] !== undefined ? Number(m[3]) : 0;
  if (!m || hours > 23 || minutes > 59) {
    throw new ParseError(`UTC offset must look like +HH:MM or -HH:MM (hours 00–23, minutes 00–59), got ${quote(text)}`, {
      code: 'utc-offset',
    });
  }
  const total = hours * 60 + minutes;
  return m[1] === '-' && total !== 0 ? -total : total;
}

/**
 * Formats minutes east of UTC as `±HH:MM`.
 *
 * @example
 * formatUtcOffset(-330); // → '-05:30'
 */
export function formatUtcOffset(minutes: number): string {
  const a = Math.abs(minutes);
  return (minutes < 0 ? '-' : '+') + PAD2[Math.floor(a / 60) % 100] + ':' + PAD2[a % 60];
}

/** Days in a month of the proleptic Gregorian calendar. */
export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeapYear(y) ? 29 : DAYS_IN_MONTH[m];
}

/** Whether a year is a Gregorian leap year. */
export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function fail(code: ParseErrorCode, reason: string): ParseOutcome {
  return { kind: 'error', code, reason };
}

function truncate(s: string): string {
  return s.length > ECHO_LIMIT ? s.slice(0, ECHO_LIMIT) + '…' : s;
}

function quote(s: string): string {
  return JSON.stringify(truncate(s));
}

function trimStart(line: string, s: number, e: number): number {
  while (s < e && line.charCodeAt(s) === 32) s++;
  return s;
}

function trimEnd(line: string, s: number, e: number): number {
  while (e > s && line.charCodeAt(e - 1) === 32) e--;
  return e;
}

/** UTF-8 length of `line[0, end)`, counting a lone surrogate as the 3 bytes of U+FFFD (as Buffer does). */
function utf8Length(line: string, end: number): number {
  let bytes = 0;
  for (let i = 0; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < end && (line.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** A header: first field `pump` (any case) and a second field, if any, that does not start with a digit. */
function isHeader(line: string, s: number, e: number, s2: number, e2: number): boolean {
  s = trimStart(line, s, e);
  e = trimEnd(line, s, e);
  if (
    e - s !== 4 ||
    (line.charCodeAt(s) | 32) !== 112 || // p
    (line.charCodeAt(s + 1) | 32) !== 117 || // u
    (line.charCodeAt(s + 2) | 32) !== 109 || // m
    (line.charCodeAt(s + 3) | 32) !== 112 // p
  ) {
    return false;
  }
  if (s2 < 0) return true;
  s2 = trimStart(line, s2, e2);
  if (s2 === e2) return true;
  const c = line.charCodeAt(s2);
  return c < 48 || c > 57;
}

function isPumpId(line: string, s: number, e: number): boolean {
  const len = e - s;
  if (len < 1 || len > 64) return false;
  for (let i = s; i < e; i++) {
    const c = line.charCodeAt(i);
    if (
      !(
        (c >= 97 && c <= 122) || // a-z
        (c >= 65 && c <= 90) || // A-Z
        (c >= 48 && c <= 57) || // 0-9
        c === 95 || // _
        c === 45 // -
      )
    ) {
      return false;
    }
  }
  return true;
}

/** Value of 1–4 ASCII digits at `[s, e)`, or -1 when any is not a digit. */
function digits(line: string, s: number, e: number): number {
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = line.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Reads a date at `[s, e)` into `year`/`month`/`day`.
 *
 * @returns 0 ok, 1 unrecognised shape, 2 impossible date, 3 year out of range.
 */
function scanDate(line: string, s: number, e: number): number {
  const len = e - s;
  let y: number;
  let m: number;
  let d: number;
  if (len === 10 && line.charCodeAt(s + 4) === 45 && line.charCodeAt(s + 7) === 45) {
    y = digits(line, s, s + 4);
    m = digits(line, s + 5, s + 7);
    d = digits(line, s + 8, s + 10);
    if (y < 0 || m < 0 || d < 0) return 1;
  } else {
    if (len < 6 || len > 10) return 1;
    const slash1 = line.charCodeAt(s + 1) === 47 ? s + 1 : line.charCodeAt(s + 2) === 47 ? s + 2 : -1;
    if (slash1 < 0) return 1;
    const slash2 = line.charCodeAt(slash1 + 2) === 47 ? slash1 + 2 : line.charCodeAt(slash1 + 3) === 47 ? slash1 + 3 : -1;
    if (slash2 < 0) return 1;
    const yearLen = e - slash2 - 1;
    if (yearLen !== 2 && yearLen !== 4) return 1;
    m = digits(line, s, slash1);
    d = digits(line, slash1 + 1, slash2);
    y = digits(line, slash2 + 1, e);
    if (y < 0 || m < 0 || d < 0) return 1;
    if (yearLen === 2) y += 2000;
  }
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return 2;
  if (y < YEAR_RANGE.min || y > YEAR_RANGE.max) return 3;
  year = y;
  month = m;
  day = d;
  return 0;
}

/**
 * Reads a time at `[s, e)` into `hour`/`minute`/`second`.
 *
 * @returns 0 ok, 1 unrecognised shape, 2 impossible time.
 */
function scanTime(line: string, s: number, e: number): number {
  const len = e - s;
  let colon: number;
  if (len === 4 || len === 7) colon = s + 1;
  else if (len === 5 || len === 8) colon = s + 2;
  else return 1;
  if (line.charCodeAt(colon) !== 58) return 1;
  const h = digits(line, s, colon);
  const m = digits(line, colon + 1, colon + 3);
  let sec = 0;
  if (len > 5) {
    if (line.charCodeAt(colon + 3) !== 58) return 1;
    sec = digits(line, colon + 4, e);
  }
  if (h < 0 || m < 0 || sec < 0) return 1;
  if (h > 23 || m > 59 || sec > 59) return 2;
  hour = h;
  minute = m;
  second = sec;
  return 0;
}

/**
 * Parses a plain decimal `[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?` at `[s, e)`; NaN when the text is not one.
 *
 * Up to 15 significant digits without exponent take the exact fast path (an integer below 2^53 divided by an exact
 * power of ten is correctly rounded); everything else is validated here and converted by `Number`. Infinity is
 * returned for overflowing exponents; `sawNonZeroDigit` tells an underflow to 0 from a real 0.
 */
function parseDecimal(line: string, s: number, e: number): number {
  let i = s;
  let c = i < e ? line.charCodeAt(i) : 0;
  const negative = c === 45;
  if (c === 45 || c === 43) i++;
  let mantissa = 0;
  let nonZero = false;
  const intStart = i;
  while (i < e && (c = line.charCodeAt(i)) >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    if (c !== 48) nonZero = true;
    i++;
  }
  const intDigits = i - intStart;
  let fracDigits = 0;
  if (i < e && line.charCodeAt(i) === 46) {
    i++;
    const fracStart = i;
    while (i < e && (c = line.charCodeAt(i)) >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      if (c !== 48) nonZero = true;
      i++;
    }
    fracDigits = i - fracStart;
  }
  if (intDigits + fracDigits === 0) return NaN;
  let hasExponent = false;
  if (i < e && ((c = line.charCodeAt(i)) === 101 || c === 69)) {
    hasExponent = true;
    i++;
    if (i < e && ((c = line.charCodeAt(i)) === 45 || c === 43)) i++;
    const expStart = i;
    while (i < e && (c = line.charCodeAt(i)) >= 48 && c <= 57) i++;
    if (i === expStart) return NaN;
  }
  if (i !== e) return NaN;
  sawNonZeroDigit = nonZero;
  if (!hasExponent && intDigits + fracDigits <= 15) {
    const v = fracDigits === 0 ? mantissa : mantissa / POW10[fracDigits];
    return negative ? -v : v;
  }
  return Number(line.slice(s, e));
}

function previousDay(): void {
  if (day > 1) {
    day--;
    return;
  }
  if (month > 1) month--;
  else {
    month = 12;
    year--;
  }
  day = daysInMonth(year, month);
}

function nextDay(): void {
  if (day < daysInMonth(year, month)) {
    day++;
    return;
  }
  day = 1;
  if (month < 12) month++;
  else {
    month = 1;
    year++;
  }
}

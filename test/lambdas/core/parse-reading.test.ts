import fc from 'fast-check';
import { LIMITS } from '../../../lambdas/config';
import { ParseError } from '../../../lambdas/core/errors';
import {
  daysInMonth,
  formatUtcOffset,
  isLeapYear,
  parseLine,
  parseUtcOffset,
  splitLines,
  type ParseOptions,
  type ParseOutcome,
} from '../../../lambdas/core/parse-reading';
import type { MeasureValues, Reading } from '../../../lambdas/core/types';
import { propertyRuns } from '../../helpers/property-runs';

const SEED = 'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94';
const SEED_VALUES: MeasureValues = { hz: 10.27, disp: 1.73, flo: 881, sedPPM: 1.56, psi: 85, chlPPM: 1.94 };
const MEASURES_TAIL = '10.27,1.73,881,1.56,85,1.94';

/** A seed-format line with one field replaced (0 = pump … 8 = chlPPM). */
function lineWith(index: number, value: string): string {
  const fields = SEED.split(',');
  fields[index] = value;
  return fields.join(',');
}

function reading(outcome: ParseOutcome): Reading {
  if (outcome.kind !== 'reading') throw new Error(`expected a reading, got ${JSON.stringify(outcome)}`);
  return outcome.reading;
}

describe('parseLine — accepted lines', () => {
  const cases: { name: string; line: string; opts?: ParseOptions; pump?: string; ts: string; values?: Partial<MeasureValues> }[] = [
    { name: 'the seed format', line: SEED, ts: '2014-03-10T01:01:00Z' },
    { name: 'an ISO date with HH:MM', line: `COHUTTA,2014-03-10,01:01,${MEASURES_TAIL}`, ts: '2014-03-10T01:01:00Z' },
    { name: 'M/D/YYYY', line: `COHUTTA,3/10/2014,1:01,${MEASURES_TAIL}`, ts: '2014-03-10T01:01:00Z' },
    { name: 'MM/DD/YY with leading zeros', line: `COHUTTA,03/09/14,23:59,${MEASURES_TAIL}`, ts: '2014-03-09T23:59:00Z' },
    { name: 'H:MM:SS', line: `COHUTTA,3/10/14,1:01:30,${MEASURES_TAIL}`, ts: '2014-03-10T01:01:30Z' },
    { name: 'HH:MM:SS', line: `COHUTTA,3/10/14,13:05:09,${MEASURES_TAIL}`, ts: '2014-03-10T13:05:09Z' },
    { name: 'midnight', line: `COHUTTA,3/10/14,0:00,${MEASURES_TAIL}`, ts: '2014-03-10T00:00:00Z' },
    { name: 'a CRLF line ending', line: SEED + '\r', ts: '2014-03-10T01:01:00Z' },
    {
      name: 'spaces around the line and around every field',
      line: `  COHUTTA , 3/10/14 , 1:01 , 10.27 ,1.73, 881 ,1.56,85 , 1.94  \r`,
      ts: '2014-03-10T01:01:00Z',
    },
    { name: 'a byte-order mark before the first line', line: '\uFEFF' + SEED, ts: '2014-03-10T01:01:00Z' },
    { name: 'a leap day', line: `COHUTTA,2/29/16,12:00,${MEASURES_TAIL}`, ts: '2016-02-29T12:00:00Z' },
    { name: 'a leap day of a year divisible by 400', line: `COHUTTA,2/29/2000,12:00,${MEASURES_TAIL}`, ts: '2000-02-29T12:00:00Z' },
    { name: 'every allowed pump id character', line: `a-Z_9,3/10/14,1:01,${MEASURES_TAIL}`, pump: 'a-Z_9', ts: '2014-03-10T01:01:00Z' },
    { name: 'a 64-character pump id', line: `${'P'.repeat(64)},3/10/14,1:01,${MEASURES_TAIL}`, pump: 'P'.repeat(64), ts: '2014-03-10T01:01:00Z' },
    {
      name: 'a pump literally named "pump" when the second field is a date',
      line: `pump,3/10/14,1:01,${MEASURES_TAIL}`,
      pump: 'pump',
      ts: '2014-03-10T01:01:00Z',
    },
    {
      name: 'plain decimals, signs, a bare fraction and an exponent',
      line: 'P1,3/10/14,1:01,-1,.5,1e3,+2,5.,0',
      ts: '2014-03-10T01:01:00Z',
      values: { hz: -1, disp: 0.5, flo: 1000, sedPPM: 2, psi: 5, chlPPM: 0 },
    },
    {
      name: 'the range boundaries 1e9 and 1e-9',
      line: 'P1,3/10/14,1:01,1e9,-1e9,1e-9,-0.000000001,1000000000,0.000',
      ts: '2014-03-10T01:01:00Z',
      values: { hz: 1e9, disp: -1e9, flo: 1e-9, sedPPM: -1e-9, psi: 1e9, chlPPM: 0 },
    },
    {
      name: 'more digits than the fast path takes',
      line: 'P1,3/10/14,1:01,0.12345678901234567890,123456.789012345678,7.000000000000000001,1.5E2,2e+1,3e-1',
      ts: '2014-03-10T01:01:00Z',
      values: { hz: 0.1234567890123456789, disp: 123456.789012345678, flo: 7, sedPPM: 150, psi: 20, chlPPM: 0.3 },
    },
    // Sensor clock → UTC.
    { name: '+02:00 moves 01:01 to the previous UTC day', line: SEED, opts: { utcOffsetMinutes: 120 }, ts: '2014-03-09T23:01:00Z' },
    { name: '+02:00 keeps 05:00 on the same day', line: lineWith(2, '5:00'), opts: { utcOffsetMinutes: 120 }, ts: '2014-03-10T03:00:00Z' },
    { name: '-05:30 moves 20:00 to the next day', line: lineWith(2, '20:00:15'), opts: { utcOffsetMinutes: -330 }, ts: '2014-03-11T01:30:15Z' },
    { name: 'a positive offset across a month start', line: lineWith(1, '3/1/14').replace('1:01', '0:30'), opts: { utcOffsetMinutes: 120 }, ts: '2014-02-28T22:30:00Z' },
    { name: 'a positive offset into a leap day', line: lineWith(1, '3/1/16').replace('1:01', '1:00'), opts: { utcOffsetMinutes: 120 }, ts: '2016-02-29T23:00:00Z' },
    { name: 'a positive offset across 2000 (leap)', line: lineWith(1, '3/1/00').replace('1:01', '0:10'), opts: { utcOffsetMinutes: 60 }, ts: '2000-02-29T23:10:00Z' },
    { name: 'a positive offset across 2100 (not leap)', line: lineWith(1, '3/1/2100').replace('1:01', '0:10'), opts: { utcOffsetMinutes: 60 }, ts: '2100-02-28T23:10:00Z' },
    { name: 'a positive offset across a year start', line: lineWith(1, '1/1/15').replace('1:01', '0:00'), opts: { utcOffsetMinutes: 60 }, ts: '2014-12-31T23:00:00Z' },
    { name: 'a negative offset across a year end', line: lineWith(1, '12/31/14').replace('1:01', '20:00'), opts: { utcOffsetMinutes: -300 }, ts: '2015-01-01T01:00:00Z' },
    { name: 'a negative offset onto a leap day', line: lineWith(1, '2/28/16').replace('1:01', '23:30'), opts: { utcOffsetMinutes: -60 }, ts: '2016-02-29T00:30:00Z' },
    { name: 'a negative offset past Feb 28 of a common year', line: lineWith(1, '2/28/15').replace('1:01', '23:30'), opts: { utcOffsetMinutes: -60 }, ts: '2015-03-01T00:30:00Z' },
    { name: 'a negative offset off a 30-day month', line: lineWith(1, '2014-04-30').replace('1:01', '23:59:59'), opts: { utcOffsetMinutes: -1 }, ts: '2014-05-01T00:00:59Z' },
    { name: 'the largest offsets', line: lineWith(2, '23:59'), opts: { utcOffsetMinutes: 1439 }, ts: '2014-03-10T00:00:00Z' },
    { name: 'the most negative offset', line: lineWith(2, '0:00'), opts: { utcOffsetMinutes: -1439 }, ts: '2014-03-10T23:59:00Z' },
    { name: 'MM/DD/YYYY (ten characters, like an ISO date)', line: `COHUTTA,03/10/2014,1:01,${MEASURES_TAIL}`, ts: '2014-03-10T01:01:00Z' },
    { name: 'the edge characters of pump ids (a z A Z 0 9 _ -)', line: `az09AZ_-,3/10/14,1:01,${MEASURES_TAIL}`, pump: 'az09AZ_-', ts: '2014-03-10T01:01:00Z' },
    { name: 'a 64-character pump id after leading spaces', line: `  ${'P'.repeat(64)},3/10/14,1:01,${MEASURES_TAIL}`, pump: 'P'.repeat(64), ts: '2014-03-10T01:01:00Z' },
    { name: 'a pump named "pump" when the date starts with 9', line: `pump,9/10/14,1:01,${MEASURES_TAIL}`, pump: 'pump', ts: '2014-09-10T01:01:00Z' },
    { name: 'a pump named "pump" when the date starts with 0', line: `pump,03/10/14,1:01,${MEASURES_TAIL}`, pump: 'pump', ts: '2014-03-10T01:01:00Z' },
  ];

  test('builds times and timestamps right when days and times alternate (cached strings)', () => {
    const pad = (n: number) => String(n).padStart(2, '0');
    const seen: string[] = [];
    for (let i = 0; i < 400; i++) {
      const date = i % 2 === 0 ? '3/10/14' : '2014-12-31';
      const sec = (i * 3613) % 86_400;
      const t = `${Math.floor(sec / 3600)}:${pad(Math.floor(sec / 60) % 60)}:${pad(sec % 60)}`;
      const r = reading(parseLine(`P,${date},${t},1,2,3,4,5,6`));
      const expected = `${i % 2 === 0 ? '2014-03-10' : '2014-12-31'}T${pad(Math.floor(sec / 3600))}:${pad(Math.floor(sec / 60) % 60)}:${pad(sec % 60)}Z`;
      if (r.ts !== expected || r.time !== expected.slice(11, 19) || r.day !== expected.slice(0, 10)) seen.push(`${r.ts} != ${expected}`);
    }
    expect(seen).toEqual([]);
  });

  test.each(cases)('accepts $name', ({ line, opts, pump, ts, values }) => {
    const r = reading(parseLine(line, opts));
    expect(r.pump).toBe(pump ?? (line.includes('COHUTTA') ? 'COHUTTA' : 'P1'));
    expect(r.ts).toBe(ts);
    expect(r.day).toBe(ts.slice(0, 10));
    expect(r.time).toBe(ts.slice(11, 19));
    expect(r.values).toEqual(values ? { ...SEED_VALUES, ...values } : SEED_VALUES);
  });

  test('returns exactly the documented reading for the seed example', () => {
    expect(parseLine(SEED)).toEqual({
      kind: 'reading',
      reading: { pump: 'COHUTTA', day: '2014-03-10', time: '01:01:00', ts: '2014-03-10T01:01:00Z', values: SEED_VALUES },
    });
  });

  test('normalises -0 to 0', () => {
    const r = reading(parseLine('P1,3/10/14,1:01,-0,-0.0,-0e5,0,0,0'));
    expect(Object.is(r.values.hz, 0)).toBe(true);
    expect(Object.is(r.values.disp, 0)).toBe(true);
    expect(Object.is(r.values.flo, 0)).toBe(true);
  });

  test('keeps days apart whose year, month and day trade off against each other (day cache)', () => {
    expect(reading(parseLine(lineWith(1, '2014-03-11'))).day).toBe('2014-03-11');
    expect(reading(parseLine(lineWith(1, '2016-03-10'))).day).toBe('2016-03-10');
    expect(reading(parseLine(lineWith(1, '2014-03-10'))).day).toBe('2014-03-10');
    expect(reading(parseLine(lineWith(1, '2030-02-10'))).day).toBe('2030-02-10');
  });

  test('keeps consecutive days apart (day cache)', () => {
    expect(reading(parseLine(lineWith(1, '3/10/14'))).day).toBe('2014-03-10');
    expect(reading(parseLine(lineWith(1, '3/11/14'))).day).toBe('2014-03-11');
    expect(reading(parseLine(lineWith(1, '3/10/14'), { utcOffsetMinutes: 120 })).day).toBe('2014-03-09');
  });

  test('accepts a line of exactly the byte limit, not counting a trailing CR', () => {
    const padding = ' '.repeat(LIMITS.maxLineBytes - Buffer.byteLength(SEED));
    const line = SEED.replace(',3/10/14', `${padding},3/10/14`);
    expect(Buffer.byteLength(line)).toBe(LIMITS.maxLineBytes);
    expect(parseLine(line).kind).toBe('reading');
    expect(parseLine(line + '\r').kind).toBe('reading');
  });
});

describe('parseLine — skipped lines', () => {
  test.each([
    ['an empty line', ''],
    ['a lone CR', '\r'],
    ['spaces only', '    '],
    ['spaces and tabs', ' \t \t\r'],
    ['a byte-order mark only', '\uFEFF'],
    ['the header', 'pump,date,time,hz,disp,flo,sedPPM,psi,chlPPM'],
    ['an upper-case header with CRLF', 'PUMP,DATE,TIME,HZ,DISP,FLO,SEDPPM,PSI,CHLPPM\r'],
    ['a header with spaces and a BOM', '\uFEFF Pump , Date , Time,hz,disp,flo,sedPPM,psi,chlPPM'],
    ['a header of other length', 'pump,day'],
    ['a lone "pump"', 'pump'],
    ['"pump" and an empty second field at the end', 'pump,'],
    ['"pump" and an empty second field', 'pump,,time'],
    ['a header whose second field starts with a quote', 'pump,"date",time'],
  ])('skips %s', (_name, line) => {
    expect(parseLine(line)).toEqual({ kind: 'skip' });
  });
});

describe('parseLine — header lines, whatever line came before', () => {
  test.each(['pump', 'pump,', ' Pump ', 'PUMP,'])('skips %j right after a reading', (header) => {
    expect(parseLine(SEED).kind).toBe('reading');
    expect(parseLine(header)).toEqual({ kind: 'skip' });
  });
});

describe('parseLine — rejected lines', () => {
  const cases: { name: string; line: string; opts?: ParseOptions; code: string; reason: string | RegExp }[] = [
    { name: 'too few fields', line: 'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56', code: 'field-count', reason: 'expected 9 fields, got 7' },
    { name: 'too many fields', line: SEED + ',7', code: 'field-count', reason: 'expected 9 fields, got 10' },
    { name: 'a single field', line: 'hello', code: 'field-count', reason: 'expected 9 fields, got 1' },
    { name: 'a comma-only line', line: ',,,,', code: 'field-count', reason: 'expected 9 fields, got 5' },
    { name: 'an empty pump id', line: lineWith(0, ''), code: 'pump-id', reason: 'pump id must match [A-Za-z0-9_-]{1,64}, got ""' },
    { name: 'a space inside the pump id', line: lineWith(0, 'CO HUTTA'), code: 'pump-id', reason: 'got "CO HUTTA"' },
    { name: 'a non-ASCII pump id', line: lineWith(0, 'CÖHUTTA'), code: 'pump-id', reason: 'got "CÖHUTTA"' },
    { name: 'a # in the pump id (the key separator)', line: lineWith(0, 'a#b'), code: 'pump-id', reason: 'got "a#b"' },
    { name: 'a 65-character pump id, echoed truncated', line: lineWith(0, 'P'.repeat(65)), code: 'pump-id', reason: `got "${'P'.repeat(40)}…"` },
    { name: '2/30/14', line: lineWith(1, '2/30/14'), code: 'date', reason: 'impossible date 2/30/14' },
    { name: 'Feb 29 of a common year', line: lineWith(1, '2/29/15'), code: 'date', reason: 'impossible date 2/29/15' },
    { name: 'Feb 29 of 2100', line: lineWith(1, '2/29/2100'), code: 'date', reason: 'impossible date 2/29/2100' },
    { name: 'month 13', line: lineWith(1, '13/1/14'), code: 'date', reason: 'impossible date 13/1/14' },
    { name: 'month 0', line: lineWith(1, '0/1/14'), code: 'date', reason: 'impossible date 0/1/14' },
    { name: 'day 0', line: lineWith(1, '1/0/14'), code: 'date', reason: 'impossible date 1/0/14' },
    { name: 'April 31', line: lineWith(1, '4/31/14'), code: 'date', reason: 'impossible date 4/31/14' },
    { name: 'an impossible ISO date', line: lineWith(1, '2014-02-30'), code: 'date', reason: 'impossible date 2014-02-30' },
    { name: 'ISO month 13', line: lineWith(1, '2014-13-01'), code: 'date', reason: 'impossible date 2014-13-01' },
    { name: 'a word as date', line: lineWith(1, 'yesterday'), code: 'date', reason: 'unrecognised date "yesterday"' },
    { name: 'dashes in M-D-YY', line: lineWith(1, '3-10-14'), code: 'date', reason: 'unrecognised date "3-10-14"' },
    { name: 'a three-digit year', line: lineWith(1, '3/10/140'), code: 'date', reason: 'unrecognised date "3/10/140"' },
    { name: 'a three-digit month', line: lineWith(1, '003/10/14'), code: 'date', reason: 'unrecognised date "003/10/14"' },
    { name: 'an ISO date with a single-digit month', line: lineWith(1, '2014-3-10'), code: 'date', reason: 'unrecognised date "2014-3-10"' },
    { name: 'an empty date', line: lineWith(1, ''), code: 'date', reason: 'unrecognised date ""' },
    { name: 'letters in an ISO-shaped date', line: lineWith(1, '2014-0a-10'), code: 'date', reason: 'unrecognised date "2014-0a-10"' },
    { name: 'a year before 1970', line: lineWith(1, '1/1/1969'), code: 'date', reason: /date 1\/1\/1969 out of range/ },
    { name: 'year 0000', line: lineWith(1, '0000-01-01'), code: 'date', reason: /out of range/ },
    {
      name: 'a reading converted to before 1970',
      line: lineWith(1, '1/1/1970').replace('1:01', '0:30'),
      opts: { utcOffsetMinutes: 60 },
      code: 'date',
      reason: /converts to UTC year 1969/,
    },
    {
      name: 'a reading converted past 9999',
      line: lineWith(1, '12/31/9999').replace('1:01', '23:30'),
      opts: { utcOffsetMinutes: -60 },
      code: 'date',
      reason: /converts to UTC year 10000/,
    },
    { name: '25:61', line: lineWith(2, '25:61'), code: 'time', reason: 'impossible time 25:61' },
    { name: '24:00', line: lineWith(2, '24:00'), code: 'time', reason: 'impossible time 24:00' },
    { name: 'minute 60', line: lineWith(2, '12:60'), code: 'time', reason: 'impossible time 12:60' },
    { name: 'second 60', line: lineWith(2, '12:00:60'), code: 'time', reason: 'impossible time 12:00:60' },
    { name: 'a single-digit minute', line: lineWith(2, '1:1'), code: 'time', reason: 'unrecognised time "1:1"' },
    { name: 'am/pm', line: lineWith(2, '1:01pm'), code: 'time', reason: 'unrecognised time "1:01pm"' },
    { name: 'a three-digit hour', line: lineWith(2, '123:00'), code: 'time', reason: 'unrecognised time "123:00"' },
    { name: 'a dot as separator', line: lineWith(2, '1.01'), code: 'time', reason: 'unrecognised time "1.01"' },
    { name: 'an empty time', line: lineWith(2, ''), code: 'time', reason: 'unrecognised time ""' },
    { name: 'a bad second separator', line: lineWith(2, '01:01.30'), code: 'time', reason: 'unrecognised time "01:01.30"' },
    { name: 'letters in the time', line: lineWith(2, '1:0x'), code: 'time', reason: 'unrecognised time "1:0x"' },
    { name: 'a word as psi', line: lineWith(7, 'abc'), code: 'number', reason: 'field psi is not a finite number: "abc"' },
    { name: 'an empty hz', line: lineWith(3, ''), code: 'number', reason: 'field hz is not a finite number: ""' },
    { name: 'a blank chlPPM', line: lineWith(8, '   '), code: 'number', reason: 'field chlPPM is not a finite number: ""' },
    { name: 'NaN', line: lineWith(4, 'NaN'), code: 'number', reason: 'field disp is not a finite number: "NaN"' },
    { name: 'Infinity', line: lineWith(5, 'Infinity'), code: 'number', reason: 'field flo is not a finite number: "Infinity"' },
    { name: '-Infinity', line: lineWith(6, '-Infinity'), code: 'number', reason: 'field sedPPM is not a finite number: "-Infinity"' },
    { name: 'hex', line: lineWith(7, '0x10'), code: 'number', reason: 'field psi is not a finite number: "0x10"' },
    { name: 'binary literal', line: lineWith(7, '0b1'), code: 'number', reason: '"0b1"' },
    { name: 'a dangling exponent', line: lineWith(7, '1e'), code: 'number', reason: '"1e"' },
    { name: 'an exponent without digits', line: lineWith(7, '1e+'), code: 'number', reason: '"1e+"' },
    { name: 'a fractional exponent', line: lineWith(7, '1e3.5'), code: 'number', reason: '"1e3.5"' },
    { name: 'two dots', line: lineWith(7, '1..2'), code: 'number', reason: '"1..2"' },
    { name: 'a bare dot', line: lineWith(7, '.'), code: 'number', reason: '"."' },
    { name: 'a bare sign', line: lineWith(7, '-'), code: 'number', reason: '"-"' },
    { name: 'two signs', line: lineWith(7, '--1'), code: 'number', reason: '"--1"' },
    { name: 'an inner space', line: lineWith(7, '1 2'), code: 'number', reason: '"1 2"' },
    { name: 'a unit suffix', line: lineWith(7, '85psi'), code: 'number', reason: '"85psi"' },
    { name: 'an underscore separator', line: lineWith(7, '1_000'), code: 'number', reason: '"1_000"' },
    { name: 'non-ASCII digits', line: lineWith(7, '٨٥'), code: 'number', reason: '"٨٥"' },
    { name: 'a long non-number, echoed truncated', line: lineWith(7, 'x'.repeat(100)), code: 'number', reason: `"${'x'.repeat(40)}…"` },
    { name: '1e300', line: lineWith(5, '1e300'), code: 'range', reason: 'field flo out of range: 1e300' },
    { name: 'an overflow to Infinity', line: lineWith(5, '1e400'), code: 'range', reason: 'field flo out of range: 1e400' },
    { name: 'just above 1e9', line: lineWith(3, '1000000000.5'), code: 'range', reason: 'field hz out of range: 1000000000.5' },
    { name: 'just below -1e9', line: lineWith(3, '-1000000001'), code: 'range', reason: 'field hz out of range: -1000000001' },
    { name: 'a tiny magnitude', line: lineWith(4, '1e-10'), code: 'range', reason: 'field disp out of range: 1e-10' },
    { name: 'a tiny decimal', line: lineWith(4, '-0.0000000001'), code: 'range', reason: 'field disp out of range: -0.0000000001' },
    { name: 'an underflow to 0', line: lineWith(4, '1e-400'), code: 'range', reason: 'field disp out of range: 1e-400' },
    { name: 'many digits above the limit', line: lineWith(4, '12345678901234567890'), code: 'range', reason: 'out of range: 12345678901234567890' },
    { name: 'a NUL byte', line: SEED.replace('881', '8\u00001'), code: 'control-char', reason: `control character U+0000 at column ${SEED.indexOf('881') + 2}` },
    { name: 'a tab inside the line', line: SEED.replace(',85', ',\t85'), code: 'control-char', reason: /U\+0009/ },
    { name: 'a leading tab', line: '\t' + SEED, code: 'control-char', reason: 'control character U+0009 at column 1' },
    { name: 'a CR inside the line', line: SEED.replace(',85', '\r,85'), code: 'control-char', reason: /U\+000D/ },
    { name: 'a CR before a trailing space', line: SEED + '\r ', code: 'control-char', reason: /U\+000D/ },
    { name: 'an LF inside the line', line: SEED + '\n' + SEED, code: 'control-char', reason: /U\+000A/ },
    { name: 'DEL', line: SEED.replace('COHUTTA', 'CO\u007fHUTTA'), code: 'control-char', reason: /U\+007F/ },
    { name: 'a C1 control', line: SEED.replace('COHUTTA', 'CO\u0085HUTTA'), code: 'control-char', reason: /U\+0085/ },
    { name: 'an ESC in a header-looking line', line: 'pump,\u001b[31m', code: 'control-char', reason: /U\+001B/ },
    {
      name: 'a 2048-byte line',
      line: 'A,' + 'x'.repeat(2046),
      code: 'too-long',
      reason: `line is 2048 bytes, limit ${LIMITS.maxLineBytes}`,
    },
    {
      name: 'a line of 1025 bytes',
      line: SEED.replace(',3/10/14', ' '.repeat(LIMITS.maxLineBytes + 1 - Buffer.byteLength(SEED)) + ',3/10/14'),
      code: 'too-long',
      reason: `line is 1025 bytes, limit ${LIMITS.maxLineBytes}`,
    },
    {
      name: 'a line short in characters but long in UTF-8 bytes',
      line: SEED.replace('COHUTTA', '€'.repeat(400)),
      code: 'too-long',
      reason: `line is ${Buffer.byteLength(SEED.replace('COHUTTA', '€'.repeat(400)))} bytes`,
    },
    {
      name: 'a long line with emoji (4-byte characters)',
      line: '😀'.repeat(300),
      code: 'too-long',
      reason: 'line is 1200 bytes',
    },
    {
      name: 'a long line with control characters (size is checked first)',
      line: '\u0000'.repeat(2000),
      code: 'too-long',
      reason: 'line is 2000 bytes',
    },
    { name: 'a long line with CRLF, sized without its CR', line: 'A,' + 'x'.repeat(2000) + '\r', code: 'too-long', reason: 'line is 2002 bytes, limit 1024' },
    { name: 'an exponent followed by a no-break space', line: lineWith(7, '1e5\u00a0'), code: 'number', reason: 'field psi is not a finite number: "1e5\u00a0"' },
    { name: 'a no-break space after a number (not a control character)', line: lineWith(7, '85\u00a0'), code: 'number', reason: 'field psi is not a finite number' },
    { name: 'an underflow to 0 with non-zero digits only after the point', line: lineWith(4, '0.1e-400'), code: 'range', reason: 'field disp out of range: 0.1e-400' },
    { name: 'letters in the seconds', line: lineWith(2, '1:01:0x'), code: 'time', reason: 'unrecognised time "1:01:0x"' },
    { name: 'a letter as hour', line: lineWith(2, 'x:01'), code: 'time', reason: 'unrecognised time "x:01"' },
    { name: 'a three-digit second', line: lineWith(2, '12:00:001'), code: 'time', reason: 'unrecognised time "12:00:001"' },
    { name: 'a dot in place of a minute digit', line: lineWith(2, '12:5.'), code: 'time', reason: 'unrecognised time "12:5."' },
    { name: 'a letter as month', line: lineWith(1, 'x/10/14'), code: 'date', reason: 'unrecognised date "x/10/14"' },
    { name: 'a letter in the day', line: lineWith(1, '3/1x/14'), code: 'date', reason: 'unrecognised date "3/1x/14"' },
    { name: 'a letter in a two-digit year', line: lineWith(1, '3/10/1x'), code: 'date', reason: 'unrecognised date "3/10/1x"' },
    { name: 'a date with only one slash', line: lineWith(1, '3/10514'), code: 'date', reason: 'unrecognised date "3/10514"' },
    { name: 'a dot as the first date separator', line: lineWith(1, '12.04/14'), code: 'date', reason: 'unrecognised date "12.04/14"' },
    { name: 'ISO month 00', line: lineWith(1, '2014-00-10'), code: 'date', reason: 'impossible date 2014-00-10' },
    { name: 'ISO day 00', line: lineWith(1, '2014-03-00'), code: 'date', reason: 'impossible date 2014-03-00' },
    { name: 'a letter in an ISO day', line: lineWith(1, '2014-03-1x'), code: 'date', reason: 'unrecognised date "2014-03-1x"' },
    { name: 'a letter in an ISO year', line: lineWith(1, '201x-03-10'), code: 'date', reason: 'unrecognised date "201x-03-10"' },
    { name: 'an ISO date with a trailing digit', line: lineWith(1, '2014-03-101'), code: 'date', reason: 'unrecognised date "2014-03-101"' },
    { name: 'a slash then a dash in an ISO-length date', line: lineWith(1, '2014/03-10'), code: 'date', reason: 'unrecognised date "2014/03-10"' },
    { name: 'a dash then a slash in an ISO-length date', line: lineWith(1, '2014-03/10'), code: 'date', reason: 'unrecognised date "2014-03/10"' },
    { name: 'a 40-character value, echoed whole', line: lineWith(1, 'x'.repeat(40)), code: 'date', reason: `unrecognised date "${'x'.repeat(40)}" (expected` },
    { name: 'a pump id of spaces only', line: lineWith(0, '  '), code: 'pump-id', reason: 'pump id must match [A-Za-z0-9_-]{1,64}, got ""' },
    { name: 'a first field "pumps" (not a header)', line: 'pumps,date,time,hz,disp,flo,sedPPM,psi,chlPPM', code: 'date', reason: 'unrecognised date "date"' },
    { name: 'a first field "xump" (not a header)', line: 'xump,date', code: 'field-count', reason: 'got 2' },
    { name: 'a first field "pxmp" (not a header)', line: 'pxmp,date', code: 'field-count', reason: 'got 2' },
    { name: 'a first field "puxp" (not a header)', line: 'puxp,date', code: 'field-count', reason: 'got 2' },
    { name: 'a first field "pumx" (not a header)', line: 'pumx,date', code: 'field-count', reason: 'got 2' },
    {
      name: 'a reading converted to before 1970, echoing the trimmed date and time',
      line: `P1, 1/1/1970 , 0:30 ,${MEASURES_TAIL}`,
      opts: { utcOffsetMinutes: 60 },
      code: 'date',
      reason: 'reading at 1/1/1970 , 0:30 converts to UTC year 1969, outside 1970–9999',
    },
  ];

  test.each(cases)('rejects $name with code $code', ({ line, opts, code, reason }) => {
    const outcome = parseLine(line, opts);
    expect(outcome.kind).toBe('error');
    if (outcome.kind !== 'error') return;
    expect(outcome.code).toBe(code);
    if (typeof reason === 'string') expect(outcome.reason).toContain(reason);
    else expect(outcome.reason).toMatch(reason);
    expect(outcome.reason.length).toBeLessThan(200);
  });

  test('rejects a 10 MB line as too long, reporting its exact size', () => {
    const line = 'P,' + 'x'.repeat(10 * 1024 * 1024);
    expect(parseLine(line)).toEqual({ kind: 'error', code: 'too-long', reason: `line is ${line.length} bytes, limit 1024` });
  });

  test('reports the first bad field when several are bad', () => {
    const outcome = parseLine('bad id,2/30/14,25:00,x,x,x,x,x,x');
    expect(outcome).toMatchObject({ kind: 'error', code: 'pump-id' });
    expect(parseLine('ok,2/30/14,25:00,x,x,x,x,x,x')).toMatchObject({ code: 'date' });
    expect(parseLine('ok,2/28/14,25:00,x,x,x,x,x,x')).toMatchObject({ code: 'time' });
    expect(parseLine('ok,2/28/14,2:00,1,2,3,x,1e99,x')).toMatchObject({ code: 'number', reason: expect.stringContaining('sedPPM') });
  });

  test('throws a ParseError for an invalid offset option, not for the line', () => {
    expect(() => parseLine(SEED, { utcOffsetMinutes: 1440 })).toThrow(ParseError);
    expect(() => parseLine(SEED, { utcOffsetMinutes: 1.5 })).toThrow(/utcOffsetMinutes must be an integer/);
    expect(() => parseLine(SEED, { utcOffsetMinutes: Number.NaN })).toThrow(ParseError);
  });

  test('accepts offsets -1439..1439 and throws code utc-offset for -1440', () => {
    expect(parseLine(SEED, { utcOffsetMinutes: -1439 }).kind).toBe('reading');
    expect(() => parseLine(SEED, { utcOffsetMinutes: -1440 })).toThrow(/got -1440/);
    try {
      parseLine(SEED, { utcOffsetMinutes: -1440 });
    } catch (e) {
      expect((e as ParseError).code).toBe('utc-offset');
    }
    expect.assertions(3);
  });
});

describe('parseLine — the byte limit counts UTF-8 bytes exactly like Buffer.byteLength', () => {
  /** 'A,' + `unit` repeated + ASCII padding, `bytes` UTF-8 bytes long and more than 341 UTF-16 code units. */
  function lineOfBytes(unit: string, bytes: number): string {
    const k = Math.floor(900 / Buffer.byteLength(unit));
    const line = 'A,' + unit.repeat(k) + 'x'.repeat(bytes - 2 - k * Buffer.byteLength(unit));
    expect(Buffer.byteLength(line)).toBe(bytes);
    expect(line.length).toBeGreaterThan(Math.floor(LIMITS.maxLineBytes / 3));
    expect(line.length).toBeLessThanOrEqual(LIMITS.maxLineBytes);
    return line;
  }

  test.each([
    ['U+0080 (2 bytes)', '\u0080'],
    ['é (2 bytes)', 'é'],
    ['U+07FF (2 bytes)', '\u07ff'],
    ['U+0800 (3 bytes)', '\u0800'],
    ['€ (3 bytes)', '€'],
    ['U+FFFF (3 bytes)', '\uffff'],
    ['an emoji (4 bytes)', '😀'],
    ['U+10000 (4 bytes, high surrogate D800)', '\u{10000}'],
    ['U+10FFFF (4 bytes, high surrogate DBFF)', '\u{10FFFF}'],
    ['two lone high surrogates (3 bytes each)', '\uD800\uD800'],
    ['a lone high surrogate before é', '\uD800é'],
    ['a lone high surrogate before €', '\uD800€'],
    ['a lone low surrogate', '\uDC00'],
    ['a 3-byte character before a lone low surrogate', '€\uDC00'],
    ['a private-use character before a lone low surrogate', '\uE000\uDC00'],
  ])('with %s: 1024 bytes pass the size check, 1025 do not', (_name, unit) => {
    expect(parseLine(lineOfBytes(unit, LIMITS.maxLineBytes))).not.toMatchObject({ code: 'too-long' });
    expect(parseLine(lineOfBytes(unit, LIMITS.maxLineBytes + 1))).toEqual({
      kind: 'error',
      code: 'too-long',
      reason: `line is ${LIMITS.maxLineBytes + 1} bytes, limit ${LIMITS.maxLineBytes}`,
    });
  });
});

describe('parseLine — properties', () => {
  test('never throws and always returns a well-formed outcome, whatever the string', () => {
    const fragments = fc.constantFrom('COHUTTA', ',', '3/10/14', '1:01', '2/30/14', '10.27', '-', '.', 'e', '\r', '\n', '\u0000', ' ', 'pump', '€', '\uD800', '1e400');
    const arbitraryLine = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.array(fragments, { maxLength: 30 }).map((parts) => parts.join('')),
      fc.tuple(fc.nat(SEED.length), fc.string({ unit: 'binary', maxLength: 4 })).map(([at, s]) => SEED.slice(0, at) + s + SEED.slice(at)),
    );
    fc.assert(
      fc.property(arbitraryLine, fc.integer({ min: -1439, max: 1439 }), (line, offset) => {
        const outcome = parseLine(line, { utcOffsetMinutes: offset });
        if (outcome.kind === 'error') {
          expect(outcome.code).toMatch(/^(too-long|control-char|field-count|pump-id|date|time|number|range)$/);
          expect(outcome.reason.length).toBeGreaterThan(0);
        } else if (outcome.kind === 'reading') {
          expect(outcome.reading.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
          for (const v of Object.values(outcome.reading.values)) expect(Number.isFinite(v)).toBe(true);
        }
      }),
      { numRuns: propertyRuns(3000) },
    );
  });

  test('converts the sensor clock to UTC exactly like Date.UTC', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: -1439, max: 1439 }),
        fc.boolean(),
        (date, offset, iso) => {
          const y = date.getUTCFullYear();
          const m = date.getUTCMonth() + 1;
          const d = date.getUTCDate();
          const pad = (n: number) => String(n).padStart(2, '0');
          const dateText = iso ? `${y}-${pad(m)}-${pad(d)}` : `${m}/${d}/${y}`;
          const timeText = `${date.getUTCHours()}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
          const r = reading(parseLine(`P,${dateText},${timeText},1,2,3,4,5,6`, { utcOffsetMinutes: offset }));
          const expected = new Date(Math.floor(date.getTime() / 1000) * 1000 - offset * 60_000).toISOString().slice(0, 19) + 'Z';
          expect(r.ts).toBe(expected);
        },
      ),
      { numRuns: propertyRuns(2000) },
    );
  });

  test('reads every finite double in range back exactly from String(v)', () => {
    const inRange = fc.double({ min: -1e9, max: 1e9, noNaN: true }).filter((v) => v === 0 || Math.abs(v) >= 1e-9);
    fc.assert(
      fc.property(inRange, (v) => {
        const r = reading(parseLine(`P,3/10/14,1:01,${String(v)},0,0,0,0,0`));
        expect(r.values.hz).toBe(v + 0);
      }),
      { numRuns: propertyRuns(3000) },
    );
  });

  test('parses decimal text exactly like Number()', () => {
    const decimal = fc
      .tuple(fc.constantFrom('', '-', '+'), fc.stringMatching(/^[0-9]{0,9}$/), fc.boolean(), fc.stringMatching(/^[0-9]{0,10}$/))
      .filter(([, int, dot, frac]) => int.length + (dot ? frac.length : 0) > 0)
      .map(([sign, int, dot, frac]) => sign + int + (dot ? '.' + frac : ''));
    fc.assert(
      fc.property(decimal, (text) => {
        const expected = Number(text) + 0;
        const outcome = parseLine(`P,3/10/14,1:01,0,0,0,0,${text},0`);
        if (expected === 0 || Math.abs(expected) >= 1e-9) expect(reading(outcome).values.psi).toBe(expected);
        else expect(outcome).toMatchObject({ kind: 'error', code: 'range' });
      }),
      { numRuns: propertyRuns(3000) },
    );
  });
});

describe('splitLines', () => {
  test.each([
    ['', []],
    ['a', ['a']],
    ['a\n', ['a']],
    ['a\r\n', ['a']],
    ['a\r\nb\n\nc\n', ['a', 'b', '', 'c']],
    ['\n', ['']],
    ['\n\n', ['', '']],
    ['a\rb\n', ['a\rb']],
    ['a\n\r\n', ['a', '']],
    ['x\r', ['x']],
  ])('splits %j into %j', (text, lines) => {
    expect(splitLines(text)).toEqual(lines);
  });
});

describe('parseUtcOffset / formatUtcOffset', () => {
  test.each([
    ['+02:00', 120],
    ['-05:30', -330],
    ['+00:00', 0],
    ['Z', 0],
    ['+0530', 330],
    ['-08', -480],
    ['+23:59', 1439],
    [' +01:00 ', 60],
    ['z', 0],
  ])('parses %s as %d minutes', (text, minutes) => {
    expect(parseUtcOffset(text)).toBe(minutes);
  });

  test('parses -00:00 as +0, not -0', () => {
    expect(Object.is(parseUtcOffset('-00:00'), 0)).toBe(true);
  });

  test.each(['', '2', '+2:00', '+24:00', '+05:60', 'UTC', '+02:00:00', '02:00', '+0a:00', 'UTC+02:00', 'GMT-05'])('rejects %j with a ParseError', (text) => {
    expect(() => parseUtcOffset(text)).toThrow(ParseError);
    try {
      parseUtcOffset(text);
    } catch (e) {
      expect((e as ParseError).code).toBe('utc-offset');
      expect((e as ParseError).message).toContain(JSON.stringify(text));
    }
  });

  test.each([
    [120, '+02:00'],
    [-330, '-05:30'],
    [0, '+00:00'],
    [1439, '+23:59'],
  ])('formats %d as %s and back', (minutes, text) => {
    expect(formatUtcOffset(minutes)).toBe(text);
    expect(parseUtcOffset(text)).toBe(minutes);
  });
});

describe('calendar helpers', () => {
  test('knows the Gregorian leap years', () => {
    expect([1900, 2000, 2014, 2016, 2100, 2400].map(isLeapYear)).toEqual([false, true, false, true, false, true]);
    expect(daysInMonth(2016, 2)).toBe(29);
    expect(daysInMonth(2015, 2)).toBe(28);
    expect(daysInMonth(2015, 4)).toBe(30);
    expect(daysInMonth(2015, 12)).toBe(31);
  });
});

import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import {
  READING_CSV_COLUMNS,
  READING_CSV_HEADER,
  STATS_CSV_COLUMNS,
  STATS_CSV_HEADER,
  csvField,
  formatNumber,
  readingToCsvRow,
  statColumn,
  statsToCsvRow,
} from '../../../lambdas/core/format';
import type { DailyStats, EvaluatedReading } from '../../../lambdas/core/types';
import { propertyRuns } from '../../helpers/property-runs';

const STATS: DailyStats = {
  pump: 'COHUTTA',
  date: '2014-03-10',
  count: 3,
  measures: {
    hz: { min: 0, max: 10.5, avg: 7.000000000000001 },
    disp: { min: 1, max: 2, avg: 1.5 },
    flo: { min: 0, max: 2042, avg: 1361.3333333333333 },
    sedPPM: { min: 0.1, max: 7, avg: 2.4 },
    psi: { min: -1, max: 100, avg: 1e-7 },
    chlPPM: { min: 0.5, max: 2, avg: 1.25 },
  },
};

const READING: EvaluatedReading = {
  pump: 'COHUTTA',
  day: '2014-03-10',
  time: '01:01:00',
  ts: '2014-03-10T01:01:00Z',
  values: { hz: 10.27, disp: 1.73, flo: 881, sedPPM: 1.56, psi: 0.1 + 0.2, chlPPM: 1.94 },
  alerts: [],
};

describe('column lists', () => {
  test('the stats columns are exactly the documented ones', () => {
    expect(STATS_CSV_COLUMNS.join(',')).toBe(
      'pump,date,count,hz_min,hz_max,hz_avg,disp_min,disp_max,disp_avg,flo_min,flo_max,flo_avg,sedPPM_min,sedPPM_max,sedPPM_avg,psi_min,psi_max,psi_avg,chlPPM_min,chlPPM_max,chlPPM_avg',
    );
    expect(STATS_CSV_HEADER).toBe(STATS_CSV_COLUMNS.join(','));
    expect(statColumn('sedPPM', 'avg')).toBe('sedPPM_avg');
  });

  test('the reading columns are exactly the documented ones', () => {
    expect(READING_CSV_COLUMNS.join(',')).toBe('pump,ts,hz,disp,flo,sedPPM,psi,chlPPM,alerts');
    expect(READING_CSV_HEADER).toBe('pump,ts,hz,disp,flo,sedPPM,psi,chlPPM,alerts');
  });
});

describe('statsToCsvRow', () => {
  test('prints every aggregate with full precision, in column order', () => {
    expect(statsToCsvRow(STATS)).toBe(
      'COHUTTA,2014-03-10,3,0,10.5,7.000000000000001,1,2,1.5,0,2042,1361.3333333333333,0.1,7,2.4,-1,100,1e-7,0.5,2,1.25',
    );
  });

  test('reads back through a CSV parser into the same numbers', () => {
    const [row] = parse(STATS_CSV_HEADER + '\n' + statsToCsvRow(STATS), { columns: true }) as Record<string, string>[];
    expect(Number(row.flo_avg)).toBe(STATS.measures.flo.avg);
    expect(Number(row.psi_avg)).toBe(STATS.measures.psi.avg);
    expect(Number(row.count)).toBe(3);
    expect(Object.keys(row)).toEqual([...STATS_CSV_COLUMNS]);
  });
});

describe('readingToCsvRow', () => {
  test('prints a reading without alerts with an empty alerts column', () => {
    expect(readingToCsvRow(READING)).toBe('COHUTTA,2014-03-10T01:01:00Z,10.27,1.73,881,1.56,0.30000000000000004,1.94,');
  });

  test('joins several alerts with |', () => {
    expect(readingToCsvRow({ ...READING, alerts: ['low-psi', 'stopped'] })).toBe(
      'COHUTTA,2014-03-10T01:01:00Z,10.27,1.73,881,1.56,0.30000000000000004,1.94,low-psi|stopped',
    );
  });

  test('escapes fields that need it, so a CSV parser reads the same values back', () => {
    const odd: EvaluatedReading = { ...READING, pump: 'a,"b"', alerts: ['x,y', 'line\nbreak', 'cr\r'] };
    const row = readingToCsvRow(odd);
    expect(row.startsWith('"a,""b""",')).toBe(true);
    const [fields] = parse(row, { relax_column_count: false }) as string[][];
    expect(fields).toHaveLength(READING_CSV_COLUMNS.length);
    expect(fields[0]).toBe('a,"b"');
    expect(fields[8]).toBe('x,y|line\nbreak|cr\r');
  });
});

describe('csvField', () => {
  test.each([
    ['plain', 'plain'],
    ['', ''],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\r', '"cr\r"'],
    ['semi;colon', 'semi;colon'],
  ])('escapes %j as %j', (input, output) => {
    expect(csvField(input)).toBe(output);
  });
});

describe('formatNumber', () => {
  test.each([
    0, -0, 1, -1, 881, 10.27, -10.27, 0.1, 0.1 + 0.2, 1 / 3, 2 / 3, 1e-6, 9.99e-7, 1e-7, 1e-9, -1e-9, 1e9, 1e15, 1e21, 123456.789012345,
    0.000123, 5e-324, Number.MAX_VALUE, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 999999999999999.9, 0.5, 1.005,
  ])('formats %p exactly like String()', (v) => {
    expect(formatNumber(v)).toBe(String(v));
  });

  test.each([2 ** 31, -(2 ** 31) - 1, 3e9, -4294967296, 123456789012345, 2 ** 53 - 1, -(2 ** 53)])(
    'formats the integer %p, outside the 32-bit range, without a decimal point, like String()',
    (v) => {
      expect(formatNumber(v)).toBe(String(v));
    },
  );

  test('agrees with String() on random doubles and short decimals', () => {
    const decimal = fc
      .tuple(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 15 }))
      .map(([m, k]) => m / 10 ** k);
    const scaled = fc.tuple(fc.double({ min: -10, max: 10, noNaN: true }), fc.integer({ min: -12, max: 16 })).map(([v, e]) => v * 10 ** e);
    fc.assert(
      fc.property(fc.oneof(fc.double(), decimal, scaled), (v) => {
        expect(formatNumber(v)).toBe(String(v));
      }),
      { numRuns: propertyRuns(20_000) },
    );
  });

  test('stays exact when memo slots collide and values come back after eviction', () => {
    // 30,000 distinct short decimals cannot fit 8,192 slots: many share a slot, so hits, misses and evictions mix.
    const pool = Array.from({ length: 30_000 }, (_, i) => (i % 2 === 0 ? 1 : -1) * ((i * 7919) % 1_000_003) / 100 + 0.01);
    const order = [...pool, ...pool.slice().reverse(), ...pool.filter((_, i) => i % 3 === 0), ...pool];
    let wrong = 0;
    for (const v of order) if (formatNumber(v) !== String(v)) wrong++;
    expect(wrong).toBe(0);
    // The same value keeps its text across an eviction by a colliding one.
    expect([formatNumber(10.27), formatNumber(0.3), formatNumber(10.27)]).toEqual(['10.27', '0.3', '10.27']);
    expect([formatNumber(-0), formatNumber(0), formatNumber(-1.5), formatNumber(1.5)]).toEqual(['0', '0', '-1.5', '1.5']);
  });
});

/** The scale test's synthetic fleet and how its reports are judged (pure; the run itself is in fleet.test.ts). */
import { feedSecond } from './fleet-feed';
import { checkExpectations, expectationOf } from './expectations';
import { keyDesign, keyPattern, REDUCED_SCENARIO, type KeyFamily, type ScaleReport } from './scenario';
import { parseLine } from '../../lambdas/core/parse-reading';

const shape = { pumps: 600, intervalSeconds: 60, stormShare: 0.1, linesPerRecord: 4 };

describe('fleet feed', () => {
  test('each second carries the pumps whose turn it is, every pump once per interval, in parseable lines', () => {
    const seen = new Map<string, number>();
    for (let k = 0; k < 60; k++) {
      for (const r of feedSecond(shape, new Date(Date.UTC(2026, 11, 1, 23, 59, k)), false)) {
        for (const line of r.data.split('\n')) {
          const out = parseLine(line);
          expect(out.kind).toBe('reading');
          if (out.kind === 'reading') seen.set(out.reading.pump, (seen.get(out.reading.pump) ?? 0) + 1);
        }
      }
    }
    expect(seen.size).toBe(600);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  test('packs lines into records of at most linesPerRecord, keyed by their first pump', () => {
    const records = feedSecond(shape, new Date('2026-12-01T23:59:00Z'), false);
    expect(records.map((r) => r.lines)).toEqual([4, 4, 2]);
    expect(records[0]!.data.startsWith(`${records[0]!.partitionKey},2026-12-01,23:59:00,`)).toBe(true);
  });

  test('in a storm every tenth pump reads psi below 5', () => {
    const psi = (storm: boolean) =>
      feedSecond({ ...shape, intervalSeconds: 1 }, new Date('2026-12-01T12:00:00Z'), storm)
        .flatMap((r) => r.data.split('\n'))
        .map((l) => Number(l.split(',')[7]));
    expect(psi(true).filter((p) => p < 5)).toHaveLength(60);
    expect(psi(false).filter((p) => p < 5)).toHaveLength(0);
  });
});

const family = (f: Partial<KeyFamily> & Pick<KeyFamily, 'resource' | 'pattern'>): KeyFamily => ({
  direction: 'write',
  keys: 1,
  throttledRequests: 0,
  consumedUnits: 10,
  peakConsumedPerSecond: 1,
  peakDemandPerSecond: 1,
  limit: 1.5,
  ...f,
});

const report = (families: KeyFamily[], lag: Partial<ScaleReport['lag']> = {}): ScaleReport =>
  ({
    scenario: REDUCED_SCENARIO,
    families,
    lag: { recoveredAfterSeconds: 0, drainedAfterSeconds: 1, ...lag },
  }) as unknown as ScaleReport;

describe('expectations', () => {
  test('names key families by pattern: days, buckets and pumps replaced', () => {
    expect(['DAY#2026-12-01', 'DAY#2026-12-01#7', 'PUMPS#3', 'COHUTTA12#2026-12-01', '2026-12-01', '2026-12-01#5', 'PENDING', 'COHUTTA', 'P#COHUTTA2', 'B#3', 'N#COFFEE.low-psi.20261201T235920Z/1'].map(keyPattern)).toEqual([
      'DAY#<day>',
      'DAY#<day>#<b>',
      'PUMPS#<n>',
      '<pump>#<day>',
      '<day>',
      '<day>#<b>',
      'PENDING',
      '<pump>',
      'P#<pump>',
      'B#<n>',
      'N#<transition>',
    ]);
  });

  const today = [family({ resource: 'catalog', pattern: 'DAY#<day>', throttledRequests: 9 }), family({ resource: 'readings/alertsByDay', pattern: '<day>', throttledRequests: 4 })];
  const sharded = [family({ resource: 'catalog', pattern: 'DAY#<day>#<b>', keys: 32 }), family({ resource: 'readings/alertsByDay', pattern: '<day>#<b>', keys: 32 })];

  test("today's keys must show the throttling; the sharded ones none", () => {
    expect(keyDesign(report(today))).toEqual({ dayMarkers: 'single', alertsByDay: 'single' });
    expect(expectationOf(report(today), {})).toBe('throttling');
    expect(checkExpectations(report(today), {})).toEqual([]);
    expect(checkExpectations(report([today[0]!, family({ resource: 'readings/alertsByDay', pattern: '<day>' })]), {})).toEqual([
      'the unsharded alertsByDay key was not throttled in the storm',
    ]);
    expect(expectationOf(report(sharded), {})).toBe('none');
    expect(checkExpectations(report(sharded), {})).toEqual([]);
  });

  test('a sharded run fails on any throttled key, a slow recovery or a backlog left', () => {
    const hot = [...sharded, family({ resource: 'catalog', pattern: 'PENDING', throttledRequests: 3, peakDemandPerSecond: 9 })];
    expect(checkExpectations(report(hot), {})).toEqual(['write catalog PENDING: 3 throttled request(s), peak demand 9.0/s against 1.50/s']);
    expect(checkExpectations(report(sharded, { recoveredAfterSeconds: 31 }), {})).toEqual(['lag recovered 31 s after the last load event (bound 30 s)']);
    expect(checkExpectations(report(sharded, { drainedAfterSeconds: undefined, recoveredAfterSeconds: undefined }), {})).toHaveLength(2);
  });

  test('a run whose consumer never reached the midnight or the storm it was fed fails whatever the design', () => {
    expect(checkExpectations(report([]), {})).toEqual([
      "no day marker was written: the consumer never reached the new day's readings",
      'no alert reached the alertsByDay index: the consumer never reached the storm',
    ]);
    const noonWithoutStorm = { ...report([]), scenario: { ...REDUCED_SCENARIO, simStart: '2026-12-02T12:00:00Z', storm: { from: 0, to: 0, share: 0.1 } } };
    expect(checkExpectations(noonWithoutStorm, {})).toEqual([]);
  });

  test('WELLWATCH_SCALE_EXPECT overrides the design', () => {
    expect(expectationOf(report(today), { WELLWATCH_SCALE_EXPECT: 'none' })).toBe('none');
    expect(checkExpectations(report(today), { WELLWATCH_SCALE_EXPECT: 'none' })).toHaveLength(2);
  });
});

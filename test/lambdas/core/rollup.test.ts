import { WellwatchError, isWellwatchError } from '../../../lambdas/core/errors';
import { mulberry32 } from '../../../lambdas/core/generator';
import { RollupAccumulator, rollupReadings } from '../../../lambdas/core/rollup';
import { MEASURES, type MeasureValues } from '../../../lambdas/core/types';

function randomValues(random: () => number): MeasureValues {
  return {
    hz: random() * 10.5,
    disp: random() * 6.2,
    flo: Math.round(random() * 2042),
    sedPPM: random() * 7,
    psi: Math.round(random() * 100),
    chlPPM: 0.5 + random() * 1.5,
  };
}

function v(hz: number, rest: Partial<MeasureValues> = {}): MeasureValues {
  return { hz, disp: hz, flo: hz, sedPPM: hz, psi: hz, chlPPM: hz, ...rest };
}

describe('RollupAccumulator', () => {
  test('avg equals the plain sequential sum / count within 1e-9 relative on 10,000 random readings; min and max exact', () => {
    const random = mulberry32(42);
    const rows = Array.from({ length: 10_000 }, () => randomValues(random));
    const acc = new RollupAccumulator();
    for (const row of rows) acc.add(row);
    const s = acc.result('P1', '2014-03-10');
    expect(s).toMatchObject({ pump: 'P1', date: '2014-03-10', count: 10_000 });
    for (const m of MEASURES) {
      let plain = 0;
      for (const row of rows) plain += row[m];
      const expected = plain / rows.length;
      expect(Math.abs(s.measures[m].avg - expected) / Math.abs(expected)).toBeLessThan(1e-9);
      expect(s.measures[m].min).toBe(Math.min(...rows.map((row) => row[m])));
      expect(s.measures[m].max).toBe(Math.max(...rows.map((row) => row[m])));
    }
  });

  test('compensated sum stays exact where a plain sum loses the small terms', () => {
    // 1e8 followed by many 1e-8: a naive sum in this order drops nothing representable, but the classic
    // [big, many small, -big] pattern makes naive summation return 0 for the small part.
    const acc = new RollupAccumulator();
    acc.add(v(1e8));
    for (let i = 0; i < 1000; i++) acc.add(v(1e-8 * 3));
    acc.add(v(-1e8));
    const expected = (1000 * 3e-8) / 1002;
    const avg = acc.result('P', '2014-03-10').measures.hz.avg;
    expect(Math.abs(avg - expected) / expected).toBeLessThan(1e-9);
    let naive = 1e8;
    for (let i = 0; i < 1000; i++) naive += 3e-8;
    naive -= 1e8;
    expect(Math.abs(naive / 1002 - expected) / expected).toBeGreaterThan(1e-3); // the plain sum really is off
  });

  test('a single reading is its own min, max and avg', () => {
    const only = { hz: 10.27, disp: 1.73, flo: 881, sedPPM: 1.56, psi: 85, chlPPM: 1.94 };
    const s = rollupReadings('COHUTTA', '2014-03-10', [only]);
    expect(s.count).toBe(1);
    for (const m of MEASURES) expect(s.measures[m]).toEqual({ min: only[m], max: only[m], avg: only[m] });
  });

  test('handles negative values and all-zero failure stretches', () => {
    const s = rollupReadings('P', '2014-03-10', [v(0), v(0), v(-3, { psi: 0 }), v(3, { psi: 0 })]);
    expect(s.measures.hz).toEqual({ min: -3, max: 3, avg: 0 });
    expect(s.measures.psi).toEqual({ min: 0, max: 0, avg: 0 });
  });

  test('a measure negative all day has a negative max (the max does not start at 0)', () => {
    const s = rollupReadings('P', '2014-03-10', [v(-7.25), v(-0.5), v(-3)]);
    for (const m of MEASURES) expect(s.measures[m]).toEqual({ min: -7.25, max: -0.5, avg: -3.5833333333333335 });
  });

  test('a measure positive all day has a positive min (the min does not start at 0)', () => {
    const s = rollupReadings('P', '2014-03-10', [v(4.5), v(2.25), v(9)]);
    for (const m of MEASURES) expect(s.measures[m]).toEqual({ min: 2.25, max: 9, avg: 5.25 });
  });

  test('a constant measure has min = max = avg = that value, alongside measures that vary', () => {
    const rows = [v(1, { psi: 42, chlPPM: -0.3 }), v(5, { psi: 42, chlPPM: -0.3 }), v(9, { psi: 42, chlPPM: -0.3 })];
    const s = rollupReadings('P', '2014-03-10', rows);
    expect(s.measures.psi).toEqual({ min: 42, max: 42, avg: 42 });
    expect(s.measures.chlPPM).toEqual({ min: -0.3, max: -0.3, avg: -0.3 });
    expect(s.measures.hz).toEqual({ min: 1, max: 9, avg: 5 });
  });

  test('keeps avg within [min, max] for identical values', () => {
    const s = rollupReadings('P', '2014-03-10', Array.from({ length: 7 }, () => v(0.1)));
    expect(s.measures.hz).toEqual({ min: 0.1, max: 0.1, avg: 0.1 });
    // Three times 0.1 gives a mean one ulp above the maximum; three times 0.7 one ulp below the minimum.
    expect(rollupReadings('P', '2014-03-10', [v(0.1), v(0.1), v(0.1)]).measures.hz).toEqual({ min: 0.1, max: 0.1, avg: 0.1 });
    expect(rollupReadings('P', '2014-03-10', [v(0.7), v(0.7), v(0.7)]).measures.hz).toEqual({ min: 0.7, max: 0.7, avg: 0.7 });
  });

  test('keeps the low-order part of a sum when a much larger value follows a small one (Neumaier, not Kahan)', () => {
    // Kahan's update loses the 1 when 1e17 is added to it; Neumaier's keeps it, so the mean is exactly 1/3.
    expect(rollupReadings('P', 'd', [v(1), v(1e17), v(-1e17)]).measures.hz.avg).toBe(1 / 3);
  });

  test('reports exactly the six measures', () => {
    expect(Object.keys(rollupReadings('P', 'd', [v(1)]).measures)).toEqual([...MEASURES]);
  });

  test('count reports the readings added', () => {
    const acc = new RollupAccumulator();
    expect(acc.count).toBe(0);
    acc.add(v(1));
    acc.add(v(2));
    expect(acc.count).toBe(2);
    expect(acc.result('P', '2014-03-10').measures.hz.avg).toBe(1.5);
  });

  test('with no readings, result() throws a WellwatchError naming the pump-day', () => {
    const acc = new RollupAccumulator();
    expect(() => acc.result('COHUTTA', '2014-03-10')).toThrow(WellwatchError);
    expect(() => acc.result('COHUTTA', '2014-03-10')).toThrow('rollup of COHUTTA on 2014-03-10: no readings to aggregate');
    expect(() => rollupReadings('P', '2014-03-10', [])).toThrow(WellwatchError);
  });

  test('rejects a non-finite measure and stays unchanged', () => {
    const acc = new RollupAccumulator();
    acc.add(v(1));
    let caught: unknown;
    try {
      acc.add(v(5, { chlPPM: Number.NaN }));
    } catch (e) {
      caught = e;
    }
    expect(isWellwatchError(caught)).toBe(true);
    expect((caught as Error).message).toContain('chlPPM');
    expect(acc.count).toBe(1);
    expect(acc.result('P', 'd').measures.hz).toEqual({ min: 1, max: 1, avg: 1 });
  });

  test('rollupReadings accepts any iterable', () => {
    function* gen(): Generator<MeasureValues> {
      yield v(1);
      yield v(4);
    }
    expect(rollupReadings('P', 'd', gen()).measures.flo).toEqual({ min: 1, max: 4, avg: 2.5 });
  });
});

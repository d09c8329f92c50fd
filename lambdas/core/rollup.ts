/**
 * Daily statistics of a pump: min, max and mean of every measure over one UTC day.
 *
 * Sums are compensated (Neumaier), so a mean over tens of thousands of readings does not drift with the order in
 * which DynamoDB happened to return them, and it equals the plain sum divided by the count to well within 1e-9.
 */
import { WellwatchError } from './errors';
import { MEASURES, type DailyStats, type Measure, type MeasureStats, type MeasureValues } from './types';

const M = MEASURES.length;

/**
 * Accumulates measure values one reading at a time and produces a {@link DailyStats}.
 *
 * Memory is constant (four numbers per measure), so a rollup can stream a pump-day of any size.
 *
 * @example
 * const acc = new RollupAccumulator();
 * for (const r of readings) acc.add(r.values);
 * const stats = acc.result('COHUTTA', '2014-03-10');
 */
export class RollupAccumulator {
  private n = 0;
  private readonly min = new Float64Array(M).fill(Infinity);
  private readonly max = new Float64Array(M).fill(-Infinity);
  private readonly sum = new Float64Array(M);
  /** Running compensation (lost low-order bits) of each sum. */
  private readonly comp = new Float64Array(M);

  /** Number of readings added so far. */
  get count(): number {
    return this.n;
  }

  /**
   * Adds the measures of one reading.
   *
   * @throws WellwatchError (leaving the accumulator unchanged) when a measure is not a finite number.
   */
  add(values: MeasureValues): void {
    for (let i = 0; i < M; i++) {
      const x = values[MEASURES[i]];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new WellwatchError(`rollup: measure ${MEASURES[i]} must be a finite number, got ${String(x)}`);
      }
    }
    for (let i = 0; i < M; i++) {
      const x = values[MEASURES[i]];
      if (x < this.min[i]) this.min[i] = x;
      if (x > this.max[i]) this.max[i] = x;
      this.addToSum(i, x);
    }
    this.n++;
  }

  /**
   * The statistics of everything added, for one pump-day.
   *
   * The mean is clamped to [min, max], which rounding could otherwise leave by one ulp.
   *
   * @throws WellwatchError when nothing was added (a day without readings has no statistics).
   */
  result(pump: string, date: string): DailyStats {
    if (this.n === 0) throw new WellwatchError(`rollup of ${pump} on ${date}: no readings to aggregate`);
    const measures = {} as Record<Measure, MeasureStats>;
    for (let i = 0; i < M; i++) {
      const min = this.min[i];
      const max = this.max[i];
      const avg = (this.sum[i] + this.comp[i]) / this.n;
      measures[MEASURES[i]] = { min, max, avg: avg < min ? min : avg > max ? max : avg };
    }
    return { pump, date, count: this.n, measures };
  }

  /** Neumaier's improvement of Kahan summation: also correct when the addend is larger than the running sum. */
  private addToSum(i: number, x: number): void {
    const s = this.sum[i];
    const t = s + x;
    if (Math.abs(s) >= Math.abs(x)) this.comp[i] += s - t + x;
    else this.comp[i] += x - t + s;
    this.sum[i] = t;
  }
}

/**
 * Rolls up the measures of one pump-day in one call.
 *
 * @throws WellwatchError when `values` is empty or holds a non-finite measure.
 *
 * @example
 * rollupReadings('COHUTTA', '2014-03-10', readings.map((r) => r.values));
 */
export function rollupReadings(pump: string, date: string, values: Iterable<MeasureValues>): DailyStats {
  const acc = new RollupAccumulator();
  for (const v of values) acc.add(v);
  return acc.result(pump, date);
}

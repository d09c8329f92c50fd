/**
 * The rollup's aggregation of one pump-day: its daily statistics and its hourly series in one pass.
 *
 * The hourly rows are written here, before the caller writes the daily row: the query API takes "a daily row
 * exists" to mean "this day's hours are precomputed", so the hours must land first. A re-rollup after late data
 * recomputes every hour of the day from all its readings and replaces them, exactly like the daily row — and, like
 * the daily row, only if no rollup that started reading later has written them (the input watermark, see
 * lambdas/store/put-if-newer.ts).
 */
import { WellwatchError } from '../core/errors';
import { PumpDayAggregator } from '../core/series';
import type { DailyStats } from '../core/types';
import type { ReadingStore } from '../store/reading-store';
import { describeError, isRetryableError } from '../store/retry';
import type { PutHoursResult, SeriesStore } from '../store/series-store';

/** A pump-day aggregated: its daily statistics (not yet written) and what became of its hourly rows. */
export interface AggregatedPumpDay {
  readonly stats: DailyStats;
  readonly hours: PutHoursResult;
}

/**
 * Reads a pump-day, writes its hourly rows on condition of `watermark` and returns its daily statistics
 * (undefined: no readings). `watermark` must be taken before the read starts: every reading that existed then is seen.
 *
 * @throws the store's error when it is retryable (the caller's retry reruns the whole pump-day); WellwatchError
 *   naming the pump-day for any other failure of an hourly write.
 * @example
 * const done = await aggregatePumpDay(readingStore, seriesStore, 'COHUTTA', '2014-03-10', new Date().toISOString());
 */
export async function aggregatePumpDay(
  readings: ReadingStore,
  series: SeriesStore,
  pump: string,
  day: string,
  watermark: string,
): Promise<AggregatedPumpDay | undefined> {
  const agg = new PumpDayAggregator(pump, day);
  for await (const r of readings.dayReadings(pump, day)) agg.add(r.time, r.values);
  if (agg.count === 0) return undefined;
  let hours: PutHoursResult;
  try {
    hours = await series.putHoursIfNewer(agg.hourly(), watermark);
  } catch (error) {
    if (isRetryableError(error)) throw error;
    throw new WellwatchError(`hourly series of ${pump} on ${day} not written to ${series.table}: ${describeError(error)}`, { cause: error });
  }
  return { stats: agg.daily(), hours };
}

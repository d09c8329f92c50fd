/**
 * The rollup's aggregation of one pump-day: its daily statistics and its hourly series in one pass.
 *
 * The hourly rows are written here, before the caller writes the daily row: the query API takes "a daily row
 * exists" to mean "this day's hours are precomputed", so the hours must land first. A re-rollup after late data
 * recomputes every hour of the day from all its readings and overwrites them, exactly like the daily row.
 */
import { WellwatchError } from '../core/errors';
import { PumpDayAggregator } from '../core/series';
import type { DailyStats } from '../core/types';
import type { ReadingStore } from '../store/reading-store';
import type { SeriesStore } from '../store/series-store';

/**
 * Reads a pump-day, writes its hourly rows and returns its daily statistics (undefined: no readings).
 *
 * @throws WellwatchError when hourly rows could not be written (the caller's retry reruns the whole pump-day).
 * @example
 * const stats = await aggregatePumpDay(readingStore, seriesStore, 'COHUTTA', '2014-03-10');
 */
export async function aggregatePumpDay(readings: ReadingStore, series: SeriesStore, pump: string, day: string): Promise<DailyStats | undefined> {
  const agg = new PumpDayAggregator(pump, day);
  for await (const r of readings.dayReadings(pump, day)) agg.add(r.time, r.values);
  if (agg.count === 0) return undefined;
  const put = await series.putHours(agg.hourly());
  if (put.failed.length > 0) {
    throw new WellwatchError(`hourly series of ${pump} on ${day} not written to ${series.table}: ${put.lastError ?? 'unknown error'}`);
  }
  return agg.daily();
}

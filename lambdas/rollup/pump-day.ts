/**
 * Recomputing one pump-day: the step every rollup work item repeats for each of its pump-days.
 *
 * The watermark is taken before the first read, so every reading that existed then is seen; the hourly rows go
 * first under the same watermark (aggregates.ts), then the daily row with putIfNewer. A retryable failure (throttling,
 * 5xx, network) reruns the whole pump-day with backoff: recomputing is idempotent, so a failure halfway through a
 * Query's pages costs time, not correctness.
 */
import { WellwatchError } from '../core/errors';
import type { PumpDay } from '../core/types';
import type { ReadingStore } from '../store/reading-store';
import { backoffDelay, describeError, isRetryableError, type ResolvedRetry } from '../store/retry';
import type { SeriesStore } from '../store/series-store';
import type { StatsStore } from '../store/stats-store';
import { aggregatePumpDay } from './aggregates';

/** What became of one pump-day: readings aggregated (0: nothing to write) and the daily row's fate. */
export interface PumpDayOutcome {
  readonly readings: number;
  readonly put: 'written' | 'superseded' | 'none';
}

/** The stores a pump-day rollup reads and writes. */
export interface PumpDayStores {
  readonly readings: ReadingStore;
  readonly stats: StatsStore;
  readonly series: SeriesStore;
}

/**
 * Runs `fn` again after a retryable error, with backoff, up to the bounded attempts.
 *
 * @example
 * await withRetry(() => catalog.clearPending(marker), retry);
 */
export async function withRetry<T>(fn: () => Promise<T>, retry: ResolvedRetry): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= retry.maxAttempts || !isRetryableError(error)) throw error;
      await retry.sleep(backoffDelay(attempt, retry));
    }
  }
}

/**
 * Builds the pump-day rollup over `stores`.
 *
 * @throws (from the returned function) the store's error after the retries, or WellwatchError naming the pump-day.
 * @example
 * const rollupPumpDay = createPumpDayRollup(stores, resolveRetry());
 * await rollupPumpDay({ pump: 'COHUTTA', day: '2014-03-10' });
 */
export function createPumpDayRollup(stores: PumpDayStores, retry: ResolvedRetry): (target: PumpDay) => Promise<PumpDayOutcome> {
  const once = async ({ pump, day }: PumpDay): Promise<PumpDayOutcome> => {
    const watermark = new Date().toISOString();
    const done = await aggregatePumpDay(stores.readings, stores.series, pump, day, watermark);
    if (done === undefined) return { readings: 0, put: 'none' };
    try {
      return { readings: done.stats.count, put: await stores.stats.putIfNewer(done.stats, watermark) };
    } catch (error) {
      if (isRetryableError(error)) throw error;
      throw new WellwatchError(`stats of ${pump} on ${day} not written to ${stores.stats.table}: ${describeError(error)}`, { cause: error });
    }
  };
  return (target) => withRetry(() => once(target), retry);
}

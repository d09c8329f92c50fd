/**
 * The hourly series: one item per pump-hour in the stats table (layout at SERIES_KEYS in config.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WellwatchConfig } from '../config';
import { hourlyItem, ttlFor } from '../core/keys';
import type { DailyStats } from '../core/types';
import { putItemIfNewer } from './put-if-newer';
import { runPool } from './retry';

/** Hourly rows written and kept against a newer rollup by one {@link SeriesStore.putHoursIfNewer}. */
export interface PutHoursResult {
  readonly written: number;
  readonly superseded: number;
}

/** Writes hourly rows (a {@link DailyStats} whose `date` is the hour `YYYY-MM-DDTHH`). */
export interface SeriesStore {
  readonly table: string;
  /**
   * Puts hourly rows, each on the same condition as the daily row (see put-if-newer.ts): an hour already written
   * from input read at or after `watermark` is left alone and counted `superseded`. Throws the first error other
   * than a failed condition (the rollup retries the pump-day whole; every put is idempotent).
   */
  putHoursIfNewer(rows: readonly DailyStats[], watermark: string): Promise<PutHoursResult>;
}

/** Options of {@link createSeriesStore}. */
export interface SeriesStoreOptions {
  /** Conditional puts of one pump-day in flight at once. @default 8 */
  readonly concurrency?: number;
}

/**
 * Creates the series store on `cfg.statsTable`; items expire `retentionDays` after their hour when set.
 *
 * One conditional PutItem per hour (at most 24 per pump-day), not a BatchWriteItem: a batch cannot carry a condition
 * (AWS SDK for .NET, AmazonDynamoDB.BatchWriteItem: "It does not allow conditional puts"; the DynamoDB API reference:
 * "If you perform a BatchWriteItem operation on an existing item, that item's values will be overwritten"), and an
 * unconditional hourly write is exactly what lets a stale rollup replace newer hours. The capacity is the same (one
 * write unit per item of ≤ 1 KB either way); only the request count grows.
 *
 * @example
 * const series = createSeriesStore(dynamoClient(cfg), cfg);
 * await series.putHoursIfNewer(aggregator.hourly(), new Date().toISOString());
 */
export function createSeriesStore(client: DynamoDBClient, cfg: WellwatchConfig, options: SeriesStoreOptions = {}): SeriesStore {
  const table = cfg.statsTable;
  const retention = cfg.retentionDays;
  const concurrency = options.concurrency ?? 8;
  return {
    table,
    async putHoursIfNewer(rows, watermark) {
      let written = 0;
      let superseded = 0;
      await runPool(rows, concurrency, async (s) => {
        const item = hourlyItem(s, retention > 0 ? ttlFor(`${s.date}:00:00Z`, retention) : undefined);
        if ((await putItemIfNewer(client, table, item, watermark)) === 'written') written++;
        else superseded++;
      });
      return { written, superseded };
    },
  };
}

/**
 * The hourly series: one item per pump-hour in the stats table (layout at SERIES_KEYS in config.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WellwatchConfig } from '../config';
import { hourlyItem, ttlFor } from '../core/keys';
import type { DailyStats } from '../core/types';
import { writeItems, writeOptionsFrom, type WriteItemsOptions, type WriteItemsResult } from './batch-writer';

/** Writes hourly rows (a {@link DailyStats} whose `date` is the hour `YYYY-MM-DDTHH`). */
export interface SeriesStore {
  readonly table: string;
  /** Puts hourly rows (idempotent: the same readings give the same item); reports indexes not written. */
  putHours(rows: readonly DailyStats[]): Promise<WriteItemsResult>;
}

/**
 * Creates the series store on `cfg.statsTable`; items expire `retentionDays` after their hour when set.
 *
 * @example
 * const series = createSeriesStore(dynamoClient(cfg), cfg);
 * await series.putHours(aggregator.hourly());
 */
export function createSeriesStore(client: DynamoDBClient, cfg: WellwatchConfig, options: WriteItemsOptions = {}): SeriesStore {
  const table = cfg.statsTable;
  const writeOptions = { ...writeOptionsFrom(cfg), ...options };
  const retention = cfg.retentionDays;
  return {
    table,
    putHours(rows) {
      const items = rows.map((s) => hourlyItem(s, retention > 0 ? ttlFor(`${s.date}:00:00Z`, retention) : undefined));
      return writeItems(client, table, items, writeOptions);
    },
  };
}

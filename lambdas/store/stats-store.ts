/**
 * The stats table: one item per pump-day, keyed `pk = PUMP`, `sk = YYYY-MM-DD`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WellwatchConfig } from '../config';
import { statsItem, ttlFor } from '../core/keys';
import type { DailyStats } from '../core/types';
import { writeItems, writeOptionsFrom, type WriteItemsOptions, type WriteItemsResult } from './batch-writer';

/** Writes daily statistics (reads go through lambdas/store/queries.ts). */
export interface StatsStore {
  /** Name of the table. */
  readonly table: string;
  /**
   * Puts stats rows; reports indexes not written.
   *
   * The item holds only the statistics (no write time), so recomputing a day writes an identical item.
   */
  put(stats: readonly DailyStats[]): Promise<WriteItemsResult>;
}

/**
 * Creates the stats store for `cfg.statsTable`; items expire `retentionDays` after their day when set.
 *
 * @example
 * const store = createStatsStore(dynamoClient(cfg), cfg);
 * await store.put([rollupReadings('COHUTTA', '2014-03-10', values)]);
 */
export function createStatsStore(client: DynamoDBClient, cfg: WellwatchConfig, options: WriteItemsOptions = {}): StatsStore {
  const table = cfg.statsTable;
  const writeOptions = { ...writeOptionsFrom(cfg), ...options };
  const retention = cfg.retentionDays;
  return {
    table,
    put(stats) {
      const items = stats.map((s) => statsItem(s, retention > 0 ? ttlFor(`${s.date}T00:00:00Z`, retention) : undefined));
      return writeItems(client, table, items, writeOptions);
    },
  };
}

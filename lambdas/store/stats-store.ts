/**
 * The stats table: one item per pump-day, keyed `pk = PUMP`, `sk = YYYY-MM-DD`.
 */
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KEYS, type WellwatchConfig } from '../config';
import { statsItem, ttlFor } from '../core/keys';
import type { DailyStats } from '../core/types';

/** Writes daily statistics (reads go through lambdas/store/queries.ts). */
export interface StatsStore {
  /** Name of the table. */
  readonly table: string;
  /**
   * Puts one stats row unless the table holds a row computed from newer input: the write is conditional on the
   * row's input watermark (`KEYS.stats.inputWatermark`) being absent or not later than `watermark`. Resolves
   * `superseded` when a newer row won; throws for any other failure (the caller retries).
   *
   * Why a condition rather than one rollup at a time: the readings of a pump-day only grow, so a rollup that started
   * reading later saw at least everything an earlier one saw. Ordering the writes by that start time keeps the
   * newest input whatever runs at once — the daily and hourly schedules, their retries, a CLI backfill against the
   * same tables — without a concurrency limit that would also have to cover every way the function is invoked.
   */
  putIfNewer(stats: DailyStats, watermark: string): Promise<'written' | 'superseded'>;
}

/**
 * Creates the stats store for `cfg.statsTable`; items expire `retentionDays` after their day when set. One
 * conditional PutItem per row: the SDK retries it, and the rollup retries a pump-day whole on a retryable error.
 *
 * @example
 * const store = createStatsStore(dynamoClient(cfg), cfg);
 * await store.putIfNewer(rollupReadings('COHUTTA', '2014-03-10', values), new Date().toISOString());
 */
export function createStatsStore(client: DynamoDBClient, cfg: WellwatchConfig): StatsStore {
  const table = cfg.statsTable;
  const retention = cfg.retentionDays;
  return {
    table,
    async putIfNewer(stats, watermark) {
      const item = statsItem(stats, retention > 0 ? ttlFor(`${stats.date}T00:00:00Z`, retention) : undefined);
      try {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: { ...item, [KEYS.stats.inputWatermark]: { S: watermark } },
            ConditionExpression: 'attribute_not_exists(#iw) OR #iw <= :iw',
            ExpressionAttributeNames: { '#iw': KEYS.stats.inputWatermark },
            ExpressionAttributeValues: { ':iw': { S: watermark } },
          }),
        );
        return 'written';
      } catch (error) {
        if ((error as { name?: string } | null)?.name === 'ConditionalCheckFailedException') return 'superseded';
        throw error;
      }
    },
  };
}

/**
 * The hourly series: one item per pump-hour in the stats table (layout at SERIES_KEYS in config.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KEYS, type WellwatchConfig } from '../config';
import { hourlyFromItem, hourlyItem, hourlyPk, ttlFor } from '../core/keys';
import type { DailyStats } from '../core/types';
import { writeItems, writeOptionsFrom, type WriteItemsOptions, type WriteItemsResult } from './batch-writer';
import { queryAll } from './paginate';

/** Writes and reads hourly rows (a {@link DailyStats} whose `date` is the hour `YYYY-MM-DDTHH`). */
export interface SeriesStore {
  readonly table: string;
  /** Puts hourly rows (idempotent: the same readings give the same item); reports indexes not written. */
  putHours(rows: readonly DailyStats[]): Promise<WriteItemsResult>;
  /**
   * Hourly rows of a pump from hour `from` to hour `to` (`YYYY-MM-DDTHH`, inclusive), ascending, at most `limit`
   * (the Query's own Limit, so no more is read).
   */
  hours(pump: string, from: string, to: string, limit: number): AsyncGenerator<DailyStats>;
}

/**
 * Creates the series store on `cfg.statsTable`; items expire `retentionDays` after their hour when set.
 *
 * @example
 * const series = createSeriesStore(dynamoClient(cfg), cfg);
 * for await (const h of series.hours('COHUTTA', '2014-03-10T00', '2014-03-10T23', 24)) console.log(h.date, h.count);
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
    async *hours(pump, from, to, limit) {
      let left = limit;
      const items = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#pk': KEYS.partitionKey, '#sk': KEYS.sortKey },
        ExpressionAttributeValues: { ':pk': { S: hourlyPk(pump) }, ':from': { S: from }, ':to': { S: to } },
        Limit: limit,
      });
      for await (const item of items) {
        yield hourlyFromItem(item);
        if (--left <= 0) return;
      }
    },
  };
}

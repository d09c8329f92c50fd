/**
 * The readings table: one item per reading, one partition per pump-day.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KEYS, type WellwatchConfig } from '../config';
import { WellwatchError } from '../core/errors';
import { pumpDayPk, readingItem, ttlFor } from '../core/keys';
import { MEASURES, type EvaluatedReading, type MeasureValues } from '../core/types';
import { writeItems, writeOptionsFrom, type WriteItemsOptions, type WriteItemsResult } from './batch-writer';
import { queryAll } from './paginate';

/** Writes and reads readings. */
export interface ReadingStore {
  /** Name of the table. */
  readonly table: string;
  /**
   * Puts readings (idempotent: same reading, same key, same item); reports indexes not written. `options.stopWhen`
   * ends early (see {@link WriteItemsOptions.stopWhen}).
   */
  put(readings: readonly EvaluatedReading[], options?: Pick<WriteItemsOptions, 'stopWhen'>): Promise<WriteItemsResult>;
  /** Streams the measures of every reading of one pump-day (strongly consistent, measures group only). */
  dayValues(pump: string, day: string): AsyncGenerator<MeasureValues>;
  /** Like {@link dayValues}, with each reading's time of day `HH:MM:SS`, ascending (for the hourly rollup). */
  dayReadings(pump: string, day: string): AsyncGenerator<{ readonly time: string; readonly values: MeasureValues }>;
}

/**
 * Decodes the measures group (`d`) of a readings item, as projected by {@link ReadingStore.dayValues}.
 *
 * @throws WellwatchError naming the measure when the item has no such number.
 * @example
 * valuesFromDataAttribute(readingItem(r)); // → r.values
 */
export function valuesFromDataAttribute(item: Readonly<Record<string, unknown>>): MeasureValues {
  const data = (item[KEYS.readings.dataAttribute] as { M?: Record<string, { N?: string }> } | undefined)?.M;
  const values = {} as MeasureValues;
  for (const m of MEASURES) {
    const raw = data?.[m]?.N;
    const v = raw === undefined ? NaN : Number(raw);
    if (!Number.isFinite(v)) {
      throw new WellwatchError(`malformed reading item ${JSON.stringify(item[KEYS.partitionKey] ?? null)}: ${KEYS.readings.dataAttribute}.${m} must be a number (N)`);
    }
    values[m] = v;
  }
  return values;
}

/**
 * Creates the reading store for `cfg.readingsTable`; items get `expiresAt` when `cfg.retentionDays > 0`.
 *
 * @example
 * const store = createReadingStore(dynamoClient(cfg), cfg);
 * const { failed } = await store.put(readings);
 */
export function createReadingStore(client: DynamoDBClient, cfg: WellwatchConfig, options: WriteItemsOptions = {}): ReadingStore {
  const table = cfg.readingsTable;
  const writeOptions = { ...writeOptionsFrom(cfg), ...options };
  const retention = cfg.retentionDays;
  return {
    table,
    put(readings, options) {
      const items = readings.map((r) => readingItem(r, retention > 0 ? ttlFor(r.ts, retention) : undefined));
      return writeItems(client, table, items, options?.stopWhen ? { ...writeOptions, stopWhen: options.stopWhen } : writeOptions);
    },
    async *dayValues(pump, day) {
      const items = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk',
        ProjectionExpression: '#d',
        // Strongly consistent: a reading acknowledged before its pending marker was written must be seen by the
        // rollup that clears that marker.
        ConsistentRead: true,
        ExpressionAttributeNames: { '#pk': KEYS.partitionKey, '#d': KEYS.readings.dataAttribute },
        ExpressionAttributeValues: { ':pk': { S: pumpDayPk(pump, day) } },
      });
      for await (const item of items) yield valuesFromDataAttribute(item);
    },
    async *dayReadings(pump, day) {
      const items = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk',
        ProjectionExpression: '#sk, #d',
        // Strongly consistent for the same reason as dayValues.
        ConsistentRead: true,
        ExpressionAttributeNames: { '#pk': KEYS.partitionKey, '#sk': KEYS.sortKey, '#d': KEYS.readings.dataAttribute },
        ExpressionAttributeValues: { ':pk': { S: pumpDayPk(pump, day) } },
      });
      for await (const item of items) {
        const time = (item[KEYS.sortKey] as { S?: string } | undefined)?.S;
        if (typeof time !== 'string') throw new WellwatchError(`malformed reading item of ${pump} on ${day}: ${KEYS.sortKey} must be a string`);
        yield { time, values: valuesFromDataAttribute(item) };
      }
    },
  };
}

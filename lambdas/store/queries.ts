/**
 * Read paths used by the CLI and the local HTTP API: readings, alerts and stats over time ranges.
 *
 * Everything is a Query on a key or an index — never a Scan — and every generator follows all pages, fetching the
 * next page only when the caller asks for more. Days come from the catalog when a range is open or long, so a
 * query over "all time" touches only days that have data.
 */
import { QueryCommand, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { KEYS, type WellwatchConfig } from '../config';
import { ParseError } from '../core/errors';
import { dayBucketKeys, pumpDayPk, readingFromItem, statsFromItem } from '../core/keys';
import type { DailyStats, EvaluatedReading } from '../core/types';
import { createCatalogStore, type PendingMarker } from './catalog-store';
import { daySpan, eachDay, timeBound, type TimeBound } from './days';
import { queryBuckets } from './fan-out';
import { queryAll } from './paginate';

/** A time range: each bound a day `YYYY-MM-DD` (whole day, inclusive) or an ISO timestamp; absent = open. */
export interface TimeRange {
  readonly from?: string;
  readonly to?: string;
}

/** Options of {@link queryReadings}. */
export interface ReadingsQuery extends TimeRange {
  readonly pump: string;
}

/** Options of {@link queryAlerts} and {@link queryStats}; without `pump`, all pumps. */
export interface OptionalPumpQuery extends TimeRange {
  readonly pump?: string;
}

/** Bounded ranges up to this many days are enumerated; longer or open ranges take their days from the catalog. */
export const ENUMERATE_DAYS_LIMIT = 31;

/** Upper bound suffix for `ask = <ts>#<pump>`: `~` sorts after every character a pump id may contain. */
const AFTER_ANY_PUMP = `${KEYS.separator}~`;

interface Bounds {
  readonly from?: TimeBound;
  readonly to?: TimeBound;
}

function bounds(range: TimeRange): Bounds {
  const from = range.from === undefined || range.from === '' ? undefined : timeBound('from', range.from);
  const to = range.to === undefined || range.to === '' ? undefined : timeBound('to', range.to);
  if (from && to && from.ts > to.ts) {
    throw new ParseError(`from (${range.from}) must not be after to (${range.to})`, { code: 'time-range' });
  }
  return from && to ? { from, to } : from ? { from } : to ? { to } : {};
}

/** The days a range covers that may hold data, ascending. */
async function* daysOf(client: DynamoDBClient, cfg: WellwatchConfig, b: Bounds): AsyncGenerator<string> {
  if (b.from && b.to && daySpan(b.from.day, b.to.day) <= ENUMERATE_DAYS_LIMIT) {
    yield* eachDay(b.from.day, b.to.day);
    return;
  }
  yield* createCatalogStore(client, cfg).listDays({ from: b.from?.day, to: b.to?.day });
}

/** Adds `AND #k BETWEEN/>=/<= …` for optional lower and upper bounds of a sort key. */
function withRange(input: QueryCommandInput, key: string, low: string | undefined, high: string | undefined): QueryCommandInput {
  if (low === undefined && high === undefined) return input;
  const names = { ...input.ExpressionAttributeNames, '#rk': key };
  const values = { ...input.ExpressionAttributeValues };
  let condition = input.KeyConditionExpression!;
  if (low !== undefined && high !== undefined) {
    condition += ' AND #rk BETWEEN :lo AND :hi';
    values[':lo'] = { S: low };
    values[':hi'] = { S: high };
  } else if (low !== undefined) {
    condition += ' AND #rk >= :lo';
    values[':lo'] = { S: low };
  } else {
    condition += ' AND #rk <= :hi';
    values[':hi'] = { S: high! };
  }
  return { ...input, KeyConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

function partition(table: string, indexName: string | undefined, key: string, value: string): QueryCommandInput {
  return {
    TableName: table,
    ...(indexName ? { IndexName: indexName } : {}),
    KeyConditionExpression: '#hk = :hk',
    ExpressionAttributeNames: { '#hk': key },
    ExpressionAttributeValues: { ':hk': { S: value } },
  };
}

/**
 * Readings of one pump over a time range, oldest first.
 *
 * One Query per pump-day (`pk = PUMP#day`); on the first and last day the sort key is limited to the range's
 * times, so a range of a few minutes reads only those minutes.
 *
 * @throws ParseError for a malformed bound or `from` after `to`.
 * @example
 * for await (const r of queryReadings(ddb, cfg, { pump: 'COHUTTA', from: '2014-03-10T05:00:00Z', to: '2014-03-10' })) console.log(r.ts);
 */
export async function* queryReadings(client: DynamoDBClient, cfg: WellwatchConfig, query: ReadingsQuery): AsyncGenerator<EvaluatedReading> {
  const b = bounds(query);
  for await (const day of daysOf(client, cfg, b)) {
    const low = b.from && day === b.from.day && b.from.time !== '00:00:00' ? b.from.time : undefined;
    const high = b.to && day === b.to.day && b.to.time !== '23:59:59' ? b.to.time : undefined;
    const input = withRange(partition(cfg.readingsTable, undefined, KEYS.partitionKey, pumpDayPk(query.pump, day)), KEYS.sortKey, low, high);
    for await (const item of queryAll(client, input)) yield readingFromItem(item);
  }
}

/**
 * Alerting readings over a time range, oldest first: of one pump (index `alertsByPump`) or of all pumps (index
 * `alertsByDay`, ordered by time then pump: per day one Query per bucket `<day>#<b>`, merged on `ask`).
 *
 * @throws ParseError for a malformed bound or `from` after `to`.
 * @example
 * for await (const a of queryAlerts(ddb, cfg, { from: '2014-03-10', to: '2014-03-12' })) console.log(a.pump, a.ts, a.alerts);
 */
export async function* queryAlerts(client: DynamoDBClient, cfg: WellwatchConfig, query: OptionalPumpQuery): AsyncGenerator<EvaluatedReading> {
  const b = bounds(query);
  if (query.pump !== undefined && query.pump !== '') {
    const { indexName, partitionKey, sortKey } = KEYS.readings.alertsByPump;
    const input = withRange(partition(cfg.readingsTable, indexName, partitionKey, query.pump), sortKey, b.from?.ts, b.to?.ts);
    for await (const item of queryAll(client, input)) yield readingFromItem(item);
    return;
  }
  const { indexName, partitionKey, sortKey } = KEYS.readings.alertsByDay;
  for await (const day of daysOf(client, cfg, b)) {
    const low = b.from && day === b.from.day ? b.from.ts : undefined;
    const high = b.to && day === b.to.day ? b.to.ts + AFTER_ANY_PUMP : undefined;
    const inputs = dayBucketKeys(day).map((key) => withRange(partition(cfg.readingsTable, indexName, partitionKey, key), sortKey, low, high));
    for await (const item of queryBuckets(client, inputs, sortKey)) yield readingFromItem(item);
  }
}

/**
 * Daily statistics over a day range (bounds may be timestamps; only their day counts): of one pump by date, or
 * of all pumps (index `statsByDate`, ordered by date then pump: per day one Query per bucket `<day>#<b>`, merged on
 * the pump).
 *
 * @throws ParseError for a malformed bound or `from` after `to`.
 * @example
 * for await (const s of queryStats(ddb, cfg, { pump: 'COHUTTA' })) console.log(s.date, s.measures.psi.avg);
 */
export async function* queryStats(client: DynamoDBClient, cfg: WellwatchConfig, query: OptionalPumpQuery): AsyncGenerator<DailyStats> {
  const b = bounds(query);
  if (query.pump !== undefined && query.pump !== '') {
    const input = withRange(partition(cfg.statsTable, undefined, KEYS.partitionKey, query.pump), KEYS.sortKey, b.from?.day, b.to?.day);
    for await (const item of queryAll(client, input)) yield statsFromItem(item);
    return;
  }
  const { indexName, partitionKey, sortKey } = KEYS.stats.byDate;
  for await (const day of daysOf(client, cfg, b)) {
    const inputs = dayBucketKeys(day).map((key) => partition(cfg.statsTable, indexName, partitionKey, key));
    for await (const item of queryBuckets(client, inputs, sortKey)) yield statsFromItem(item);
  }
}

/**
 * Days that have data, ascending (from the catalog).
 *
 * @example
 * for await (const day of listDays(ddb, cfg)) console.log(day);
 */
export function listDays(client: DynamoDBClient, cfg: WellwatchConfig): AsyncGenerator<string> {
  return createCatalogStore(client, cfg).listDays();
}

/**
 * Pumps that have data on a day, ascending (from the catalog).
 *
 * @example
 * for await (const pump of listPumps(ddb, cfg, '2014-03-10')) console.log(pump);
 */
export function listPumps(client: DynamoDBClient, cfg: WellwatchConfig, day: string): AsyncGenerator<string> {
  return createCatalogStore(client, cfg).listPumps(day);
}

/**
 * Pump-days waiting for a re-rollup, ordered by day then pump.
 *
 * @example
 * for await (const p of listPending(ddb, cfg)) console.log(p.day, p.pump, p.touchedAt);
 */
export function listPending(client: DynamoDBClient, cfg: WellwatchConfig): AsyncGenerator<PendingMarker> {
  return createCatalogStore(client, cfg).listPending();
}

/**
 * The time of a pump's newest reading on one UTC day, or undefined when it has none (one Query, Limit 1, newest
 * first). The scheduled no-data check confirms a silence with it.
 *
 * @example
 * await newestReadingTime(ddb, cfg, 'COHUTTA', '2014-03-10'); // → '2014-03-10T23:59:00Z'
 */
export async function newestReadingTime(client: DynamoDBClient, cfg: WellwatchConfig, pump: string, day: string): Promise<string | undefined> {
  const out = await client.send(
    new QueryCommand({
      TableName: cfg.readingsTable,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': KEYS.partitionKey },
      ExpressionAttributeValues: { ':pk': { S: pumpDayPk(pump, day) } },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const sk = (out.Items?.[0]?.[KEYS.sortKey] as { S?: string } | undefined)?.S;
  return sk === undefined ? undefined : `${day}T${sk}Z`;
}

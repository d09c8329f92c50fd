/**
 * The query API's reads: every one a Query with a `Limit`, every item counted against a per-request budget.
 *
 * A request holds one {@link ReadBudget}; each Query asks for at most what the budget has left, and an empty Query
 * still costs one unit (DynamoDB bills it, and it bounds the number of requests a long empty range can make). When
 * the budget runs out the reads stop and the route answers with what it has and a cursor.
 */
import { QueryCommand, type AttributeValue, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { KEYS, type WellwatchConfig } from '../config';
import { dayBucketKeys, hourlyFromItem, hourlyPk, pumpDayPk, readingFromItem, statsFromItem } from '../core/keys';
import type { DailyStats, EvaluatedReading, MeasureValues } from '../core/types';
import { addDays } from './days';
import { valuesFromDataAttribute } from './reading-store';

type RawItem = Record<string, AttributeValue>;

/**
 * Items one request may still read.
 *
 * Every Query page reserves its `Limit` before it is sent and settles to what DynamoDB counted after, so Queries
 * running in parallel (a fan-out over buckets) together never read more than {@link max}.
 *
 * @example
 * const budget = new ReadBudget(25_000);
 * for await (const item of budget.query(ddb, input, 100)) …; if (budget.exhausted) …
 */
export class ReadBudget {
  private used_ = 0;
  private reserved = 0;
  private complete = true;

  constructor(readonly max: number) {}

  /** Items (or empty Queries) read so far. */
  get used(): number {
    return this.used_;
  }

  /** Whether the last {@link query} or {@link queryMerged} read its whole result (not cut by `want` or the budget). */
  get lastComplete(): boolean {
    return this.complete;
  }

  /** Whether nothing more may be read. */
  get exhausted(): boolean {
    return this.used_ + this.reserved >= this.max;
  }

  /**
   * One Query page of at most `limit` items (capped by what is left); undefined when the budget is spent.
   *
   * An empty page still costs one unit (DynamoDB bills it, and it bounds the requests a long empty range can make).
   */
  private async page(client: DynamoDBClient, input: QueryCommandInput, limit: number, startKey: RawItem | undefined): Promise<{ items: RawItem[]; next?: RawItem } | undefined> {
    const cap = Math.min(limit, this.max - this.used_ - this.reserved);
    if (cap <= 0) return undefined;
    this.reserved += cap;
    try {
      const out = await client.send(new QueryCommand({ ...input, Limit: cap, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
      const items = out.Items ?? [];
      this.used_ += Math.max(1, out.ScannedCount ?? items.length);
      const next = out.LastEvaluatedKey !== undefined && Object.keys(out.LastEvaluatedKey).length > 0 ? out.LastEvaluatedKey : undefined;
      return next ? { items, next } : { items };
    } finally {
      this.reserved -= cap;
    }
  }

  /**
   * Yields up to `want` items of a Query, page by page, each page's Limit capped by what is left.
   *
   * Stops early (without error) when the budget runs out; check {@link exhausted}.
   */
  async *query(client: DynamoDBClient, input: QueryCommandInput, want = Infinity): AsyncGenerator<RawItem> {
    let startKey: RawItem | undefined;
    let left = want;
    this.complete = false;
    do {
      if (left <= 0) return;
      const page = await this.page(client, input, left, startKey);
      if (!page) return;
      for (const item of page.items) {
        left--;
        yield item;
      }
      startKey = page.next;
    } while (startKey !== undefined);
    this.complete = true;
  }

  /**
   * Yields up to `want` items of several Queries (one per bucket of a write-sharded key), merged in ascending order
   * of the string attribute `sortKey`, reading no more than the merge needs.
   *
   * Each bucket is read in pages: the first of `ceil(want / buckets) + 1` items (all buckets in parallel, the share
   * each holds when the items spread evenly), then doubling, never more than the items still wanted nor more than
   * an even share of the budget left — so one request reads at most `want` items per bucket however the items are
   * spread, and about `want + buckets` when they are spread evenly. Each bucket costs at least one unit (an empty
   * Query), so a fan-out over B buckets needs a budget of at least B.
   *
   * An item is yielded only once every bucket's next item is known (or the bucket is done), so when the budget runs
   * out the items yielded are exactly the first ones of the merged order: a page cut there resumes just after the
   * last one with nothing skipped. Sort keys must be unique across the inputs (true of the
   * sharded indexes: `<ts>#<pump>`, a pump id) and ASCII (pump ids are `[A-Za-z0-9_-]`), where JavaScript's string
   * order is DynamoDB's byte order.
   *
   * @example
   * for await (const item of budget.queryMerged(ddb, dayBucketKeys(day).map(inputOf), 'ask', 101)) …
   */
  async *queryMerged(client: DynamoDBClient, inputs: readonly QueryCommandInput[], sortKey: string, want = Infinity): AsyncGenerator<RawItem> {
    interface Source {
      readonly input: QueryCommandInput;
      buffer: RawItem[];
      startKey?: RawItem;
      done: boolean;
      size: number;
    }
    const first = Math.max(1, Math.ceil(Math.min(want, 1_000_000) / Math.max(1, inputs.length)) + 1);
    const sources: Source[] = inputs.map((input) => ({ input, buffer: [], done: false, size: first }));
    const keyOf = (item: RawItem) => (item[sortKey] as { S: string }).S;
    let left = want;
    this.complete = false;
    // Buckets filled together share what is left of the budget, so one bucket's page cannot starve the others (the
    // merge needs every bucket's next item before it can yield anything).
    const fill = async (src: Source, share: number): Promise<void> => {
      const page = await this.page(client, src.input, Math.min(src.size, left, share), src.startKey);
      if (!page) return;
      src.buffer = page.items;
      src.startKey = page.next;
      src.done = page.next === undefined;
      src.size = Math.min(src.size * 2, 1_000_000);
    };
    for (;;) {
      if (left <= 0) return;
      const empty = sources.filter((src) => src.buffer.length === 0 && !src.done);
      if (empty.length > 0) {
        const share = Math.max(1, Math.floor((this.max - this.used_) / empty.length));
        await Promise.all(empty.map((src) => fill(src, share)));
        // A bucket whose next item is still unknown (budget spent) blocks the merge: stop before guessing.
        if (sources.some((src) => src.buffer.length === 0 && !src.done)) {
          if (this.exhausted) return;
          continue; // an empty page with more to come (DynamoDB may end a page early): ask again
        }
      }
      let best: Source | undefined;
      for (const src of sources) if (src.buffer.length > 0 && (best === undefined || keyOf(src.buffer[0]!) < keyOf(best.buffer[0]!))) best = src;
      if (!best) break;
      left--;
      yield best.buffer.shift()!;
    }
    this.complete = true;
  }
}

/** How far a day-by-day read got: the last day whose Query was read to its end. */
export interface DayProgress {
  doneThrough?: string;
}

/** `#pk = :pk` plus an optional inclusive sort-key range. */
function keyCondition(table: string, pk: string, low?: string, high?: string, indexName?: string, keys: { pk: string; sk: string } = { pk: KEYS.partitionKey, sk: KEYS.sortKey }): QueryCommandInput {
  const names: Record<string, string> = { '#pk': keys.pk };
  const values: Record<string, AttributeValue> = { ':pk': { S: pk } };
  let condition = '#pk = :pk';
  if (low !== undefined || high !== undefined) names['#sk'] = keys.sk;
  if (low !== undefined && high !== undefined) {
    condition += ' AND #sk BETWEEN :lo AND :hi';
    values[':lo'] = { S: low };
    values[':hi'] = { S: high };
  } else if (low !== undefined) {
    condition += ' AND #sk >= :lo';
    values[':lo'] = { S: low };
  } else if (high !== undefined) {
    condition += ' AND #sk <= :hi';
    values[':hi'] = { S: high };
  }
  return {
    TableName: table,
    ...(indexName ? { IndexName: indexName } : {}),
    KeyConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** A timestamp `YYYY-MM-DDTHH:MM:SSZ` split into its readings-table day and sort key. */
function split(ts: string): { day: string; time: string } {
  return { day: ts.slice(0, 10), time: ts.slice(11, 19) };
}

/**
 * Readings of a pump from `fromTs` to `toTs` (inclusive, whole-second `…Z` stamps), oldest first, at most `want`.
 *
 * @example
 * for await (const r of readingsBetween(ddb, cfg, budget, 'COHUTTA', '2014-03-10T00:00:00Z', '2014-03-10T23:59:59Z', 1001)) …
 */
export async function* readingsBetween(
  client: DynamoDBClient,
  cfg: WellwatchConfig,
  budget: ReadBudget,
  pump: string,
  fromTs: string,
  toTs: string,
  want: number,
  progress: DayProgress = {},
): AsyncGenerator<EvaluatedReading> {
  const from = split(fromTs);
  const to = split(toTs);
  let left = want;
  for (let day = from.day; day <= to.day && left > 0 && !budget.exhausted; day = addDays(day, 1)) {
    const input = keyCondition(cfg.readingsTable, pumpDayPk(pump, day), day === from.day ? from.time : undefined, day === to.day ? to.time : undefined);
    for await (const item of budget.query(client, input, left)) {
      left--;
      yield readingFromItem(item);
    }
    if (budget.lastComplete) progress.doneThrough = day;
  }
}

/**
 * Like {@link readingsBetween}, only the time (epoch ms) and measures: what bucketing needs, about half the bytes.
 *
 * @example
 * for await (const { ms, values } of valuesBetween(ddb, cfg, budget, 'COHUTTA', from, to)) builder.add(ms, values);
 */
export async function* valuesBetween(
  client: DynamoDBClient,
  cfg: WellwatchConfig,
  budget: ReadBudget,
  pump: string,
  fromTs: string,
  toTs: string,
  progress: DayProgress = {},
): AsyncGenerator<{ ms: number; values: MeasureValues }> {
  const from = split(fromTs);
  const to = split(toTs);
  for (let day = from.day; day <= to.day && !budget.exhausted; day = addDays(day, 1)) {
    const input = keyCondition(cfg.readingsTable, pumpDayPk(pump, day), day === from.day ? from.time : undefined, day === to.day ? to.time : undefined);
    input.ProjectionExpression = '#sk, #d';
    input.ExpressionAttributeNames = { ...input.ExpressionAttributeNames, '#sk': KEYS.sortKey, '#d': KEYS.readings.dataAttribute };
    for await (const item of budget.query(client, input)) {
      yield { ms: Date.parse(`${day}T${(item[KEYS.sortKey] as { S: string }).S}Z`), values: valuesFromDataAttribute(item) };
    }
    if (budget.lastComplete) progress.doneThrough = day;
  }
}

/**
 * The latest day on or before `toDay` that has a daily stats row for the pump (i.e. has been rolled up).
 *
 * @example
 * await lastRolledDay(ddb, cfg, budget, 'COHUTTA', '2014-03-14'); // → '2014-03-13'
 */
export async function lastRolledDay(client: DynamoDBClient, cfg: WellwatchConfig, budget: ReadBudget, pump: string, toDay: string): Promise<string | undefined> {
  const input = { ...keyCondition(cfg.statsTable, pump, undefined, toDay), ScanIndexForward: false, ProjectionExpression: '#sk' };
  input.ExpressionAttributeNames = { ...input.ExpressionAttributeNames, '#sk': KEYS.sortKey };
  for await (const item of budget.query(client, input, 1)) return (item[KEYS.sortKey] as { S: string }).S;
  return undefined;
}

/**
 * Daily stats rows of one pump from `fromDay` to `toDay` (inclusive), ascending, at most `want`.
 *
 * @example
 * for await (const s of dailyRows(ddb, cfg, budget, 'COHUTTA', '2014-03-10', '2014-03-14', 100)) …
 */
export async function* dailyRows(
  client: DynamoDBClient,
  cfg: WellwatchConfig,
  budget: ReadBudget,
  pump: string,
  fromDay: string,
  toDay: string,
  want: number,
): AsyncGenerator<DailyStats> {
  for await (const item of budget.query(client, keyCondition(cfg.statsTable, pump, fromDay, toDay), want)) yield statsFromItem(item);
}

/**
 * Hourly rows of one pump from hour `fromHour` to `toHour` (`YYYY-MM-DDTHH`, inclusive), ascending, at most `want`.
 *
 * @example
 * for await (const h of hourlyRows(ddb, cfg, budget, 'COHUTTA', '2014-03-10T00', '2014-03-10T23', 24)) …
 */
export async function* hourlyRows(
  client: DynamoDBClient,
  cfg: WellwatchConfig,
  budget: ReadBudget,
  pump: string,
  fromHour: string,
  toHour: string,
  want: number,
): AsyncGenerator<DailyStats> {
  for await (const item of budget.query(client, keyCondition(cfg.statsTable, hourlyPk(pump), fromHour, toHour), want)) yield hourlyFromItem(item);
}

/**
 * Stats rows of all pumps on one day (index `statsByDate`, one Query per bucket `<day>#<b>`, merged by pump), from
 * pump `fromPump` on (inclusive), at most `want`.
 *
 * @example
 * for await (const s of statsOfDay(ddb, cfg, budget, '2014-03-10', undefined, 100)) …
 */
export async function* statsOfDay(
  client: DynamoDBClient,
  cfg: WellwatchConfig,
  budget: ReadBudget,
  day: string,
  fromPump: string | undefined,
  want: number,
): AsyncGenerator<DailyStats> {
  const { indexName, partitionKey, sortKey } = KEYS.stats.byDate;
  const inputs = dayBucketKeys(day).map((key) => keyCondition(cfg.statsTable, key, fromPump, undefined, indexName, { pk: partitionKey, sk: sortKey }));
  for await (const item of budget.queryMerged(client, inputs, sortKey, want)) yield statsFromItem(item);
}

/**
 * Alerting readings of one pump (index `alertsByPump`) from `fromTs` to `toTs`, oldest first, at most `want`.
 *
 * @example
 * for await (const a of alertsOfPump(ddb, cfg, budget, 'COHUTTA', from, to, 101)) …
 */
export async function* alertsOfPump(
  client: DynamoDBClient,
  cfg: WellwatchConfig,
  budget: ReadBudget,
  pump: string,
  fromTs: string,
  toTs: string,
  want: number,
): AsyncGenerator<EvaluatedReading> {
  const { indexName, partitionKey, sortKey } = KEYS.readings.alertsByPump;
  const input = keyCondition(cfg.readingsTable, pump, fromTs, toTs, indexName, { pk: partitionKey, sk: sortKey });
  for await (const item of budget.query(client, input, want)) yield readingFromItem(item);
}

/**
 * Alerting readings of all pumps on one day (index `alertsByDay`, one Query per bucket `<day>#<b>`, merged by time
 * then pump), from sort key `fromKey` (`<ts>#<pump>`, inclusive) to `toKey`, at most `want`.
 *
 * @example
 * for await (const a of alertsOfDay(ddb, cfg, budget, '2014-03-10', '2014-03-10T00:00:00Z', '2014-03-10T23:59:59Z#~', 101)) …
 */
export async function* alertsOfDay(
  client: DynamoDBClient,
  cfg: WellwatchConfig,
  budget: ReadBudget,
  day: string,
  fromKey: string,
  toKey: string,
  want: number,
): AsyncGenerator<EvaluatedReading> {
  const { indexName, partitionKey, sortKey } = KEYS.readings.alertsByDay;
  const inputs = dayBucketKeys(day).map((key) => keyCondition(cfg.readingsTable, key, fromKey, toKey, indexName, { pk: partitionKey, sk: sortKey }));
  for await (const item of budget.queryMerged(client, inputs, sortKey, want)) yield readingFromItem(item);
}

/**
 * The latest reading of a pump, looking through `days` (newest first); undefined when none of them has one.
 *
 * @example
 * await latestReading(ddb, cfg, budget, 'COHUTTA', ['2014-03-14', '2014-03-13']);
 */
export async function latestReading(
  client: DynamoDBClient,
  cfg: WellwatchConfig,
  budget: ReadBudget,
  pump: string,
  days: readonly string[],
): Promise<EvaluatedReading | undefined> {
  for (const day of days) {
    if (budget.exhausted) return undefined;
    const input = { ...keyCondition(cfg.readingsTable, pumpDayPk(pump, day)), ScanIndexForward: false };
    for await (const item of budget.query(client, input, 1)) return readingFromItem(item);
  }
  return undefined;
}

/**
 * The catalog table: which days and pump-days have data, and which pump-days need a re-rollup.
 *
 * - `{pk: 'DAYS', sk: day}` — a day with data (lets queries and the CLI enumerate days without a Scan);
 * - `{pk: 'DAY#' + day + '#' + b, sk: pump}` — a pump with data on that day (what the rollup iterates);
 * - `{pk: 'PENDING#' + b, sk: day + '#' + pump, touchedAt}` — the pump-day received data after its day ended, so its
 *   stats may be stale. `touchedAt` is new on every touch (time plus a random suffix), which lets the rollup delete
 *   a marker only if nobody touched it again while the rollup was reading (conditional delete);
 * - `{pk: 'PUMPS#<n>', sk: pump}` — the pump registry (see PUMP_REGISTRY in config.ts): every pump seen, spread over
 *   a few partitions by a hash of its id, which the query API lists for `/pumps`.
 *
 * `b = pumpBucket(pump, FLEET_KEYS.buckets)`: the day and pending markers are write-sharded (at midnight every pump
 * writes its day marker within one reporting interval), and their readers Query every bucket and merge the sorted
 * results, so callers see the order one partition gave.
 *
 * Registry, day and pump-day markers never change once written, so a warm Lambda container remembers the ones it wrote
 * (module-level set) and writes each at most once; pending markers are written on every late touch.
 */
import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, DeleteItemCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FLEET_KEYS, KEYS, PUMP_REGISTRY, type WellwatchConfig } from '../config';
import { allBuckets } from '../core/buckets';
import {
  CATALOG_DAYS_PARTITION,
  catalogDayFromItem,
  catalogDayItem,
  catalogDayPartition,
  catalogDaysItem,
  pendingFromItem,
  pendingItem,
  pendingKey,
  pendingPartition,
  pumpRegistryItem,
  pumpRegistryPartition,
  type Item,
} from '../core/keys';
import type { PumpDay } from '../core/types';
import { writeItems, writeOptionsFrom, type WriteItemsOptions } from './batch-writer';
import { mergeSorted } from './merge-sorted';
import { queryAll } from './paginate';

/** A pending marker as read back: the pump-day and the touch it records. */
export interface PendingMarker extends PumpDay {
  readonly touchedAt: string;
}

/** Outcome of {@link CatalogStore.markTouched}. */
export interface MarkTouchedResult {
  /** Indexes (into the input pump-days, ascending) whose markers were not all written. */
  readonly failed: number[];
  /** Marker items written (after the warm-container cache). */
  readonly written: number;
  /** Pending markers among them. */
  readonly pending: number;
  readonly lastError?: string;
  /** True when `stopWhen` ended the writes with markers unwritten (see WriteItemsResult.stopped). */
  readonly stopped?: boolean;
  /** Marker items that gave up on an error rather than on the stop (present when stopped). */
  readonly failedByError?: number;
}

/** Options of {@link CatalogStore.markTouched}. */
export interface MarkTouchedOptions {
  /**
   * Asked before every write request: once true no new request starts and the unwritten markers are reported failed,
   * like the readings' writes near the invocation deadline (see WriteItemsOptions.stopWhen).
   *
   * @default - never stop
   */
  readonly stopWhen?: () => boolean;
}

/** Inclusive day range; an absent bound is open. */
export interface DayRange {
  readonly from?: string;
  readonly to?: string;
}

/** Inclusive range of pump ids; an absent bound is open. */
export interface PumpRange {
  readonly from?: string;
  readonly to?: string;
}

/** Reads and writes the catalog. */
export interface CatalogStore {
  readonly table: string;
  /**
   * Records that `pumpDays` received data: day and pump-day markers (once per warm container), plus a fresh
   * pending marker for each pump-day whose day is before `today` (UTC `YYYY-MM-DD`).
   */
  markTouched(pumpDays: readonly PumpDay[], today: string, now?: Date, options?: MarkTouchedOptions): Promise<MarkTouchedResult>;
  /** Days with data, ascending, optionally within an inclusive range. */
  listDays(range?: DayRange): AsyncGenerator<string>;
  /** Pumps with data on `day`, ascending (one Query per bucket, merged). */
  listPumps(day: string): AsyncGenerator<string>;
  /**
   * Pumps with data on `day` in one write-sharding bucket, ascending, optionally within an inclusive pump range: what
   * the rollup planner chunks and a rollup worker reads back.
   */
  listPumpsInBucket(day: string, bucket: number, range?: PumpRange): AsyncGenerator<string>;
  /** Pending markers, ordered by day then pump (one Query per bucket, merged). */
  listPending(): AsyncGenerator<PendingMarker>;
  /** Pending markers of one write-sharding bucket, ordered by day then pump. */
  listPendingInBucket(bucket: number): AsyncGenerator<PendingMarker>;
  /**
   * Deletes a pending marker if it still carries the touch that was read; `false` when it was touched again
   * meanwhile (or is gone), so the newer touch survives for the next run.
   */
  clearPending(marker: PendingMarker): Promise<boolean>;
  /**
   * Pumps in the registry (every pump `markTouched` has seen), ascending, starting after `after` when given: one
   * Query per registry partition, merged.
   */
  listRegisteredPumps(after?: string, limit?: number): Promise<string[]>;
  /** Whether the registry knows the pump (one GetItem). */
  isRegistered(pump: string): Promise<boolean>;
  /** The most recent days with data, newest first, at most `limit`. */
  recentDays(limit: number): Promise<string[]>;
}

/** Marker keys this container has written, per endpoint and table (see the module comment). */
const writtenMarkers = new Set<string>();

/**
 * Forgets the markers this container has written, so the next touch writes them again.
 *
 * For tests and for local mode when it wipes its emulators; a Lambda never needs it.
 *
 * @example
 * forgetWrittenMarkers();
 */
export function forgetWrittenMarkers(): void {
  writtenMarkers.clear();
}

/**
 * A pending marker's `touchedAt`: ISO time plus a random suffix, unique even for two touches in one millisecond.
 *
 * @example
 * touchStamp(new Date('2014-03-12T08:00:00Z')); // → '2014-03-12T08:00:00.000Z#9f3a0c1e5b7d'
 */
export function touchStamp(now: Date): string {
  return `${now.toISOString()}${KEYS.separator}${randomBytes(6).toString('hex')}`;
}

function keyOf(item: Item): string {
  const pk = item[KEYS.partitionKey] as { S: string };
  const sk = item[KEYS.sortKey] as { S: string };
  return `${pk.S}\u0000${sk.S}`;
}

/**
 * Creates the catalog store for `cfg.catalogTable`.
 *
 * @example
 * const catalog = createCatalogStore(dynamoClient(cfg), cfg);
 * for await (const pump of catalog.listPumps('2014-03-10')) console.log(pump);
 */
export function createCatalogStore(client: DynamoDBClient, cfg: WellwatchConfig, options: WriteItemsOptions = {}): CatalogStore {
  const table = cfg.catalogTable;
  const writeOptions = { ...writeOptionsFrom(cfg), ...options };
  const scope = `${cfg.endpoints.dynamodb ?? `aws:${cfg.region}`}\u0000${table}\u0000`;
  const PK = KEYS.partitionKey;
  const SK = KEYS.sortKey;

  const partition = (pk: string, range?: DayRange) => {
    const names: Record<string, string> = { '#pk': PK };
    const values: Record<string, { S: string }> = { ':pk': { S: pk } };
    let condition = '#pk = :pk';
    if (range?.from !== undefined || range?.to !== undefined) names['#sk'] = SK;
    if (range?.from !== undefined && range?.to !== undefined) {
      condition += ' AND #sk BETWEEN :from AND :to';
      values[':from'] = { S: range.from };
      values[':to'] = { S: range.to };
    } else if (range?.from !== undefined) {
      condition += ' AND #sk >= :from';
      values[':from'] = { S: range.from };
    } else if (range?.to !== undefined) {
      condition += ' AND #sk <= :to';
      values[':to'] = { S: range.to };
    }
    return queryAll(client, {
      TableName: table,
      KeyConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ConsistentRead: true,
    });
  };

  async function* pumpsInBucket(day: string, bucket: number, range?: PumpRange): AsyncGenerator<string> {
    for await (const item of partition(catalogDayPartition(day, bucket), range)) yield catalogDayFromItem(item).pump;
  }
  async function* pendingInBucket(bucket: number): AsyncGenerator<PendingMarker> {
    for await (const item of partition(pendingPartition(bucket))) yield pendingFromItem(item);
  }

  return {
    table,

    async markTouched(pumpDays, today, now = new Date(), options = {}) {
      const items: Item[] = [];
      /** For each item, the pump-day indexes that depend on it. */
      const owners: number[][] = [];
      const cacheable: boolean[] = [];
      const slot = new Map<string, number>();
      const add = (item: Item, owner: number, cache: boolean): void => {
        const key = keyOf(item);
        if (cache && writtenMarkers.has(scope + key)) return;
        const at = slot.get(key);
        if (at !== undefined) {
          owners[at]!.push(owner);
          return;
        }
        slot.set(key, items.length);
        items.push(item);
        owners.push([owner]);
        cacheable.push(cache);
      };
      let pending = 0;
      pumpDays.forEach(({ pump, day }, i) => {
        add(pumpRegistryItem(pump), i, true);
        add(catalogDaysItem(day), i, true);
        add(catalogDayItem(pump, day), i, true);
        if (day < today) {
          const before = items.length;
          add(pendingItem(pump, day, touchStamp(now)), i, false);
          if (items.length > before) pending++;
        }
      });
      if (items.length === 0) return { failed: [], written: 0, pending: 0 };
      const result = await writeItems(client, table, items, options.stopWhen ? { ...writeOptions, stopWhen: options.stopWhen } : writeOptions);
      const failedItems = new Set(result.failed);
      const failed = new Set<number>();
      items.forEach((item, i) => {
        if (failedItems.has(i)) for (const owner of owners[i]!) failed.add(owner);
        else if (cacheable[i]) writtenMarkers.add(scope + keyOf(item));
      });
      const out = { failed: [...failed].sort((a, b) => a - b), written: items.length - failedItems.size, pending };
      const stop = result.stopped ? { stopped: true, failedByError: result.failedByError ?? 0 } : {};
      return result.lastError === undefined ? { ...out, ...stop } : { ...out, lastError: result.lastError, ...stop };
    },

    async *listDays(range) {
      for await (const item of partition(CATALOG_DAYS_PARTITION, range)) yield (item[SK] as { S: string }).S;
    },

    listPumps: (day) =>
      mergeSorted(
        allBuckets(FLEET_KEYS.buckets).map((b) => pumpsInBucket(day, b)),
        (pump) => pump,
      ),
    listPumpsInBucket: pumpsInBucket,
    listPending: () =>
      mergeSorted(
        allBuckets(FLEET_KEYS.buckets).map((b) => pendingInBucket(b)),
        (m) => m.day + KEYS.separator + m.pump,
      ),
    listPendingInBucket: pendingInBucket,

    async listRegisteredPumps(after, limit = Infinity) {
      // One Query per registry bucket, merged on the pump id (each bucket is sorted by it). Pages of about the share
      // one bucket holds keep the read near `limit` items instead of `limit` per bucket; the merge pulls more only
      // from the buckets that run out.
      const partitions = allBuckets(FLEET_KEYS.buckets).map((b) => PUMP_REGISTRY.partitionPrefix + String(b));
      const pageSize = Number.isFinite(limit) ? Math.ceil(limit / partitions.length) + 1 : undefined;
      const sources = partitions.map((pk) => {
        const names: Record<string, string> = { '#pk': PK };
        const values: Record<string, { S: string }> = { ':pk': { S: pk } };
        let condition = '#pk = :pk';
        if (after !== undefined) {
          condition += ' AND #sk > :after';
          names['#sk'] = SK;
          values[':after'] = { S: after };
        }
        return queryAll(client, { TableName: table, KeyConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values, ...(pageSize ? { Limit: pageSize } : {}) });
      });
      const out: string[] = [];
      for await (const item of mergeSorted(sources, (i) => (i[SK] as { S: string }).S)) {
        if (out.length >= limit) break;
        const pump = (item[SK] as { S: string }).S;
        // A pump registered under an older bucket count sits in two buckets: list it once.
        if (out[out.length - 1] !== pump) out.push(pump);
      }
      return out;
    },

    async isRegistered(pump) {
      const out = await client.send(
        new GetItemCommand({ TableName: table, Key: { [PK]: { S: pumpRegistryPartition(pump) }, [SK]: { S: pump } }, ProjectionExpression: '#sk', ExpressionAttributeNames: { '#sk': SK } }),
      );
      return out.Item !== undefined;
    },

    async recentDays(limit) {
      const days: string[] = [];
      const items = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':pk': { S: CATALOG_DAYS_PARTITION } },
        ScanIndexForward: false,
        Limit: limit,
      });
      for await (const item of items) {
        days.push((item[SK] as { S: string }).S);
        if (days.length >= limit) break;
      }
      return days;
    },

    async clearPending(marker) {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: table,
            Key: pendingKey(marker.pump, marker.day),
            ConditionExpression: '#t = :seen',
            ExpressionAttributeNames: { '#t': 'touchedAt' },
            ExpressionAttributeValues: { ':seen': { S: marker.touchedAt } },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    },
  };
}

/**
 * Full, canonical contents of wellwatch's tables and indexes, for comparing two runs item by item.
 *
 * Scans (strongly consistent for tables) every table and every global secondary index, sorts the items by their
 * keys and serialises each with sorted attribute names, so two snapshots are equal exactly when the stored data
 * is. Scans are fine here: this is test code reading a few hundred thousand items from an emulator.
 */
import { DescribeTableCommand, ListTablesCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KEYS, ROLLUP_FANOUT, type WellwatchConfig } from '../../lambdas/config';

/** Items of one table or index, canonical JSON, sorted. */
export type ItemList = string[];

/** Contents of every table and index of one configuration. */
export interface TablesSnapshot {
  readonly readings: ItemList;
  readonly alertsByDay: ItemList;
  readonly alertsByPump: ItemList;
  readonly stats: ItemList;
  readonly statsByDate: ItemList;
  readonly catalog: ItemList;
}

/** JSON with object keys sorted at every level, so equal items serialise identically. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value as Record<string, unknown>).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Every item of a table (or of one of its indexes), all pages.
 *
 * @example
 * const items = await scanAll(ddb, 'wellwatch-readings');
 */
export async function scanAll(client: DynamoDBClient, table: string, indexName?: string): Promise<Record<string, AttributeValue>[]> {
  const out: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        ...(indexName ? { IndexName: indexName } : { ConsistentRead: true }),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) out.push(item);
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

function canonicalList(items: Record<string, AttributeValue>[], drop: readonly string[] = []): ItemList {
  return items
    .map((item) => {
      const copy: Record<string, AttributeValue> = { ...item };
      for (const name of drop) delete copy[name];
      return canonicalJson(copy);
    })
    .sort();
}

/**
 * Snapshots the readings, stats and catalog tables and their indexes.
 *
 * `touchedAt` of pending markers is a random stamp by design (it tells touches apart), and the input watermark of
 * stats rows is the time their rollup started reading, so both are left out. So are the rollup's run records
 * (`ROLLUP#…`, see lambdas/store/rollup-run-store.ts): they record how the rollup got there — how many runs, which
 * generation, the touches each work item carried — which a run with faults and retries legitimately does differently.
 *
 * @example
 * expect(await snapshotTables(ddb, faultedCfg)).toEqual(await snapshotTables(ddb, cleanCfg));
 */
export async function snapshotTables(client: DynamoDBClient, cfg: WellwatchConfig): Promise<TablesSnapshot> {
  const [readings, alertsByDay, alertsByPump, stats, statsByDate, catalog] = await Promise.all([
    scanAll(client, cfg.readingsTable),
    scanAll(client, cfg.readingsTable, KEYS.readings.alertsByDay.indexName),
    scanAll(client, cfg.readingsTable, KEYS.readings.alertsByPump.indexName),
    scanAll(client, cfg.statsTable),
    scanAll(client, cfg.statsTable, KEYS.stats.byDate.indexName),
    scanAll(client, cfg.catalogTable),
  ]);
  return {
    readings: canonicalList(readings),
    alertsByDay: canonicalList(alertsByDay),
    alertsByPump: canonicalList(alertsByPump),
    stats: canonicalList(stats, [KEYS.stats.inputWatermark]),
    statsByDate: canonicalList(statsByDate, [KEYS.stats.inputWatermark]),
    catalog: canonicalList(
      catalog.filter((item) => !item[KEYS.partitionKey]?.S?.startsWith(ROLLUP_FANOUT.runPrefix)),
      ['touchedAt'],
    ),
  };
}

/**
 * Items present in `actual` but not in `expected` (extra, e.g. duplicates) and the reverse (missing).
 *
 * @example
 * const { extra, missing } = diffLists(faulted.readings, clean.readings);
 */
export function diffLists(actual: ItemList, expected: ItemList): { extra: string[]; missing: string[] } {
  const count = new Map<string, number>();
  for (const item of expected) count.set(item, (count.get(item) ?? 0) + 1);
  const extra: string[] = [];
  for (const item of actual) {
    const n = count.get(item) ?? 0;
    if (n === 0) extra.push(item);
    else count.set(item, n - 1);
  }
  const missing: string[] = [];
  for (const [item, n] of count) for (let i = 0; i < n; i++) missing.push(item);
  return { extra, missing };
}

/** Contents of every table of an endpoint and of each of its global secondary indexes, keyed `table` / `table/index`. */
export type AllTablesSnapshot = Record<string, ItemList>;

/**
 * Snapshots every table the endpoint holds (ListTables) and every global secondary index of each (DescribeTable),
 * so a comparison also covers tables added after this helper was written.
 *
 * Attributes in `drop` are left out everywhere: by default `touchedAt`, the random stamp of pending markers, and
 * the stats rows' input watermark (when their rollup started reading), as in {@link snapshotTables}.
 *
 * @example
 * expect(await snapshotAllTables(ddb)).toEqual(before);
 */
export async function snapshotAllTables(client: DynamoDBClient, drop: readonly string[] = ['touchedAt', KEYS.stats.inputWatermark]): Promise<AllTablesSnapshot> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand(start ? { ExclusiveStartTableName: start } : {}));
    names.push(...(page.TableNames ?? []));
    start = page.LastEvaluatedTableName;
  } while (start);
  const out: AllTablesSnapshot = {};
  for (const table of names.sort()) {
    out[table] = canonicalList(await scanAll(client, table), drop);
    const d = await client.send(new DescribeTableCommand({ TableName: table }));
    for (const gsi of d.Table?.GlobalSecondaryIndexes ?? []) {
      out[`${table}/${gsi.IndexName}`] = canonicalList(await scanAll(client, table, gsi.IndexName), drop);
    }
  }
  return out;
}

/**
 * Table definitions for local mode and tests, derived from `KEYS` like the CDK storage construct.
 *
 * All tables are on-demand (PAY_PER_REQUEST). The readings table carries the two sparse alert indexes, the stats
 * table the by-date index; every index projects ALL attributes so a query by index needs no second read.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ALARM_KEYS, KEYS, type WellwatchConfig } from '../config';
import { WellwatchError } from '../core/errors';

const S = 'S' as const;

/**
 * The CreateTable inputs of the readings, stats, catalog and alarms tables.
 *
 * @example
 * for (const def of tableDefinitions(cfg)) await ddb.send(new CreateTableCommand(def));
 */
export function tableDefinitions(cfg: WellwatchConfig): CreateTableCommandInput[] {
  const { partitionKey: pk, sortKey: sk } = KEYS;
  const { alertsByDay, alertsByPump } = KEYS.readings;
  const { byDate } = KEYS.stats;
  const { openAlarms, alarmHistory } = ALARM_KEYS;
  const primary = [
    { AttributeName: pk, KeyType: 'HASH' as const },
    { AttributeName: sk, KeyType: 'RANGE' as const },
  ];
  const index = (i: { indexName: string; partitionKey: string; sortKey: string }) => ({
    IndexName: i.indexName,
    KeySchema: [
      { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  return [
    {
      TableName: cfg.readingsTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [pk, sk, alertsByDay.partitionKey, alertsByDay.sortKey, alertsByPump.partitionKey, alertsByPump.sortKey].map(
        (name) => ({ AttributeName: name, AttributeType: S }),
      ),
      KeySchema: primary,
      GlobalSecondaryIndexes: [index(alertsByDay), index(alertsByPump)],
    },
    {
      TableName: cfg.statsTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [pk, sk, byDate.partitionKey, byDate.sortKey].map((name) => ({ AttributeName: name, AttributeType: S })),
      KeySchema: primary,
      GlobalSecondaryIndexes: [index(byDate)],
    },
    {
      TableName: cfg.catalogTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [pk, sk].map((name) => ({ AttributeName: name, AttributeType: S })),
      KeySchema: primary,
    },
    {
      // Alarm states, archived alarms, per-pump items, notification markers (see the alarms block in config.ts).
      TableName: cfg.alarms.table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [pk, sk, openAlarms.partitionKey, openAlarms.sortKey, alarmHistory.partitionKey, alarmHistory.sortKey].map((name) => ({
        AttributeName: name,
        AttributeType: S,
      })),
      KeySchema: primary,
      // openAlarms projects keys only: every write of an open alarm's state also writes the index, and a keys-only
      // entry costs one write unit where a full copy would cost the item's size again.
      GlobalSecondaryIndexes: [{ ...index(openAlarms), Projection: { ProjectionType: 'KEYS_ONLY' as const } }, index(alarmHistory)],
    },
  ];
}

/** Options of {@link ensureTables}. */
export interface EnsureTablesOptions {
  /** Give up waiting for ACTIVE after this many milliseconds. @default 30000 */
  readonly timeoutMs?: number;
  /** Polling interval while waiting. @default 50 */
  readonly pollMs?: number;
}

async function status(client: DynamoDBClient, table: string): Promise<string | undefined> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: table }));
    const indexes = out.Table?.GlobalSecondaryIndexes ?? [];
    if (indexes.some((i) => i.IndexStatus !== undefined && i.IndexStatus !== 'ACTIVE')) return 'INDEX_CREATING';
    return out.Table?.TableStatus;
  } catch (error) {
    if (error instanceof ResourceNotFoundException || (error as Error)?.name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/**
 * Throws when an existing table's secondary indexes are not keyed as `def` says.
 *
 * Local data outlives releases (LevelDB under the data dir), and a key layout change — issue 13 moved `statsByDate`
 * from `date` to `dpk = <date>#<bucket>` — would otherwise surface later as a ValidationException on the first
 * Query. DynamoDB cannot change an index's key schema in place ("You can create or delete only one global secondary
 * index per UpdateTable operation", UpdateTable API reference), so the remedy is a fresh table.
 */
async function checkIndexes(client: DynamoDBClient, def: CreateTableCommandInput): Promise<void> {
  const out = await client.send(new DescribeTableCommand({ TableName: def.TableName }));
  const shape = (indexes: readonly { IndexName?: string; KeySchema?: readonly { AttributeName?: string }[] }[] | undefined) =>
    (indexes ?? []).map((i) => `${i.IndexName}(${(i.KeySchema ?? []).map((k) => k.AttributeName).join('/')})`).sort().join(', ');
  const want = shape(def.GlobalSecondaryIndexes);
  const have = shape(out.Table?.GlobalSecondaryIndexes);
  if (want !== have) {
    throw new WellwatchError(
      `table ${def.TableName} has indexes ${have || 'none'}, this release needs ${want || 'none'} (a key layout from an older release): delete the table (locally: the data dir) and start again`,
    );
  }
}

/**
 * Creates the tables that do not exist yet and waits until all are ACTIVE; returns the names it created.
 *
 * Existing tables are kept, but their secondary indexes must be keyed as this release defines them (see
 * {@link checkIndexes}). Safe to call concurrently: a table created by someone else in between counts as existing.
 *
 * @throws WellwatchError when an existing table's indexes have another key layout.
 *
 * @throws WellwatchError when a table does not become ACTIVE in time.
 * @example
 * await ensureTables(dynamoClient(cfg), cfg);
 */
export async function ensureTables(client: DynamoDBClient, cfg: WellwatchConfig, options: EnsureTablesOptions = {}): Promise<string[]> {
  const created: string[] = [];
  const defs = tableDefinitions(cfg);
  for (const def of defs) {
    if ((await status(client, def.TableName!)) !== undefined) {
      await checkIndexes(client, def);
      continue;
    }
    try {
      await client.send(new CreateTableCommand(def));
      created.push(def.TableName!);
    } catch (error) {
      if (!(error instanceof ResourceInUseException || (error as Error)?.name === 'ResourceInUseException')) throw error;
    }
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pollMs = options.pollMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (const def of defs) {
    for (;;) {
      const s = await status(client, def.TableName!);
      if (s === 'ACTIVE') break;
      if (Date.now() > deadline) {
        throw new WellwatchError(`table ${def.TableName} is not ACTIVE after ${timeoutMs} ms (status ${s ?? 'missing'})`);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
  return created;
}

/**
 * A real DynamoDB API for tests: dynalite in memory, in this process, on 127.0.0.1 and an ephemeral port.
 *
 * Tests talk to it over HTTP through the AWS SDK exactly like the handlers talk to DynamoDB, so request shapes,
 * limits (25 items per BatchWriteItem, duplicate keys rejected, 1 MB pages) and error codes are the emulator's.
 * dynalite has no UpdateTimeToLive and no transactions; wellwatch needs neither at run time.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig, type ConfigOverrides, type WellwatchConfig } from '../../lambdas/config';
import { dynamoClient } from '../../lambdas/store/clients';
import { ensureTables } from '../../lambdas/store/tables';

/** A running in-memory dynalite with the wellwatch tables. */
export interface DynaliteHandle {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A configuration pointing at this dynalite (defaults plus the overrides given to {@link startDynalite}). */
  readonly cfg: WellwatchConfig;
  /** A client for the emulator (dummy credentials); destroyed by `close()`. */
  readonly client: DynamoDBClient;
  /** Stops the server, dropping its connections and the in-memory data. */
  close(): Promise<void>;
}

/** Options of {@link startDynalite}. */
export interface StartDynaliteOptions {
  /** Configuration overrides (table names, retention, …); the endpoint is set by the helper. */
  readonly config?: ConfigOverrides;
  /** Create the tables from `tableDefinitions`. @default true */
  readonly createTables?: boolean;
  /** How long a new table (and its indexes) stays CREATING before dynalite turns it ACTIVE. @default 0 */
  readonly createTableMs?: number;
}

/**
 * Starts dynalite in memory on 127.0.0.1:0 and creates the wellwatch tables, waiting until they are ACTIVE.
 *
 * The configuration is resolved without reading the environment, so a developer's WELLWATCH_* variables cannot
 * change a test.
 *
 * @example
 * const db = await startDynalite();
 * try { … db.cfg … } finally { await db.close(); }
 */
export async function startDynalite(options: StartDynaliteOptions = {}): Promise<DynaliteHandle> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;
  const server = dynalite({ createTableMs: options.createTableMs ?? 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const cfg = loadConfig({ ...options.config, endpoints: { ...options.config?.endpoints, dynamodb: endpoint } }, {});
  const client = dynamoClient(cfg, { maxAttempts: 3 });
  const close = async (): Promise<void> => {
    client.destroy();
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    if (options.createTables !== false) await ensureTables(client, cfg);
  } catch (e) {
    await close();
    throw e;
  }
  return { endpoint, cfg, client, close };
}

/**
 * Every item of a table, sorted by `pk` then `sk` — for asserting a table's exact contents in tests.
 *
 * A Scan is fine here: tests inspect whole tables on purpose; wellwatch itself only ever queries.
 *
 * @example
 * expect(await scanTable(db.client, db.cfg.readingsTable)).toHaveLength(3);
 */
export async function scanTable(client: DynamoDBClient, table: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  const key = (i: Record<string, AttributeValue>) => `${i.pk?.S ?? ''}\u0000${i.sk?.S ?? ''}`;
  return items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

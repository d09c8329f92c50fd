/**
 * A passive tap on the in-process dynalite of local mode: sees every request it answers, changes nothing.
 *
 * Local mode runs dynalite as an `http.Server` inside this process, so Node's `http.server.request.start` and
 * `http.server.response.finish` diagnostics channels show each request it receives and the moment its answer has
 * been handed to the socket. For write requests the tap reads the body (a second `data` listener; dynalite's own
 * listener still gets every chunk) and, when the answer is a 200, reports the items as stored at that moment — the
 * earliest time any reader could see them. Nothing is proxied and no client is re-pointed: the consumer talks to
 * dynalite exactly as without the tap.
 *
 * When local mode runs the emulators in a worker thread (its default), the tap runs there too (dynamo-tap-thread.ts)
 * and {@link openTap} talks to it; `openTap` picks the right one.
 *
 * It also counts writes the way DynamoDB bills them: write request units per item (1 KB steps of the item size,
 * computed with DynamoDB's item-size rules) plus one write per global secondary index whose key attributes the item
 * carries (the indexes of each table come from `tableDefinitions`, like the CDK stack's).
 */
import * as diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import type { WellwatchConfig } from '../lambdas/config';
import { tableDefinitions } from '../lambdas/store/tables';
import type { LocalRuntime } from '../local';

/** A DynamoDB item as it travels in a request body (AttributeValue JSON). */
export type WireItem = Record<string, Record<string, unknown>>;

/** Write counts of one table. */
export interface TableWrites {
  /** Put requests answered 200. */
  puts: number;
  /** Delete requests answered 200. */
  deletes: number;
  /** Write request units of the table itself. */
  wru: number;
  /** Write request units spent on its global secondary indexes. */
  gsiWru: number;
  /** Sum of put item sizes, bytes (DynamoDB item-size rules). */
  itemBytes: number;
}

/** What the tap has seen so far; a live object. */
export interface TapStats {
  /** Requests per operation (`BatchWriteItem`, `Query`, …). */
  readonly requests: Record<string, number>;
  /** Writes per table name. */
  readonly writes: Record<string, TableWrites>;
}

/** A running tap. */
export interface DynamoTap {
  readonly stats: TapStats;
  /** Stops observing (unsubscribes from the channels). */
  close(): void;
}

/** Options of {@link tapDynamo}. */
export interface TapOptions {
  /** Port of the dynalite to observe (other HTTP servers of the process are ignored). */
  readonly port: number;
  /** Supplies the tables' global secondary index keys. */
  readonly config: WellwatchConfig;
  /** Called when a write request has been answered 200, with the items it put, per table. */
  readonly onStored?: (table: string, items: readonly WireItem[], atMs: number) => void;
}

const START = 'http.server.request.start';
const FINISH = 'http.server.response.finish';

/**
 * Size of a number attribute value: 1 byte per two significant digits plus 1 (DynamoDB's documented approximation).
 */
function numberSize(text: string): number {
  const digits = text.replace(/^[-+]/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function valueSize(value: Record<string, unknown>): number {
  if ('S' in value) return Buffer.byteLength(value.S as string, 'utf8');
  if ('N' in value) return numberSize(value.N as string);
  if ('B' in value) return Buffer.from(value.B as string, 'base64').length;
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('M' in value) {
    let size = 3;
    for (const [name, inner] of Object.entries(value.M as WireItem)) size += Buffer.byteLength(name, 'utf8') + valueSize(inner) + 1;
    return size;
  }
  if ('L' in value) {
    let size = 3;
    for (const inner of value.L as Record<string, unknown>[]) size += valueSize(inner) + 1;
    return size;
  }
  if ('SS' in value) return (value.SS as string[]).reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  if ('NS' in value) return (value.NS as string[]).reduce((n, s) => n + numberSize(s), 0);
  return 0;
}

/**
 * Size of an item as DynamoDB bills it: attribute name bytes plus value sizes (maps and lists: 3 bytes plus 1 per
 * element).
 *
 * @example
 * itemSize({ pk: { S: 'A#2014-03-10' }, n: { N: '10.27' } }); // → 2 + 12 + 1 + 4 = 19
 */
export function itemSize(item: WireItem): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name, 'utf8') + valueSize(value);
  return size;
}

/**
 * Starts observing the dynalite listening on `options.port`.
 *
 * @example
 * const tap = tapDynamo({ port: Number(new URL(local.endpoints.dynamodb).port), config: local.config });
 * … run …
 * tap.close();
 * console.log(tap.stats.writes[local.config.readingsTable].wru);
 */
export function tapDynamo(options: TapOptions): DynamoTap {
  const stats: TapStats = { requests: {}, writes: {} };
  const indexKeys = new Map<string, string[][]>();
  for (const def of tableDefinitions(options.config)) {
    indexKeys.set(def.TableName!, (def.GlobalSecondaryIndexes ?? []).map((g) => (g.KeySchema ?? []).map((k) => k.AttributeName!)));
  }
  const pending = new WeakMap<IncomingMessage, { op: string; body: Buffer[] }>();
  const tableStats = (table: string): TableWrites => (stats.writes[table] ??= { puts: 0, deletes: 0, wru: 0, gsiWru: 0, itemBytes: 0 });

  const isOurs = (server: Server | undefined): boolean => {
    const address = server?.address() as AddressInfo | null | undefined;
    return address?.port === options.port;
  };

  const onStart = (message: unknown): void => {
    const { request, server } = message as { request: IncomingMessage; server: Server };
    if (!isOurs(server)) return;
    const target = String(request.headers['x-amz-target'] ?? '');
    const op = target.slice(target.indexOf('.') + 1) || 'unknown';
    stats.requests[op] = (stats.requests[op] ?? 0) + 1;
    if (op !== 'BatchWriteItem' && op !== 'PutItem' && op !== 'DeleteItem') return;
    const entry = { op, body: [] as Buffer[] };
    pending.set(request, entry);
    request.on('data', (chunk: Buffer) => entry.body.push(chunk));
  };

  const countPut = (table: string, item: WireItem): void => {
    const t = tableStats(table);
    const size = itemSize(item);
    const units = Math.max(1, Math.ceil(size / 1024));
    t.puts++;
    t.itemBytes += size;
    t.wru += units;
    for (const keys of indexKeys.get(table) ?? []) {
      if (keys.every((k) => item[k] !== undefined)) t.gsiWru += units;
    }
  };

  const countDelete = (table: string): void => {
    const t = tableStats(table);
    t.deletes++;
    t.wru += 1; // our deletes remove small items (< 1 KB)
  };

  const onFinish = (message: unknown): void => {
    const { request, response, server } = message as { request: IncomingMessage; response: ServerResponse; server: Server };
    if (!isOurs(server)) return;
    const entry = pending.get(request);
    if (!entry || response.statusCode !== 200) return;
    pending.delete(request);
    const at = performance.now();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(entry.body).toString('utf8')) as Record<string, unknown>;
    } catch {
      return;
    }
    if (entry.op === 'BatchWriteItem') {
      const requestItems = (body.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: WireItem }; DeleteRequest?: unknown }[]>;
      for (const [table, requests] of Object.entries(requestItems)) {
        const items: WireItem[] = [];
        for (const r of requests) {
          if (r.PutRequest) {
            countPut(table, r.PutRequest.Item);
            items.push(r.PutRequest.Item);
          } else if (r.DeleteRequest) countDelete(table);
        }
        if (items.length > 0) options.onStored?.(table, items, at);
      }
    } else if (entry.op === 'PutItem') {
      const table = body.TableName as string;
      countPut(table, body.Item as WireItem);
      options.onStored?.(table, [body.Item as WireItem], at);
    } else {
      countDelete(body.TableName as string);
    }
  };

  diagnostics.subscribe(START, onStart);
  diagnostics.subscribe(FINISH, onFinish);
  return {
    stats,
    close: () => {
      diagnostics.unsubscribe(START, onStart);
      diagnostics.unsubscribe(FINISH, onFinish);
    },
  };
}

/** Name of the channel between {@link openTap} and dynamo-tap-thread.ts. */
export const TAP_CHANNEL = 'wellwatch-bench-dynamo-tap';
/** Module to pass as `startLocal({ emulatorPreload: [TAP_THREAD_MODULE] })` so {@link openTap} works with a worker. */
export const TAP_THREAD_MODULE = path.join(__dirname, 'dynamo-tap-thread.ts');

/** Commands {@link openTap} sends to the thread. */
export type TapCommand =
  | { readonly cmd: 'start'; readonly port: number; readonly config: WellwatchConfig; readonly wantStored: boolean }
  | { readonly cmd: 'close' };
/** Replies of the thread. */
export type TapReply =
  | { readonly started: true }
  | { readonly stored: { readonly table: string; readonly items: readonly WireItem[]; readonly atEpochMs: number } }
  | { readonly closed: TapStats };

/** A tap opened by {@link openTap}: `stats` is final once `close()` has resolved. */
export interface OpenedTap {
  readonly stats: TapStats;
  close(): Promise<void>;
}

/**
 * Opens a tap on local mode's dynalite, wherever it runs; `onStored` moments are this thread's `performance.now()`.
 *
 * @throws Error when the emulators run in a worker that was not started with {@link TAP_THREAD_MODULE}.
 *
 * @example
 * const local = await startLocal({ dataDir, port: 0, emulatorPreload: [TAP_THREAD_MODULE] });
 * const tap = await openTap(local);
 * … run …
 * await tap.close();
 */
export async function openTap(runtime: LocalRuntime, options: Pick<TapOptions, 'onStored'> = {}): Promise<OpenedTap> {
  const port = Number(new URL(runtime.endpoints.dynamodb).port);
  if (runtime.emulatorThread === 'inline') {
    const tap = tapDynamo({ port, config: runtime.config, ...options });
    return { stats: tap.stats, close: async () => tap.close() };
  }
  const channel = new BroadcastChannel(TAP_CHANNEL);
  const stats: { requests: Record<string, number>; writes: Record<string, TableWrites> } = { requests: {}, writes: {} };
  let started: (() => void) | undefined;
  let closed: (() => void) | undefined;
  channel.onmessage = (event: unknown) => {
    const message = (event as { data: TapReply }).data;
    if ('started' in message) started?.();
    else if ('stored' in message) options.onStored?.(message.stored.table, message.stored.items, message.stored.atEpochMs - performance.timeOrigin);
    else if ('closed' in message) {
      Object.assign(stats.requests, message.closed.requests);
      Object.assign(stats.writes, message.closed.writes);
      closed?.();
    }
  };
  const answer = (set: (done: () => void) => void, what: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the emulator thread did not answer ${what}: start local mode with emulatorPreload: [TAP_THREAD_MODULE]`)), 5_000);
      set(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  const ready = answer((done) => (started = done), 'start');
  channel.postMessage({ cmd: 'start', port, config: runtime.config, wantStored: options.onStored !== undefined } satisfies TapCommand);
  try {
    await ready;
  } catch (e) {
    channel.close();
    throw e;
  }
  return {
    stats,
    close: async () => {
      const done = answer((resolve) => (closed = resolve), 'close');
      channel.postMessage({ cmd: 'close' } satisfies TapCommand);
      try {
        await done;
      } finally {
        channel.close();
      }
    },
  };
}

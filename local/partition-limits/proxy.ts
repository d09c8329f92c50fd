/**
 * A DynamoDB proxy that enforces DynamoDB's per-partition-key throughput limits in front of dynalite.
 *
 * dynalite answers every request as fast as it can; DynamoDB does not: "each individual partition is limited to
 * 1000 write units per second and 3000 read units per second" (Developer Guide, "Understanding DynamoDB warm
 * throughput in different scenarios"), and a partition key's items share one partition. This proxy speaks the
 * DynamoDB JSON protocol on 127.0.0.1, so an SDK client uses it exactly as it would DynamoDB, and meters every
 * request on the partition keys it touches — the table's and, for a write, every global secondary index the item
 * lands in (schemas from DescribeTable; see schema.ts) — with one token bucket per key (key-meter.ts) of the
 * limits divided by `factor`. A request over a key's limit is answered as DynamoDB answers it:
 *
 * - HTTP 400, `__type` `com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException`, the message
 *   DynamoDB gives for a hot key on an on-demand table, and `ThrottlingReasons` (`reason` =
 *   ResourceType+OperationType+LimitType, e.g. `TableWriteKeyRangeThroughputExceeded`, `resource` = the table's or
 *   index's ARN; API Reference, ThrottlingReason: "KeyRangeThroughputExceeded: The request rate directed at a
 *   specific partition key value has exceeded the internal partition-level throughput limits").
 * - BatchWriteItem: "If any requested operations fail because the table's provisioned throughput is exceeded … the
 *   failed operations are returned in the UnprocessedItems response parameter", and "If none of the items can be
 *   processed due to insufficient provisioned throughput on all of the tables in the request, then BatchWriteItem
 *   returns a ProvisionedThroughputExceededException" (API Reference, BatchWriteItem). BatchGetItem likewise with
 *   UnprocessedKeys.
 *
 * Nothing throttled reaches dynalite. Operations it does not meter (Scan, DescribeTable, transactions) pass through
 * and are counted. Approximations, stated: a Query is charged for the items it returns (DynamoDB charges the items
 * it reads before a filter); a PutItem or batch put is charged for the new image only (an overwrite that moves an
 * item to another index key would also cost the old index entry's delete; wellwatch's puts rewrite identical keys).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeyMeter, type Charge, type KeyStats } from './key-meter';
import { applyUpdate, indexResource, keyText, queryPartition, schemaFromDescription, writeCharges, type TableDescription, type TableSchema } from './schema';
import { itemSize, readUnits, type WireItem, type WireValue } from './units';

/** The message DynamoDB sends with a partition-key throttle on an on-demand table. */
export const THROTTLE_MESSAGE =
  'Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. ' +
  'If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html';

const ERROR_TYPE = 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException';
const JSON_TYPE = 'application/x-amz-json-1.0';

/** Options of {@link startPartitionLimitProxy}. */
export interface PartitionLimitProxyOptions {
  /** dynalite's endpoint, `http://127.0.0.1:<port>`. */
  readonly target: string;
  /** Write units per second per partition key (DynamoDB: 1,000 divided by the scale factor). */
  readonly writeUnitsPerSecond: number;
  /** Read units per second per partition key (DynamoDB: 3,000 divided by the scale factor). */
  readonly readUnitsPerSecond: number;
  /** Seconds of capacity a key's bucket holds. @default 1 */
  readonly burstSeconds?: number;
  /** Milliseconds clock of the buckets. @default - `Date.now` */
  readonly now?: () => number;
}

/** Request counters of a proxy; a live object. */
export interface PartitionLimitCounters {
  /** Requests received, by operation. */
  readonly requests: Record<string, number>;
  /** Requests answered with ProvisionedThroughputExceededException, by operation. */
  readonly throttledRequests: Record<string, number>;
  /** Batch entries (BatchWriteItem items, BatchGetItem keys) returned unprocessed. */
  unprocessedEntries: number;
  /** Requests passed through without metering, by operation. */
  readonly unmetered: Record<string, number>;
}

/** A running proxy. */
export interface PartitionLimitProxy {
  /** `http://127.0.0.1:<port>`: give it to the SDK client as its DynamoDB endpoint. */
  readonly endpoint: string;
  readonly counters: PartitionLimitCounters;
  /** Per-key statistics, most throttled first. */
  keyStats(): KeyStats[];
  /**
   * Turns enforcement on or off (on at start). Off, requests pass through unmetered and uncounted by the buckets —
   * a scale run warms its consumers up that way, as a deployment that has been running has them warm.
   */
  enforce(on: boolean): void;
  close(): Promise<void>;
}

/** A DynamoDB error the proxy answers with. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

function reasonOf(c: Charge): { reason: string; resource: string } {
  return { reason: `${c.index ? 'Index' : 'Table'}${c.direction === 'write' ? 'Write' : 'Read'}KeyRangeThroughputExceeded`, resource: c.arn };
}

function throttled(charges: readonly Charge[]): Answer {
  const seen = new Set<string>();
  const reasons = charges.map(reasonOf).filter((r) => !seen.has(r.reason + r.resource) && seen.add(r.reason + r.resource));
  return { status: 400, body: { __type: ERROR_TYPE, message: THROTTLE_MESSAGE, ThrottlingReasons: reasons } };
}

type Request = Record<string, unknown>;

/**
 * Starts a partition-limit proxy in front of `options.target`.
 *
 * @example
 * const proxy = await startPartitionLimitProxy({ target: emulators.dynamodbEndpoint, writeUnitsPerSecond: 10, readUnitsPerSecond: 30 });
 * const cfg = loadConfig({ endpoints: { dynamodb: proxy.endpoint } });
 * …
 * console.table(proxy.keyStats().filter((k) => k.throttledRequests > 0));
 * await proxy.close();
 */
export async function startPartitionLimitProxy(options: PartitionLimitProxyOptions): Promise<PartitionLimitProxy> {
  const target = new URL(options.target);
  const meter = new KeyMeter({
    writeUnitsPerSecond: options.writeUnitsPerSecond,
    readUnitsPerSecond: options.readUnitsPerSecond,
    burstSeconds: options.burstSeconds ?? 1,
    ...(options.now ? { now: options.now } : {}),
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const counters: PartitionLimitCounters = { requests: {}, throttledRequests: {}, unprocessedEntries: 0, unmetered: {} };
  const schemas = new Map<string, Promise<TableSchema | undefined>>();
  let enforcing = true;

  /** One call to dynalite: status and parsed body. */
  const call = (operation: string, body: unknown, headers: http.IncomingHttpHeaders = {}): Promise<{ status: number; json: Record<string, unknown>; raw: Buffer; headers: http.IncomingHttpHeaders }> =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: 'POST',
          path: '/',
          agent,
          headers: {
            ...(headers.authorization ? { authorization: headers.authorization } : { authorization: 'AWS4-HMAC-SHA256 Credential=local/20000101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' }),
            'x-amz-date': String(headers['x-amz-date'] ?? '20000101T000000Z'),
            'content-type': JSON_TYPE,
            'x-amz-target': `DynamoDB_20120810.${operation}`,
            'content-length': payload.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            let json: Record<string, unknown> = {};
            try {
              json = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
            } catch {
              // not JSON: passed on as it is
            }
            resolve({ status: res.statusCode ?? 502, json, raw, headers: res.headers });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  const schemaOf = (table: string): Promise<TableSchema | undefined> => {
    let s = schemas.get(table);
    if (!s) {
      s = call('DescribeTable', { TableName: table }).then((r) => (r.status === 200 ? schemaFromDescription((r.json.Table as TableDescription)) : undefined));
      // A table that does not exist yet is looked up again next time.
      s.then((v) => v === undefined && schemas.delete(table)).catch(() => schemas.delete(table));
      schemas.set(table, s);
    }
    return s;
  };

  /** The stored item under `key`, read straight from dynalite (not metered: it stands for DynamoDB's own read). */
  const current = async (table: string, key: WireItem): Promise<WireItem | undefined> => {
    const r = await call('GetItem', { TableName: table, Key: key, ConsistentRead: true });
    return r.status === 200 ? (r.json.Item as WireItem | undefined) : undefined;
  };

  /** Write charges of one single-item write request. */
  const singleWriteCharges = async (operation: string, input: Request, schema: TableSchema): Promise<Charge[]> => {
    const needsBefore = schema.indexes.length > 0 && operation !== 'PutItem';
    if (operation === 'PutItem') return writeCharges(schema, input.Item as WireItem, undefined);
    const key = input.Key as WireItem;
    const before = needsBefore ? await current(schema.table, key) : undefined;
    if (operation === 'DeleteItem') return writeCharges(schema, undefined, before ?? key);
    const after = applyUpdate(before ?? key, input.UpdateExpression as string | undefined, input.ExpressionAttributeNames as Record<string, string>, input.ExpressionAttributeValues as Record<string, WireValue>);
    return writeCharges(schema, after, before);
  };

  const handleWrite = async (operation: string, input: Request): Promise<Answer | undefined> => {
    const schema = await schemaOf(String(input.TableName));
    if (!schema) return undefined;
    const short = meter.tryTake(await singleWriteCharges(operation, input, schema));
    return short.length > 0 ? throttled(short) : undefined;
  };

  /** BatchWriteItem: admits item by item, forwards the admitted, returns the rest as UnprocessedItems. */
  const handleBatchWrite = async (input: Request, headers: http.IncomingHttpHeaders): Promise<Answer | 'forward'> => {
    const requestItems = input.RequestItems as Record<string, Request[]>;
    const admitted: Record<string, Request[]> = {};
    const unprocessed: Record<string, Request[]> = {};
    const shortAll: Charge[] = [];
    let count = 0;
    for (const [table, requests] of Object.entries(requestItems)) {
      const schema = await schemaOf(table);
      for (const request of requests) {
        count++;
        let charges: Charge[] = [];
        if (schema) {
          const put = request.PutRequest as { Item: WireItem } | undefined;
          const del = request.DeleteRequest as { Key: WireItem } | undefined;
          if (put) charges = writeCharges(schema, put.Item, undefined);
          else if (del) charges = writeCharges(schema, undefined, (schema.indexes.length > 0 ? await current(table, del.Key) : undefined) ?? del.Key);
        }
        const short = meter.tryTake(charges);
        shortAll.push(...short);
        (short.length > 0 ? unprocessed : admitted)[table] = [...((short.length > 0 ? unprocessed : admitted)[table] ?? []), request];
      }
    }
    const withheld = Object.values(unprocessed).reduce((a, r) => a + r.length, 0);
    if (withheld === 0) return 'forward';
    if (withheld === count) return throttled(shortAll);
    counters.unprocessedEntries += withheld;
    const up = await call('BatchWriteItem', { ...input, RequestItems: admitted }, headers);
    if (up.status !== 200) return { status: up.status, body: up.json };
    const merged: Record<string, unknown[]> = { ...((up.json.UnprocessedItems as Record<string, unknown[]>) ?? {}) };
    for (const [table, requests] of Object.entries(unprocessed)) merged[table] = [...(merged[table] ?? []), ...requests];
    return { status: 200, body: { ...up.json, UnprocessedItems: merged } };
  };

  /** GetItem and Query: admitted while the key's bucket is not empty, charged for what they returned. */
  const handleRead = async (operation: string, input: Request, headers: http.IncomingHttpHeaders): Promise<Answer | 'forward'> => {
    const schema = await schemaOf(String(input.TableName));
    if (!schema) return 'forward';
    const index = typeof input.IndexName === 'string' ? schema.indexes.find((i) => i.name === input.IndexName) : undefined;
    const resource = index ? indexResource(schema, index) : schema.table;
    const key =
      operation === 'GetItem'
        ? keyText((input.Key as WireItem)[schema.hashKey])
        : queryPartition(index?.hashKey ?? schema.hashKey, input.KeyConditionExpression as string | undefined, input.ExpressionAttributeNames as Record<string, string>, input.ExpressionAttributeValues as Record<string, WireValue>);
    if (key === undefined) return 'forward';
    const charge: Charge = { resource, key, direction: 'read', units: 0, arn: index?.arn ?? schema.arn, index: index !== undefined };
    if (!meter.mayRead(charge)) return throttled([charge]);
    const up = await call(operation, input, headers);
    if (up.status === 200) {
      const items = operation === 'GetItem' ? (up.json.Item ? [up.json.Item as WireItem] : []) : ((up.json.Items as WireItem[] | undefined) ?? []);
      // Global secondary indexes are read eventually consistent only.
      meter.chargeRead({ resource, key, units: readUnits(items.reduce((a, i) => a + itemSize(i), 0), !index && input.ConsistentRead === true) });
    }
    return { status: up.status, body: up.json };
  };

  /** BatchGetItem: keys over their limit come back as UnprocessedKeys; all of them: the exception. */
  const handleBatchGet = async (input: Request, headers: http.IncomingHttpHeaders): Promise<Answer | 'forward'> => {
    const requestItems = input.RequestItems as Record<string, Request & { Keys: WireItem[] }>;
    const admitted: Record<string, Request> = {};
    const unprocessed: Record<string, Request> = {};
    const refused: Charge[] = [];
    let count = 0;
    const schemaByTable = new Map<string, TableSchema | undefined>();
    for (const [table, spec] of Object.entries(requestItems)) {
      const schema = await schemaOf(table);
      schemaByTable.set(table, schema);
      const keep: WireItem[] = [];
      const back: WireItem[] = [];
      for (const k of spec.Keys) {
        count++;
        const key = schema ? keyText(k[schema.hashKey]) : undefined;
        const charge: Charge | undefined = schema && key !== undefined ? { resource: table, key, direction: 'read', units: 0, arn: schema.arn, index: false } : undefined;
        if (charge && !meter.mayRead(charge)) {
          back.push(k);
          refused.push(charge);
        } else keep.push(k);
      }
      if (keep.length) admitted[table] = { ...spec, Keys: keep };
      if (back.length) unprocessed[table] = { ...spec, Keys: back };
    }
    if (refused.length === count && count > 0) return throttled(refused);
    counters.unprocessedEntries += refused.length;
    const up = await call('BatchGetItem', { ...input, RequestItems: admitted }, headers);
    if (up.status !== 200) return { status: up.status, body: up.json };
    for (const [table, items] of Object.entries((up.json.Responses as Record<string, WireItem[]>) ?? {})) {
      const schema = schemaByTable.get(table);
      if (!schema) continue;
      const consistent = requestItems[table]?.ConsistentRead === true;
      for (const item of items) {
        const key = keyText(item[schema.hashKey]);
        if (key !== undefined) meter.chargeRead({ resource: table, key, units: readUnits(itemSize(item), consistent) });
      }
    }
    if (refused.length === 0) return { status: 200, body: up.json };
    const merged: Record<string, unknown> = { ...((up.json.UnprocessedKeys as Record<string, unknown>) ?? {}), ...unprocessed };
    return { status: 200, body: { ...up.json, UnprocessedKeys: merged } };
  };

  const respond = (res: http.ServerResponse, a: Answer): void => {
    if (res.destroyed || res.writableEnded) return;
    const body = Buffer.from(JSON.stringify(a.body));
    res.writeHead(a.status, { 'content-type': JSON_TYPE, 'content-length': body.length, 'x-amzn-requestid': `partition-limits-${Date.now().toString(36)}` });
    res.end(body);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const amzTarget = String(req.headers['x-amz-target'] ?? '');
    const operation = amzTarget.slice(amzTarget.indexOf('.') + 1);
    bump(counters.requests, operation);
    let input: Request = {};
    try {
      input = raw.length ? (JSON.parse(raw.toString('utf8')) as Request) : {};
    } catch {
      // dynalite answers the malformed request itself
    }
    let answer: Answer | 'forward' | undefined;
    switch (enforcing ? operation : 'unenforced') {
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem':
        answer = (await handleWrite(operation, input)) ?? 'forward';
        break;
      case 'BatchWriteItem':
        answer = await handleBatchWrite(input, req.headers);
        break;
      case 'GetItem':
      case 'Query':
        answer = await handleRead(operation, input, req.headers);
        break;
      case 'BatchGetItem':
        answer = await handleBatchGet(input, req.headers);
        break;
      default:
        bump(counters.unmetered, operation);
        answer = 'forward';
    }
    if (answer !== 'forward' && answer.status === 400 && (answer.body as { __type?: string }).__type === ERROR_TYPE) bump(counters.throttledRequests, operation);
    if (answer !== 'forward') {
      respond(res, answer);
      return;
    }
    const up = await call(operation, input, req.headers);
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(up.status, { 'content-type': String(up.headers['content-type'] ?? JSON_TYPE), 'content-length': up.raw.length, ...(up.headers['x-amzn-requestid'] ? { 'x-amzn-requestid': up.headers['x-amzn-requestid'] } : {}) });
    res.end(up.raw);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent && !res.destroyed) respond(res, { status: 500, body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: `partition-limit proxy: ${(e as Error).message}` } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counters,
    keyStats: () => meter.stats(),
    enforce: (on) => {
      enforcing = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

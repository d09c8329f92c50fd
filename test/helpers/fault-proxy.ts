/**
 * A fault-injecting HTTP proxy for the DynamoDB and Kinesis JSON protocols, on 127.0.0.1 and an ephemeral port.
 *
 * It sits between an SDK client and an emulator (dynalite, kinesalite) and, for a seeded fraction of the requests
 * it is allowed to touch, misbehaves the way the real services and networks do:
 *
 * - `throughput` / `throttling`: HTTP 400 with the service's JSON error (`ProvisionedThroughputExceededException`,
 *   `ThrottlingException`); nothing reaches the emulator.
 * - `http500` / `http503`: a server error (`InternalServerError` / `ServiceUnavailable`); nothing reaches the emulator.
 * - `drop`: the connection is destroyed before anything is forwarded (the client sees a reset socket).
 * - `delay`: the request IS forwarded and applied, but the answer is held for `delayMs` (longer than the client's
 *   request timeout), so the client gives up on a write that actually landed and retries it.
 * - `partial`: BatchWriteItem forwards only some of its items and answers the rest as `UnprocessedItems`;
 *   PutRecords forwards only some records and answers the rest as failed entries
 *   (`ProvisionedThroughputExceededException`) at their original positions. Requests of other operations get a
 *   `throughput` fault instead.
 *
 * Everything random comes from one seeded PRNG, so a run is reproducible as far as the order of requests is.
 * Faults are counted by kind; the counts are what the reliability tests report.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from '../../lambdas/core/generator';

/** The kinds of fault the proxy injects. */
export const FAULT_KINDS = ['throughput', 'throttling', 'http500', 'http503', 'drop', 'delay', 'partial'] as const;
/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Where healthy requests go, `http://127.0.0.1:<port>`. */
  readonly target: string;
  /** Fraction (0–1) of eligible requests that are faulted. */
  readonly rate: number;
  /** Seed of the PRNG that decides which requests fail and how. */
  readonly seed: number;
  /** Kinds to draw from, uniformly. @default - all of {@link FAULT_KINDS} */
  readonly kinds?: readonly FaultKind[];
  /** How long a `delay` fault holds the answer, milliseconds. @default 1500 */
  readonly delayMs?: number;
  /**
   * Operations (the part of `X-Amz-Target` after the dot, e.g. `BatchWriteItem`) that may be faulted.
   *
   * @default - every operation
   */
  readonly operations?: readonly string[];
}

/** Counters of a proxy; a live object. */
export interface FaultProxyStats {
  /** Requests received. */
  requests: number;
  /** Requests received per operation. */
  byOperation: Record<string, number>;
  /** Requests that were eligible for a fault (their operation is in `operations`). */
  eligible: number;
  /** Faults injected. */
  faulted: number;
  /** Faults injected per kind. */
  byKind: Record<FaultKind, number>;
  /** Items (BatchWriteItem) or records (PutRecords) withheld by `partial` faults. */
  withheldEntries: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>` to give the client as its endpoint. */
  readonly endpoint: string;
  readonly stats: FaultProxyStats;
  /** Changes the fault rate from now on (0 turns faults off). */
  setRate(rate: number): void;
  /** Closes the proxy and every connection it holds. */
  close(): Promise<void>;
}

/** The part of an SDK client's middleware stack this helper uses. */
interface MiddlewareStackLike {
  add(middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>, options: { step: 'deserialize'; name: string; priority?: 'high' | 'low' }): void;
}

/**
 * Makes network errors look under jest as they do in production.
 *
 * jest runs tests in a separate realm: an error raised by Node's `http` module (socket hang up, ECONNRESET) is not
 * `instanceof Error` there, so the SDK's retry middleware wraps it as `new Error('AWS SDK error wrapper for …')`,
 * losing its `name` and `code` — and code that classifies errors by name or code then sees an unknown error. In a
 * plain Node process (Lambda, the CLI) the error arrives intact. This middleware, just outside the HTTP handler,
 * re-creates such errors in the test realm with the same name, code and message.
 *
 * @example
 * const ddb = dynamoClient(cfg); realmSafeErrors(ddb);
 */
export function realmSafeErrors(client: { readonly middlewareStack: { add(...args: never[]): unknown } }): void {
  (client.middlewareStack as unknown as MiddlewareStackLike).add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (e) {
        if (e instanceof Error || typeof e !== 'object' || e === null) throw e;
        const foreign = e as { name?: string; message?: string; code?: string; $metadata?: unknown };
        throw Object.assign(new Error(foreign.message ?? String(e)), { name: foreign.name ?? 'Error', code: foreign.code, $metadata: foreign.$metadata });
      }
    },
    { step: 'deserialize', name: 'realmSafeErrors', priority: 'low' },
  );
}


const DYNAMODB_PREFIX = 'DynamoDB_20120810';
const KINESIS_PREFIX = 'Kinesis_20131202';

function errorType(service: string, name: string): string {
  return service === KINESIS_PREFIX ? name : `com.amazonaws.dynamodb.v20120810#${name}`;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Upstream {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Headers of a forwarded request or answer, without hop-by-hop and length headers (set anew). */
function copyHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const key = k.toLowerCase();
    if (key === 'content-length' || key === 'connection' || key === 'keep-alive' || key === 'transfer-encoding' || key === 'x-amz-crc32') continue;
    out[k] = v;
  }
  return out;
}

/**
 * Starts a fault proxy in front of `options.target`.
 *
 * @example
 * const proxy = await startFaultProxy({ target: emu.dynamodbEndpoint, rate: 0.2, seed: 1 });
 * const cfg = loadConfig({ endpoints: { dynamodb: proxy.endpoint } });
 * …
 * console.log(proxy.stats.byKind);
 * await proxy.close();
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const kinds = options.kinds ?? FAULT_KINDS;
  if (kinds.length === 0) throw new Error('kinds must not be empty');
  const delayMs = options.delayMs ?? 1_500;
  const operations = options.operations ? new Set(options.operations) : undefined;
  const random = mulberry32(options.seed);
  let rate = options.rate;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const timers = new Set<NodeJS.Timeout>();
  const stats: FaultProxyStats = {
    requests: 0,
    byOperation: {},
    eligible: 0,
    faulted: 0,
    byKind: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    withheldEntries: 0,
  };

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          agent,
          headers: { ...copyHeaders(req.headers), host: target.host, 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const answer = (res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body: Buffer): void => {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, { ...headers, 'content-length': body.length });
    res.end(body);
  };

  const answerUpstream = (res: http.ServerResponse, up: Upstream): void => answer(res, up.status, copyHeaders(up.headers), up.body);

  const answerError = (res: http.ServerResponse, service: string, status: number, name: string, message: string): void => {
    const contentType = service === KINESIS_PREFIX ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0';
    const body = Buffer.from(JSON.stringify({ __type: errorType(service, name), message }));
    answer(res, status, { 'content-type': contentType, 'x-amzn-requestid': `fault-${stats.requests}` }, body);
  };

  /** Picks `count` distinct indexes of `0..n-1` with the PRNG. */
  const pick = (n: number, count: number): Set<number> => {
    const all = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    return new Set(all.slice(0, count));
  };

  /** BatchWriteItem: forward part of the items, return the rest as UnprocessedItems. */
  const partialBatchWrite = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> => {
    const input = JSON.parse(body.toString('utf8')) as { RequestItems: Record<string, unknown[]> };
    const flat: { table: string; request: unknown }[] = [];
    for (const [table, requests] of Object.entries(input.RequestItems)) for (const request of requests) flat.push({ table, request });
    const withheldCount = flat.length === 1 ? 1 : 1 + Math.floor(random() * (flat.length - 1));
    const withheld = pick(flat.length, withheldCount);
    stats.withheldEntries += withheld.size;
    const forwarded: Record<string, unknown[]> = {};
    const unprocessed: Record<string, unknown[]> = {};
    flat.forEach(({ table, request }, i) => {
      const into = withheld.has(i) ? unprocessed : forwarded;
      (into[table] ??= []).push(request);
    });
    if (Object.keys(forwarded).length === 0) {
      answer(res, 200, { 'content-type': 'application/x-amz-json-1.0' }, Buffer.from(JSON.stringify({ UnprocessedItems: unprocessed })));
      return;
    }
    const up = await forward(req, Buffer.from(JSON.stringify({ ...input, RequestItems: forwarded })));
    if (up.status !== 200) {
      answerUpstream(res, up);
      return;
    }
    const out = JSON.parse(up.body.toString('utf8')) as { UnprocessedItems?: Record<string, unknown[]> };
    const merged: Record<string, unknown[]> = { ...(out.UnprocessedItems ?? {}) };
    for (const [table, requests] of Object.entries(unprocessed)) merged[table] = [...(merged[table] ?? []), ...requests];
    answer(res, 200, copyHeaders(up.headers), Buffer.from(JSON.stringify({ ...out, UnprocessedItems: merged })));
  };

  /** PutRecords: forward part of the records, answer the rest as failed entries at their positions. */
  const partialPutRecords = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> => {
    const input = JSON.parse(body.toString('utf8')) as { Records: unknown[]; StreamName?: string };
    const n = input.Records.length;
    const withheld = pick(n, n === 1 ? 1 : 1 + Math.floor(random() * (n - 1)));
    stats.withheldEntries += withheld.size;
    const failedEntry = { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (injected fault).' };
    const kept = input.Records.filter((_, i) => !withheld.has(i));
    let upstreamEntries: unknown[] = [];
    let failedUpstream = 0;
    let headers: http.OutgoingHttpHeaders = { 'content-type': 'application/x-amz-json-1.1' };
    if (kept.length > 0) {
      const up = await forward(req, Buffer.from(JSON.stringify({ ...input, Records: kept })));
      if (up.status !== 200) {
        answerUpstream(res, up);
        return;
      }
      const out = JSON.parse(up.body.toString('utf8')) as { Records: unknown[]; FailedRecordCount?: number };
      upstreamEntries = out.Records;
      failedUpstream = out.FailedRecordCount ?? 0;
      headers = copyHeaders(up.headers);
    }
    let k = 0;
    const records = input.Records.map((_, i) => (withheld.has(i) ? failedEntry : upstreamEntries[k++]));
    answer(res, 200, headers, Buffer.from(JSON.stringify({ FailedRecordCount: failedUpstream + withheld.size, Records: records })));
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const body = await readBody(req);
    stats.requests++;
    const amzTarget = String(req.headers['x-amz-target'] ?? '');
    const dot = amzTarget.indexOf('.');
    const service = dot < 0 ? DYNAMODB_PREFIX : amzTarget.slice(0, dot);
    const operation = dot < 0 ? amzTarget : amzTarget.slice(dot + 1);
    stats.byOperation[operation] = (stats.byOperation[operation] ?? 0) + 1;
    const eligible = operations === undefined || operations.has(operation);
    if (eligible) stats.eligible++;
    if (!eligible || !(random() < rate)) {
      answerUpstream(res, await forward(req, body));
      return;
    }
    let kind = kinds[Math.floor(random() * kinds.length)]!;
    if (kind === 'partial' && operation !== 'BatchWriteItem' && operation !== 'PutRecords') kind = 'throughput';
    stats.faulted++;
    stats.byKind[kind]++;
    switch (kind) {
      case 'throughput':
        answerError(res, service, 400, 'ProvisionedThroughputExceededException', 'The level of configured provisioned throughput for the table was exceeded (injected fault).');
        return;
      case 'throttling':
        answerError(res, service, 400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput (injected fault).');
        return;
      case 'http500':
        answerError(res, service, 500, 'InternalServerError', 'Internal server error (injected fault).');
        return;
      case 'http503':
        answerError(res, service, 503, 'ServiceUnavailable', 'Service unavailable (injected fault).');
        return;
      case 'drop':
        req.socket.destroy();
        return;
      case 'delay': {
        const up = await forward(req, body);
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, delayMs);
          timers.add(t);
        });
        answerUpstream(res, up);
        return;
      }
      case 'partial':
        if (operation === 'BatchWriteItem') await partialBatchWrite(req, res, body);
        else await partialPutRecords(req, res, body);
        return;
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // The emulator itself failed or the client went away: tell the client if it is still there.
      if (!res.headersSent && !res.destroyed) answerError(res, DYNAMODB_PREFIX, 500, 'InternalServerError', `proxy: ${(e as Error).message}`);
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
    stats,
    setRate(r: number) {
      rate = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

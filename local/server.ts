/**
 * The local HTTP API and dashboard, on 127.0.0.1 only.
 *
 * | route | answer |
 * |---|---|
 * | `GET /` | the dashboard page; `GET /assets/dashboard.js`, `/assets/dashboard.css` its bundle |
 * | `GET /pumps`, `/pumps/{pump}/readings`, `/alerts`, `/stats`, `/alarms`, `/alarms/{id}`, `POST /alarms/{id}/ack…` | the query API: the same handler as in AWS, given the same payload 2.0 events (see api-event.ts) |
 * | `GET /api/status` | `{shards:[{shardId, state, checkpoint, backlog, …}], idle, counters, schedule, deadLetters, failedBatches}` |
 * | `GET /api/deadletters?limit` | the most recent dead letters (from the JSONL file) |
 * | `GET /api/failed-batches?limit` | the most recent on-failure records of the event source |
 * | `POST /api/rollup` | runs the rollup handler with the JSON body as its event, returns its result |
 * | `POST /api/invoke` | `{shardId, records:[{sequenceNumber, partitionKey, data64, arrivalMs}]}`: invokes the consumer once through the runner (`wellwatch replay`), returns `{outcome, failedAt, error, batchItemFailures}` |
 * | `POST /api/failed-batches/delete` | `{ids}`: removes those on-failure records (ids from `failedBatchId`), returns `{removed}` |
 * | `POST /api/deadletters/delete` | `{ids}`: removes those dead letters (ids from `deadLetterId`), returns `{removed}` |
 *
 * The `/api/…` routes are local-only (they describe the emulated event source). Bad parameters get a 4xx with
 * `{error, code}`. Because the emulators accept any credentials, the server also refuses requests whose `Host` is
 * not a loopback name (DNS rebinding) and rollups whose body is not `application/json` (cross-site form posts).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, InternalError, isWellwatchError, WellwatchError, WriteError } from '../lambdas/core/errors';
import type { ApiHandler } from '../lambdas/api/handler';
import { RollupError } from '../lambdas/rollup/handler';
import { deadLetterId, failedBatchId, type BatchInfoLike, type DeadLetterLike } from '../lambdas/core/message-ids';
import { removeJsonLines } from '../lambdas/store/jsonl-file';
import { httpApiEvent, writeApiResult } from './api-event';
import { dashboardAssets, dashboardHtml, type DashboardAssets } from './dashboard';
import { LOCAL_HOST } from './emulators';
import { EventSourceRunnerError, MAX_INVOKE_PAYLOAD_BYTES, type EventSourceRunner, type ReplayRecord } from './event-source-runner';
import type { Scheduler } from './scheduler';

/** Default port of the API and dashboard. */
export const DEFAULT_API_PORT = 4680;

/** Default and maximum number of items a list endpoint returns. */
export const LIST_LIMITS = { default: 1_000, max: 100_000 } as const;

const MAX_BODY_BYTES = 64 * 1024;

/** What the server reads from. */
export interface ServerDeps<E = unknown, R = unknown> {
  readonly runner: Pick<EventSourceRunner, 'backlog' | 'isIdle' | 'shards' | 'counters' | 'invokeWith'>;
  readonly scheduler: Pick<Scheduler<E, R>, 'runNow' | 'next' | 'history'>;
  /** JSONL file of dead letters (the consumer's file sink). */
  readonly deadLettersFile?: string;
  /** JSONL file of the event source's on-failure records. */
  readonly failedBatchesFile?: string;
  /** The query API's handler (lambdas/api/handler.ts), served at its AWS paths. */
  readonly api: ApiHandler;
}

/** Options of {@link startServer}. */
export interface ServerOptions {
  /**
   * Port on 127.0.0.1.
   *
   * @default 4680 - 0 picks a free port
   */
  readonly port?: number;
  /** Where to report unexpected errors. @default - silent */
  readonly log?: (line: string) => void;
}

/** A running server. */
export interface LocalServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A request error with its HTTP status. */
class HttpError extends WellwatchError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

type Params = URLSearchParams;

function allowOnly(params: Params, allowed: readonly string[]): void {
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      throw new HttpError(400, 'unknown-parameter', `unknown parameter ${JSON.stringify(key)}; allowed: ${allowed.join(', ') || 'none'}`);
    }
  }
}

function single(params: Params, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new HttpError(400, 'repeated-parameter', `parameter ${name} given ${all.length} times`);
  const v = all[0];
  return v === undefined || v === '' ? undefined : v;
}

function intParam(params: Params, name: string, fallback: number, min: number, max: number): number {
  const raw = single(params, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new HttpError(400, `bad-${name}`, `${name} must be a whole number ${min}–${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** Reads the last `limit` JSON lines of a JSONL file (missing file = none). */
function tailJsonl(file: string | undefined, limit: number): unknown[] {
  if (!file) return [];
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(Math.max(0, lines.length - limit)).map((l) => {
    try {
      return JSON.parse(l) as unknown;
    } catch {
      return { unparsable: l };
    }
  });
}

/** Counts lines of a JSONL file, cached by size and mtime. */
function lineCounter(): (file: string | undefined) => number {
  const cache = new Map<string, { size: number; mtimeMs: number; count: number }>();
  return (file) => {
    if (!file) return 0;
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return 0;
    }
    const hit = cache.get(file);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.count;
    const text = fs.readFileSync(file, 'utf8');
    let count = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
    cache.set(file, { size: st.size, mtimeMs: st.mtimeMs, count });
    return count;
  };
}

function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return true; // HTTP/1.0 clients; the socket is loopback-only anyway
  const host = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0];
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host.endsWith('.localhost');
}

function readBody(req: http.IncomingMessage, maxBytes: number = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new HttpError(413, 'body-too-large', `request body must be at most ${maxBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Reads a JSON object body (content-type application/json, like the rollup route: no cross-site form posts). */
async function jsonBody(req: http.IncomingMessage, route: string, maxBytes?: number): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'unsupported-media-type', `${route} needs content-type: application/json`);
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req, maxBytes));
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, 'bad-json', `body must be JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'bad-body', `${route}: body must be a JSON object`);
  return body as Record<string, unknown>;
}

/** The `ids` array of a delete request. */
function idsOf(body: Record<string, unknown>, route: string): Set<string> {
  const ids = body.ids;
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id === '')) {
    throw new HttpError(400, 'bad-ids', `${route}: body must be {"ids": ["…", …]} with non-empty strings`);
  }
  return new Set(ids as string[]);
}

/** The records of an invoke request, checked field by field. */
function replayRecordsOf(body: Record<string, unknown>): { shardId: string; records: ReplayRecord[] } {
  const { shardId, records } = body;
  if (typeof shardId !== 'string' || !/^shardId-\d{1,20}$/.test(shardId)) {
    throw new HttpError(400, 'bad-shard', `shardId must look like shardId-000000000000, got ${JSON.stringify(shardId)}`);
  }
  if (!Array.isArray(records) || records.length === 0 || records.length > 10_000) {
    throw new HttpError(400, 'bad-records', 'records must be an array of 1–10000 {sequenceNumber, partitionKey, data64, arrivalMs}');
  }
  const out = records.map((r: any, i: number) => {
    if (
      typeof r !== 'object' || r === null || typeof r.sequenceNumber !== 'string' || !/^\d{1,128}$/.test(r.sequenceNumber) ||
      typeof r.partitionKey !== 'string' || typeof r.data64 !== 'string' || typeof r.arrivalMs !== 'number' || !Number.isFinite(r.arrivalMs)
    ) {
      throw new HttpError(400, 'bad-records', `records[${i}] must be {sequenceNumber (digits), partitionKey, data64, arrivalMs (epoch ms)}`);
    }
    return { sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey, data64: r.data64, arrivalMs: r.arrivalMs } as ReplayRecord;
  });
  return { shardId, records: out };
}

/**
 * Starts the API and dashboard on 127.0.0.1.
 *
 * @example
 * const server = await startServer({ runner, scheduler, api, deadLettersFile }, { port: 0 });
 * console.log(`${server.url}/api/status`);
 * await server.close();
 */
export async function startServer<E, R>(deps: ServerDeps<E, R>, options: ServerOptions = {}): Promise<LocalServer> {
  const log = options.log ?? (() => undefined);
  const countLines = lineCounter();
  const routes: Record<string, (params: Params, req: http.IncomingMessage) => Promise<{ body: unknown; headers?: Record<string, string> }>> = {
    'GET /api/status': async (params) => {
      allowOnly(params, ['backlogLimit']);
      const limit = intParam(params, 'backlogLimit', 100_000, 1, 1_000_000);
      const [backlog, idle] = await Promise.all([deps.runner.backlog({ limit }), deps.runner.isIdle()]);
      const states = new Map(deps.runner.shards().map((s) => [s.shardId, s]));
      const history = deps.scheduler.history();
      return {
        body: {
          shards: backlog.map((b) => ({
            shardId: b.shardId,
            state: states.get(b.shardId)?.state,
            checkpoint: b.checkpoint ?? null,
            backlog: b.backlog,
            backlogTruncated: b.truncated,
            inFlight: states.get(b.shardId)?.inFlight ?? false,
          })),
          idle,
          counters: { ...deps.runner.counters },
          schedule: { next: deps.scheduler.next(), lastRun: history[history.length - 1] ?? null },
          deadLetters: countLines(deps.deadLettersFile),
          failedBatches: countLines(deps.failedBatchesFile),
        },
      };
    },
    'GET /api/deadletters': async (params) => {
      allowOnly(params, ['limit']);
      return { body: tailJsonl(deps.deadLettersFile, intParam(params, 'limit', 100, 1, LIST_LIMITS.max)) };
    },
    'GET /api/failed-batches': async (params) => {
      allowOnly(params, ['limit']);
      return { body: tailJsonl(deps.failedBatchesFile, intParam(params, 'limit', 100, 1, LIST_LIMITS.max)) };
    },
    'POST /api/rollup': async (params, req) => {
      allowOnly(params, []);
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/json') throw new HttpError(415, 'unsupported-media-type', 'POST /api/rollup needs content-type: application/json');
      const text = await readBody(req);
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch (e) {
        throw new HttpError(400, 'bad-json', `body must be JSON: ${(e as Error).message}`);
      }
      if (typeof event !== 'object' || event === null || Array.isArray(event)) {
        throw new HttpError(400, 'bad-event', "body must be a JSON object, e.g. {\"date\":\"2014-03-10\"} or {\"mode\":\"pending\"}");
      }
      return { body: await deps.scheduler.runNow(event as E, 'api') };
    },
    'POST /api/invoke': async (params, req) => {
      allowOnly(params, []);
      // The Lambda Invoke API of local mode: the event is built by the runner, so only the records travel. The
      // body limit leaves room for JSON around Lambda's 6 MB synchronous payload limit.
      const { shardId, records } = replayRecordsOf(await jsonBody(req, 'POST /api/invoke', 2 * MAX_INVOKE_PAYLOAD_BYTES));
      try {
        return { body: await deps.runner.invokeWith(records, shardId) };
      } catch (e) {
        // Local mode is shutting down: nothing was invoked; the caller may try again once it runs again.
        if (e instanceof EventSourceRunnerError) throw new HttpError(503, 'stopping', e.message);
        throw e;
      }
    },
    'POST /api/failed-batches/delete': async (params, req) => {
      allowOnly(params, []);
      const ids = idsOf(await jsonBody(req, 'POST /api/failed-batches/delete'), 'POST /api/failed-batches/delete');
      if (!deps.failedBatchesFile) return { body: { removed: 0 } };
      return { body: { removed: await removeJsonLines<BatchInfoLike>(deps.failedBatchesFile, (r) => ids.has(failedBatchId(r))) } };
    },
    'POST /api/deadletters/delete': async (params, req) => {
      allowOnly(params, []);
      const ids = idsOf(await jsonBody(req, 'POST /api/deadletters/delete'), 'POST /api/deadletters/delete');
      if (!deps.deadLettersFile) return { body: { removed: 0 } };
      return { body: { removed: await removeJsonLines<DeadLetterLike>(deps.deadLettersFile, (l) => ids.has(deadLetterId(l))) } };
    },
  };
  const knownPaths = new Set(Object.keys(routes).map((k) => k.split(' ')[1]));
  const isApiPath = (p: string) => p === '/pumps' || p === '/alerts' || p === '/stats' || p === '/alarms' || p.startsWith('/pumps/') || p.startsWith('/alarms/');
  let assets: Promise<DashboardAssets> | undefined;
  const getAssets = (): Promise<DashboardAssets> => {
    if (!assets) {
      const building = dashboardAssets();
      assets = building;
      building.catch(() => {
        if (assets === building) assets = undefined; // a failed build is retried on the next request
      });
    }
    return assets;
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(text);
  };

  const server = http.createServer((req, res) => {
    // Detached from the server (it takes no promise); the catch below answers every error, and whatever escapes it
    // (an answer that cannot be sent, e.g. after the dashboard's headers went out) is logged and the connection
    // dropped — never an unhandled rejection, which would end local mode.
    (async () => {
      try {
        if (!isLoopbackHost(req.headers.host)) throw new HttpError(403, 'forbidden-host', 'only loopback host names are served');
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (url.pathname === '/' || url.pathname === '/index.html') {
          if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method-not-allowed', `${req.method} is not allowed on /`);
          res.writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': 'no-store',
            'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
          });
          res.end(req.method === 'HEAD' ? undefined : dashboardHtml());
          return;
        }
        if (url.pathname === '/assets/dashboard.js' || url.pathname === '/assets/dashboard.css') {
          if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method-not-allowed', `${req.method} is not allowed on ${url.pathname}`);
          const built = await getAssets();
          const js = url.pathname.endsWith('.js');
          res.writeHead(200, { 'content-type': js ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : js ? built.js : built.css);
          return;
        }
        if (isApiPath(url.pathname)) {
          // The query API: the same handler and event shape as behind API Gateway.
          // Bodies (alarm actions) pass through as text; the handler itself insists on JSON (its CSRF guard).
          const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
          const event = httpApiEvent({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, sourceIp: req.socket.remoteAddress, body });
          writeApiResult(res, await deps.api(event), req.method === 'HEAD');
          return;
        }
        const route = routes[`${req.method} ${url.pathname}`];
        if (!route) {
          if (knownPaths.has(url.pathname)) throw new HttpError(405, 'method-not-allowed', `${req.method} is not allowed on ${url.pathname}`);
          throw new HttpError(404, 'not-found', `no such endpoint: ${url.pathname} (see GET / for the dashboard, /pumps for the API, /api/status for the state)`);
        }
        const out = await route(url.searchParams, req);
        send(res, 200, out.body, out.headers);
      } catch (e) {
        if (e instanceof HttpError) {
          send(res, e.status, { error: e.message, code: e.code });
        } else if (isWellwatchError(e)) {
          // Bad time bounds, bad rollup events: the caller's input, explained. A failed write or a bug is ours: 500.
          const status = e instanceof RollupError || e instanceof WriteError || e instanceof InternalError ? 500 : 400;
          const code = (e as { code?: unknown }).code;
          send(res, status, { error: e.message, code: typeof code === 'string' ? code : e.name, ...(e instanceof RollupError ? { result: e.result, failures: e.failures } : {}) });
        } else {
          log(`api: ${req.method} ${req.url} failed: ${(e as Error)?.stack ?? String(e)}`);
          send(res, 500, { error: (e as Error)?.message ?? String(e), code: 'internal' });
        }
      }
    })().catch((e: unknown) => {
      log(`api: ${req.method} ${req.url} failed and could not be answered: ${describeError(e)}`);
      res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_API_PORT, LOCAL_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // Bundle the dashboard now rather than on the first page load (a failure is logged and retried on request).
  getAssets().catch((e: unknown) => log(`dashboard: bundling failed: ${(e as Error)?.message ?? String(e)}`));
  let closed: Promise<void> | undefined;
  return {
    url: `http://${LOCAL_HOST}:${port}`,
    port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), 2_000);
        force.unref();
      });
      return closed;
    },
  };
}

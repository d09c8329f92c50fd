/**
 * The query API: API Gateway HTTP API (payload format 2.0) events in, responses out.
 *
 * | route | answer |
 * |---|---|
 * | `GET /pumps?limit&cursor&format` | every pump seen, its latest reading, open alarms and status |
 * | `GET /pumps/{pump}/readings?from&to&resolution&points&limit&cursor&format` | readings or buckets of one pump |
 * | `GET /alerts?from&to&pump&limit&cursor&format` | alerting readings |
 * | `GET /stats?pump&from&to&limit&cursor&format` | daily statistics rows |
 * | `GET /alarms?open&pump&kind&severity&from&to&limit&cursor&format` | alarms by raised time (the CLI's columns) |
 * | `GET /alarms/{id}` | one alarm with its audit trail |
 * | `POST /alarms/{id}/ack`, `/shelve`, `/unshelve` | operator actions; JSON body `{by, note?}` (+ `until` to shelve) |
 *
 * The same handler runs behind API Gateway in AWS and behind `wellwatch local`'s loopback server, which turns each
 * HTTP request into the same event. Refusals are JSON `{error, code, parameter?}` with 400 (bad or missing
 * parameter or body field, named), 404 (unknown route, pump or alarm), 405 (method), 409 (action on a closed alarm),
 * 415 (POST body not JSON) or 422 (read budget); nothing here ever Scans, and
 * a request reads at most `maxItemsRead` items (see API_LIMITS in config.ts).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadApiSettings, loadConfig, type ApiSettings, type WellwatchConfig } from '../config';
import { createAlarmStore } from '../store/alarm-store';
import { createCatalogStore } from '../store/catalog-store';
import { dynamoClient } from '../store/clients';
import { createNotifier, type Notifier } from '../store/notifier';
import { ALARMS_PARAMS, ALARM_ACTIONS, alarmActionRoute, checkAlarmId, getAlarmRoute, listAlarmsRoute, type AlarmActionName, type AlarmContext } from './alarms';
import { LIST_PARAMS, alertsRoute, pumpsRoute, statsRoute } from './lists';
import { READINGS_PARAMS, readingsRoute, type ReadingsContext } from './readings';
import { ApiError, Params, checkPump, json } from './request';

/** The API's Lambda handler type. */
export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** Replaceable collaborators of the API handler. */
export interface ApiDeps {
  /** @default - `dynamoClient(cfg)` */
  readonly dynamo?: DynamoDBClient;
  /** Request time (for default ranges and staleness). @default - `new Date()` */
  readonly clock?: () => Date;
  /**
   * Publishes alarm actions' notifications right away.
   *
   * @default - `createNotifier(cfg)` when `cfg.alarms.notifications` is set, else none (the scheduled check does)
   */
  readonly notifier?: Notifier;
  /** Receives a JSON line for each unexpected error. @default - `console.error` */
  readonly log?: (line: string) => void;
}

const READINGS_PATH = /^\/pumps\/([^/]+)\/readings$/;
const ALARM_PATH = /^\/alarms\/([^/]+)(?:\/([^/]+))?$/;

/**
 * Builds the API handler.
 *
 * @example
 * const api = createApiHandler(cfg, loadApiSettings({ cursorSecret }), { dynamo });
 * const res = await api(event); // event: APIGatewayProxyEventV2
 */
export function createApiHandler(cfg: WellwatchConfig, api: ApiSettings, deps: ApiDeps = {}): ApiHandler {
  const dynamo = deps.dynamo ?? dynamoClient(cfg);
  const ctx: ReadingsContext = { dynamo, cfg, api, now: deps.clock ?? (() => new Date()) };
  const log = deps.log ?? ((line: string) => console.error(line));
  const catalog = createCatalogStore(dynamo, cfg);
  const knownPump = (pump: string) => catalog.isRegistered(pump);
  const alarms: AlarmContext = {
    ctx,
    store: createAlarmStore(dynamo, cfg),
    notifier: deps.notifier ?? (cfg.alarms.notifications ? createNotifier(cfg) : undefined),
  };

  const route = async (method: string, path: string, query: string, event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const alarm = ALARM_PATH.exec(path);
    if (alarm && alarm[2] !== undefined && !(ALARM_ACTIONS as readonly string[]).includes(alarm[2])) {
      throw new ApiError(404, 'not-found', `no such route: ${path} (alarm actions: ${ALARM_ACTIONS.join(', ')})`);
    }
    if (alarm && alarm[2] !== undefined) {
      if (method !== 'POST') throw new ApiError(405, 'method-not-allowed', `${method} is not allowed on ${path}; use POST`);
      const id = checkAlarmId(alarm[1]!);
      new Params(query, []); // refuses any query parameter, naming it
      return alarmActionRoute(alarms, id, alarm[2] as AlarmActionName, event);
    }
    const readings = READINGS_PATH.exec(path);
    const known = readings || alarm || path === '/pumps' || path === '/alerts' || path === '/stats' || path === '/alarms';
    if (!known) throw new ApiError(404, 'not-found', `no such route: ${path} (routes: /pumps, /pumps/{pump}/readings, /alerts, /stats, /alarms, /alarms/{id})`);
    if (method !== 'GET') throw new ApiError(405, 'method-not-allowed', `${method} is not allowed on ${path}; use GET`);
    if (readings) {
      let raw: string;
      try {
        raw = decodeURIComponent(readings[1]!);
      } catch {
        throw new ApiError(400, 'bad-parameter', `pump in the path is not valid percent-encoding: ${JSON.stringify(readings[1])}`, 'pump');
      }
      const pump = checkPump(raw);
      const params = new Params(query, READINGS_PARAMS);
      if (!(await knownPump(pump))) throw new ApiError(404, 'unknown-pump', `no pump ${JSON.stringify(pump)} has sent readings`, 'pump');
      return readingsRoute(ctx, pump, params);
    }
    if (alarm) {
      const id = checkAlarmId(alarm[1]!);
      return getAlarmRoute(alarms, id, new Params(query, ['format']));
    }
    if (path === '/alarms') return listAlarmsRoute(alarms, new Params(query, ALARMS_PARAMS));
    if (path === '/pumps') return pumpsRoute(ctx, new Params(query, LIST_PARAMS.pumps), alarms.store);
    if (path === '/alerts') return alertsRoute(ctx, new Params(query, LIST_PARAMS.alerts), knownPump);
    return statsRoute(ctx, new Params(query, LIST_PARAMS.stats), knownPump);
  };

  return async (event) => {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? '/';
    try {
      return await route(method, path, event.rawQueryString ?? '', event);
    } catch (e) {
      if (e instanceof ApiError) return json(e.status, { error: e.message, code: e.code, ...(e.parameter ? { parameter: e.parameter } : {}) });
      log(JSON.stringify({ level: 'ERROR', message: 'api request failed', service: cfg.names.serviceName, method, path, error: (e as Error)?.stack ?? String(e), requestId: event.requestContext?.requestId }));
      return json(500, { error: 'internal error', code: 'internal', requestId: event.requestContext?.requestId ?? null });
    }
  };
}

let lazy: ApiHandler | undefined;

/**
 * The Lambda entry point: builds the handler from the environment on first use and reuses it while warm.
 *
 * @example
 * // API Gateway HTTP API, Lambda proxy integration, payload format 2.0
 */
export const handler = (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  lazy ??= createApiHandler(loadConfig(), loadApiSettings());
  return lazy(event);
};

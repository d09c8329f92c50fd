/**
 * The alarm routes of the query API: list, show (with the audit trail), acknowledge, shelve, unshelve.
 *
 * Thin over lambdas/alarms/actions.ts, the functions the CLI uses, so both refuse and change the same things:
 * unknown alarm 404, acting on a closed alarm 409 (the CLI fails with the same message), acknowledging an
 * acknowledged alarm or unshelving one that is not shelved 200 with no transitions (idempotent, like the CLI's
 * "nothing to do"). Listing reads at most `maxItemsRead` alarm items (422 beyond) and never Scans.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { API_LIMITS } from '../config';
import { AlarmClosedError, AlarmReadBudgetError, ALARM_CSV_COLUMNS, ALARM_SEVERITIES, NoSuchAlarmError, actOnAlarm, alarmCsvRow, alarmJson, findAlarm, listAlarms, type AlarmRow } from '../alarms/actions';
import { ALARM_KINDS, type AlarmKind, type Severity } from '../core/alarm-rules';
import { parseAlarmId, type AlarmAction } from '../core/alarm-state';
import { CursorError, signCursor, verifyCursor } from '../core/cursor';
import type { AlarmStore } from '../store/alarm-store';
import type { Notifier } from '../store/notifier';
import type { ReadingsContext } from './readings';
import { ApiError, csv, json, type Params } from './request';

/** Query parameters of `GET /alarms`. */
export const ALARMS_PARAMS = ['open', 'pump', 'kind', 'severity', 'from', 'to', 'limit', 'cursor', 'format'] as const;

/** Operator actions on one alarm, by the last path segment. */
export const ALARM_ACTIONS = ['ack', 'shelve', 'unshelve'] as const;
export type AlarmActionName = (typeof ALARM_ACTIONS)[number];

/** Longest `by` and `note` accepted (the audit trail is stored inside the state item, 400 KB at most). */
export const ALARM_BODY_LIMITS = { by: 64, note: 500 } as const;

/** What the alarm routes need besides the readings context. */
export interface AlarmContext {
  readonly ctx: ReadingsContext;
  readonly store: AlarmStore;
  /** Publishes an action's notification right away; without one the scheduled alarm check does (within 5 min). */
  readonly notifier?: Notifier;
}

const TIME_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$/;

/** `YYYY-MM-DDTHH:MM:SSZ` that names a real instant (no 2014-02-30, no 25:00). */
function isRealTime(ts: string): boolean {
  const ms = Date.parse(ts);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === ts.slice(0, 19);
}

function timeParam(params: Params, name: 'from' | 'to'): string | undefined {
  const raw = params.get(name);
  if (raw === undefined) return undefined;
  if (!TIME_RE.test(raw) || !isRealTime(raw.length === 10 ? `${raw}T00:00:00Z` : raw)) {
    throw new ApiError(400, 'bad-parameter', `${name} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), got ${JSON.stringify(raw)}`, name);
  }
  return raw;
}

/** `open`: present without a value or `true` → only open alarms; `false` → all. */
function openParam(params: Params): boolean {
  const raw = params.raw('open');
  if (raw === undefined) return false;
  if (raw === '' || raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ApiError(400, 'bad-parameter', `open must be true or false (or given without a value), got ${JSON.stringify(raw)}`, 'open');
}

/**
 * `GET /alarms?open&pump&kind&severity&from&to&limit&cursor&format`: alarms ordered by raised time then id, page by
 * page; the cursor is the last returned alarm's `raised_time id`, signed together with the filters.
 */
export async function listAlarmsRoute(ac: AlarmContext, params: Params): Promise<APIGatewayProxyStructuredResultV2> {
  const { ctx } = ac;
  const format = params.format();
  const open = openParam(params);
  const pump = params.pump();
  const kind = params.oneOf('kind', Object.values(ALARM_KINDS) as AlarmKind[]);
  const severity = params.oneOf('severity', ALARM_SEVERITIES as Severity[]);
  const from = timeParam(params, 'from');
  const to = timeParam(params, 'to');
  if (from !== undefined && to !== undefined && from.slice(0, to.length) > to) throw new ApiError(400, 'bad-parameter', `from (${from}) must not be after to (${to})`, 'from');
  const limit = params.int('limit', API_LIMITS.defaultPageSize, 1, API_LIMITS.maxPageSize);
  const scope = `alarms|${open}|${pump ?? '*'}|${kind ?? '*'}|${severity ?? '*'}|${from ?? ''}|${to ?? ''}`;
  const cursor = params.get('cursor');
  let after: string | undefined;
  if (cursor !== undefined) {
    try {
      after = verifyCursor(ctx.api.cursorSecret, scope, cursor);
    } catch (e) {
      if (e instanceof CursorError) throw new ApiError(400, 'bad-cursor', e.message, 'cursor');
      throw e;
    }
  }
  let rows: AlarmRow[];
  try {
    rows = await listAlarms(ac.store, { open, pump, kind, severity, from, to }, ctx.now(), { maxItems: ctx.api.maxItemsRead });
  } catch (e) {
    if (e instanceof AlarmReadBudgetError) throw new ApiError(422, 'read-budget', e.message);
    throw e;
  }
  const key = (r: AlarmRow) => `${r.alarm.raisedTime} ${r.alarm.id}`;
  const rest = after === undefined ? rows : rows.filter((r) => key(r) > after!);
  const page = rest.slice(0, limit);
  const next = rest.length > limit ? signCursor(ctx.api.cursorSecret, scope, key(page[page.length - 1]!)) : null;
  if (format === 'csv') return csv([ALARM_CSV_COLUMNS.join(','), ...page.map(alarmCsvRow)], next);
  return json(200, { count: page.length, items: page.map(alarmJson), nextCursor: next });
}

/** Validates an alarm id from the path (400 naming `id` when it is not one). */
export function checkAlarmId(raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, 'bad-parameter', `alarm id in the path is not valid percent-encoding: ${JSON.stringify(raw)}`, 'id');
  }
  try {
    parseAlarmId(id);
  } catch {
    throw new ApiError(400, 'bad-parameter', `id must be an alarm id PUMP.RULE.YYYYMMDDTHHMMSSZ, got ${JSON.stringify(id)}`, 'id');
  }
  return id;
}

async function found<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof NoSuchAlarmError) throw new ApiError(404, 'unknown-alarm', e.message, 'id');
    if (e instanceof AlarmClosedError) throw new ApiError(409, 'alarm-closed', e.message, 'id');
    throw e;
  }
}

/** `GET /alarms/{id}`: the alarm (open or archived) with its audit trail. */
export async function getAlarmRoute(ac: AlarmContext, id: string, params: Params): Promise<APIGatewayProxyStructuredResultV2> {
  params.format(); // only json: the trail does not fit one CSV row
  if (params.get('format') === 'csv') throw new ApiError(400, 'bad-parameter', 'format must be json for one alarm', 'format');
  const row = await found(findAlarm(ac.store, id, ac.ctx.now()));
  return json(200, { ...alarmJson(row), detail: row.alarm.detail ?? null, trail: row.alarm.trail });
}

/** The JSON object body of a POST, with only `allowed` fields (400 naming the field otherwise). */
function jsonBody(event: APIGatewayProxyEventV2, allowed: readonly string[]): Record<string, unknown> {
  // Cross-site forms can only send form or text content types without a CORS preflight, which nothing here
  // answers; requiring JSON is the CSRF guard of the local dashboard (and harmless behind IAM in AWS).
  const type = (event.headers?.['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new ApiError(415, 'unsupported-media-type', 'the body must be JSON with content-type: application/json', 'body');
  const text = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  let body: unknown;
  try {
    body = JSON.parse(text === '' ? '{}' : text);
  } catch (e) {
    throw new ApiError(400, 'bad-json', `body must be JSON: ${(e as Error).message}`, 'body');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'bad-body', 'body must be a JSON object', 'body');
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw new ApiError(400, 'unknown-field', `unknown body field ${JSON.stringify(k)}; allowed: ${allowed.join(', ')}`, k);
  }
  return body as Record<string, unknown>;
}

function textField(body: Record<string, unknown>, name: 'by' | 'note', required: boolean): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw new ApiError(400, 'missing-field', `body field ${name} is required`, name);
    return undefined;
  }
  const max = ALARM_BODY_LIMITS[name];
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw new ApiError(400, 'bad-field', `${name} must be a non-empty string of at most ${max} characters`, name);
  return v;
}

/**
 * `POST /alarms/{id}/ack|shelve|unshelve` with a JSON body `{by, note?}` (`shelve` also `until`, an ISO UTC time
 * after now): applies the action and answers the alarm after it, the transitions made and notifications published.
 */
export async function alarmActionRoute(ac: AlarmContext, id: string, name: AlarmActionName, event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const body = jsonBody(event, name === 'shelve' ? ['by', 'note', 'until'] : ['by', 'note']);
  const by = textField(body, 'by', true)!;
  const note = textField(body, 'note', false);
  const nowDate = ac.ctx.now();
  const at = nowDate.toISOString().replace(/\.\d+Z$/, 'Z');
  let action: AlarmAction;
  if (name === 'shelve') {
    const until = body.until;
    if (until === undefined) throw new ApiError(400, 'missing-field', 'body field until is required', 'until');
    if (typeof until !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(until) || !isRealTime(until)) {
      throw new ApiError(400, 'bad-field', `until must be YYYY-MM-DDTHH:MM:SSZ (UTC), got ${JSON.stringify(until)}`, 'until');
    }
    if (!(until > at)) throw new ApiError(400, 'bad-field', `until (${until}) must be after now (${at})`, 'until');
    action = { type: 'shelve', at, by, until, ...(note !== undefined ? { note } : {}) };
  } else {
    action = { type: name === 'ack' ? 'acknowledge' : 'unshelve', at, by, ...(note !== undefined ? { note } : {}) };
  }
  const result = await found(actOnAlarm(ac.store, ac.notifier, id, action));
  const { alarm } = result;
  const state = alarm.closed ? 'CLEARED' : (await found(findAlarm(ac.store, id, nowDate))).state;
  return json(200, {
    alarm: { ...alarmJson({ alarm, state }), trail: alarm.trail },
    transitions: result.transitions.map((t) => t.type),
    published: result.published,
  });
}

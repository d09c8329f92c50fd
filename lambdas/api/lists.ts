/**
 * The list routes of the query API: `GET /pumps`, `GET /alerts`, `GET /stats`.
 *
 * Each reads through a {@link ReadBudget} and pages with a signed cursor whose position is the next item's sort key
 * (pump id; `ts` or `ts#pump`; `date` or `date#pump`), so a page is one or a few Queries starting exactly there — per
 * bucket for the all-pump lists, whose keys are write-sharded (one Query per bucket, merged; see
 * ReadBudget.queryMerged): the merged order is total, so the next item's key is an exact start in every bucket.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { API_LIMITS, KEYS } from '../config';
import { CursorError, signCursor, verifyCursor } from '../core/cursor';
import { READING_CSV_HEADER, STATS_CSV_HEADER, csvField, formatNumber, readingToCsvRow, statsToCsvRow } from '../core/format';
import { inForce } from '../core/alarm-keys';
import { listedState } from '../core/alarm-state';
import { pumpStatus, type PumpStatus } from '../core/pump-status';
import { MEASURES, type DailyStats, type EvaluatedReading } from '../core/types';
import type { AlarmStore } from '../store/alarm-store';
import { createCatalogStore } from '../store/catalog-store';
import { addDays, daySpan } from '../store/days';
import { ReadBudget, alertsOfDay, alertsOfPump, latestReading, statsOfDay, dailyRows } from '../store/serving-reads';
import type { ReadingsContext } from './readings';
import { ApiError, checkOrder, csv, json, type Params } from './request';

/** Query parameters of each list route. */
export const LIST_PARAMS = {
  pumps: ['limit', 'cursor', 'format'],
  alerts: ['from', 'to', 'pump', 'limit', 'cursor', 'format'],
  stats: ['pump', 'from', 'to', 'limit', 'cursor', 'format'],
} as const;

export { PUMP_STATUSES, type PumpStatus } from '../core/pump-status';

/** One row of `/pumps`. */
export interface PumpSummary {
  readonly pump: string;
  readonly status: PumpStatus;
  /** Open alarms of the pump (any state but CLEARED, shelved ones included). */
  readonly openAlarms: number;
  /** The latest reading (within the lookback), or null. */
  readonly lastReading: { readonly ts: string; readonly alerts: readonly string[] } & Record<(typeof MEASURES)[number], number> | null;
}

/** Upper bound of any sort key starting with a timestamp or day: `~` sorts after every pump-id character. */
const AFTER_ANY = `${KEYS.separator}~`;

function position(ctx: ReadingsContext, params: Params, scope: string): string | undefined {
  const cursor = params.get('cursor');
  if (cursor === undefined) return undefined;
  try {
    return verifyCursor(ctx.api.cursorSecret, scope, cursor);
  } catch (e) {
    if (e instanceof CursorError) throw new ApiError(400, 'bad-cursor', e.message, 'cursor');
    throw e;
  }
}

function nextCursor(ctx: ReadingsContext, scope: string, next: string | undefined): string | null {
  return next === undefined ? null : signCursor(ctx.api.cursorSecret, scope, next);
}

/**
 * `GET /pumps`: every pump in the registry, with its latest reading, open-alarm count and status (core/pump-status).
 *
 * The latest reading is looked for in the most recent days that have data (newest first, one `Limit 1` Query per
 * day until found), so an active pump costs one Query. Its alarms are one Query of its own partition of the alarms
 * table (one state item per rule, so bounded by the rule count), and the page's pump items (out-of-service, no-data)
 * one BatchGetItem per 100 pumps.
 */
export async function pumpsRoute(ctx: ReadingsContext, params: Params, alarms: AlarmStore): Promise<APIGatewayProxyStructuredResultV2> {
  const format = params.format();
  const limit = params.int('limit', API_LIMITS.defaultPumpsPage, 1, API_LIMITS.maxPumpsPage);
  const scope = 'pumps';
  const after = position(ctx, params, scope);
  const catalog = createCatalogStore(ctx.dynamo, ctx.cfg);
  const budget = new ReadBudget(ctx.api.maxItemsRead);
  const [names, days] = await Promise.all([catalog.listRegisteredPumps(after, limit + 1), catalog.recentDays(API_LIMITS.latestLookbackDays)]);
  const page = names.slice(0, limit);
  const next = names.length > limit ? page[page.length - 1] : undefined;
  const infos = page.length > 0 ? await alarms.getPumps(page) : new Map();
  const nowIso = ctx.now().toISOString();
  const nowMs = ctx.now().getTime();
  const staleMs = ctx.api.staleAfterMinutes * 60_000;
  const rows: PumpSummary[] = [];
  // A few at a time: each pump is one small Query (more when it has been silent).
  for (let i = 0; i < page.length; i += 16) {
    const chunk = await Promise.all(
      page.slice(i, i + 16).map(async (pump): Promise<PumpSummary> => {
        const outOfService = inForce(infos.get(pump)?.outOfService, nowIso);
        const [r, open] = await Promise.all([
          latestReading(ctx.dynamo, ctx.cfg, budget, pump, days),
          (async () => {
            const out = [];
            for await (const s of alarms.listPumpStates(pump)) {
              if (s.alarm && !s.alarm.closed) out.push({ kind: s.alarm.kind, state: listedState(s.alarm, { now: nowIso, outOfService }) });
            }
            return out;
          })(),
        ]);
        const status = pumpStatus({ outOfService, openAlarms: open, stale: !r || nowMs - Date.parse(r.ts) > staleMs, alerting: (r?.alerts.length ?? 0) > 0 });
        return { pump, status, openAlarms: open.length, lastReading: r ? { ts: r.ts, ...r.values, alerts: r.alerts } : null };
      }),
    );
    rows.push(...chunk);
  }
  const cursor = nextCursor(ctx, scope, next);
  if (format === 'csv') {
    const lines = [['pump', 'status', 'open_alarms', 'ts', ...MEASURES, 'alerts'].join(',')];
    for (const p of rows) {
      const r = p.lastReading;
      lines.push([csvField(p.pump), p.status, String(p.openAlarms), r?.ts ?? '', ...MEASURES.map((m) => (r ? formatNumber(r[m]) : '')), csvField(r?.alerts.join('|') ?? '')].join(','));
    }
    return csv(lines, cursor);
  }
  return json(200, { count: rows.length, items: rows, nextCursor: cursor });
}

/** `from`/`to` of a list route, defaulting to open bounds; the caller caps the span of day-by-day reads. */
function listRange(params: Params): { fromTs: string; toTs: string; fromDay: string; toDay: string } {
  const from = params.time('from');
  const to = params.time('to');
  checkOrder(from, to);
  const fromTs = from?.ts ?? '0000-01-01T00:00:00Z';
  const toTs = to?.ts ?? '9999-12-31T23:59:59Z';
  return { fromTs, toTs, fromDay: fromTs.slice(0, 10), toDay: toTs.slice(0, 10) };
}

/** Days with data in a range, ascending, from the catalog (bounded by the budget). */
async function daysWithData(ctx: ReadingsContext, fromDay: string, toDay: string): Promise<string[]> {
  const days: string[] = [];
  for await (const d of createCatalogStore(ctx.dynamo, ctx.cfg).listDays({ from: fromDay, to: toDay })) {
    days.push(d);
    if (days.length > API_LIMITS.maxAggregateDays) break;
  }
  return days;
}

/**
 * Where a page cut short by the read budget resumes: just after the last item returned (`key + ' '` sorts after it
 * and before any later key) or at the day after the last day read to its end, whichever is later.
 *
 * @throws ApiError 422 when neither exists (the budget ran out before any progress).
 */
function resumeAfter(lastKey: string | undefined, nextDay: string | undefined, ctx: ReadingsContext): string {
  const afterItem = lastKey === undefined ? undefined : `${lastKey} `;
  const candidates = [afterItem, nextDay].filter((c): c is string => c !== undefined).sort();
  const resume = candidates[candidates.length - 1];
  if (resume === undefined) throw new ApiError(422, 'read-budget', `the request would read more than ${ctx.api.maxItemsRead} items before its first result; narrow from … to`);
  return resume;
}

function alertJson(a: EvaluatedReading) {
  return { ts: a.ts, pump: a.pump, alerts: a.alerts, ...a.values };
}

/**
 * `GET /alerts?from&to&pump`: alerting readings, oldest first — of one pump (index `alertsByPump`) or of all pumps
 * (index `alertsByDay`, ordered by time then pump, over the days the catalog lists).
 */
export async function alertsRoute(ctx: ReadingsContext, params: Params, knownPump: (pump: string) => Promise<boolean>): Promise<APIGatewayProxyStructuredResultV2> {
  const format = params.format();
  const pump = params.pump();
  const limit = params.int('limit', API_LIMITS.defaultPageSize, 1, API_LIMITS.maxPageSize);
  const range = listRange(params);
  if (pump !== undefined && !(await knownPump(pump))) throw new ApiError(404, 'unknown-pump', `no pump ${JSON.stringify(pump)} has sent readings`, 'pump');
  const scope = `alerts|${pump ?? '*'}|${range.fromTs}|${range.toTs}`;
  const pos = position(ctx, params, scope);
  if (pos !== undefined && !(pos >= range.fromTs && pos <= range.toTs + AFTER_ANY)) throw new ApiError(400, 'bad-cursor', 'cursor lies outside the requested range', 'cursor');
  const budget = new ReadBudget(ctx.api.maxItemsRead);
  const items: EvaluatedReading[] = [];
  let next: string | undefined;
  if (pump !== undefined) {
    for await (const a of alertsOfPump(ctx.dynamo, ctx.cfg, budget, pump, pos ?? range.fromTs, range.toTs, limit + 1)) items.push(a);
    if (items.length > limit) next = items.pop()!.ts;
    else if (budget.exhausted && items.length > 0) next = items[items.length - 1]!.ts + ' '; // after the last one returned
  } else {
    const start = pos ?? range.fromTs;
    const days = await daysWithData(ctx, start.slice(0, 10), range.toDay);
    let doneThrough: string | undefined;
    for (const day of days) {
      const low = day === start.slice(0, 10) ? start : `${day}T00:00:00Z`;
      const high = day === range.toDay ? range.toTs + AFTER_ANY : `${day}T23:59:59Z${AFTER_ANY}`;
      for await (const a of alertsOfDay(ctx.dynamo, ctx.cfg, budget, day, low, high, limit + 1 - items.length)) items.push(a);
      if (items.length > limit) break;
      if (budget.lastComplete) doneThrough = day;
      if (budget.exhausted) break;
    }
    const key = (a: EvaluatedReading) => `${a.ts}${KEYS.separator}${a.pump}`;
    if (items.length > limit) next = key(items.pop()!);
    else if (budget.exhausted && doneThrough !== days[days.length - 1]) {
      next = resumeAfter(items.length > 0 ? key(items[items.length - 1]!) : undefined, doneThrough && `${addDays(doneThrough, 1)}T00:00:00Z`, ctx);
    }
  }
  const cursor = nextCursor(ctx, scope, next);
  if (format === 'csv') return csv([READING_CSV_HEADER, ...items.map(readingToCsvRow)], cursor);
  return json(200, { count: items.length, items: items.map(alertJson), nextCursor: cursor, itemsRead: budget.used });
}

/** `GET /stats?pump&from&to`: daily statistics rows — of one pump by date, or of all pumps by date then pump. */
export async function statsRoute(ctx: ReadingsContext, params: Params, knownPump: (pump: string) => Promise<boolean>): Promise<APIGatewayProxyStructuredResultV2> {
  const format = params.format();
  const pump = params.pump();
  const limit = params.int('limit', API_LIMITS.defaultPageSize, 1, API_LIMITS.maxPageSize);
  const range = listRange(params);
  if (pump !== undefined && !(await knownPump(pump))) throw new ApiError(404, 'unknown-pump', `no pump ${JSON.stringify(pump)} has sent readings`, 'pump');
  const scope = `stats|${pump ?? '*'}|${range.fromDay}|${range.toDay}`;
  const pos = position(ctx, params, scope);
  if (pos !== undefined && !(pos >= range.fromDay && pos <= range.toDay + AFTER_ANY)) throw new ApiError(400, 'bad-cursor', 'cursor lies outside the requested range', 'cursor');
  const budget = new ReadBudget(ctx.api.maxItemsRead);
  const rows: DailyStats[] = [];
  let next: string | undefined;
  if (pump !== undefined) {
    for await (const s of dailyRows(ctx.dynamo, ctx.cfg, budget, pump, pos ?? range.fromDay, range.toDay, limit + 1)) rows.push(s);
    if (rows.length > limit) next = rows.pop()!.date;
    else if (budget.exhausted && rows.length > 0) next = addDays(rows[rows.length - 1]!.date, 1);
  } else {
    const [startDay, startPump] = pos === undefined ? [range.fromDay, undefined] : (pos.split(KEYS.separator) as [string, string | undefined]);
    if (daySpan(startDay, range.toDay) < 1) throw new ApiError(400, 'bad-cursor', 'cursor lies outside the requested range', 'cursor');
    const days = await daysWithData(ctx, startDay, range.toDay);
    let doneThrough: string | undefined;
    for (const day of days) {
      for await (const s of statsOfDay(ctx.dynamo, ctx.cfg, budget, day, day === startDay ? startPump : undefined, limit + 1 - rows.length)) rows.push(s);
      if (rows.length > limit) break;
      if (budget.lastComplete) doneThrough = day;
      if (budget.exhausted) break;
    }
    const key = (s: DailyStats) => `${s.date}${KEYS.separator}${s.pump}`;
    if (rows.length > limit) next = key(rows.pop()!);
    else if (budget.exhausted && doneThrough !== days[days.length - 1]) {
      next = resumeAfter(rows.length > 0 ? key(rows[rows.length - 1]!) : undefined, doneThrough && addDays(doneThrough, 1), ctx);
    }
  }
  const cursor = nextCursor(ctx, scope, next);
  if (format === 'csv') return csv([STATS_CSV_HEADER, ...rows.map(statsToCsvRow)], cursor);
  return json(200, { count: rows.length, items: rows, nextCursor: cursor, itemsRead: budget.used });
}

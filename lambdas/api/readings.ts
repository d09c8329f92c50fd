/**
 * `GET /pumps/{pump}/readings`: raw readings or per-bucket aggregates of one pump, one page at a time.
 *
 * | resolution | read from |
 * |---|---|
 * | `raw` | the readings table, one Query per pump-day |
 * | `1m`, `5m` | the readings table, bucketed while reading |
 * | `1h` | the precomputed hourly rows (one Query over `PUMP#1h`) up to the last rolled-up day, then readings |
 * | `1d` | the daily stats rows up to the last rolled-up day, then readings |
 *
 * "Rolled up" means the daily row exists; the rollup writes a day's hours before its daily row, so hours are
 * complete for every day up to it. Days after it (today, and yesterday before 00:15 UTC) are bucketed from the
 * readings, so a chart always reaches the newest reading. Buckets are whole: `from` is rounded down and `to` up to
 * bucket boundaries. A page ends after `limit` items or when the request's read budget runs out; `nextCursor` then
 * carries the start of the next item.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { API_LIMITS, type ApiSettings, type WellwatchConfig } from '../config';
import { signCursor, verifyCursor, CursorError } from '../core/cursor';
import { ALERT_SEPARATOR, READING_CSV_HEADER, STAT_KINDS, csvField, formatNumber, statColumn } from '../core/format';
import { BUCKET_SECONDS, BucketBuilder, RESOLUTIONS, bucketStart, chooseResolution, isoSeconds, toBucket, type Bucket, type BucketResolution, type Resolution } from '../core/series';
import { MEASURES, type EvaluatedReading, type Measure } from '../core/types';
import { addDays, daySpan } from '../store/days';
import { ReadBudget, dailyRows, hourlyRows, lastRolledDay, readingsBetween, valuesBetween, type DayProgress } from '../store/serving-reads';
import { ApiError, checkOrder, csv, json, type Params } from './request';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Query parameters of the readings route. */
export const READINGS_PARAMS = ['from', 'to', 'resolution', 'limit', 'cursor', 'points', 'measures', 'format'] as const;

/** Default span of a readings request without `from`: the 24 hours before `to`. */
const DEFAULT_SPAN_MS = 86_400_000;

/** Everything the route needs besides the request. */
export interface ReadingsContext {
  readonly dynamo: DynamoDBClient;
  readonly cfg: WellwatchConfig;
  readonly api: ApiSettings;
  readonly now: () => Date;
}

/** A page of raw readings as the API returns them. */
export interface RawItem {
  readonly ts: string;
  readonly alerts: readonly string[];
  readonly hz: number;
  readonly disp: number;
  readonly flo: number;
  readonly sedPPM: number;
  readonly psi: number;
  readonly chlPPM: number;
}

function rawItem(r: EvaluatedReading): RawItem {
  return { ts: r.ts, ...r.values, alerts: r.alerts };
}

/** Collects a page: stops at `limit` items and remembers where the next page starts. */
class Page<T extends { ts: string }> {
  readonly items: T[] = [];
  next: string | undefined;

  constructor(readonly limit: number) {}

  get full(): boolean {
    return this.next !== undefined;
  }

  /** Adds an item, or records it as the next page's start when the page is full. Returns false once full. */
  push(item: T): boolean {
    if (this.next !== undefined) return false;
    if (this.items.length >= this.limit) {
      this.next = item.ts;
      return false;
    }
    this.items.push(item);
    return true;
  }
}

/**
 * Handles `GET /pumps/{pump}/readings` for a pump known to exist.
 *
 * @throws ApiError (400) naming the parameter at fault.
 */
export async function readingsRoute(ctx: ReadingsContext, pump: string, params: Params): Promise<APIGatewayProxyStructuredResultV2> {
  const format = params.format();
  const toBound = params.time('to');
  const fromBound = params.time('from');
  checkOrder(fromBound, toBound);
  const toMs = toBound ? Date.parse(toBound.ts) : Math.floor(ctx.now().getTime() / 1000) * 1000;
  const fromMs = fromBound ? Date.parse(fromBound.ts) : toMs - DEFAULT_SPAN_MS + 1000;
  const given = params.oneOf('resolution', RESOLUTIONS);
  if (given !== undefined && params.get('points') !== undefined) {
    throw new ApiError(400, 'bad-parameter', 'points chooses a resolution; give either resolution or points, not both', 'points');
  }
  const points = params.int('points', API_LIMITS.defaultPoints, 1, API_LIMITS.maxPoints);
  const resolution: Resolution = given ?? chooseResolution(fromMs, toMs, points);
  const limit = params.int('limit', API_LIMITS.defaultPageSize, 1, API_LIMITS.maxPageSize);
  const measures = measuresParam(params);

  const span = daySpan(isoSeconds(fromMs).slice(0, 10), isoSeconds(toMs).slice(0, 10));
  const maxDays = resolution === '1h' || resolution === '1d' ? API_LIMITS.maxAggregateDays : API_LIMITS.maxRawDays;
  if (span > maxDays) {
    throw new ApiError(
      400,
      'range-too-long',
      `from … to spans ${span} days; resolution ${resolution} allows at most ${maxDays} per request` +
        (maxDays === API_LIMITS.maxRawDays ? ' (use resolution=1h or 1d, or points, for longer ranges)' : ''),
      'from',
    );
  }

  // Whole buckets: the range starts at the bucket holding `from` and ends at the end of the bucket holding `to`.
  const startMs = resolution === 'raw' ? fromMs : bucketStart(fromMs, resolution);
  const endMs = resolution === 'raw' ? toMs : bucketStart(toMs, resolution) + BUCKET_SECONDS[resolution] * 1000 - 1000;
  const scope = `readings|${pump}|${isoSeconds(startMs)}|${isoSeconds(endMs)}|${resolution}`;
  let position = startMs;
  const cursor = params.get('cursor');
  if (cursor !== undefined) {
    let pos: string;
    try {
      pos = verifyCursor(ctx.api.cursorSecret, scope, cursor);
    } catch (e) {
      if (e instanceof CursorError) throw new ApiError(400, 'bad-cursor', e.message, 'cursor');
      throw e;
    }
    const ms = Date.parse(pos);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(pos) || !(ms >= startMs && ms <= endMs)) {
      throw new ApiError(400, 'bad-cursor', 'cursor lies outside the requested range', 'cursor');
    }
    position = ms;
  }

  const budget = new ReadBudget(ctx.api.maxItemsRead);
  const body = { pump, resolution, from: isoSeconds(startMs), to: isoSeconds(endMs) };
  if (resolution === 'raw') {
    const page = new Page<RawItem>(limit);
    const progress: DayProgress = {};
    let last: string | undefined;
    for await (const r of readingsBetween(ctx.dynamo, ctx.cfg, budget, pump, isoSeconds(position), isoSeconds(endMs), limit + 1, progress)) {
      if (!page.push(rawItem(r))) break;
      last = r.ts;
    }
    if (!page.full && cutShort(budget, progress, endMs)) {
      // Out of budget before the page filled (a long run of empty days): resume after the last reading returned or
      // the last day read to its end, whichever is later.
      const resume = Math.max(last !== undefined ? Date.parse(last) + 1000 : position, dayAfter(progress.doneThrough) ?? position);
      if (resume <= position) throw budgetTooSmall(ctx.api.maxItemsRead);
      if (resume <= endMs) page.next = isoSeconds(resume);
    }
    return respond(ctx, format, scope, body, page, budget, true, measures);
  }

  const page = new Page<Bucket>(limit);
  await collectBuckets(ctx, budget, pump, resolution, position, endMs, page);
  return respond(ctx, format, scope, body, page, budget, false, measures);
}

/** `measures=psi,flo`: the measures to return (all six by default), a chart's way to halve its response. */
function measuresParam(params: Params): readonly Measure[] {
  const raw = params.get('measures');
  if (raw === undefined) return MEASURES;
  const names = raw.split(',');
  const bad = names.filter((n) => !(MEASURES as readonly string[]).includes(n));
  if (bad.length > 0 || new Set(names).size !== names.length) {
    throw new ApiError(400, 'bad-parameter', `measures must be distinct names from ${MEASURES.join(', ')}, comma-separated; got ${JSON.stringify(raw)}`, 'measures');
  }
  return MEASURES.filter((m) => names.includes(m));
}

/** Start (epoch ms) of the day after `day`, or undefined. */
function dayAfter(day: string | undefined): number | undefined {
  return day === undefined ? undefined : Date.parse(`${addDays(day, 1)}T00:00:00Z`);
}

/** Whether the budget ran out before the reads reached the end of the range. */
function cutShort(budget: ReadBudget, progress: DayProgress, endMs: number): boolean {
  return budget.exhausted && !(progress.doneThrough !== undefined && progress.doneThrough >= isoSeconds(endMs).slice(0, 10));
}

function budgetTooSmall(max: number): ApiError {
  return new ApiError(422, 'read-budget', `the request would read more than ${max} items before its first result; narrow from … to`);
}

/** Fills a page of buckets from `position` to `endMs`: precomputed rows where the day is rolled up, readings after. */
async function collectBuckets(
  ctx: ReadingsContext,
  budget: ReadBudget,
  pump: string,
  resolution: BucketResolution,
  position: number,
  endMs: number,
  page: Page<Bucket>,
): Promise<void> {
  const startDay = isoSeconds(position).slice(0, 10);
  const endDay = isoSeconds(endMs).slice(0, 10);
  let rawFrom = position;
  if (resolution === '1h' || resolution === '1d') {
    const rolled = await lastRolledDay(ctx.dynamo, ctx.cfg, budget, pump, endDay);
    if (rolled !== undefined && rolled >= startDay) {
      const rows =
        resolution === '1h'
          ? hourlyRows(ctx.dynamo, ctx.cfg, budget, pump, isoSeconds(position).slice(0, 13), `${rolled}T23`, page.limit + 1)
          : dailyRows(ctx.dynamo, ctx.cfg, budget, pump, startDay, rolled, page.limit + 1);
      for await (const row of rows) {
        const ts = resolution === '1h' ? `${row.date}:00:00Z` : `${row.date}T00:00:00Z`;
        if (!page.push(toBucket(ts, row))) return;
      }
      if (budget.exhausted && !budget.lastComplete) {
        // Out of budget inside the precomputed part: resume after the last row returned.
        const last = page.items[page.items.length - 1];
        if (!last) throw budgetTooSmall(ctx.api.maxItemsRead);
        page.next = isoSeconds(Date.parse(last.ts) + BUCKET_SECONDS[resolution] * 1000);
        return;
      }
      rawFrom = Math.max(position, Date.parse(`${addDays(rolled, 1)}T00:00:00Z`));
    }
  }
  if (rawFrom > endMs) return;
  const builder = new BucketBuilder(resolution);
  const progress: DayProgress = {};
  for await (const { ms, values } of valuesBetween(ctx.dynamo, ctx.cfg, budget, pump, isoSeconds(rawFrom), isoSeconds(endMs), progress)) {
    const done = builder.add(ms, values);
    if (done && !page.push(done)) return;
  }
  if (cutShort(budget, progress, endMs)) {
    // Resume at the bucket being filled (it may be incomplete), else after the last day read to its end. Day
    // boundaries are bucket boundaries at every resolution.
    const resume = builder.currentCount > 0 ? builder.currentStart : (dayAfter(progress.doneThrough) ?? rawFrom);
    if (resume <= position && page.items.length === 0) throw budgetTooSmall(ctx.api.maxItemsRead);
    if (resume <= endMs) {
      page.next = isoSeconds(resume);
      return;
    }
  }
  const last = builder.flush();
  if (last) page.push(last);
}

function respond<T extends { ts: string }>(
  ctx: ReadingsContext,
  format: 'json' | 'csv',
  scope: string,
  body: { pump: string; resolution: Resolution; from: string; to: string },
  page: Page<T>,
  budget: ReadBudget,
  raw: boolean,
  measures: readonly Measure[],
): APIGatewayProxyStructuredResultV2 {
  const nextCursor = page.next !== undefined ? signCursor(ctx.api.cursorSecret, scope, page.next) : null;
  const all = measures.length === MEASURES.length;
  if (format === 'csv') {
    if (raw) {
      const header = ['pump', 'ts', ...measures, 'alerts'].join(',');
      const rows = (page.items as unknown as RawItem[]).map(
        (r) => `${csvField(body.pump)},${r.ts},${measures.map((m) => formatNumber(r[m])).join(',')},${csvField(r.alerts.join(ALERT_SEPARATOR))}`,
      );
      return csv([all ? READING_CSV_HEADER : header, ...rows], nextCursor);
    }
    const header = ['ts', 'count', ...measures.flatMap((m) => STAT_KINDS.map((k) => statColumn(m, k)))].join(',');
    const rows = (page.items as unknown as Bucket[]).map((b) => {
      let row = `${b.ts},${b.count}`;
      for (const m of measures) row += `,${formatNumber(b.measures[m].min)},${formatNumber(b.measures[m].max)},${formatNumber(b.measures[m].avg)}`;
      return row;
    });
    return csv([header, ...rows], nextCursor);
  }
  const items = all
    ? page.items
    : raw
      ? (page.items as unknown as RawItem[]).map((r) => ({ ts: r.ts, ...Object.fromEntries(measures.map((m) => [m, r[m]])), alerts: r.alerts }))
      : (page.items as unknown as Bucket[]).map((b) => ({ ts: b.ts, count: b.count, measures: Object.fromEntries(measures.map((m) => [m, b.measures[m]])) }));
  return json(200, { ...body, count: page.items.length, items, nextCursor, itemsRead: budget.used });
}

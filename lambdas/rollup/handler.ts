/**
 * The rollup: per-pump daily statistics computed from the stored readings.
 *
 * Runs on two schedules and on demand:
 * - `{ mode: 'daily' }` — the previous UTC day (relative to the event's `time` when present, else the clock);
 * - `{ mode: 'pending' }` or `{ pending: true }` — every pump-day with a pending (late data) marker; each marker
 *   is deleted after its day is recomputed, but only if it was not touched again meanwhile;
 * - `{ date: 'YYYY-MM-DD' }` — one day; `{ from, to }` — an inclusive range of days (backfill).
 *
 * For each pump-day the readings are streamed page by page into a constant-memory accumulator and the stats row
 * is put on condition that no rollup that started reading later has written it (the row's input watermark, see
 * StatsStore.putIfNewer): two rollups of one pump-day at once can no longer leave the older input's stats behind.
 * Pump-days are processed with bounded concurrency; a pump-day that fails does not stop the others, and the
 * invocation then fails with a summary (so the scheduler's retry and the error alarm see it).
 */
import type { Context } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DETAIL_METRIC_NAMES, METRIC_NAMES, loadConfig, type WellwatchConfig } from '../config';
import { WellwatchError } from '../core/errors';
import { RollupAccumulator } from '../core/rollup';
import type { DailyStats, PumpDay } from '../core/types';
import { createCatalogStore, type CatalogStore, type PendingMarker } from '../store/catalog-store';
import { dynamoClient } from '../store/clients';
import { addDays, daySpan, eachDay, requireDay, utcDay } from '../store/days';
import { createReadingStore, type ReadingStore } from '../store/reading-store';
import { backoffDelay, describeError, isRetryableError, resolveRetry, runPool, type RetryOptions } from '../store/retry';
import { createStatsStore, type StatsStore } from '../store/stats-store';
import { count, handlerLogger, handlerMetrics } from '../runtime/telemetry';
import { tuneV8 } from '../runtime/v8-tuning';

tuneV8();

/** Longest `{from, to}` range accepted, in days (about ten years). */
export const MAX_ROLLUP_DAYS = 3660;

/** What the rollup accepts: a scheduled input, a direct invocation, or an EventBridge event carrying either. */
export interface RollupEvent {
  readonly mode?: 'daily' | 'pending';
  readonly pending?: boolean;
  readonly date?: string;
  readonly from?: string;
  readonly to?: string;
  /** EventBridge event time (ISO); the daily mode rolls up the UTC day before it. */
  readonly time?: string;
  /** EventBridge event detail, read like the top level. */
  readonly detail?: Omit<RollupEvent, 'detail'>;
}

/** What one rollup run did. */
export interface RollupResult {
  /** Days processed, ascending. */
  readonly days: string[];
  /** Pump-days recomputed (with at least one reading). */
  readonly pumpDays: number;
  /** Readings aggregated. */
  readonly readings: number;
  /** Stats rows written. */
  readonly statsWritten: number;
  /** Pending markers deleted (markers touched again during the run stay). */
  readonly pendingCleared: number;
  /** Pump-days not written because a rollup that read them later had written newer stats meanwhile. */
  readonly superseded: number;
}

/** Thrown for an event the rollup does not understand; the message says what is accepted. */
export class RollupEventError extends WellwatchError {
  constructor(message: string) {
    super(message);
    this.name = 'RollupEventError';
  }
}

/** Thrown after a run in which some pump-days could not be recomputed; the others were. */
export class RollupError extends WellwatchError {
  readonly result: RollupResult;
  readonly failures: readonly string[];

  constructor(message: string, result: RollupResult, failures: readonly string[], cause?: unknown) {
    super(message, { cause });
    this.name = 'RollupError';
    this.result = result;
    this.failures = failures;
  }
}

/** Replaceable collaborators of the rollup. */
export interface RollupDeps {
  /** @default - `dynamoClient(cfg)` */
  readonly dynamo?: DynamoDBClient;
  readonly readings?: ReadingStore;
  readonly stats?: StatsStore;
  readonly catalog?: CatalogStore;
  /** Current time, for the daily mode without an event time. @default - `new Date()` */
  readonly clock?: () => Date;
  /** Receives each EMF metrics line (Powertools Metrics). @default - stdout, as Lambda expects */
  readonly metricsSink?: (line: string) => void;
  /** Receives each structured JSON log line (Powertools Logger). @default - stdout/stderr, as Lambda expects */
  readonly log?: (line: string) => void;
  /** Pump-days processed at once. @default - `cfg.writeConcurrency` */
  readonly concurrency?: number;
  /** Overrides of the write backoff. @default - from the config */
  readonly retry?: RetryOptions;
}

/** The rollup's Lambda handler type. */
export type RollupHandler = (event: RollupEvent, context?: Context) => Promise<RollupResult>;

/** A resolved request: explicit days, or the pending markers. */
type Plan = { readonly kind: 'days'; readonly days: string[] } | { readonly kind: 'pending' };

const ACCEPTED = "{mode:'daily'}, {mode:'pending'}, {pending:true}, {date:'YYYY-MM-DD'} or {from:'YYYY-MM-DD', to:'YYYY-MM-DD'}";

/**
 * Turns an event into a plan, validating every field.
 *
 * @throws RollupEventError naming the field and value.
 * @example
 * planRollup({ from: '2014-03-10', to: '2014-03-12' }, new Date()); // → { kind: 'days', days: [3 days] }
 */
export function planRollup(event: RollupEvent | null | undefined, now: Date): Plan {
  if (typeof event !== 'object' || event === null) throw new RollupEventError(`rollup event must be an object: ${ACCEPTED}`);
  const detail = typeof event.detail === 'object' && event.detail !== null ? event.detail : {};
  const pick = <K extends keyof RollupEvent>(key: K): RollupEvent[K] => (event[key] !== undefined ? event[key] : (detail as RollupEvent)[key]);
  const mode = pick('mode');
  const pending = pick('pending');
  const date = pick('date');
  const from = pick('from');
  const to = pick('to');
  const given = [mode !== undefined, pending !== undefined && pending !== false, date !== undefined, from !== undefined || to !== undefined];
  if (given.filter(Boolean).length !== 1) {
    throw new RollupEventError(`rollup event must have exactly one of mode, pending, date or from/to: ${ACCEPTED}; got ${JSON.stringify(event)}`);
  }
  const wrap = (fn: () => Plan): Plan => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof RollupEventError) throw error;
      throw new RollupEventError((error as Error).message);
    }
  };
  if (mode !== undefined) {
    if (mode === 'pending') return { kind: 'pending' };
    if (mode !== 'daily') throw new RollupEventError(`rollup mode must be 'daily' or 'pending', got ${JSON.stringify(mode)}`);
    let at = now;
    if (event.time !== undefined) {
      const ms = typeof event.time === 'string' ? Date.parse(event.time) : NaN;
      if (!Number.isFinite(ms)) throw new RollupEventError(`rollup event time must be an ISO timestamp, got ${JSON.stringify(event.time)}`);
      at = new Date(ms);
    }
    return { kind: 'days', days: [addDays(utcDay(at), -1)] };
  }
  if (pending !== undefined && pending !== false) {
    if (pending !== true) throw new RollupEventError(`rollup pending must be true, got ${JSON.stringify(pending)}`);
    return { kind: 'pending' };
  }
  if (date !== undefined) return wrap(() => ({ kind: 'days', days: [requireDay('date', date)] }));
  return wrap(() => {
    if (from === undefined || to === undefined) throw new RollupEventError(`rollup range needs both from and to (YYYY-MM-DD), got ${JSON.stringify({ from, to })}`);
    requireDay('from', from);
    requireDay('to', to);
    if (from > to) throw new RollupEventError(`rollup range: from (${from}) must not be after to (${to})`);
    const span = daySpan(from, to);
    if (span > MAX_ROLLUP_DAYS) throw new RollupEventError(`rollup range must be at most ${MAX_ROLLUP_DAYS} days, got ${span} (${from} … ${to})`);
    return { kind: 'days', days: [...eachDay(from, to)] };
  });
}

/**
 * Builds the rollup handler for a configuration.
 *
 * @throws RollupEventError (from the handler) for an invalid event; RollupError when some pump-days failed.
 * @example
 * const rollup = createRollupHandler(cfg, { metricsSink: () => undefined });
 * const result = await rollup({ from: '2014-03-10', to: '2014-03-14' });
 */
export function createRollupHandler(cfg: WellwatchConfig, deps: RollupDeps = {}): RollupHandler {
  const dynamo = deps.dynamo ?? (deps.readings && deps.stats && deps.catalog ? undefined : dynamoClient(cfg));
  const readingStore = deps.readings ?? createReadingStore(dynamo!, cfg, deps.retry);
  const statsStore = deps.stats ?? createStatsStore(dynamo!, cfg);
  const catalog = deps.catalog ?? createCatalogStore(dynamo!, cfg, deps.retry);
  const clock = deps.clock ?? (() => new Date());
  const logger = handlerLogger(cfg.names.serviceName, deps.log);
  const metrics = handlerMetrics(cfg.names.serviceName, deps.metricsSink);
  const concurrency = deps.concurrency ?? cfg.writeConcurrency;

  const retry = resolveRetry(deps.retry ?? { maxAttempts: cfg.writeMaxAttempts, baseDelayMs: cfg.writeBaseDelayMs });
  /**
   * Runs `fn` again after a throttling, 5xx or network error, with backoff, up to the bounded attempts. Recomputing a
   * pump-day is idempotent, so a transient failure halfway through a Query's pages costs time, not correctness.
   */
  const withRetry = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= retry.maxAttempts || !isRetryableError(error)) throw error;
        await retry.sleep(backoffDelay(attempt, retry));
      }
    }
  };

  /**
   * Recomputes one pump-day; returns the readings aggregated (0: nothing to write) and whether the row was written
   * or a newer one kept. The watermark is taken before the first read: the readings that existed then are all seen.
   */
  const rollupPumpDay = async ({ pump, day }: PumpDay): Promise<{ readings: number; put: 'written' | 'superseded' | 'none' }> => {
    const watermark = new Date().toISOString();
    const acc = new RollupAccumulator();
    for await (const values of readingStore.dayValues(pump, day)) acc.add(values);
    if (acc.count === 0) return { readings: 0, put: 'none' };
    const stats: DailyStats = acc.result(pump, day);
    try {
      return { readings: acc.count, put: await statsStore.putIfNewer(stats, watermark) };
    } catch (error) {
      if (isRetryableError(error)) throw error;
      throw new WellwatchError(`stats of ${pump} on ${day} not written to ${statsStore.table}: ${describeError(error)}`, { cause: error });
    }
  };

  return async (event, context) => {
    if (context?.awsRequestId) logger.addContext(context);
    const plan = planRollup(event, clock());
    const days = new Set<string>();
    const failures: string[] = [];
    let firstError: unknown;
    let pumpDays = 0;
    let readings = 0;
    let statsWritten = 0;
    let pendingCleared = 0;
    let superseded = 0;

    const handle = async (target: PumpDay, marker?: PendingMarker): Promise<void> => {
      days.add(target.day);
      try {
        const done = await withRetry(() => rollupPumpDay(target));
        if (done.readings > 0) pumpDays++;
        readings += done.readings;
        if (done.put === 'written') statsWritten++;
        if (done.put === 'superseded') superseded++;
        if (marker && (await withRetry(() => catalog.clearPending(marker)))) pendingCleared++;
      } catch (error) {
        firstError ??= error;
        failures.push(`${target.pump}@${target.day}: ${describeError(error)}`);
      }
    };

    let source: AsyncIterable<{ target: PumpDay; marker?: PendingMarker }>;
    if (plan.kind === 'pending') {
      source = (async function* () {
        for await (const marker of catalog.listPending()) yield { target: { pump: marker.pump, day: marker.day }, marker };
      })();
    } else {
      for (const day of plan.days) days.add(day);
      source = (async function* () {
        for (const day of plan.days) {
          for await (const pump of catalog.listPumps(day)) yield { target: { pump, day } };
        }
      })();
    }
    await runPool(source, concurrency, ({ target, marker }) => handle(target, marker));

    const result: RollupResult = { days: [...days].sort(), pumpDays, readings, statsWritten, pendingCleared, superseded };
    count(metrics, METRIC_NAMES.rollupRuns, 1);
    count(metrics, DETAIL_METRIC_NAMES.rollupPumpDays, pumpDays);
    count(metrics, DETAIL_METRIC_NAMES.rollupReadings, readings);
    if (failures.length > 0) count(metrics, DETAIL_METRIC_NAMES.rollupFailures, failures.length);
    metrics.publishStoredMetrics();

    if (failures.length > 0) {
      logger.error('rollup failed for some pump-days', { failed: failures.length, first: failures.slice(0, 5), result });
      const more = failures.length > 3 ? ` and ${failures.length - 3} more` : '';
      throw new RollupError(`rollup failed for ${failures.length} pump-day(s): ${failures.slice(0, 3).join('; ')}${more}`, result, failures, firstError);
    }
    return result;
  };
}

let lazy: RollupHandler | undefined;

/**
 * The Lambda entry point: builds the handler from the environment on first use and reuses it while warm.
 *
 * @example
 * // EventBridge rule input: {"mode":"daily"}
 */
export const handler = (event: RollupEvent, context?: Context): Promise<RollupResult> => {
  lazy ??= createRollupHandler(loadConfig());
  return lazy(event, context);
};

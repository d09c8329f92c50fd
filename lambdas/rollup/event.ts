/**
 * The rollup's events and results: what the planner (and the in-process rollup) accept and report.
 *
 * - `{ mode: 'daily' }` — the previous UTC day (relative to the event's `time` when present, else the clock);
 * - `{ mode: 'pending' }` or `{ pending: true }` — every pump-day with a pending (late data) marker;
 * - `{ date: 'YYYY-MM-DD' }` — one day; `{ from, to }` — an inclusive range of days (backfill).
 */
import type { Context } from 'aws-lambda';
import { WellwatchError } from '../core/errors';
import { addDays, daySpan, eachDay, requireDay, utcDay } from '../store/days';

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

/** The rollup's Lambda handler type. */
export type RollupHandler = (event: RollupEvent, context?: Context) => Promise<RollupResult>;

/** A resolved request: explicit days, or the pending markers. */
export type Plan =
  /** `source`: which kind of event asked (the daily one does not recompute a day already complete). */
  | { readonly kind: 'days'; readonly days: string[]; readonly source: 'daily' | 'date' | 'range' }
  | { readonly kind: 'pending' };

const ACCEPTED = "{mode:'daily'}, {mode:'pending'}, {pending:true}, {date:'YYYY-MM-DD'} or {from:'YYYY-MM-DD', to:'YYYY-MM-DD'}";

/**
 * Turns an event into a plan, validating every field.
 *
 * @throws RollupEventError naming the field and value.
 * @example
 * planRollup({ from: '2014-03-10', to: '2014-03-12' }, new Date()); // → { kind: 'days', days: [3 days], source: 'range' }
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
    return { kind: 'days', days: [addDays(utcDay(at), -1)], source: 'daily' };
  }
  if (pending !== undefined && pending !== false) {
    if (pending !== true) throw new RollupEventError(`rollup pending must be true, got ${JSON.stringify(pending)}`);
    return { kind: 'pending' };
  }
  if (date !== undefined) return wrap(() => ({ kind: 'days', days: [requireDay('date', date)], source: 'date' }));
  return wrap(() => {
    if (from === undefined || to === undefined) throw new RollupEventError(`rollup range needs both from and to (YYYY-MM-DD), got ${JSON.stringify({ from, to })}`);
    requireDay('from', from);
    requireDay('to', to);
    if (from > to) throw new RollupEventError(`rollup range: from (${from}) must not be after to (${to})`);
    const span = daySpan(from, to);
    if (span > MAX_ROLLUP_DAYS) throw new RollupEventError(`rollup range must be at most ${MAX_ROLLUP_DAYS} days, got ${span} (${from} … ${to})`);
    return { kind: 'days', days: [...eachDay(from, to)], source: 'range' };
  });
}


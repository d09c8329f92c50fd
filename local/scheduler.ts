/**
 * Runs the rollup planner on the EventBridge schedule, locally (local/rollup-fanout.ts hands its work items to the
 * worker handler through the local work queue).
 *
 * The rules come from `SCHEDULE` in the shared config (the CDK stack builds its EventBridge rules from the same
 * fields): the daily run at 00:15 UTC with `{ mode: 'daily' }` and the hourly run for late data with
 * `{ mode: 'pending' }`. Next fire times are computed from the cron fields in UTC; runs never overlap (they queue),
 * and `runNow(event)` invokes the handler on demand through the same queue. Timers are unref'd so a scheduler
 * never keeps a process alive, and the clock is injectable for tests.
 */
import { SCHEDULE } from '../lambdas/config';
import { ConfigError } from '../lambdas/core/errors';

/** The minute and hour fields of an EventBridge cron expression (day fields are `*`/`?`, evaluated in UTC). */
export interface CronFields {
  readonly minute: string;
  readonly hour: string;
}

/** A time source with timers; {@link systemClock} by default. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** The real clock; its timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A timer firing this much before its time counts as on time. */
const EARLY_TOLERANCE_MS = 1_000;

/** One scheduled rule: when, and with which event. */
export interface ScheduleRule<E> {
  readonly name: string;
  readonly cron: CronFields;
  readonly event: E;
}

/** The two rollup rules of the stack. */
export const ROLLUP_SCHEDULE: readonly ScheduleRule<{ mode: 'daily' | 'pending' }>[] = [
  { name: 'daily', cron: SCHEDULE.daily, event: { mode: 'daily' } },
  { name: 'pending', cron: SCHEDULE.pending, event: { mode: 'pending' } },
];

/**
 * Expands one cron field into the sorted values it matches.
 *
 * Supports `*`, `?`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, and comma lists.
 *
 * @throws RangeError naming the field and the bad part.
 * @example
 * parseCronField('0-10/5', 0, 59); // [0, 5, 10]
 */
export function parseCronField(field: string, min: number, max: number, name = 'field'): number[] {
  const out = new Set<number>();
  const bad = (part: string): never => {
    throw new ConfigError(`cron ${name} ${JSON.stringify(field)}: ${JSON.stringify(part)} is not valid (${min}–${max}, *, a-b, */n, a,b)`);
  };
  for (const part of field.split(',')) {
    const m = /^(\*|\?|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part.trim());
    if (!m) bad(part);
    const [, all, a, b, stepText] = m!;
    let lo = min;
    let hi = max;
    if (all !== '*' && all !== '?') {
      lo = Number(a);
      hi = b !== undefined ? Number(b) : stepText !== undefined ? max : lo;
    }
    const step = stepText !== undefined ? Number(stepText) : 1;
    if (lo < min || hi > max || lo > hi || step < 1) bad(part);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * The first time strictly after `after` at which the cron fields match (UTC, whole minutes).
 *
 * @example
 * nextFireTime({ minute: '15', hour: '0' }, Date.parse('2024-03-10T00:15:00Z')).toISOString(); // '2024-03-11T00:15:00.000Z'
 */
export function nextFireTime(cron: CronFields, after: number | Date): Date {
  const minutes = parseCronField(cron.minute, 0, 59, 'minute');
  const hours = parseCronField(cron.hour, 0, 23, 'hour');
  const start = typeof after === 'number' ? after : after.getTime();
  // First whole minute strictly after `start`.
  const t = new Date(Math.floor(start / 60_000) * 60_000 + 60_000);
  for (let day = 0; day < 3; day++) {
    const base = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + day);
    for (const h of hours) {
      for (const m of minutes) {
        const at = base + h * 3_600_000 + m * 60_000;
        if (at >= t.getTime()) return new Date(at);
      }
    }
  }
  throw new ConfigError(`cron ${cron.minute} ${cron.hour} never fires`);
}

/** Outcome of one run. */
export interface RunRecord<E, R> {
  readonly rule: string;
  readonly event: E;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly result?: R;
  readonly error?: string;
}

/** Options of {@link Scheduler}. */
export interface SchedulerOptions<E, R> {
  /** The function the rules invoke, e.g. `(event) => localRollup.run(event)`. */
  readonly handler: (event: E) => Promise<R>;
  /**
   * The rules.
   *
   * @default ROLLUP_SCHEDULE
   */
  readonly rules?: readonly ScheduleRule<E>[];
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default - silent */
  readonly log?: (line: string) => void;
  /** Runs kept in {@link Scheduler.history}. @default 20 */
  readonly historySize?: number;
}

/**
 * Fires the rules' events at their cron times and on demand, one run at a time.
 *
 * @example
 * const scheduler = new Scheduler({ handler: (event) => localRollup.run(event) });
 * scheduler.start();
 * await scheduler.runNow({ mode: 'pending' });
 * await scheduler.stop();
 */
export class Scheduler<E = { mode: 'daily' | 'pending' }, R = unknown> {
  readonly rules: readonly ScheduleRule<E>[];
  private readonly handler: (event: E) => Promise<R>;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly historySize: number;
  private readonly timers = new Map<string, { handle: unknown; at: number }>();
  private readonly runs: RunRecord<E, R>[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private running = false;

  constructor(options: SchedulerOptions<E, R>) {
    this.handler = options.handler;
    this.rules = options.rules ?? (ROLLUP_SCHEDULE as unknown as readonly ScheduleRule<E>[]);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.historySize = options.historySize ?? 20;
    for (const rule of this.rules) nextFireTime(rule.cron, 0); // validate early
  }

  /** Arms a timer for every rule. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const rule of this.rules) this.arm(rule, this.clock.now());
  }

  /** Disarms the timers and waits for a run in progress. */
  async stop(): Promise<void> {
    this.running = false;
    for (const { handle } of this.timers.values()) this.clock.clearTimer(handle);
    this.timers.clear();
    await this.queue.catch(() => undefined);
  }

  /** When each rule fires next (only while started). */
  next(): { rule: string; at: string }[] {
    return this.rules.filter((r) => this.timers.has(r.name)).map((r) => ({ rule: r.name, at: new Date(this.timers.get(r.name)!.at).toISOString() }));
  }

  /** The most recent runs, oldest first. */
  history(): readonly RunRecord<E, R>[] {
    return [...this.runs];
  }

  /**
   * Invokes the handler with `event` now (after a run in progress) and returns its result.
   *
   * @example
   * const result = await scheduler.runNow({ date: '2014-03-10' } as never);
   */
  runNow(event: E, rule = 'manual'): Promise<R> {
    const run = this.queue.then(() => this.invoke(rule, event));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async invoke(rule: string, event: E): Promise<R> {
    const startedAt = new Date(this.clock.now()).toISOString();
    try {
      const result = await this.handler(event);
      this.record({ rule, event, startedAt, finishedAt: new Date(this.clock.now()).toISOString(), result });
      return result;
    } catch (e) {
      this.record({ rule, event, startedAt, finishedAt: new Date(this.clock.now()).toISOString(), error: (e as Error)?.message ?? String(e) });
      throw e;
    }
  }

  private record(run: RunRecord<E, R>): void {
    this.runs.push(run);
    if (this.runs.length > this.historySize) this.runs.splice(0, this.runs.length - this.historySize);
  }

  private arm(rule: ScheduleRule<E>, from: number): void {
    const at = nextFireTime(rule.cron, from).getTime();
    const handle = this.clock.setTimer(() => this.fire(rule, at), Math.max(0, at - this.clock.now()));
    this.timers.set(rule.name, { handle, at });
  }

  private fire(rule: ScheduleRule<E>, at: number): void {
    if (!this.running) return;
    const now = this.clock.now();
    if (now < at - EARLY_TOLERANCE_MS) {
      // A timer that fired well before its time (clock adjustment): wait for the rest instead of skipping to the
      // next occurrence. A few milliseconds early counts as on time (Node timers can be).
      const handle = this.clock.setTimer(() => this.fire(rule, at), at - now);
      this.timers.set(rule.name, { handle, at });
      return;
    }
    this.arm(rule, Math.max(now, at));
    this.log(`scheduler: ${rule.name} rule fired (${new Date(at).toISOString()})`);
    // Like EventBridge's scheduled event, the run is told when it was scheduled (`time`), so a run that starts late
    // (a queue behind a long one, a laptop waking up) still rolls up the day it was scheduled for.
    const event = typeof rule.event === 'object' && rule.event !== null ? ({ ...rule.event, time: new Date(at).toISOString() } as E) : rule.event;
    this.runNow(event, rule.name).then(
      (result) => this.log(`scheduler: ${rule.name} run done: ${JSON.stringify(result)}`),
      (e) => this.log(`scheduler: ${rule.name} run failed: ${(e as Error)?.message ?? String(e)}`),
    );
  }
}

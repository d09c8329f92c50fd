/**
 * The rollup fan-out's pure parts: cutting a day (or the pending markers) into work items, encoding them as queue
 * messages, and the completion math over a run's task records.
 *
 * A run is one attempt at rolling up a scope — a day, or the pending (late data) markers — and has a generation
 * number. The planner writes one task record per work item of the generation and enqueues the items; a worker marks
 * its item done with a conditional write. A re-run of the planner after a partial run finishes the same generation
 * (it enqueues only the items not done); a complete day is rolled up again only when asked for explicitly (a date or
 * range), as a new generation. No I/O here: the records come from lambdas/store/rollup-run-store.ts.
 */
import { WellwatchError } from './errors';

/** A pending marker carried by a pending work item: the conditional delete needs the touch that was read. */
export interface TaskMarker {
  readonly pump: string;
  readonly day: string;
  readonly touchedAt: string;
}

/** What every work item carries: which run it belongs to and its id within the run. */
interface TaskBase {
  /** Run scope: the day (`YYYY-MM-DD`) or `pending`. */
  readonly scope: string;
  readonly generation: number;
  /** Deterministic within the generation: `b<bucket>-<index>` (also the SQS batch entry id). */
  readonly id: string;
}

/** A work item of a day: the pumps of one bucket in an inclusive id range (read back from the catalog). */
export interface DayTask extends TaskBase {
  readonly kind: 'day';
  readonly day: string;
  readonly bucket: number;
  readonly from: string;
  readonly to: string;
  /** Pump-days the range held when planned. */
  readonly size: number;
}

/** A work item of late data: the pending markers themselves (one bucket's, in day-then-pump order). */
export interface PendingTask extends TaskBase {
  readonly kind: 'pending';
  readonly bucket: number;
  readonly markers: readonly TaskMarker[];
}

/** One work item: a bounded number of pump-days. */
export type RollupTask = DayTask | PendingTask;

/** What a worker did with one work item. */
export interface TaskOutcome {
  /** Pump-days recomputed (with at least one reading). */
  readonly pumpDays: number;
  readonly readings: number;
  readonly statsWritten: number;
  readonly pendingCleared: number;
  /** Pump-days whose stats a later-reading rollup had already written. */
  readonly superseded: number;
}

/** A task record as read back: the item, and its outcome once done. */
export interface TaskRecord {
  readonly task: RollupTask;
  readonly outcome?: TaskOutcome;
}

/** A run's header record. */
export interface RunRecord {
  readonly scope: string;
  readonly generation: number;
  /** `planning` until every task record of the generation is written, then `planned`. */
  readonly state: 'planning' | 'planned';
  /** Task records of the generation (set when planned). */
  readonly planned: number;
  /** When the generation started (ISO). */
  readonly startedAt: string;
}

/** A run's progress, from its header and task records. */
export interface RunProgress {
  readonly scope: string;
  readonly generation: number;
  readonly planned: number;
  readonly done: number;
  /** Planned and every task done. */
  readonly complete: boolean;
  /** Sum of the done tasks' outcomes. */
  readonly totals: TaskOutcome;
  /** Pump-days the run covers, as planned. */
  readonly plannedPumpDays: number;
  /** Days the run covers, ascending (the day, or the pending markers' days). */
  readonly days: string[];
}

/** Thrown for a queue message that is not a work item; the message says what is wrong. */
export class RollupTaskError extends WellwatchError {
  constructor(message: string) {
    super(message);
    this.name = 'RollupTaskError';
  }
}

/** Outcome of nothing. */
export const NO_OUTCOME: TaskOutcome = { pumpDays: 0, readings: 0, statsWritten: 0, pendingCleared: 0, superseded: 0 };

/**
 * Splits `items` into consecutive chunks of at most `size` (the last may be shorter); none for no items.
 *
 * @throws RollupTaskError when size is not a positive integer.
 * @example
 * chunk([1, 2, 3, 4, 5], 2); // → [[1, 2], [3, 4], [5]]
 */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RollupTaskError(`chunk size must be a positive integer, got ${String(size)}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The id of a bucket's `index`-th work item: `b<bucket, 2 digits>-<index, 5 digits>`, sortable and a valid SQS batch
 * entry id.
 *
 * @example
 * taskId(3, 12); // → 'b03-00012'
 */
export function taskId(bucket: number, index: number): string {
  return `b${String(bucket).padStart(2, '0')}-${String(index).padStart(5, '0')}`;
}

/**
 * Cuts one bucket's pumps of a day (ascending) into work items of at most `size` pump-days, as pump id ranges.
 *
 * A range, not a list: the worker reads the range back from the catalog, so the message stays small whatever the
 * size, and a pump whose day marker lands inside a range after planning is rolled up too.
 *
 * @example
 * dayTasks('2014-03-10', 3, 1, ['A', 'B', 'C'], 2); // → ranges A…B and C…C
 */
export function dayTasks(day: string, bucket: number, generation: number, pumps: readonly string[], size: number): DayTask[] {
  return chunk(pumps, size).map((part, i) => ({
    kind: 'day',
    scope: day,
    generation,
    id: taskId(bucket, i),
    day,
    bucket,
    from: part[0]!,
    to: part[part.length - 1]!,
    size: part.length,
  }));
}

/**
 * Cuts one bucket's pending markers into work items of at most `size` markers.
 *
 * @example
 * pendingTasks('pending', 3, 7, markers, 200);
 */
export function pendingTasks(scope: string, bucket: number, generation: number, markers: readonly TaskMarker[], size: number): PendingTask[] {
  return chunk(markers, size).map((part, i) => ({ kind: 'pending', scope, generation, id: taskId(bucket, i), bucket, markers: part }));
}

/** Pump-days a work item covers (as planned). */
export function taskSize(task: RollupTask): number {
  return task.kind === 'day' ? task.size : task.markers.length;
}

/**
 * The queue message of a work item (JSON with a version).
 *
 * @example
 * decodeTask(encodeTask(task)); // deep-equals task
 */
export function encodeTask(task: RollupTask): string {
  return JSON.stringify({ v: 1, ...task });
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Decodes and validates a work item message (as written by {@link encodeTask}).
 *
 * @throws RollupTaskError naming the field that is missing or wrong.
 * @example
 * decodeTask('{"v":1,"kind":"day",…}');
 */
export function decodeTask(body: string): RollupTask {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new RollupTaskError(`rollup work item is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new RollupTaskError('rollup work item must be an object');
  const o = raw as Record<string, unknown>;
  const bad = (field: string, expected: string): never => {
    throw new RollupTaskError(`rollup work item: ${field} must be ${expected}, got ${JSON.stringify(o[field])}`);
  };
  if (o.v !== 1) bad('v', '1');
  const str = (field: string): string => (typeof o[field] === 'string' && o[field] !== '' ? (o[field] as string) : bad(field, 'a non-empty string'));
  const int = (field: string, min: number): number => (Number.isInteger(o[field]) && (o[field] as number) >= min ? (o[field] as number) : bad(field, `an integer ≥ ${min}`));
  const scope = str('scope');
  const generation = int('generation', 1);
  const id = str('id');
  const bucket = int('bucket', 0);
  if (o.kind === 'day') {
    const day = str('day');
    if (!DAY_RE.test(day)) bad('day', 'YYYY-MM-DD');
    const from = str('from');
    const to = str('to');
    if (from > to) bad('from', `at most to (${to})`);
    return { kind: 'day', scope, generation, id, day, bucket, from, to, size: int('size', 1) };
  }
  if (o.kind === 'pending') {
    if (!Array.isArray(o.markers)) bad('markers', 'a list');
    const markers = (o.markers as unknown[]).map((m) => {
      const x = m as Record<string, unknown> | null;
      if (typeof x?.pump !== 'string' || typeof x.day !== 'string' || !DAY_RE.test(x.day) || typeof x.touchedAt !== 'string') {
        throw new RollupTaskError(`rollup work item: markers[] must be {pump, day: YYYY-MM-DD, touchedAt}, got ${JSON.stringify(m)}`);
      }
      return { pump: x.pump, day: x.day, touchedAt: x.touchedAt };
    });
    return { kind: 'pending', scope, generation, id, bucket, markers };
  }
  return bad('kind', "'day' or 'pending'");
}

/**
 * Adds two outcomes field by field.
 *
 * @example
 * addOutcomes(a, b).readings; // a.readings + b.readings
 */
export function addOutcomes(a: TaskOutcome, b: TaskOutcome): TaskOutcome {
  return {
    pumpDays: a.pumpDays + b.pumpDays,
    readings: a.readings + b.readings,
    statsWritten: a.statsWritten + b.statsWritten,
    pendingCleared: a.pendingCleared + b.pendingCleared,
    superseded: a.superseded + b.superseded,
  };
}

/** What progress needs of a task record: its size and days as planned, and its outcome once done. */
export interface TaskSummary {
  readonly id: string;
  /** Pump-days as planned. */
  readonly size: number;
  /** Days it covers, ascending. */
  readonly days: readonly string[];
  readonly outcome?: TaskOutcome;
}

/**
 * The summary of a task record.
 *
 * @example
 * summarizeTask({ task, outcome }).size;
 */
export function summarizeTask(record: TaskRecord): TaskSummary {
  const { task } = record;
  const days = task.kind === 'day' ? [task.day] : [...new Set(task.markers.map((m) => m.day))].sort();
  const base = { id: task.id, size: taskSize(task), days };
  return record.outcome === undefined ? base : { ...base, outcome: record.outcome };
}

/**
 * A run's progress from its header and its task summaries: planned = task records of the generation, done = those
 * with an outcome; complete once the header says planned and every record is done.
 *
 * @example
 * runProgress(run, summaries).complete;
 */
export function runProgress(run: RunRecord, tasks: readonly TaskSummary[]): RunProgress {
  let done = 0;
  let totals = NO_OUTCOME;
  let plannedPumpDays = 0;
  const days = new Set<string>();
  for (const t of tasks) {
    plannedPumpDays += t.size;
    for (const d of t.days) days.add(d);
    if (t.outcome !== undefined) {
      done++;
      totals = addOutcomes(totals, t.outcome);
    }
  }
  if (DAY_RE.test(run.scope)) days.add(run.scope);
  const planned = run.state === 'planned' ? Math.max(run.planned, tasks.length) : tasks.length;
  return {
    scope: run.scope,
    generation: run.generation,
    planned,
    done,
    complete: run.state === 'planned' && done >= planned,
    totals,
    plannedPumpDays,
    days: [...days].sort(),
  };
}

/** What the planner does with a scope. */
export type RunAction =
  /** A new generation: plan every pump-day. */
  | { readonly action: 'start'; readonly generation: number }
  /** The latest generation is unfinished: plan what is missing, enqueue only the tasks not done. */
  | { readonly action: 'finish'; readonly generation: number }
  /** The latest generation is complete and nobody asked for a recomputation. */
  | { readonly action: 'skip'; readonly generation: number };

/**
 * Decides between starting, finishing and skipping a scope's run.
 *
 * - no run yet: start generation 1;
 * - the latest generation unfinished (still planning, or tasks not done): finish it — "finished, not restarted";
 * - complete: start the next generation when `recompute` (an explicit date or range, or every pending run, whose
 *   markers are the to-do list), else skip (a repeated daily event: EventBridge delivers at least once, and Lambda
 *   retries a failed asynchronous invocation).
 *
 * @example
 * nextRunAction(undefined, false); // → { action: 'start', generation: 1 }
 */
export function nextRunAction(progress: RunProgress | undefined, recompute: boolean): RunAction {
  if (progress === undefined) return { action: 'start', generation: 1 };
  if (!progress.complete) return { action: 'finish', generation: progress.generation };
  return recompute ? { action: 'start', generation: progress.generation + 1 } : { action: 'skip', generation: progress.generation };
}

/**
 * The tasks of a generation still to enqueue: those without an outcome.
 *
 * @example
 * remainingTasks(records).map((t) => t.id);
 */
export function remainingTasks(records: readonly TaskRecord[]): RollupTask[] {
  return records.filter((r) => r.outcome === undefined).map((r) => r.task);
}

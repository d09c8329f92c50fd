/**
 * The rollup planner: turns a rollup event into work items on the work queue, tracking each day's run.
 *
 * Accepts the events of event.ts (daily, pending, date, range). For each day it reads the day's run record
 * (rollup-run-store.ts) and decides (core/rollup-tasks.ts, nextRunAction): start a new generation, finish an
 * unfinished one, or skip a complete one. Planning lists the day's pump-days bucket by bucket
 * (`DAY#<day>#<b>`, one Query each) and cuts each bucket into work items of at most ROLLUP_FANOUT.taskPumpDays
 * pump-days with deterministic ids; the task records are written (only if absent), the run is marked planned, and
 * every task not done is enqueued. A re-run after a partial run therefore enqueues only what is not done, and a
 * planner that crashed while planning is finished by the next one (the same ids, written only if absent). Pending
 * runs list the pending markers bucket by bucket (`PENDING#<b>`) and always start a new generation: the markers
 * themselves are the to-do list (a worker clears each one after recomputing it), so what a crashed run left is
 * exactly what the next run finds.
 *
 * The planner never waits for the workers: completion is followed through the run records (readProgress).
 */
import type { Context } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FLEET_KEYS, METRIC_NAMES, ROLLUP_FANOUT, loadConfig, type WellwatchConfig } from '../config';
import { allBuckets } from '../core/buckets';
import { ConfigError } from '../core/errors';
import {
  dayTasks,
  encodeTask,
  nextRunAction,
  pendingTasks,
  remainingTasks,
  runProgress,
  summarizeTask,
  type RollupTask,
  type RunAction,
  type TaskRecord,
} from '../core/rollup-tasks';
import { createCatalogStore, type CatalogStore } from '../store/catalog-store';
import { dynamoClient, sqsClient } from '../store/clients';
import { runPool } from '../store/retry';
import { createRollupRunStore, type RollupRunStore } from '../store/rollup-run-store';
import { createSqsWorkQueue, type WorkQueueSink } from '../store/work-queue';
import { count, handlerLogger, handlerMetrics } from '../runtime/telemetry';
import { tuneV8 } from '../runtime/v8-tuning';
import { planRollup, type RollupEvent } from './event';

tuneV8();

/** What the planner did with one scope (a day, or `pending`). */
export interface PlannedRun {
  readonly scope: string;
  readonly generation: number;
  readonly action: RunAction['action'];
  /** Work items of the generation. */
  readonly planned: number;
  /** Work items enqueued by this call (the ones not done). */
  readonly enqueued: number;
  /** Pump-days the generation covers, as planned. */
  readonly pumpDays: number;
}

/** What one planner call did. */
export interface PlannerResult {
  readonly runs: PlannedRun[];
}

/** Replaceable collaborators of the planner. */
export interface PlannerDeps {
  /** @default - `dynamoClient(cfg)` */
  readonly dynamo?: DynamoDBClient;
  readonly catalog?: CatalogStore;
  readonly runs?: RollupRunStore;
  /** Where work items go. @default - the SQS queue named by `WELLWATCH_ROLLUP_QUEUE_URL` */
  readonly queue?: WorkQueueSink;
  /** Current time. @default - `new Date()` */
  readonly clock?: () => Date;
  /** Pump-days per work item. @default ROLLUP_FANOUT.taskPumpDays */
  readonly taskPumpDays?: number;
  /** @default - stdout, as Lambda expects */
  readonly metricsSink?: (line: string) => void;
  /** @default - stdout/stderr, as Lambda expects */
  readonly log?: (line: string) => void;
}

/** The planner's handler type. */
export type RollupPlanner = (event: RollupEvent, context?: Context) => Promise<PlannerResult>;

/** Buckets listed at once while planning. */
const LIST_CONCURRENCY = 8;

/**
 * Builds the planner for a configuration.
 *
 * @throws ConfigError when no queue is given and `WELLWATCH_ROLLUP_QUEUE_URL` is unset; RollupEventError (from the
 *   planner) for an invalid event.
 * @example
 * const plan = createRollupPlanner(cfg, { queue: localQueue });
 * const { runs } = await plan({ date: '2014-03-10' });
 */
export function createRollupPlanner(cfg: WellwatchConfig, deps: PlannerDeps = {}): RollupPlanner {
  const dynamo = deps.dynamo ?? (deps.catalog && deps.runs ? undefined : dynamoClient(cfg));
  const catalog = deps.catalog ?? createCatalogStore(dynamo!, cfg);
  const runs = deps.runs ?? createRollupRunStore(dynamo!, cfg);
  const queue = deps.queue ?? sqsQueueFromEnv(cfg);
  const clock = deps.clock ?? (() => new Date());
  const size = deps.taskPumpDays ?? ROLLUP_FANOUT.taskPumpDays;
  const logger = handlerLogger(cfg.names.serviceName, deps.log);
  const metrics = handlerMetrics(cfg.names.serviceName, deps.metricsSink);
  const buckets = allBuckets(FLEET_KEYS.buckets);

  /** Every work item of a generation, bucket by bucket. */
  const buildTasks = async (scope: string, generation: number): Promise<RollupTask[]> => {
    const perBucket: RollupTask[][] = [];
    await runPool(buckets, LIST_CONCURRENCY, async (b) => {
      if (scope === ROLLUP_FANOUT.pendingScope) {
        const markers = [];
        for await (const m of catalog.listPendingInBucket(b)) markers.push({ pump: m.pump, day: m.day, touchedAt: m.touchedAt });
        perBucket[b] = pendingTasks(scope, b, generation, markers, size);
      } else {
        const pumps: string[] = [];
        for await (const pump of catalog.listPumpsInBucket(scope, b)) pumps.push(pump);
        perBucket[b] = dayTasks(scope, b, generation, pumps, size);
      }
    });
    return perBucket.flat();
  };

  const planScope = async (scope: string, recompute: boolean): Promise<PlannedRun> => {
    const run = await runs.getRun(scope);
    let records: TaskRecord[] = run === undefined ? [] : await runs.listTasks(scope, run.generation);
    const progress = run === undefined ? undefined : runProgress(run, records.map(summarizeTask));
    let decided: RunAction =
      scope === ROLLUP_FANOUT.pendingScope ? { action: 'start', generation: (run?.generation ?? 0) + 1 } : nextRunAction(progress, recompute);
    if (decided.action === 'skip') {
      return { scope, generation: decided.generation, action: 'skip', planned: progress!.planned, enqueued: 0, pumpDays: progress!.plannedPumpDays };
    }
    let planning = decided.action === 'start' || run?.state === 'planning';
    if (decided.action === 'start' && !(await runs.startRun(scope, decided.generation, run?.generation ?? 0, clock()))) {
      // Another planner started a generation meanwhile: finish that one rather than start yet another.
      const latest = await runs.getRun(scope);
      decided = { action: 'finish', generation: latest!.generation };
      planning = latest!.state === 'planning';
      records = await runs.listTasks(scope, latest!.generation);
    }
    if (planning) {
      await runs.putTasks(await buildTasks(scope, decided.generation));
      records = await runs.listTasks(scope, decided.generation);
      await runs.markPlanned(scope, decided.generation, records.length);
    }
    const todo = remainingTasks(records);
    await queue.send(todo.map((task) => ({ id: task.id, body: encodeTask(task) })));
    const pumpDays = records.reduce((n, r) => n + summarizeTask(r).size, 0);
    logger.info('rollup run planned', { scope, generation: decided.generation, action: decided.action, planned: records.length, enqueued: todo.length, pumpDays });
    return { scope, generation: decided.generation, action: decided.action, planned: records.length, enqueued: todo.length, pumpDays };
  };

  return async (event, context) => {
    if (context?.awsRequestId) logger.addContext(context);
    const plan = planRollup(event, clock());
    const out: PlannedRun[] = [];
    if (plan.kind === 'pending') out.push(await planScope(ROLLUP_FANOUT.pendingScope, true));
    else {
      // An explicit date or range asks for a recomputation of complete days; the daily event does not.
      const recompute = plan.source !== 'daily';
      for (const day of plan.days) out.push(await planScope(day, recompute));
    }
    count(metrics, METRIC_NAMES.rollupRuns, 1);
    metrics.publishStoredMetrics();
    return { runs: out };
  };
}

/** The SQS sink of the deployed planner, from `WELLWATCH_ROLLUP_QUEUE_URL`. */
function sqsQueueFromEnv(cfg: WellwatchConfig): WorkQueueSink {
  const url = process.env[ROLLUP_FANOUT.queueUrlEnv];
  if (url === undefined || url === '') throw new ConfigError(`${ROLLUP_FANOUT.queueUrlEnv} must name the rollup work queue (set by the stack)`);
  return createSqsWorkQueue(sqsClient(cfg), url, { maxAttempts: cfg.writeMaxAttempts, baseDelayMs: cfg.writeBaseDelayMs });
}

let lazy: RollupPlanner | undefined;

/**
 * The Lambda entry point: builds the planner from the environment on first use and reuses it while warm.
 *
 * @example
 * // EventBridge rule input: {"mode":"daily","time":"<event time>"}
 */
export const handler = (event: RollupEvent, context?: Context): Promise<PlannerResult> => {
  lazy ??= createRollupPlanner(loadConfig());
  return lazy(event, context);
};

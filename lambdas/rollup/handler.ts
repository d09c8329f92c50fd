/**
 * The rollup in one process: the planner and the worker of the fan-out, with the work items run in place.
 *
 * The deployed rollup is two functions — the planner (planner.ts), which the schedule invokes, and the worker
 * (worker.ts), which the work queue drives; local mode runs the same pair through its local queue
 * (local/work-queue.ts). This module composes them without a queue, for callers that want one awaited call with
 * the run's totals: the demo, the bench, tests, and `wellwatch rollup` against a table set with no queue. The same
 * run records are written, so an in-process run and a queued run of one day finish each other's work.
 *
 * The result reports this call's own work (the work items it ran; a call that finishes a partial run counts only
 * what was left, a repeated daily event of a complete day counts nothing) and the days the event named. When some
 * pump-days failed the call throws RollupError carrying that result and the failures; their work items stay not
 * done, so the next call (the scheduler's next run, Lambda's retry, an operator's rerun) finishes them.
 */
import { ROLLUP_FANOUT, type WellwatchConfig } from '../config';
import { addOutcomes, decodeTask, NO_OUTCOME } from '../core/rollup-tasks';
import { createCatalogStore } from '../store/catalog-store';
import { dynamoClient } from '../store/clients';
import { describeError, runPool } from '../store/retry';
import { createRollupRunStore, type RollupRunStore } from '../store/rollup-run-store';
import type { WorkQueueSink } from '../store/work-queue';
import { RollupError, type RollupEvent, type RollupHandler, type RollupResult } from './event';
import { createRollupPlanner, type PlannerResult } from './planner';
import { createRollupWorker, RollupTaskFailedError, type WorkerDeps } from './worker';

export { MAX_ROLLUP_DAYS, planRollup, RollupError, RollupEventError } from './event';
export type { Plan, RollupEvent, RollupHandler, RollupResult } from './event';

/** Replaceable collaborators of the rollup. */
export interface RollupDeps extends WorkerDeps {
  /** Current time, for the daily mode without an event time. @default - `new Date()` */
  readonly clock?: () => Date;
  /** Work items run at once. @default ROLLUP_FANOUT.maxConcurrency */
  readonly tasksAtOnce?: number;
  /** Pump-days per work item. @default ROLLUP_FANOUT.taskPumpDays */
  readonly taskPumpDays?: number;
}

/**
 * Sums the run records of the scopes a planner call named into the rollup's result.
 *
 * @example
 * const result = await summarizeRuns(runs, await plan({ date: '2014-03-10' }));
 */
export async function summarizeRuns(runs: RollupRunStore, planned: PlannerResult): Promise<RollupResult> {
  const days = new Set<string>();
  let totals = NO_OUTCOME;
  for (const run of planned.runs) {
    const progress = await runs.readProgress(run.scope);
    if (progress === undefined) continue;
    for (const d of progress.days) days.add(d);
    totals = addOutcomes(totals, progress.totals);
  }
  return { days: [...days].sort(), ...totals };
}

/**
 * Builds the in-process rollup for a configuration.
 *
 * @throws RollupEventError (from the handler) for an invalid event; RollupError when some pump-days failed.
 * @example
 * const rollup = createRollupHandler(cfg, { metricsSink: () => undefined });
 * const result = await rollup({ from: '2014-03-10', to: '2014-03-14' });
 */
export function createRollupHandler(cfg: WellwatchConfig, deps: RollupDeps = {}): RollupHandler {
  const needsClient = !(deps.readings && deps.stats && deps.catalog && deps.series && deps.runs);
  const dynamo = deps.dynamo ?? (needsClient ? dynamoClient(cfg) : undefined);
  const catalog = deps.catalog ?? createCatalogStore(dynamo!, cfg, deps.retry);
  const runs = deps.runs ?? createRollupRunStore(dynamo!, cfg);
  const worker = createRollupWorker(cfg, { ...deps, dynamo, catalog, runs });
  const tasksAtOnce = deps.tasksAtOnce ?? ROLLUP_FANOUT.maxConcurrency;

  return async (event: RollupEvent, context) => {
    const failures: string[] = [];
    let firstError: unknown;
    let done = NO_OUTCOME;
    const inPlace: WorkQueueSink = {
      async send(messages) {
        await runPool(messages, tasksAtOnce, async (message) => {
          try {
            const run = await worker.runTask(decodeTask(message.body));
            done = addOutcomes(done, run.outcome);
          } catch (error) {
            firstError ??= error;
            if (error instanceof RollupTaskFailedError) {
              done = addOutcomes(done, error.partial);
              failures.push(...error.failures);
            } else failures.push(`work item ${message.id}: ${describeError(error)}`);
          }
        });
      },
    };
    const plan = createRollupPlanner(cfg, { catalog, runs, queue: inPlace, clock: deps.clock, taskPumpDays: deps.taskPumpDays, metricsSink: deps.metricsSink, log: deps.log });
    const planned = await plan(event, context);
    worker.flushMetrics();
    const result: RollupResult = { days: (await summarizeRuns(runs, planned)).days, ...done };
    if (failures.length > 0) {
      const more = failures.length > 3 ? ` and ${failures.length - 3} more` : '';
      throw new RollupError(`rollup failed for ${failures.length} pump-day(s): ${failures.slice(0, 3).join('; ')}${more}`, result, failures, firstError);
    }
    return result;
  };
}

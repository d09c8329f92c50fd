/**
 * The rollup fan-out in local mode: the planner handler enqueues on a local queue, which drives the worker handler.
 *
 * The same planner and worker code as the deployed functions (lambdas/rollup/planner.ts, worker.ts); only the queue
 * is local (local/work-queue.ts). `run(event)` is what the local scheduler and `POST /api/rollup` invoke: it plans,
 * waits until the queue has settled (every work item done, dead-lettered, or waiting out its visibility timeout
 * after a failure) and returns the totals of this run's records — or throws RollupError naming the work items that
 * are not done (the queue redelivers them; a later planner run finishes them).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WellwatchConfig } from '../lambdas/config';
import { RollupError, type RollupEvent, type RollupResult } from '../lambdas/rollup/event';
import { summarizeRuns } from '../lambdas/rollup/handler';
import { createRollupPlanner, type PlannerResult, type RollupPlanner } from '../lambdas/rollup/planner';
import { createRollupWorker, type RollupWorker } from '../lambdas/rollup/worker';
import { createRollupRunStore, type RollupRunStore } from '../lambdas/store/rollup-run-store';
import type { RunProgress } from '../lambdas/core/rollup-tasks';
import { LocalWorkQueue, type LocalWorkQueueOptions } from './work-queue';

/** Options of {@link createLocalRollup}. */
export interface LocalRollupOptions {
  readonly dynamo: DynamoDBClient;
  /** @default - discarded */
  readonly metricsSink?: (line: string) => void;
  /** @default - discarded */
  readonly log?: (line: string) => void;
  /** Queue settings (visibility timeout, concurrency…). @default - from ROLLUP_FANOUT */
  readonly queue?: Omit<LocalWorkQueueOptions, 'handler'>;
  /** Wraps the worker's SQS handler (tests inject crashes here). @default - the handler itself */
  readonly wrapWorker?: (handler: RollupWorker['handler']) => LocalWorkQueueOptions['handler'];
  /** Pump-days per work item. @default ROLLUP_FANOUT.taskPumpDays */
  readonly taskPumpDays?: number;
  /** Current time for the daily mode. @default - `new Date()` */
  readonly clock?: () => Date;
}

/** The local fan-out: its parts, and a run that waits for the queue. */
export interface LocalRollup {
  readonly planner: RollupPlanner;
  readonly worker: RollupWorker;
  readonly queue: LocalWorkQueue;
  readonly runs: RollupRunStore;
  /** Plans `event`, waits for the queue to settle and returns the run's totals. */
  run(event: RollupEvent): Promise<RollupResult>;
  /** Progress of the scopes a planner call named (for progress displays). */
  progress(planned: PlannerResult): Promise<RunProgress[]>;
  /** Stops the queue (waits for invocations in flight). */
  stop(): Promise<void>;
}

/**
 * Builds the local fan-out and starts its queue.
 *
 * @example
 * const rollup = createLocalRollup(cfg, { dynamo });
 * const result = await rollup.run({ date: '2014-03-10' });
 */
export function createLocalRollup(cfg: WellwatchConfig, options: LocalRollupOptions): LocalRollup {
  const quiet = () => undefined;
  const metricsSink = options.metricsSink ?? quiet;
  const log = options.log ?? quiet;
  const runs = createRollupRunStore(options.dynamo, cfg);
  const worker = createRollupWorker(cfg, { dynamo: options.dynamo, runs, metricsSink, log });
  const handler = options.wrapWorker ? options.wrapWorker((event, context) => worker.handler(event, context)) : (event: Parameters<RollupWorker['handler']>[0]) => worker.handler(event);
  const queue = new LocalWorkQueue({ ...options.queue, handler });
  const planner = createRollupPlanner(cfg, { dynamo: options.dynamo, runs, queue, metricsSink, log, taskPumpDays: options.taskPumpDays, clock: options.clock });
  queue.start();

  const progress = async (planned: PlannerResult): Promise<RunProgress[]> => {
    const out: RunProgress[] = [];
    for (const run of planned.runs) {
      const p = await runs.readProgress(run.scope);
      if (p !== undefined) out.push(p);
    }
    return out;
  };

  return {
    planner,
    worker,
    queue,
    runs,
    progress,
    async run(event) {
      const planned = await planner(event);
      await queue.settled();
      const result = await summarizeRuns(runs, planned);
      const open = (await progress(planned)).filter((p) => !p.complete);
      if (open.length > 0) {
        const left = open.map((p) => `${p.scope}: ${p.planned - p.done} of ${p.planned} work item(s) not done`);
        throw new RollupError(`rollup not finished (${left.join('; ')}); failed items are redelivered after the visibility timeout, or rerun the rollup`, result, left);
      }
      return result;
    },
    stop: () => queue.stop(),
  };
}

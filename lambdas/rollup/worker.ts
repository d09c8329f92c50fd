/**
 * The rollup worker: an SQS event handler that rolls up the pump-days of the work items the planner enqueued.
 *
 * For each message: decode the work item; if its task record is done already (SQS delivers at least once, and a
 * re-run planner may enqueue an item again), acknowledge it; else recompute its pump-days with the aggregate path
 * (aggregates.ts, putIfNewer) — a day item reads its bucket's pump range back from the catalog, a pending item
 * carries its markers and clears each one after its pump-day is recomputed, with the same conditional delete as
 * ever (a marker touched again meanwhile stays for the next run) — and then mark the task done with a conditional
 * write. Every step is idempotent, so a crash anywhere is repaired by redelivery. A message that fails is reported
 * in `batchItemFailures` (ReportBatchItemFailures): only it returns to the queue, and after
 * ROLLUP_FANOUT.maxReceiveCount receives SQS moves it to the dead-letter queue.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DETAIL_METRIC_NAMES, loadConfig, type WellwatchConfig } from '../config';
import { WellwatchError } from '../core/errors';
import { addOutcomes, decodeTask, NO_OUTCOME, type RollupTask, type TaskOutcome } from '../core/rollup-tasks';
import type { PumpDay } from '../core/types';
import { createCatalogStore, type CatalogStore, type PendingMarker } from '../store/catalog-store';
import { dynamoClient } from '../store/clients';
import { createReadingStore, type ReadingStore } from '../store/reading-store';
import { describeError, resolveRetry, runPool, type RetryOptions } from '../store/retry';
import { createRollupRunStore, type RollupRunStore } from '../store/rollup-run-store';
import { createSeriesStore, type SeriesStore } from '../store/series-store';
import { createStatsStore, type StatsStore } from '../store/stats-store';
import { count, handlerLogger, handlerMetrics } from '../runtime/telemetry';
import { tuneV8 } from '../runtime/v8-tuning';
import { createPumpDayRollup, withRetry } from './pump-day';

tuneV8();

/** Thrown when some pump-days of a work item failed; the others were recomputed, the item stays not done. */
export class RollupTaskFailedError extends WellwatchError {
  readonly failures: readonly string[];
  /** What the attempt did before giving up on the item. */
  readonly partial: TaskOutcome;

  constructor(task: RollupTask, failures: readonly string[], partial: TaskOutcome, cause?: unknown) {
    const more = failures.length > 3 ? ` and ${failures.length - 3} more` : '';
    super(`rollup work item ${task.scope}/${task.id} failed for ${failures.length} pump-day(s): ${failures.slice(0, 3).join('; ')}${more}`, { cause });
    this.name = 'RollupTaskFailedError';
    this.failures = failures;
    this.partial = partial;
  }
}

/** What became of one work item. */
export interface TaskRun {
  /** `done`: this call completed it; `duplicate`: it was done already (its pump-days were not recomputed again). */
  readonly status: 'done' | 'duplicate';
  readonly outcome: TaskOutcome;
}

/** Replaceable collaborators of the worker. */
export interface WorkerDeps {
  /** @default - `dynamoClient(cfg)` */
  readonly dynamo?: DynamoDBClient;
  readonly readings?: ReadingStore;
  readonly stats?: StatsStore;
  readonly catalog?: CatalogStore;
  readonly series?: SeriesStore;
  readonly runs?: RollupRunStore;
  /** Pump-days of one item processed at once. @default - `cfg.writeConcurrency` */
  readonly concurrency?: number;
  /** Overrides of the backoff. @default - from the config */
  readonly retry?: RetryOptions;
  /** @default - stdout, as Lambda expects */
  readonly metricsSink?: (line: string) => void;
  /** @default - stdout/stderr, as Lambda expects */
  readonly log?: (line: string) => void;
}

/** The worker: one work item, or an SQS event of them. */
export interface RollupWorker {
  /**
   * Rolls up one work item and marks it done.
   *
   * @throws RollupTaskFailedError when some pump-days failed (after their retries); a store error when the task
   *   record cannot be read or written.
   */
  runTask(task: RollupTask): Promise<TaskRun>;
  /** The Lambda handler of the SQS event source (ReportBatchItemFailures). */
  handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse>;
  /** Writes the metrics of the tasks run since the last flush (the handler does so at the end of each invocation). */
  flushMetrics(): void;
}

/**
 * Builds the worker for a configuration.
 *
 * @example
 * const worker = createRollupWorker(cfg, { metricsSink: () => undefined });
 * const response = await worker.handler(sqsEvent);
 */
export function createRollupWorker(cfg: WellwatchConfig, deps: WorkerDeps = {}): RollupWorker {
  const needsClient = !(deps.readings && deps.stats && deps.catalog && deps.series && deps.runs);
  const dynamo = deps.dynamo ?? (needsClient ? dynamoClient(cfg) : undefined);
  const readings = deps.readings ?? createReadingStore(dynamo!, cfg, deps.retry);
  const stats = deps.stats ?? createStatsStore(dynamo!, cfg);
  const catalog = deps.catalog ?? createCatalogStore(dynamo!, cfg, deps.retry);
  const series = deps.series ?? createSeriesStore(dynamo!, cfg);
  const runs = deps.runs ?? createRollupRunStore(dynamo!, cfg);
  const retry = resolveRetry(deps.retry ?? { maxAttempts: cfg.writeMaxAttempts, baseDelayMs: cfg.writeBaseDelayMs });
  const concurrency = deps.concurrency ?? cfg.writeConcurrency;
  const rollupPumpDay = createPumpDayRollup({ readings, stats, series }, retry);
  const logger = handlerLogger(cfg.names.serviceName, deps.log);
  const metrics = handlerMetrics(cfg.names.serviceName, deps.metricsSink);

  async function* targetsOf(task: RollupTask): AsyncGenerator<{ target: PumpDay; marker?: PendingMarker }> {
    if (task.kind === 'pending') {
      for (const marker of task.markers) yield { target: { pump: marker.pump, day: marker.day }, marker };
      return;
    }
    for await (const pump of catalog.listPumpsInBucket(task.day, task.bucket, { from: task.from, to: task.to })) yield { target: { pump, day: task.day } };
  }

  const runTask = async (task: RollupTask): Promise<TaskRun> => {
    if (await withRetry(() => runs.isDone(task), retry)) return { status: 'duplicate', outcome: NO_OUTCOME };
    let outcome = NO_OUTCOME;
    const failures: string[] = [];
    let firstError: unknown;
    await runPool(targetsOf(task), concurrency, async ({ target, marker }) => {
      try {
        const done = await rollupPumpDay(target);
        const cleared = marker !== undefined && (await withRetry(() => catalog.clearPending(marker), retry));
        outcome = addOutcomes(outcome, {
          pumpDays: done.readings > 0 ? 1 : 0,
          readings: done.readings,
          statsWritten: done.put === 'written' ? 1 : 0,
          pendingCleared: cleared ? 1 : 0,
          superseded: done.put === 'superseded' ? 1 : 0,
        });
      } catch (error) {
        firstError ??= error;
        failures.push(`${target.pump}@${target.day}: ${describeError(error)}`);
      }
    });
    count(metrics, DETAIL_METRIC_NAMES.rollupPumpDays, outcome.pumpDays);
    count(metrics, DETAIL_METRIC_NAMES.rollupReadings, outcome.readings);
    if (failures.length > 0) {
      count(metrics, DETAIL_METRIC_NAMES.rollupFailures, failures.length);
      throw new RollupTaskFailedError(task, failures, outcome, firstError);
    }
    const first = await withRetry(() => runs.completeTask(task, outcome), retry);
    return { status: first ? 'done' : 'duplicate', outcome };
  };

  return {
    runTask,
    flushMetrics: () => metrics.publishStoredMetrics(),
    async handler(event, context) {
      if (context?.awsRequestId) logger.addContext(context);
      const batchItemFailures: { itemIdentifier: string }[] = [];
      for (const record of event.Records ?? []) {
        try {
          const task = decodeTask(record.body);
          const run = await runTask(task);
          logger.info('rollup work item finished', { scope: task.scope, generation: task.generation, task: task.id, status: run.status, ...run.outcome });
        } catch (error) {
          // Only this message returns to the queue; a malformed one ends in the dead-letter queue after
          // maxReceiveCount receives, where an operator can read it.
          logger.error('rollup work item failed', { messageId: record.messageId, receiveCount: record.attributes?.ApproximateReceiveCount, error: describeError(error) });
          batchItemFailures.push({ itemIdentifier: record.messageId });
        }
      }
      metrics.publishStoredMetrics();
      return { batchItemFailures };
    },
  };
}

let lazy: RollupWorker | undefined;

/**
 * The Lambda entry point of the SQS event source.
 *
 * @example
 * // event source mapping: work queue → this function, FunctionResponseTypes: ['ReportBatchItemFailures']
 */
export const handler = (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  lazy ??= createRollupWorker(loadConfig());
  return lazy.handler(event, context);
};

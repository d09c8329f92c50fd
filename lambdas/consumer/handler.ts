/**
 * The Kinesis consumer: CSV lines in, readings, alerts, dead letters and catalog markers out.
 *
 * One invocation handles one batch of Kinesis records; the handler below is its table of contents:
 * 1. decode and parse every record (`decodeBatch`: KPL-aware, never throws; bad lines become dead letters; each
 *    reading and letter remembers its record);
 * 2. write all readings (BatchWriteItem with bounded retries) while the dead letters go to their sink;
 * 3. write the catalog markers of the pump-days that now hold data (`groupPumpDays`) — after the readings, so a
 *    rollup that sees a pending marker also sees the readings behind it;
 * 4. log and count what happened (`reportBatch`: Powertools Logger and Metrics);
 * 5. answer Lambda (`firstFailedRecord`, `batchResponse`): the lowest record with anything not durably handled as a
 *    partial batch response, or a throw when that is the first record (no progress: Lambda bisects).
 *
 * Near the invocation's timeout (see CONSUMER_DEADLINE) steps 2 and 3 stop starting writes; what is unwritten counts
 * as not handled, so the batch ends with progress kept instead of a timeout that redoes all of it.
 *
 * Lambda then retries from that record; every write is an idempotent put (same reading, same key, same item), so
 * re-processing the records after it is harmless. Bad lines never fail a batch: they are delivered as dead letters.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { CONSUMER_DEADLINE, METRIC_NAMES, loadConfig, type WellwatchConfig } from '../config';
import { parseUtcOffset } from '../core/parse-reading';
import { compileRules } from '../core/rules';
import { createCatalogStore, type CatalogStore } from '../store/catalog-store';
import { dynamoClient, sqsClient } from '../store/clients';
import { createDeadLetterSink, type DeadLetterSink } from '../store/dead-letter-sink';
import { createReadingStore, type ReadingStore } from '../store/reading-store';
import { utcDay } from '../store/days';
import { describeError, type RetryOptions } from '../store/retry';
import { count, handlerLogger, handlerMetrics } from '../runtime/telemetry';
import { tuneV8 } from '../runtime/v8-tuning';
import { reportBatch } from './batch-report';
import { BatchNoProgressError, batchResponse, firstFailedRecord } from './batch-response';
import { decodeBatch, shardOf } from './decode-batch';
import { groupPumpDays } from './pump-days';
import { createAlarmStore } from '../store/alarm-store';
import { createNotifier, type Notifier } from '../store/notifier';
import { createAlarmStep, type AlarmStep } from './alarm-step';
import { alarmRuleOf, thresholdSource, type ConditionSource } from '../core/alarm-rules';
import { createDetectorStore } from '../store/detector-store';
import { createEarlyWarningSource } from './early-warning-source';

tuneV8();

/** Replaceable collaborators of the consumer; everything defaults to the real thing built from the config. */
export interface ConsumerDeps {
  /** @default - `dynamoClient(cfg)` */
  readonly dynamo?: DynamoDBClient;
  /** @default - `sqsClient(cfg)`, built only when the dead-letter URL is an SQS queue */
  readonly sqs?: SQSClient;
  /** @default - from `cfg.deadLetterUrl`: SQS queue, JSONL file, or the log */
  readonly deadLetters?: DeadLetterSink;
  /** @default - `createReadingStore(dynamo, cfg)` */
  readonly readings?: ReadingStore;
  /** @default - `createCatalogStore(dynamo, cfg)` */
  readonly catalog?: CatalogStore;
  /** Current time: decides which days are "late" (pending) and stamps dead letters. @default - `new Date()` */
  readonly clock?: () => Date;
  /** Receives each EMF metrics line (Powertools Metrics). @default - stdout, as Lambda expects */
  readonly metricsSink?: (line: string) => void;
  /** Receives each structured JSON log line (Powertools Logger). @default - stdout/stderr, as Lambda expects */
  readonly log?: (line: string) => void;
  /** Overrides of the backoff (tests pass a no-op sleep). @default - from the config */
  readonly retry?: RetryOptions;
  /** Where alarm notifications go. @default - `createNotifier(cfg)` (SNS topic, JSONL file or the log) */
  readonly notifier?: Notifier;
  /** The alarm step. @default - threshold rules and early-warning detectors (`defaultAlarmStep`) */
  readonly alarms?: AlarmStep;
}

/** The consumer's Lambda handler type. */
export type ConsumerHandler = (event: KinesisStreamEvent, context?: Context) => Promise<KinesisStreamBatchResponse>;

/**
 * A check that answers true once `context` has less than `reserveMs` left (see {@link CONSUMER_DEADLINE}), or less
 * than `maxReserveShare` of the time it started with when that is smaller; it stays true once it has been; with no
 * time left at all it is true from the start. Undefined without a usable context (direct calls in tests and tools):
 * never cut short.
 *
 * @example
 * const nearDeadline = deadlineCheck(context, CONSUMER_DEADLINE.readingsReserveMs); if (nearDeadline?.()) { ... }
 */
export function deadlineCheck(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined, reserveMs: number): (() => boolean) | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  if (typeof remaining !== 'number' || !Number.isFinite(remaining)) return undefined;
  if (remaining <= 0) return () => true; // out of time before it began (local mode stopping): write nothing
  const reserve = Math.min(reserveMs, remaining * CONSUMER_DEADLINE.maxReserveShare);
  let reached = false;
  return () => (reached ||= context!.getRemainingTimeInMillis() < reserve);
}

/**
 * Builds the consumer handler for a configuration.
 *
 * Rules and the UTC offset are compiled once; clients, stores and sinks are built once and reused across
 * invocations of a warm container.
 *
 * @throws ConfigError / ParseError at build time for an invalid offset or alert rule (fail fast, not per batch).
 * @example
 * const consume = createConsumerHandler(loadConfig({ endpoints: { dynamodb: 'http://127.0.0.1:4567' } }));
 * const { batchItemFailures } = await consume(event);
 */
export function createConsumerHandler(cfg: WellwatchConfig, deps: ConsumerDeps = {}): ConsumerHandler {
  const rules = compileRules(cfg.alertRules);
  const parse = { utcOffsetMinutes: parseUtcOffset(cfg.sourceUtcOffset) };
  const dynamo = deps.dynamo ?? (deps.readings && deps.catalog ? undefined : dynamoClient(cfg));
  const readingStore = deps.readings ?? createReadingStore(dynamo!, cfg, deps.retry);
  const catalog = deps.catalog ?? createCatalogStore(dynamo!, cfg, deps.retry);
  const sink = deps.deadLetters ?? createDeadLetterSink(cfg.deadLetterUrl, () => deps.sqs ?? sqsClient(cfg), { ...deps.retry, log: deps.log });
  const clock = deps.clock ?? (() => new Date());
  const logger = handlerLogger(cfg.names.serviceName, deps.log);
  const metrics = handlerMetrics(cfg.names.serviceName, deps.metricsSink);
  const targets = { readingsTable: readingStore.table, deadLetterSink: sink.description, catalogTable: catalog.table };
  const alarmStep = deps.alarms ?? defaultAlarmStep(cfg, dynamo ?? dynamoClient(cfg), clock, deps.notifier ?? createNotifier(cfg));

  return async (event, context) => {
    const records = event?.Records ?? [];
    if (records.length === 0) return { batchItemFailures: [] };
    if (context?.awsRequestId) logger.addContext(context);
    const now = clock();
    const readingsStop = deadlineCheck(context, CONSUMER_DEADLINE.readingsReserveMs);
    const markersStop = deadlineCheck(context, CONSUMER_DEADLINE.markersReserveMs);
    try {
      // 1. Decode; 2. readings and dead letters; 3. catalog markers and alarms of what is stored; 4. report; 5. answer.
      const batch = decodeBatch(records, { parse, rules, now });
      const [written, delivered] = await Promise.all([
        readingStore.put(batch.readings, readingsStop ? { stopWhen: readingsStop } : {}),
        sink.send(batch.letters, readingsStop ? { stopWhen: readingsStop } : {}),
      ]);
      const stored = groupPumpDays(batch.readings, batch.origin, new Set(written.failed));
      const marked = await catalog.markTouched(stored.pumpDays, utcDay(now), now, markersStop ? { stopWhen: markersStop } : {});
      // 3b. Alarms on the stored readings (alarm-step.ts); a pump whose alarm state was not written fails its first record.
      const alarmed = await alarmStep.run(storedInOrder(batch.readings, written.failed), { shardId: shardOf(records[0]?.eventID), now });
      const alarmFailedPumps = new Set(alarmed.failedPumps);
      const alarmFailed = alarmFailedPumps.size === 0 ? [] : batch.readings.flatMap((r, i) => (alarmFailedPumps.has(r.pump) ? [i] : []));
      if (alarmFailed.length > 0) logger.error('alarm states not written', { pumps: alarmed.failedPumps.slice(0, 10), error: alarmed.lastError });
      else if (alarmed.lastError) logger.warn('alarm notifications pending (retried by the next evaluation or the scheduled check)', { error: alarmed.lastError });
      if (alarmed.transitions > 0) count(metrics, METRIC_NAMES.alarmTransitions, alarmed.transitions);
      const firstFailed = firstFailedRecord([
        { failed: written.failed, recordOf: batch.origin },
        { failed: delivered.failed, recordOf: batch.letterOrigin },
        { failed: marked.failed, recordOf: stored.firstRecordOf },
        { failed: alarmFailed, recordOf: batch.origin },
      ]);
      const remainingMs = context?.getRemainingTimeInMillis?.();
      let failed = reportBatch(logger, metrics, { records: records.length, batch, written, delivered, marked, firstFailed, targets, remainingMs });
      if (alarmFailed.length > 0) {
        if (!failed) count(metrics, METRIC_NAMES.batchFailures, 1);
        failed = failed ? `${failed}; alarm states not written` : 'alarm states not written';
      }
      return batchResponse(records, firstFailed, failed);
    } catch (error) {
      if (error instanceof BatchNoProgressError) throw error;
      // Not expected (stores report failures as values): no progress, so throw and let Lambda bisect and retry.
      logger.error('batch failed unexpectedly', { error: describeError(error), records: records.length });
      count(metrics, METRIC_NAMES.batchFailures, 1);
      return batchResponse(records, 0, `unexpected error: ${describeError(error)}`, error);
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/**
 * The alarm step with its condition sources: the threshold rules, and the early-warning detectors unless
 * `WELLWATCH_DETECTORS` is an empty list.
 */
function defaultAlarmStep(cfg: WellwatchConfig, dynamo: DynamoDBClient, clock: () => Date, notifier: Notifier): AlarmStep {
  const sources: ConditionSource[] = [thresholdSource(cfg.alertRules.map(alarmRuleOf))];
  if (cfg.detectors.length > 0) sources.push(createEarlyWarningSource(cfg, createDetectorStore(dynamo, cfg)));
  return createAlarmStep(cfg, createAlarmStore(dynamo, cfg, { clock }), notifier, sources);
}

/**
 * The readings the alarm step may evaluate: per pump, those before its first unwritten reading. That reading and
 * every later one are redelivered (Lambda retries from the lowest failed record), so evaluating a later one now would
 * move the pump's detectors past a reading they have not seen, and the retry would find it "late".
 *
 * @example
 * storedInOrder([a1, b1, a2], [0]); // → [b1]
 */
export function storedInOrder<R extends { readonly pump: string }>(readings: readonly R[], unwritten: readonly number[]): R[] {
  if (unwritten.length === 0) return readings.slice();
  const firstUnwritten = new Map<string, number>();
  for (const i of unwritten) {
    const pump = readings[i]!.pump;
    const f = firstUnwritten.get(pump);
    if (f === undefined || i < f) firstUnwritten.set(pump, i);
  }
  return readings.filter((r, i) => {
    const f = firstUnwritten.get(r.pump);
    return f === undefined || i < f;
  });
}

let lazy: ConsumerHandler | undefined;

/**
 * The Lambda entry point: builds the handler from the environment on first use and reuses it while warm.
 *
 * @example
 * // CDK: new NodejsFunction(this, 'Consumer', { entry: 'lambdas/consumer/handler.ts', handler: 'handler' })
 */
export const handler = (event: KinesisStreamEvent, context?: Context): Promise<KinesisStreamBatchResponse> => {
  lazy ??= createConsumerHandler(loadConfig());
  return lazy(event, context);
};

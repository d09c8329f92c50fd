/**
 * The Kinesis consumer: CSV lines in, readings, alerts, dead letters and catalog markers out.
 *
 * One invocation handles one batch of Kinesis records:
 * 1. decode and parse every record (KPL-aware, never throws; bad lines become dead letters);
 * 2. write all readings (BatchWriteItem with bounded retries) while the dead letters go to their sink;
 * 3. write the catalog markers of the pump-days that now hold data — after the readings, so a rollup that sees
 *    a pending marker also sees the readings behind it; then evaluate the alarms of the stored readings
 *    (alarm-step.ts: conditional state writes, notifications once per transition);
 * 4. report, as a partial batch response, the first record (in event order) with anything not durably handled.
 *
 * Near the invocation's timeout (see CONSUMER_DEADLINE) step 2 stops starting writes; the unwritten readings count as
 * not handled, so the batch ends with progress kept instead of a timeout that redoes all of it.
 *
 * Lambda then retries from that record; every write is an idempotent put (same reading, same key, same item), so
 * re-processing the records after it is harmless. Bad lines never fail a batch: they are delivered as dead letters.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { CONSUMER_DEADLINE, METRIC_NAMES, NAMES, loadConfig, type WellwatchConfig } from '../config';
import { decodeBase64Strict, ingestRecord, invalidBase64Letter, summariseBatch } from '../core/ingest';
import { createMetrics } from '../core/metrics';
import { parseUtcOffset } from '../core/parse-reading';
import { compileRules } from '../core/rules';
import type { DeadLetter, EvaluatedReading } from '../core/types';
import { createCatalogStore, type CatalogStore } from '../store/catalog-store';
import { dynamoClient, sqsClient } from '../store/clients';
import { createDeadLetterSink, type DeadLetterSink } from '../store/dead-letter-sink';
import { createReadingStore, type ReadingStore } from '../store/reading-store';
import { utcDay } from '../store/days';
import { describeError, type RetryOptions } from '../store/retry';
import { tuneV8 } from '../runtime/v8-tuning';
import { createAlarmStore } from '../store/alarm-store';
import { createNotifier, type Notifier } from '../store/notifier';
import { createAlarmStep, type AlarmStep } from './alarm-step';

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
  /** Receives each EMF metrics line. @default - `console.log` */
  readonly metricsSink?: (line: string) => void;
  /** Receives each structured warning/error log line. @default - `console.error` */
  readonly log?: (line: string) => void;
  /** Overrides of the backoff (tests pass a no-op sleep). @default - from the config */
  readonly retry?: RetryOptions;
  /** Where alarm notifications go. @default - `createNotifier(cfg)` (SNS topic, JSONL file or the log) */
  readonly notifier?: Notifier;
  /** The alarm step. @default - `createAlarmStep(cfg, createAlarmStore(dynamo, cfg), notifier)` */
  readonly alarms?: AlarmStep;
}

/** The consumer's Lambda handler type. */
export type ConsumerHandler = (event: KinesisStreamEvent, context?: Context) => Promise<KinesisStreamBatchResponse>;

/** The shard id of a record: the part of `eventID` before the colon (`shardId-000000000000:4959…`). */
function shardOf(eventID: string | undefined): string | undefined {
  if (!eventID) return undefined;
  const colon = eventID.indexOf(':');
  return colon < 0 ? eventID : eventID.slice(0, colon);
}

/**
 * A check that answers true once `context` has less than the reserve left (see {@link CONSUMER_DEADLINE}); it stays
 * true once it has been; with no time left at all it is true from the start. Undefined without a usable context
 * (direct calls in tests and tools): never cut short.
 *
 * @example
 * const nearDeadline = deadlineCheck(context); if (nearDeadline?.()) { ... }
 */
export function deadlineCheck(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined): (() => boolean) | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  if (typeof remaining !== 'number' || !Number.isFinite(remaining)) return undefined;
  if (remaining <= 0) return () => true; // out of time before it began (local mode stopping): write nothing
  const reserve = Math.min(CONSUMER_DEADLINE.reserveMs, remaining * CONSUMER_DEADLINE.maxReserveShare);
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
  const log = deps.log ?? ((line: string) => console.error(line));
  const metricsSink = deps.metricsSink;

  const alarmStep = deps.alarms ?? createAlarmStep(cfg, createAlarmStore(dynamo ?? dynamoClient(cfg), cfg, { clock }), deps.notifier ?? createNotifier(cfg));

  const logLine = (level: 'WARN' | 'ERROR', message: string, fields: Record<string, unknown>): void => {
    log(JSON.stringify({ level, message, service: cfg.names.serviceName, ...fields }));
  };

  return async (event, context) => {
    const records = event?.Records ?? [];
    const requestId = context?.awsRequestId;
    const metrics = createMetrics({ namespace: NAMES.metricNamespace, service: cfg.names.serviceName, sink: metricsSink });
    if (records.length === 0) return { batchItemFailures: [] };
    const now = clock();

    // 1. Decode and parse. `origin[i]` is the record index of reading i; letters keep theirs the same way.
    const readings: EvaluatedReading[] = [];
    const origin: number[] = [];
    const letters: DeadLetter[] = [];
    const letterOrigin: number[] = [];
    records.forEach((record, index) => {
      const { data, sequenceNumber, partitionKey } = record.kinesis;
      const shardId = shardOf(record.eventID);
      const bytes = decodeBase64Strict(data ?? '');
      if (!bytes) {
        letters.push(invalidBase64Letter(data ?? '', { shardId, sequenceNumber, partitionKey }, now));
        letterOrigin.push(index);
        return;
      }
      const result = ingestRecord({ data: bytes, shardId, sequenceNumber, partitionKey }, { parse, rules, now });
      for (const r of result.readings) {
        readings.push(r);
        origin.push(index);
      }
      for (const l of result.deadLetters) {
        letters.push(l);
        letterOrigin.push(index);
      }
    });

    let firstFailed = Infinity;
    const fail = (recordIndex: number): void => {
      if (recordIndex < firstFailed) firstFailed = recordIndex;
    };

    const nearDeadline = deadlineCheck(context);
    let cutShort = false;
    let failedOnError = false;
    try {
      // 2. Readings and dead letters, concurrently.
      const [written, delivered] = await Promise.all([readingStore.put(readings, nearDeadline ? { stopWhen: nearDeadline } : {}), sink.send(letters)]);
      const failedReadings = new Set(written.failed);
      for (const i of written.failed) fail(origin[i]!);
      cutShort = written.stopped === true;
      const errorFailures = cutShort ? (written.failedByError ?? 0) : written.failed.length;
      if (cutShort) {
        logLine('WARN', 'batch cut short near the invocation deadline', {
          remainingMs: context?.getRemainingTimeInMillis?.(),
          unwritten: written.failed.length,
          of: readings.length,
          resumeAtRecord: firstFailed,
          records: records.length,
          requestId,
        });
      }
      if (errorFailures > 0) {
        failedOnError = true;
        logLine('ERROR', 'readings not written after retries', {
          table: readingStore.table,
          failed: errorFailures,
          of: readings.length,
          error: written.lastError,
          requestId,
        });
      }
      for (const i of delivered.failed) fail(letterOrigin[i]!);
      if (delivered.failed.length > 0) {
        failedOnError = true;
        logLine('ERROR', 'dead letters not delivered after retries', {
          sink: sink.description,
          failed: delivered.failed.length,
          of: letters.length,
          error: delivered.lastError,
          requestId,
        });
      }
      if (letters.length > 0) {
        logLine('WARN', 'bad lines rejected', {
          count: letters.length,
          codes: [...new Set(letters.map((l) => l.code))],
          first: { reason: letters[0]!.reason, shardId: letters[0]!.shardId, sequenceNumber: letters[0]!.sequenceNumber },
          requestId,
        });
      }

      // 3. Catalog markers for the pump-days that now hold data; a marker failure fails the first record touching it.
      const pumpDays: { pump: string; day: string }[] = [];
      const firstRecordOf: number[] = [];
      const seen = new Map<string, number>();
      readings.forEach((r, i) => {
        if (failedReadings.has(i)) return;
        const key = `${r.day}#${r.pump}`;
        const at = seen.get(key);
        if (at === undefined) {
          seen.set(key, pumpDays.length);
          pumpDays.push({ pump: r.pump, day: r.day });
          firstRecordOf.push(origin[i]!);
        } else if (origin[i]! < firstRecordOf[at]!) {
          firstRecordOf[at] = origin[i]!;
        }
      });
      const marked = await catalog.markTouched(pumpDays, utcDay(now), now);
      for (const i of marked.failed) fail(firstRecordOf[i]!);
      if (marked.failed.length > 0) {
        failedOnError = true;
        logLine('ERROR', 'catalog markers not written after retries', {
          table: catalog.table,
          failedPumpDays: marked.failed.length,
          error: marked.lastError,
          requestId,
        });
      }

      // 3b. Alarms, on the readings now stored (see alarm-step.ts); a pump whose state was not written fails its first record.
      const alarmed = await alarmStep.run(
        readings.filter((_, i) => !failedReadings.has(i)),
        { shardId: shardOf(records[0]?.eventID), now },
      );
      if (alarmed.failedPumps.length > 0) {
        const failedPumps = new Set(alarmed.failedPumps);
        readings.forEach((r, i) => {
          if (failedPumps.has(r.pump)) fail(origin[i]!);
        });
        failedOnError = true;
        logLine('ERROR', 'alarm states not written', { pumps: alarmed.failedPumps.slice(0, 10), error: alarmed.lastError, requestId });
      } else if (alarmed.lastError) {
        logLine('WARN', 'alarm notifications pending (retried by the next evaluation or the scheduled sweep)', { error: alarmed.lastError, requestId });
      }
      if (alarmed.transitions > 0) metrics.count(METRIC_NAMES.alarmTransitions, alarmed.transitions);

      // 4. Metrics.
      const stored = readings.filter((_, i) => !failedReadings.has(i));
      const summary = summariseBatch(readings);
      metrics.count('BatchRecords', records.length);
      metrics.count('BatchReadings', readings.length);
      metrics.count(METRIC_NAMES.readingsStored, stored.length);
      metrics.count(METRIC_NAMES.alerts, stored.reduce((n, r) => n + (r.alerts.length > 0 ? 1 : 0), 0));
      metrics.count(METRIC_NAMES.badLines, letters.length);
      if (marked.pending > 0) metrics.count('LateTouches', marked.pending);
      if (summary.psi && summary.flo) {
        metrics.gauge('PsiMax', summary.psi.max, 'None');
        metrics.gauge(METRIC_NAMES.psiMin, summary.psi.min, 'None');
        metrics.gauge(METRIC_NAMES.psiAvg, summary.psi.avg, 'None');
        metrics.gauge('FloMax', summary.flo.max, 'None');
        metrics.gauge('FloMin', summary.flo.min, 'None');
        metrics.gauge(METRIC_NAMES.floAvg, summary.flo.avg, 'None');
      }
    } catch (error) {
      // Not expected (stores report failures as values): retry the whole batch rather than lose anything.
      logLine('ERROR', 'batch failed unexpectedly', { error: describeError(error), records: records.length, requestId });
      failedOnError = true;
      fail(0);
    }

    // A batch can be both: cut short at the deadline and with a write that failed on an error before it.
    if (cutShort) metrics.count(METRIC_NAMES.batchCutShort, 1);
    if (failedOnError) metrics.count(METRIC_NAMES.batchFailures, 1);
    metrics.flush();
    if (firstFailed === Infinity) return { batchItemFailures: [] };
    return { batchItemFailures: [{ itemIdentifier: records[firstFailed]!.kinesis.sequenceNumber }] };
  };
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

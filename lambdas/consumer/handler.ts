/**
 * The Kinesis consumer: CSV lines in, readings, alerts, dead letters and catalog markers out.
 *
 * One invocation handles one batch of Kinesis records; the handler below is its table of contents:
 * 1. decode and parse every record (`decodeBatch`: KPL-aware, never throws; bad lines become dead letters; each
 *    reading and letter remembers its record);
 * 2. write all readings (BatchWriteItem with bounded retries) while the dead letters go to their sink;
 * 3. write the catalog markers of the pump-days that now hold data (`groupPumpDays`) — after the readings, so a
 *    rollup that sees a pending marker also sees the readings behind it;
 * 4. log and count what happened;
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
import { CONSUMER_DEADLINE, METRIC_NAMES, NAMES, loadConfig, type WellwatchConfig } from '../config';
import { summariseBatch } from '../core/ingest';
import { createMetrics } from '../core/metrics';
import { parseUtcOffset } from '../core/parse-reading';
import { compileRules } from '../core/rules';
import type { WriteItemsResult } from '../store/batch-writer';
import { createCatalogStore, type CatalogStore, type MarkTouchedResult } from '../store/catalog-store';
import { dynamoClient, sqsClient } from '../store/clients';
import { createDeadLetterSink, type DeadLetterSendResult, type DeadLetterSink } from '../store/dead-letter-sink';
import { createReadingStore, type ReadingStore } from '../store/reading-store';
import { utcDay } from '../store/days';
import { describeError, type RetryOptions } from '../store/retry';
import { tuneV8 } from '../runtime/v8-tuning';
import { BatchNoProgressError, batchResponse, firstFailedRecord } from './batch-response';
import { decodeBatch, type DecodedBatch } from './decode-batch';
import { groupPumpDays } from './pump-days';

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
  const log = deps.log ?? ((line: string) => console.error(line));
  const metricsSink = deps.metricsSink;

  const logLine = (level: 'WARN' | 'ERROR', message: string, fields: Record<string, unknown>): void => {
    log(JSON.stringify({ level, message, service: cfg.names.serviceName, ...fields }));
  };

  return async (event, context) => {
    const records = event?.Records ?? [];
    if (records.length === 0) return { batchItemFailures: [] };
    const requestId = context?.awsRequestId;
    const metrics = createMetrics({ namespace: NAMES.metricNamespace, service: cfg.names.serviceName, sink: metricsSink });
    const now = clock();
    const readingsStop = deadlineCheck(context, CONSUMER_DEADLINE.readingsReserveMs);
    const markersStop = deadlineCheck(context, CONSUMER_DEADLINE.markersReserveMs);
    const writeOptions = readingsStop ? { stopWhen: readingsStop } : {};
    try {
      const batch = decodeBatch(records, { parse, rules, now });
      const [written, delivered] = await Promise.all([readingStore.put(batch.readings, writeOptions), sink.send(batch.letters, writeOptions)]);
      const stored = groupPumpDays(batch.readings, batch.origin, new Set(written.failed));
      const marked = await catalog.markTouched(stored.pumpDays, utcDay(now), now, markersStop ? { stopWhen: markersStop } : {});
      const firstFailed = firstFailedRecord([
        { failed: written.failed, recordOf: batch.origin },
        { failed: delivered.failed, recordOf: batch.letterOrigin },
        { failed: marked.failed, recordOf: stored.firstRecordOf },
      ]);
      const outcome = reportBatch({ records: records.length, batch, written, delivered, marked, firstFailed, requestId, remainingMs: context?.getRemainingTimeInMillis?.() });
      return batchResponse(records, firstFailed, outcome);
    } catch (error) {
      if (error instanceof BatchNoProgressError) throw error;
      // Not expected (stores report failures as values): no progress, so throw and let Lambda bisect and retry.
      logLine('ERROR', 'batch failed unexpectedly', { error: describeError(error), records: records.length, requestId });
      metrics.count(METRIC_NAMES.batchFailures, 1);
      return batchResponse(records, 0, `unexpected error: ${describeError(error)}`, error);
    } finally {
      metrics.flush();
    }

    /** Step 4: the log lines and metrics of a batch; returns a short description of what failed, if anything. */
    function reportBatch(r: {
      records: number;
      batch: DecodedBatch;
      written: WriteItemsResult;
      delivered: DeadLetterSendResult;
      marked: MarkTouchedResult;
      firstFailed: number | undefined;
      requestId: string | undefined;
      remainingMs: number | undefined;
    }): string {
      const { batch, written, delivered, marked } = r;
      const { readings, letters } = batch;
      const cutShort = written.stopped === true || delivered.stopped === true || marked.stopped === true;
      const readingErrors = written.stopped ? (written.failedByError ?? 0) : written.failed.length;
      const letterErrors = delivered.stopped ? (delivered.failedByError ?? 0) : delivered.failed.length;
      const markerErrors = marked.stopped ? (marked.failedByError ?? 0) : marked.failed.length;
      const failures: string[] = [];
      if (cutShort) {
        failures.push('cut short near the deadline');
        logLine('WARN', 'batch cut short near the invocation deadline', {
          remainingMs: r.remainingMs,
          unwritten: written.failed.length,
          of: readings.length,
          undeliveredLetters: delivered.failed.length,
          unwrittenMarkers: marked.failed.length,
          resumeAtRecord: r.firstFailed,
          records: r.records,
          requestId: r.requestId,
        });
      }
      if (readingErrors > 0) {
        failures.push(`${readingErrors} reading(s) not written`);
        logLine('ERROR', 'readings not written after retries', { table: readingStore.table, failed: readingErrors, of: readings.length, error: written.lastError, requestId: r.requestId });
      }
      if (letterErrors > 0) {
        failures.push(`${letterErrors} dead letter(s) not delivered`);
        logLine('ERROR', 'dead letters not delivered after retries', { sink: sink.description, failed: letterErrors, of: letters.length, error: delivered.lastError, requestId: r.requestId });
      }
      if (letters.length > 0) {
        logLine('WARN', 'bad lines rejected', {
          count: letters.length,
          codes: [...new Set(letters.map((l) => l.code))],
          first: { reason: letters[0]!.reason, shardId: letters[0]!.shardId, sequenceNumber: letters[0]!.sequenceNumber },
          requestId: r.requestId,
        });
      }
      if (markerErrors > 0) {
        failures.push(`${markerErrors} catalog marker(s) not written`);
        logLine('ERROR', 'catalog markers not written after retries', { table: catalog.table, failedPumpDays: marked.failed.length, error: marked.lastError, requestId: r.requestId });
      }

      const unwritten = new Set(written.failed);
      const stored = readings.filter((_, i) => !unwritten.has(i));
      const summary = summariseBatch(readings);
      metrics.count(METRIC_NAMES.batchRecords, r.records);
      metrics.count(METRIC_NAMES.batchReadings, readings.length);
      metrics.count(METRIC_NAMES.readingsStored, stored.length);
      metrics.count(METRIC_NAMES.alerts, stored.reduce((n, x) => n + (x.alerts.length > 0 ? 1 : 0), 0));
      metrics.count(METRIC_NAMES.badLines, letters.length);
      if (marked.pending > 0) metrics.count(METRIC_NAMES.lateTouches, marked.pending);
      if (summary.psi && summary.flo) {
        metrics.gauge(METRIC_NAMES.psiMax, summary.psi.max, 'None');
        metrics.gauge(METRIC_NAMES.psiMin, summary.psi.min, 'None');
        metrics.gauge(METRIC_NAMES.psiAvg, summary.psi.avg, 'None');
        metrics.gauge(METRIC_NAMES.floMax, summary.flo.max, 'None');
        metrics.gauge(METRIC_NAMES.floMin, summary.flo.min, 'None');
        metrics.gauge(METRIC_NAMES.floAvg, summary.flo.avg, 'None');
      }
      // A batch can be both: cut short at the deadline and with a write that failed on an error before it.
      if (cutShort) metrics.count(METRIC_NAMES.batchCutShort, 1);
      if (readingErrors + letterErrors + markerErrors > 0) metrics.count(METRIC_NAMES.batchFailures, 1);
      return failures.join('; ');
    }
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

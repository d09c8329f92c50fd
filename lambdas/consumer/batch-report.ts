/**
 * Step 4 of the consumer: the log lines and metrics of one batch, from what the writes reported.
 *
 * No decisions are made here (the batch response comes from `firstFailedRecord`): this only tells operators what
 * happened — a cut near the deadline (WARN), writes that failed after their retries (ERROR), bad lines (WARN) — and
 * counts it for the dashboard and the alarms. Metric names come from METRIC_NAMES (the dashboard's) and
 * DETAIL_METRIC_NAMES.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DETAIL_METRIC_NAMES, METRIC_NAMES } from '../config';
import { summariseBatch } from '../core/ingest';
import type { WriteItemsResult } from '../store/batch-writer';
import type { MarkTouchedResult } from '../store/catalog-store';
import type { DeadLetterSendResult } from '../store/dead-letter-sink';
import { count, gauge } from '../runtime/telemetry';
import type { DecodedBatch } from './decode-batch';

/** What the consumer's writes reported for one batch. */
export interface BatchWrites {
  /** Records in the batch. */
  readonly records: number;
  readonly batch: DecodedBatch;
  readonly written: WriteItemsResult;
  readonly delivered: DeadLetterSendResult;
  readonly marked: MarkTouchedResult;
  /** The record the batch fails from, if any (for the log). */
  readonly firstFailed: number | undefined;
  /** Where the writes went, for the log lines. */
  readonly targets: { readonly readingsTable: string; readonly deadLetterSink: string; readonly catalogTable: string };
  /** Time left when the writes ended, for the log line of a cut. */
  readonly remainingMs: number | undefined;
}

/**
 * Logs and counts one batch; returns a short description of what was not handled ('' when everything was).
 *
 * @example
 * const why = reportBatch(logger, metrics, { records: 100, batch, written, delivered, marked, firstFailed, targets, remainingMs });
 */
export function reportBatch(logger: Logger, metrics: Metrics, w: BatchWrites): string {
  const { batch, written, delivered, marked } = w;
  const { readings, letters } = batch;
  const cutShort = written.stopped === true || delivered.stopped === true || marked.stopped === true;
  const readingErrors = written.stopped ? (written.failedByError ?? 0) : written.failed.length;
  const letterErrors = delivered.stopped ? (delivered.failedByError ?? 0) : delivered.failed.length;
  const markerErrors = marked.stopped ? (marked.failedByError ?? 0) : marked.failed.length;
  const failures: string[] = [];
  if (cutShort) {
    failures.push('cut short near the deadline');
    logger.warn('batch cut short near the invocation deadline', {
      remainingMs: w.remainingMs,
      unwritten: written.failed.length,
      of: readings.length,
      undeliveredLetters: delivered.failed.length,
      unwrittenMarkers: marked.failed.length,
      resumeAtRecord: w.firstFailed,
      records: w.records,
    });
  }
  if (readingErrors > 0) {
    failures.push(`${readingErrors} reading(s) not written`);
    logger.error('readings not written after retries', { table: w.targets.readingsTable, failed: readingErrors, of: readings.length, error: written.lastError });
  }
  if (letterErrors > 0) {
    failures.push(`${letterErrors} dead letter(s) not delivered`);
    logger.error('dead letters not delivered after retries', { sink: w.targets.deadLetterSink, failed: letterErrors, of: letters.length, error: delivered.lastError });
  }
  if (letters.length > 0) {
    logger.warn('bad lines rejected', {
      count: letters.length,
      codes: [...new Set(letters.map((l) => l.code))],
      first: { reason: letters[0]!.reason, shardId: letters[0]!.shardId, sequenceNumber: letters[0]!.sequenceNumber },
    });
  }
  if (markerErrors > 0) {
    failures.push(`${markerErrors} catalog marker(s) not written`);
    logger.error('catalog markers not written after retries', { table: w.targets.catalogTable, failedPumpDays: marked.failed.length, error: marked.lastError });
  }

  const unwritten = new Set(written.failed);
  const stored = readings.filter((_, i) => !unwritten.has(i));
  count(metrics, DETAIL_METRIC_NAMES.batchRecords, w.records);
  count(metrics, DETAIL_METRIC_NAMES.batchReadings, readings.length);
  count(metrics, METRIC_NAMES.readingsStored, stored.length);
  count(metrics, METRIC_NAMES.alerts, stored.reduce((n, r) => n + (r.alerts.length > 0 ? 1 : 0), 0));
  count(metrics, METRIC_NAMES.badLines, letters.length);
  if (marked.pending > 0) count(metrics, DETAIL_METRIC_NAMES.lateTouches, marked.pending);
  const summary = summariseBatch(readings);
  if (summary.psi && summary.flo) {
    gauge(metrics, DETAIL_METRIC_NAMES.psiMax, summary.psi.max);
    gauge(metrics, METRIC_NAMES.psiMin, summary.psi.min);
    gauge(metrics, METRIC_NAMES.psiAvg, summary.psi.avg);
    gauge(metrics, DETAIL_METRIC_NAMES.floMax, summary.flo.max);
    gauge(metrics, DETAIL_METRIC_NAMES.floMin, summary.flo.min);
    gauge(metrics, METRIC_NAMES.floAvg, summary.flo.avg);
  }
  // A batch can be both: cut short at the deadline and with a write that failed on an error before it.
  if (cutShort) count(metrics, METRIC_NAMES.batchCutShort, 1);
  if (readingErrors + letterErrors + markerErrors > 0) count(metrics, METRIC_NAMES.batchFailures, 1);
  return failures.join('; ');
}

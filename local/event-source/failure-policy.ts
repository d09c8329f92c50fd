/**
 * What the mapping does after an invocation: the pure failure policy of a Kinesis event source mapping.
 *
 * (outcome of the invocation, the shard's retry state, the mapping settings) → complete | retry | bisect | discard.
 * No I/O and no clock: the runner applies the decision (checkpoint, on-failure record, next batch sizes). Each rule
 * follows a statement of the AWS documentation, quoted where it is applied:
 * - [BFR] "Configuring partial batch response with Kinesis Data Streams and Lambda"
 *   (lambda/latest/dg/services-kinesis-batchfailurereporting);
 * - [OFD] "Retain discarded batch records for a Kinesis Data Streams event source in Lambda"
 *   (lambda/latest/dg/kinesis-on-failure-destination);
 * - [KIN] "Using AWS Lambda with Amazon Kinesis" (lambda/latest/dg/with-kinesis), event source options;
 * - [ESM] CreateEventSourceMapping API reference (MaximumRetryAttempts, MaximumRecordAgeInSeconds).
 */
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import type { EventSourceSettings } from '../../lambdas/config';

/** How one invocation ended, as the mapping sees it. */
export type InvocationOutcome =
  | { readonly kind: 'success' }
  /** A partial batch response: `failedAt` is the batch index of the lowest reported record. */
  | { readonly kind: 'partial'; readonly failedAt: number; readonly error: string }
  /** A function error: the handler threw, timed out, or answered with an invalid item identifier. */
  | { readonly kind: 'error'; readonly error: string };

/**
 * Reads a handler's response against the batch's sequence numbers (in batch order).
 *
 * @example
 * readBatchResponse({ batchItemFailures: [{ itemIdentifier: seqs[3] }] }, seqs, true); // → { kind: 'partial', failedAt: 3, … }
 */
export function readBatchResponse(response: unknown, sequenceNumbers: readonly string[], reportBatchItemFailures: boolean): InvocationOutcome {
  // [BFR] "Even when your function code returns partial batch failure responses, these responses will not be processed
  // by Lambda unless the ReportBatchItemFailures feature is explicitly turned on for your event source mapping."
  if (!reportBatchItemFailures) return { kind: 'success' };
  // [BFR] "Lambda treats a batch as a complete success if you return: an empty batchItemFailure list, a null
  // batchItemFailure list, an empty EventResponse, a null EventResponse."
  if (!response || typeof response !== 'object') return { kind: 'success' };
  const failures = (response as Partial<KinesisStreamBatchResponse>).batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return { kind: 'success' };
  let lowest = Number.POSITIVE_INFINITY;
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? sequenceNumbers.indexOf(id) : -1;
    // [BFR] "Lambda treats a batch as a complete failure if you return: an empty string itemIdentifier, a null
    // itemIdentifier, an itemIdentifier with a bad key name." An identifier of another batch is as bad.
    if (index < 0) return { kind: 'error', error: `batchItemFailures names ${JSON.stringify(id)}, which is not in the batch` };
    // [BFR] "If the batchItemFailures array contains multiple items, Lambda uses the record with the lowest sequence
    // number as the checkpoint." Within a shard, batch order is sequence-number order.
    lowest = Math.min(lowest, index);
  }
  return { kind: 'partial', failedAt: lowest, error: `handler reported ${failures.length} failed item(s)` };
}

/** The shard's state the policy needs. */
export interface PolicyShard {
  /** Records in the batch that was just invoked. */
  readonly batchSize: number;
  /** Retries these records already had (failed invocations since the batch was last split or shrunk). */
  readonly attempts: number;
}

/** The settings the policy reads. */
export type PolicySettings = Pick<EventSourceSettings, 'bisectBatchOnError' | 'retryAttempts'>;

/** What to do next with the batch. */
export type FailureDecision =
  /** Checkpoint all of it. */
  | { readonly action: 'complete' }
  /** Checkpoint the first `complete` records; the next batch is exactly the `retry` records after them. */
  | { readonly action: 'retry'; readonly complete: number; readonly retry: number; readonly attempts: number }
  /** Split in two; each half is invoked on its own, first half first. */
  | { readonly action: 'bisect'; readonly halves: readonly [number, number] }
  /** Hand the batch to the on-failure destination and checkpoint past it. */
  | { readonly action: 'discard'; readonly condition: 'RetryAttemptsExhausted' };

/**
 * Decides what follows an invocation.
 *
 * @example
 * decide({ kind: 'error', error: 'boom' }, { batchSize: 8, attempts: 0 }, { bisectBatchOnError: true, retryAttempts: 2 });
 * // → { action: 'bisect', halves: [4, 4] }
 */
export function decide(outcome: InvocationOutcome, shard: PolicyShard, settings: PolicySettings): FailureDecision {
  const size = shard.batchSize;
  if (outcome.kind === 'success') return { action: 'complete' };

  if (outcome.kind === 'partial') {
    if (outcome.failedAt > 0) {
      // [BFR] "Lambda uses the record with the lowest sequence number as the checkpoint. Lambda then retries all
      // records starting from that checkpoint." and "When a partial batch success response is received and both
      // BisectBatchOnFunctionError and ReportBatchItemFailures are turned on, the batch is bisected at the returned
      // sequence number and Lambda retries only the remaining records." So: no halving, and the retry holds only
      // the remaining records of this batch, never records fetched after it. The remaining records start their own
      // retry count: they made progress, so a batch that moves forward on every call is never discarded.
      return { action: 'retry', complete: outcome.failedAt, retry: size - outcome.failedAt, attempts: 1 };
    }
    // The first record failed: the checkpoint does not move and the whole batch is retried, counting towards the
    // quota. Bisecting at the first record leaves the batch whole; only a function error halves it — which is why
    // the consumer throws when it cannot make progress.
    return retryOrDiscard(size, shard.attempts + 1, settings);
  }

  // [BFR] "If your invocation fails and BisectBatchOnFunctionError is turned on, the batch is bisected regardless
  // of your ReportBatchItemFailures setting." [OFD] "Splitting a batch does not count towards the retry quota."
  if (settings.bisectBatchOnError && size > 1) {
    const first = Math.ceil(size / 2);
    return { action: 'bisect', halves: [first, size - first] };
  }
  return retryOrDiscard(size, shard.attempts + 1, settings);
}

function retryOrDiscard(size: number, attempts: number, settings: PolicySettings): FailureDecision {
  // [OFD] "If the function is invoked but returns an error, Lambda retries until the records expire, exceed the
  // maximum age (MaximumRecordAgeInSeconds), or reach the configured retry quota (MaximumRetryAttempts)."
  // [ESM] MaximumRetryAttempts: "The default value is infinite (-1). When set to infinite (-1), failed records are
  // retried until the record expires."
  if (settings.retryAttempts >= 0 && attempts > settings.retryAttempts) return { action: 'discard', condition: 'RetryAttemptsExhausted' };
  return { action: 'retry', complete: 0, retry: size, attempts };
}

/**
 * How many records at the head of a shard's buffer are too old to be sent (arrival times in epoch ms, in order).
 *
 * [KIN] "Maximum age of record – The maximum age of a record that Lambda sends to your function." [ESM]
 * MaximumRecordAgeInSeconds: "Discard records older than the specified age. The default value is infinite (-1)."
 * The setting is in seconds and arrivals in milliseconds: a record is expired when it arrived more than
 * `maxRecordAgeSeconds × 1000` ms before `nowMs`.
 *
 * @example
 * expiredCount([now - 7_200_000, now - 10], now, 3_600); // → 1
 */
export function expiredCount(arrivalsMs: readonly number[], nowMs: number, maxRecordAgeSeconds: number): number {
  if (!(maxRecordAgeSeconds > 0)) return 0; // -1: infinite
  const cutoff = nowMs - maxRecordAgeSeconds * 1000;
  let n = 0;
  while (n < arrivalsMs.length && arrivalsMs[n]! < cutoff) n++;
  return n;
}

/**
 * Retry delay after `attempt` failed invocations: exponential from `baseMs`, capped at `maxMs`.
 *
 * @example
 * retryDelay(3, 100, 5_000); // → 400
 */
export function retryDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * The consumer's answer to Lambda: which record to retry from, or a throw when no progress was made.
 *
 * Pure. Three kinds of write can fail — readings, dead letters, catalog markers — each reported as indexes into its
 * own list; each list maps an index to the record it came from. The batch fails from the LOWEST record among all
 * failures: Lambda checkpoints before it, so no record after a lost reading, letter or marker is checkpointed.
 *
 * When that lowest record is the batch's first, the invocation made no progress and the handler throws
 * {@link BatchNoProgressError} — as Powertools' batch processor throws `FullBatchFailureError` when every record
 * failed — because Lambda answers a function error, not a partial response, with BisectBatchOnFunctionError: "If
 * your invocation fails and BisectBatchOnFunctionError is turned on, the batch is bisected", whereas a partial
 * response naming the first record only retries the same batch whole (services-kinesis-batchfailurereporting).
 */
import type { KinesisStreamBatchResponse, KinesisStreamRecord } from 'aws-lambda';
import { WellwatchError } from '../core/errors';

/** Failed indexes of one kind of write and the record each index came from. */
export interface FailedWrites {
  /** Indexes that failed (into the kind's own list). */
  readonly failed: readonly number[];
  /** Record index of each index of the kind's list. */
  readonly recordOf: readonly number[];
}

/**
 * The lowest record index among all failed writes, or undefined when everything was written.
 *
 * @example
 * firstFailedRecord([{ failed: [4], recordOf: readingOrigin }, { failed: [0], recordOf: firstRecordOf }]);
 */
export function firstFailedRecord(kinds: readonly FailedWrites[]): number | undefined {
  let lowest = Infinity;
  for (const { failed, recordOf } of kinds) {
    for (const i of failed) {
      const record = recordOf[i];
      if (record === undefined) throw new WellwatchError(`failed index ${i} has no record (${recordOf.length} known): a bookkeeping bug`);
      if (record < lowest) lowest = record;
    }
  }
  return lowest === Infinity ? undefined : lowest;
}

/** The consumer could not make progress on a batch: its first record failed (or something unexpected threw). */
export class BatchNoProgressError extends WellwatchError {
  /** Sequence number of the batch's first record. */
  readonly sequenceNumber: string;

  constructor(sequenceNumber: string, reason: string, cause?: unknown) {
    super(`no progress on the batch: its first record ${sequenceNumber} failed (${reason}); throwing so that Lambda bisects and retries it`, { cause });
    this.name = 'BatchNoProgressError';
    this.sequenceNumber = sequenceNumber;
  }
}

/**
 * Lambda's partial batch response for a first failed record, or a throw when it is the batch's first.
 *
 * @throws BatchNoProgressError when `firstFailed` is 0.
 * @example
 * return batchResponse(event.Records, firstFailedRecord([...]), 'readings not written');
 */
export function batchResponse(records: readonly KinesisStreamRecord[], firstFailed: number | undefined, reason: string, cause?: unknown): KinesisStreamBatchResponse {
  if (firstFailed === undefined) return { batchItemFailures: [] };
  const sequenceNumber = records[firstFailed]!.kinesis.sequenceNumber;
  if (firstFailed === 0) throw new BatchNoProgressError(sequenceNumber, reason, cause);
  return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
}

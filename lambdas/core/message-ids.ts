/**
 * Identities of the messages operators act on: an on-failure record (a shard's sequence range) and a dead letter
 * (one line of one record).
 *
 * SQS gives a message a receipt handle only while it is received; local mode's JSON Lines files have none. These
 * ids name a message by what it is about, so a replay or redrive can say "remove exactly these" to local mode and
 * a report can name what is left. A dead letter delivered twice (at-least-once) has the same id both times, and
 * removing the id removes both: they are the same bad line.
 */

/** The part of an on-failure record that identifies it (Lambda's `KinesisBatchInfo`). */
export interface BatchInfoLike {
  readonly KinesisBatchInfo?: { readonly shardId?: string; readonly startSequenceNumber?: string; readonly endSequenceNumber?: string };
}

/** The part of a dead letter that identifies it. */
export interface DeadLetterLike {
  readonly shardId?: string;
  readonly sequenceNumber?: string;
  readonly lineInRecord?: number;
}

/**
 * Id of an on-failure record: `<shardId>:<startSequenceNumber>-<endSequenceNumber>`.
 *
 * @example
 * failedBatchId({ KinesisBatchInfo: { shardId: 'shardId-000000000000', startSequenceNumber: '1', endSequenceNumber: '9' } });
 * // → 'shardId-000000000000:1-9'
 */
export function failedBatchId(record: BatchInfoLike): string {
  const info = record.KinesisBatchInfo ?? {};
  return `${info.shardId ?? '?'}:${info.startSequenceNumber ?? '?'}-${info.endSequenceNumber ?? '?'}`;
}

/**
 * Id of a dead letter: `<shardId>:<sequenceNumber>:<lineInRecord>` (line 1 when the record held one line).
 *
 * @example
 * deadLetterId({ shardId: 'shardId-000000000001', sequenceNumber: '4959', lineInRecord: 3 }); // → 'shardId-000000000001:4959:3'
 */
export function deadLetterId(letter: DeadLetterLike): string {
  return `${letter.shardId ?? '?'}:${letter.sequenceNumber ?? '?'}:${letter.lineInRecord ?? 1}`;
}

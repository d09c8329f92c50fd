/**
 * Decoding a Kinesis batch into readings and dead letters, remembering which record each one came from.
 *
 * Pure (no I/O): the consumer handler calls it first. A record can carry many readings (several CSV lines, or a KPL
 * aggregate of them), so a reading's index is not its record's index: `origin[i]` is the record index of reading i
 * and `letterOrigin[j]` that of dead letter j. Failures are reported per record, through these maps only.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { decodeBase64Strict, ingestRecord, invalidBase64Letter, type IngestContext } from '../core/ingest';
import type { DeadLetter, EvaluatedReading } from '../core/types';

/** Readings and dead letters of a batch with the record index of each. */
export interface DecodedBatch {
  readonly readings: EvaluatedReading[];
  /** Record index (into the event's records) of each reading. */
  readonly origin: number[];
  readonly letters: DeadLetter[];
  /** Record index of each dead letter. */
  readonly letterOrigin: number[];
}

/** The shard id of a record: the part of `eventID` before the colon (`shardId-000000000000:4959…`). */
export function shardOf(eventID: string | undefined): string | undefined {
  if (!eventID) return undefined;
  const colon = eventID.indexOf(':');
  return colon < 0 ? eventID : eventID.slice(0, colon);
}

/**
 * Decodes and parses every record of a batch. Never throws for bad input: bad base64, corrupt aggregates and bad
 * lines become dead letters.
 *
 * @example
 * const { readings, origin } = decodeBatch(event.Records, { parse, rules, now });
 * const recordOfThirdReading = origin[2];
 */
export function decodeBatch(records: readonly KinesisStreamRecord[], ctx: IngestContext): DecodedBatch {
  const readings: EvaluatedReading[] = [];
  const origin: number[] = [];
  const letters: DeadLetter[] = [];
  const letterOrigin: number[] = [];
  records.forEach((record, index) => {
    const { data, sequenceNumber, partitionKey } = record.kinesis;
    const shardId = shardOf(record.eventID);
    const bytes = decodeBase64Strict(data ?? '');
    if (!bytes) {
      letters.push(invalidBase64Letter(data ?? '', { shardId, sequenceNumber, partitionKey }, ctx.now));
      letterOrigin.push(index);
      return;
    }
    const result = ingestRecord({ data: bytes, shardId, sequenceNumber, partitionKey }, ctx);
    for (const r of result.readings) {
      readings.push(r);
      origin.push(index);
    }
    for (const l of result.deadLetters) {
      letters.push(l);
      letterOrigin.push(index);
    }
  });
  return { readings, origin, letters, letterOrigin };
}

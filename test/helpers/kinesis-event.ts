/**
 * Builds Kinesis events exactly as Lambda's event source mapping delivers them to the consumer.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/** One record to put into the event. */
export interface EventRecordInput {
  /** Payload; strings are UTF-8 encoded. Lambda delivers it base64 encoded. */
  readonly data: Buffer | string;
  /** @default 'pk-<index>' */
  readonly partitionKey?: string;
}

/** Options of {@link kinesisEvent}. */
export interface KinesisEventOptions {
  /** @default 'shardId-000000000000' */
  readonly shardId?: string;
  /** @default 'wellwatch-readings' */
  readonly streamName?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Sequence number of the first record; the following ones increase. @default a 56-digit number */
  readonly firstSequenceNumber?: bigint;
  /** Arrival time of the first record, epoch seconds; the following ones are 1 ms apart. @default 1394413260 */
  readonly arrivalEpochSeconds?: number;
}

const ACCOUNT = '123456789012';
const DEFAULT_FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588898n;

/**
 * A KinesisStreamEvent holding `records` in order, all from one shard.
 *
 * Sequence numbers increase in steps of 2^20 like on a real shard, and `eventID` is `<shardId>:<sequenceNumber>`.
 *
 * @example
 * const event = kinesisEvent([{ data: 'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94\n' }], { shardId: 'shardId-000000000001' });
 */
export function kinesisEvent(records: readonly EventRecordInput[], options: KinesisEventOptions = {}): KinesisStreamEvent {
  const shardId = options.shardId ?? 'shardId-000000000000';
  const region = options.region ?? 'us-east-1';
  const streamName = options.streamName ?? 'wellwatch-readings';
  const first = options.firstSequenceNumber ?? DEFAULT_FIRST_SEQUENCE;
  const arrival = options.arrivalEpochSeconds ?? 1_394_413_260;
  const Records: KinesisStreamRecord[] = records.map((record, i) => {
    const sequenceNumber = (first + BigInt(i) * 1_048_576n).toString();
    const data = typeof record.data === 'string' ? Buffer.from(record.data, 'utf8') : record.data;
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.partitionKey ?? `pk-${i}`,
        sequenceNumber,
        data: data.toString('base64'),
        approximateArrivalTimestamp: arrival + i / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::${ACCOUNT}:role/wellwatch-consumer-role`,
      awsRegion: region,
      eventSourceARN: `arn:aws:kinesis:${region}:${ACCOUNT}:stream/${streamName}`,
    };
  });
  return { Records };
}

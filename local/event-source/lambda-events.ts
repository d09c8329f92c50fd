/**
 * The shapes Lambda hands a Kinesis consumer, built exactly as Lambda builds them: event records, the invocation
 * context (with the function timeout counting down), and the on-failure record of a discarded batch.
 *
 * Pure except for the request ids (random UUIDs) and the context's clock.
 */
import { randomUUID } from 'node:crypto';
import type { Context, KinesisStreamRecord } from 'aws-lambda';
import type { BufferedRecord } from './types';

/** Lambda's synchronous invocation payload limit; the mapping cuts batches to fit. */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Account id used in the ARNs of local events. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** Size of an event with no records: `{"Records":[]}`. */
export const EVENT_OVERHEAD_BYTES = Buffer.byteLength(JSON.stringify({ Records: [] }));

/** ARNs of the local function, its role and the stream. */
export interface LocalArns {
  readonly region: string;
  readonly functionName: string;
  readonly functionArn: string;
  readonly invokeIdentityArn: string;
  readonly streamArn: string;
}

/**
 * ARNs of a local mapping, in the local account.
 *
 * @example
 * localArns('us-east-1', 'wellwatch-consumer', 'wellwatch-readings').streamArn;
 * // → 'arn:aws:kinesis:us-east-1:000000000000:stream/wellwatch-readings'
 */
export function localArns(region: string, functionName: string, streamName: string): LocalArns {
  return {
    region,
    functionName,
    functionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    invokeIdentityArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${functionName}-role`,
    streamArn: `arn:aws:kinesis:${region}:${LOCAL_ACCOUNT_ID}:stream/${streamName}`,
  };
}

/**
 * Builds one record of a Lambda Kinesis event.
 *
 * Field names, order and formats are Lambda's: `approximateArrivalTimestamp` is epoch seconds with a fraction,
 * `eventID` is `<shardId>:<sequenceNumber>`.
 *
 * @example
 * const rec = kinesisEventRecord({ shardId, sequenceNumber, partitionKey: 'P1', data64, arrivalMs, region, streamArn, invokeIdentityArn });
 */
export function kinesisEventRecord(r: {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data64: string;
  arrivalMs: number;
  region: string;
  streamArn: string;
  invokeIdentityArn: string;
}): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.partitionKey,
      sequenceNumber: r.sequenceNumber,
      data: r.data64,
      approximateArrivalTimestamp: r.arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${r.shardId}:${r.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: r.invokeIdentityArn,
    awsRegion: r.region,
    eventSourceARN: r.streamArn,
  };
}

/**
 * The event record of a buffered record.
 *
 * @example
 * const event = { Records: batch.map((r) => eventRecordOf(shardId, r, arns)) };
 */
export function eventRecordOf(shardId: string, r: Pick<BufferedRecord, 'sequenceNumber' | 'partitionKey' | 'data64' | 'arrival'>, arns: LocalArns): KinesisStreamRecord {
  return kinesisEventRecord({
    shardId,
    sequenceNumber: r.sequenceNumber,
    partitionKey: r.partitionKey,
    data64: r.data64,
    arrivalMs: r.arrival,
    region: arns.region,
    streamArn: arns.streamArn,
    invokeIdentityArn: arns.invokeIdentityArn,
  });
}

/**
 * A fetched Kinesis record as the runner buffers it: base64 data and its serialised size inside an event.
 *
 * @example
 * const rec = bufferedRecord(shardId, r.SequenceNumber!, r.PartitionKey!, r.Data, r.ApproximateArrivalTimestamp, Date.now(), arns);
 */
export function bufferedRecord(
  shardId: string,
  sequenceNumber: string,
  partitionKey: string,
  data: Uint8Array | undefined,
  arrival: Date | undefined,
  fetchedAt: number,
  arns: LocalArns,
): BufferedRecord {
  const bytes = data ?? new Uint8Array(0);
  const data64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const arrivalMs = arrival ? arrival.getTime() : fetchedAt;
  const shell = eventRecordOf(shardId, { sequenceNumber, partitionKey, data64: '', arrival: arrivalMs }, arns);
  const eventBytes = Buffer.byteLength(JSON.stringify(shell)) + data64.length + 1;
  return { sequenceNumber, partitionKey, data64, arrival: arrivalMs, fetchedAt, eventBytes, invokes: 0 };
}

/**
 * The context of one invocation. `getRemainingTimeInMillis` counts down from the function timeout and answers 0
 * once `timeUp()` is true (the runner is stopping), so the consumer cuts its batch short (CONSUMER_DEADLINE).
 *
 * @example
 * const context = invocationContext(arns, 60_000, () => stopping);
 */
export function invocationContext(arns: LocalArns, timeoutMs: number, timeUp: () => boolean, memoryMb = 1024): Context {
  const requestId = randomUUID();
  const deadline = Date.now() + timeoutMs;
  const ignore = (): void => undefined;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: arns.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: arns.functionArn,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${arns.functionName}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: () => (timeUp() ? 0 : Math.max(0, deadline - Date.now())),
    done: ignore,
    fail: ignore,
    succeed: ignore,
  };
}

/** Why a batch was handed to the on-failure destination (Lambda's `requestContext.condition`). */
export type DiscardCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** The on-failure record of a discarded batch, in the shape Lambda sends to an on-failure destination. */
export interface FailedBatchRecord {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: DiscardCondition;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: { readonly statusCode: number; readonly executedVersion: string; readonly functionError?: string };
  readonly KinesisBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
  /** Why the batch was given up (the last error, or the age limit). Local addition. */
  readonly reason: string;
}

/**
 * The on-failure record Lambda would send for `batch` (non-empty).
 *
 * @example
 * const record = failedBatchRecord(shardId, batch, 'RecordAgeExceeded', 'records older than 3600 s', Date.now(), arns);
 */
export function failedBatchRecord(
  shardId: string,
  batch: readonly BufferedRecord[],
  condition: DiscardCondition,
  reason: string,
  nowMs: number,
  arns: LocalArns,
): FailedBatchRecord {
  const first = batch[0]!;
  const last = batch[batch.length - 1]!;
  return {
    version: '1.0',
    timestamp: new Date(nowMs).toISOString(),
    requestContext: {
      requestId: randomUUID(),
      functionArn: arns.functionArn,
      condition,
      approximateInvokeCount: Math.max(...batch.map((r) => r.invokes)),
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(condition === 'RetryAttemptsExhausted' ? { functionError: 'Unhandled' } : {}) },
    KinesisBatchInfo: {
      shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.arrival).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.arrival).toISOString(),
      batchSize: batch.length,
      streamArn: arns.streamArn,
    },
    reason,
  };
}

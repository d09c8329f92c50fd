/**
 * Reading a part of the stream back: one shard's sequence range (an on-failure record) or every shard's records in a
 * time range (`replay stream`), with records already past the stream's retention named, never silently skipped.
 *
 * Kinesis keeps records for the stream's retention period; GetShardIterator `TRIM_HORIZON` "points to the last
 * untrimmed record in the shard in the system (the oldest data record in the shard)" (Kinesis API reference,
 * GetShardIterator). A range that starts before the trim horizon therefore either fails to position
 * (an error mentioning the trimmed data) or yields its first record later than asked: both are reported as
 * trimmed, with the count the on-failure record says the range held.
 */
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { REPLAY } from '../lambdas/config';
import { WellwatchError } from '../lambdas/core/errors';
import type { ReplayRecord } from '../local/event-source-runner';
import { listShards } from '../local/event-source/shard-lineage';
import { errorName } from '../local/event-source/shard-reader';

/** Records past retention in a range that was asked for. */
export interface TrimmedPart {
  /** First sequence number asked for. */
  readonly from: string;
  /** Last sequence number lost (the one before the first record still there), or the range's end. */
  readonly to: string;
  /** How many records are gone (from the on-failure record's batch size); undefined when unknown. */
  readonly count: number | undefined;
}

/** What {@link readSequenceRange} found. */
export interface RangeRead {
  readonly records: ReplayRecord[];
  /** Present when part of the range (or all of it) is past the stream's retention. */
  readonly trimmed?: TrimmedPart;
}

/** A range that cannot be read for a reason other than retention (wrong shard, unknown stream…). */
export class StreamRangeError extends WellwatchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'StreamRangeError';
  }
}

function isTrimError(e: unknown): boolean {
  const name = errorName(e);
  const message = String((e as { message?: string })?.message ?? '');
  return name === 'TrimmedDataAccessException' || (name === 'InvalidArgumentException' && /trim|retention|expired|no longer/i.test(message));
}

/** Sequence numbers are decimal strings of up to 128 digits: compare them as big integers. */
function seq(s: string): bigint {
  return BigInt(s);
}

/** One page's records as {@link ReplayRecord}s. */
function toRecords(page: { Records?: { SequenceNumber?: string; PartitionKey?: string; Data?: Uint8Array; ApproximateArrivalTimestamp?: Date }[] }): ReplayRecord[] {
  return (page.Records ?? []).map((r) => ({
    sequenceNumber: r.SequenceNumber!,
    partitionKey: r.PartitionKey ?? '',
    data64: Buffer.from(r.Data ?? new Uint8Array(0)).toString('base64'),
    arrivalMs: r.ApproximateArrivalTimestamp ? r.ApproximateArrivalTimestamp.getTime() : Date.now(),
  }));
}

/**
 * Reads the records of one shard from `start` to `end` inclusive (GetShardIterator AT_SEQUENCE_NUMBER, then
 * GetRecords until a record past `end`, the shard's end, or the shard's tip).
 *
 * @param expected the range's record count as the on-failure record gives it (`batchSize`), to count what is trimmed
 * @throws StreamRangeError when the shard or stream does not exist or the sequence number is not of this shard.
 * @example
 * const { records, trimmed } = await readSequenceRange(kinesis, 'wellwatch-readings', info.shardId, info.startSequenceNumber, info.endSequenceNumber, info.batchSize);
 */
export async function readSequenceRange(
  kinesis: KinesisClient,
  streamName: string,
  shardId: string,
  start: string,
  end: string,
  expected?: number,
): Promise<RangeRead> {
  if (!/^\d{1,128}$/.test(start) || !/^\d{1,128}$/.test(end) || seq(start) > seq(end)) {
    throw new StreamRangeError(`sequence range ${start}…${end} of ${shardId} is not a range of sequence numbers`);
  }
  let iterator: string | undefined;
  try {
    iterator = (
      await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: start }))
    ).ShardIterator;
  } catch (e) {
    if (isTrimError(e)) return { records: [], trimmed: { from: start, to: end, count: expected } };
    if (errorName(e) === 'ResourceNotFoundException') throw new StreamRangeError(`shard ${shardId} of stream ${streamName} does not exist: ${(e as Error).message}`, { cause: e });
    if (errorName(e) === 'InvalidArgumentException') throw new StreamRangeError(`cannot read ${shardId} at ${start}: ${(e as Error).message}`, { cause: e });
    throw e;
  }
  const records: ReplayRecord[] = [];
  const last = seq(end);
  for (let emptyAtTip = 0; iterator; ) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: REPLAY.readPageRecords }));
    const got = toRecords(page);
    let past = false;
    for (const r of got) {
      if (seq(r.sequenceNumber) > last) {
        past = true;
        break;
      }
      records.push(r);
    }
    if (past) break;
    iterator = page.NextShardIterator;
    if (got.length === 0 && (page.MillisBehindLatest ?? 0) === 0 && ++emptyAtTip >= 2) break;
  }
  const first = records[0];
  if (!first) return { records, trimmed: { from: start, to: end, count: expected } };
  if (seq(first.sequenceNumber) > seq(start)) {
    const lost = expected !== undefined ? Math.max(0, expected - records.length) : undefined;
    return { records, trimmed: { from: start, to: (seq(first.sequenceNumber) - 1n).toString(), count: lost } };
  }
  return { records };
}

/**
 * Every shard of the stream, open and closed, parents before their children (the order Lambda reads them in).
 *
 * @example
 * const shards = await listAllShards(kinesis, cfg.streamName);
 */
export async function listAllShards(kinesis: KinesisClient, streamName: string): Promise<Shard[]> {
  const listed = await listShards(kinesis, streamName);
  const byId = new Map(listed.map((s) => [s.ShardId!, s]));
  const ordered: Shard[] = [];
  const seen = new Set<string>();
  const visit = (s: Shard): void => {
    if (seen.has(s.ShardId!)) return;
    seen.add(s.ShardId!);
    for (const p of [s.ParentShardId, s.AdjacentParentShardId]) if (p && byId.has(p)) visit(byId.get(p)!);
    ordered.push(s);
  };
  for (const s of listed) visit(s);
  return ordered;
}

/**
 * The oldest arrival time the stream still holds, from its retention period.
 *
 * @example
 * const horizon = await retentionHorizon(kinesis, cfg.streamName); // Date
 */
export async function retentionHorizon(kinesis: KinesisClient, streamName: string, now: number = Date.now()): Promise<{ horizon: Date; hours: number }> {
  const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  const hours = d.StreamDescriptionSummary?.RetentionPeriodHours ?? 24;
  return { horizon: new Date(now - hours * 3_600_000), hours };
}

/**
 * Reads one shard's records that arrived in `[from, to]` (GetShardIterator AT_TIMESTAMP), page by page.
 *
 * Stops at the first record that arrived after `to`, at the shard's end, or at its tip.
 *
 * @example
 * for await (const page of readTimeRange(kinesis, stream, 'shardId-000000000000', from, to)) await replay(page);
 */
export async function* readTimeRange(kinesis: KinesisClient, streamName: string, shardId: string, from: Date, to: Date): AsyncGenerator<ReplayRecord[]> {
  let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: from })))
    .ShardIterator;
  const toMs = to.getTime();
  for (let emptyAtTip = 0; iterator; ) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: REPLAY.readPageRecords }));
    const got = toRecords(page);
    const inRange = got.filter((r) => r.arrivalMs <= toMs);
    if (inRange.length > 0) yield inRange;
    if (inRange.length < got.length) return;
    iterator = page.NextShardIterator;
    if (got.length === 0 && (page.MillisBehindLatest ?? 0) === 0 && ++emptyAtTip >= 2) return;
  }
}

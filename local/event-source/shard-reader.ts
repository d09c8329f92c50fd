/**
 * Reading one shard: positioning an iterator (checkpoint, starting position), the fetch loop that keeps the shard's
 * buffer filled, and read-ahead counting for the backlog and idle checks.
 *
 * The fetch loop keeps a bounded buffer (records and bytes) ahead of the invocations, sizes each `GetRecords` by the
 * records seen (Kinesis caps a response at 10 MB, kinesalite does not), sleeps `pollIntervalMs` on an empty shard,
 * re-derives an expired iterator from the last fetched record, and marks the shard `ended` when Kinesis returns no
 * next iterator (a closed shard read to its end).
 */
import { GetRecordsCommand, GetShardIteratorCommand, type GetShardIteratorCommandInput, type KinesisClient } from '@aws-sdk/client-kinesis';
import { describeError } from '../../lambdas/core/errors';
import type { CheckpointStore } from '../checkpoints';
import { bufferedRecord, type LocalArns } from './lambda-events';
import type { ShardState } from './types';

/** What a {@link ShardReader} needs from its runner. */
export interface ShardReaderOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly checkpoints: CheckpointStore;
  readonly arns: LocalArns;
  readonly pollIntervalMs: number;
  readonly maxBuffered: number;
  readonly maxBufferedBytes: number;
  readonly now: () => number;
  readonly log: (line: string) => void;
  readonly isStopping: () => boolean;
}

/** The `name` of an SDK error, or ''. */
export function errorName(e: unknown): string {
  return (e as { name?: string } | null)?.name ?? '';
}

/**
 * Reads shards of one stream into their buffers.
 *
 * @example
 * const reader = new ShardReader({ kinesis, streamName, checkpoints, arns, pollIntervalMs: 200, … });
 * s.iterator = await reader.freshIterator(s);
 * await reader.fetchLoop(s);
 */
export class ShardReader {
  constructor(private readonly o: ShardReaderOptions) {}

  /**
   * Where reading resumes: after the last fetched record, else after the checkpoint, else the shard's start.
   *
   * AT_TIMESTAMP is read as TRIM_HORIZON with the records before the timestamp skipped (see {@link fetchLoop}):
   * kinesalite rejects a timestamp later than its clock, where Kinesis positions at the tip, and skipping gives the
   * same records.
   */
  startPosition(s: ShardState): GetShardIteratorCommandInput {
    const base = { StreamName: this.o.streamName, ShardId: s.shardId };
    if (s.lastFetchedSeq) return { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: s.lastFetchedSeq };
    const cp = this.o.checkpoints.get(s.shardId)?.sequenceNumber;
    if (cp) return { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: cp };
    return this.initialPosition(s);
  }

  private initialPosition(s: ShardState): GetShardIteratorCommandInput {
    const base = { StreamName: this.o.streamName, ShardId: s.shardId };
    return { ...base, ShardIteratorType: s.start.type === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON' };
  }

  /** A new iterator at {@link startPosition}; a checkpoint of another stream incarnation is dropped. */
  async freshIterator(s: ShardState): Promise<string | undefined> {
    const input = this.startPosition(s);
    try {
      return (await this.o.kinesis.send(new GetShardIteratorCommand(input))).ShardIterator;
    } catch (e) {
      if (errorName(e) === 'InvalidArgumentException' && input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' && !s.lastFetchedSeq) {
        // The checkpoint does not belong to this shard any more (data dir from another stream incarnation).
        this.o.log(`event source: checkpoint of ${s.shardId} is not valid for this stream (${describeError(e)}); starting at ${s.start.type}`);
        await this.o.checkpoints.clear(s.shardId);
        return (await this.o.kinesis.send(new GetShardIteratorCommand(this.initialPosition(s)))).ShardIterator;
      }
      throw e;
    }
  }

  /** Keeps `s.buffer` filled until the shard ends or the runner stops; read errors back off and retry. */
  async fetchLoop(s: ShardState): Promise<void> {
    let failures = 0;
    while (!this.o.isStopping() && !s.ended) {
      if (s.buffer.length >= this.o.maxBuffered || s.bufferedBytes >= this.o.maxBufferedBytes) {
        await s.wakeFetch.sleep(1_000);
        continue;
      }
      try {
        if (!s.iterator) s.iterator = await this.freshIterator(s);
        if (!s.iterator) {
          s.ended = true;
          break;
        }
        const byBytes = Math.floor((this.o.maxBufferedBytes - s.bufferedBytes) / Math.max(1, s.avgRecordBytes));
        const limit = Math.max(1, Math.min(10_000, this.o.maxBuffered - s.buffer.length, byBytes));
        const page = await this.o.kinesis.send(new GetRecordsCommand({ ShardIterator: s.iterator, Limit: limit }));
        failures = 0;
        const records = page.Records ?? [];
        const fetchedAt = this.o.now();
        let added = 0;
        for (const r of records) {
          const rec = bufferedRecord(s.shardId, r.SequenceNumber!, r.PartitionKey!, r.Data, r.ApproximateArrivalTimestamp, fetchedAt, this.o.arns);
          if (s.skipBeforeMs !== undefined) {
            if (rec.arrival < s.skipBeforeMs) continue; // AT_TIMESTAMP: before the starting timestamp
            s.skipBeforeMs = undefined;
          }
          s.buffer.push(rec);
          s.bufferedBytes += rec.eventBytes;
          s.avgRecordBytes = s.avgRecordBytes * 0.9 + rec.eventBytes * 0.1;
          added++;
        }
        if (records.length) s.lastFetchedSeq = records[records.length - 1]!.SequenceNumber;
        s.iterator = page.NextShardIterator;
        if (!s.iterator) s.ended = true;
        if (added || s.ended) s.wakeInvoke.wake();
        else if (!records.length) await s.wakeFetch.sleep(this.o.pollIntervalMs);
      } catch (e) {
        if (this.o.isStopping()) break;
        const name = errorName(e);
        if (name === 'ExpiredIteratorException') {
          s.iterator = undefined; // re-derived from the last fetched record
          continue;
        }
        if (name === 'ResourceNotFoundException' || name === 'InvalidArgumentException') s.iterator = undefined;
        failures++;
        if (failures === 1 || failures % 50 === 0) this.o.log(`event source: reading ${s.shardId} failed (${failures}×): ${describeError(e)}`);
        await s.wakeFetch.sleep(Math.min(5_000, this.o.pollIntervalMs * 2 ** Math.min(failures, 5)));
      }
    }
  }

  /**
   * Counts records after the shard's position (up to `limit`) with separate iterators, so the fetch loop is not
   * disturbed; `closed` when the shard is closed and the count reached its end.
   */
  async readAhead(s: ShardState, limit: number): Promise<{ count: number; closed: boolean }> {
    if (limit <= 0) return { count: 0, closed: false };
    let iterator: string | undefined = s.state === 'running' ? s.iterator : undefined;
    const skipBefore = s.skipBeforeMs; // as it is now, with the iterator it belongs to
    let count = 0;
    for (let fresh = false; ; ) {
      if (!iterator) {
        iterator = await this.freshIteratorForCount(s);
        fresh = true;
        if (!iterator) return { count, closed: false };
      }
      let page;
      try {
        page = await this.o.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(10_000, limit - count) }));
      } catch (e) {
        if (!fresh && (errorName(e) === 'ExpiredIteratorException' || errorName(e) === 'InvalidArgumentException')) {
          iterator = undefined;
          continue;
        }
        throw e;
      }
      const records = page.Records ?? [];
      const n = skipBefore === undefined ? records.length : records.filter((r) => (r.ApproximateArrivalTimestamp?.getTime() ?? Infinity) >= skipBefore).length;
      count += n;
      if (!page.NextShardIterator) return { count, closed: true };
      if (records.length === 0 || count >= limit) return { count, closed: false };
      iterator = page.NextShardIterator;
    }
  }

  private async freshIteratorForCount(s: ShardState): Promise<string | undefined> {
    const input = this.startPosition(s);
    // A waiting shard at LATEST has nothing behind its start by definition.
    if (input.ShardIteratorType === 'LATEST') return undefined;
    try {
      return (await this.o.kinesis.send(new GetShardIteratorCommand(input))).ShardIterator;
    } catch (e) {
      if (errorName(e) === 'InvalidArgumentException') return undefined;
      throw e;
    }
  }
}

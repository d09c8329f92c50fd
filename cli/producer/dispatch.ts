/**
 * Dispatch: sends sealed records with PutRecords, in order per queue, with bounded concurrency and retries.
 *
 * Sealed records queue per partition key (a pump, or with a shard map a shard). The dispatcher sends PutRecords calls
 * (≤ 500 records, ≤ 5 MiB) with at most `concurrency` calls in flight, putting at most one record of a queue in a
 * call and never a queue in two calls at once. AWS documents that PutRecords does not guarantee the order of records
 * inside one call, and a partial failure would let a later record overtake a failed one, so this is what keeps each
 * pump's readings in order.
 *
 * Failed entries and retryable call errors (throttling, 5xx, network) are retried with exponential backoff and full
 * jitter, bounded attempts; the failed record stays at the head of its queue, so the queue's later records wait for
 * it. A record that exhausts its attempts is given up on and reported (never silently dropped); a non-retryable error
 * (missing stream, access denied) or a call that keeps failing stops the run.
 */
import type { PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { LIMITS } from '../../lambdas/config';
import { describeError, InternalError, WellwatchError } from '../../lambdas/core/errors';
import { backoffDelay, isRetryableError, type ResolvedRetry } from '../../lambdas/store/retry';
import type { SealedRecord } from './record-packing';
import { ProducerError, type FailedRecord, type ProducerStats, type PutRecordsFn } from './types';

const PUT_RECORDS_MAX_RECORDS = LIMITS.putRecordsMaxRecords;
const PUT_RECORDS_MAX_BYTES = LIMITS.putRecordsMaxBytes;
const NON_RETRYABLE_ENTRY_CODES = new Set(['KMSDisabledException', 'KMSInvalidStateException', 'KMSAccessDeniedException', 'KMSNotFoundException', 'KMSOptInRequired']);

/** What the dispatcher needs from the run it sends for. */
export interface DispatchContext {
  readonly streamName: string;
  readonly putRecords: PutRecordsFn;
  /** PutRecords calls in flight at most. */
  readonly concurrency: number;
  readonly retry: ResolvedRetry;
  /** The run's counters; the dispatcher counts calls, retries, acknowledgements and records given up on. */
  readonly stats: ProducerStats;
  /** Called for every record given up on. */
  readonly onFailed?: (record: FailedRecord) => void;
  /** Called when Kinesis put a record on another shard than its route said. */
  readonly onMisrouted: () => void;
  /** The error that stopped the run, if it stopped. */
  readonly stopped: () => WellwatchError | undefined;
  /** Stops the run. */
  readonly stop: (error: WellwatchError) => void;
  /**
   * Stops the run on an unexpected error (a bug, or a callback that threw) in the send loop.
   *
   * The send loop runs detached from whoever feeds the producer, so an error thrown there would be lost and the run
   * would wait forever for records nobody sends; it must reach the run instead.
   */
  readonly fail: (error: unknown) => void;
  /** Called after every call settles (queues and calls in flight changed). */
  readonly onSettled: () => void;
}

/**
 * Per-queue FIFO send loop over PutRecords.
 *
 * @example
 * const dispatcher = new Dispatcher(context);
 * dispatcher.enqueue(openRecord.seal());
 * // … later: dispatcher.idle is true once every record is acknowledged or given up on
 */
export class Dispatcher {
  /** Sealed records per queue key, FIFO; a key is present only while it has records. */
  private readonly queues = new Map<string, SealedRecord[]>();
  /** Queue keys with records and no call in flight, in the order they became ready. */
  private readonly waiting = new Set<string>();
  private queued = 0;
  private inFlight = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = Infinity;

  constructor(private readonly ctx: DispatchContext) {}

  /** Bytes of sealed records not yet acknowledged or given up on. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** PutRecords calls in flight. */
  get callsInFlight(): number {
    return this.inFlight;
  }

  /** True when nothing is queued and no call is in flight. */
  get idle(): boolean {
    return this.queues.size === 0 && this.inFlight === 0;
  }

  /** Queues a sealed record behind its queue's earlier records and sends when a call slot is free. */
  enqueue(sealed: SealedRecord): void {
    const key = sealed.route.partitionKey;
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
      this.waiting.add(key);
    }
    queue.push(sealed);
    this.queued += sealed.bytes;
    if (this.inFlight < this.ctx.concurrency) this.kick();
  }

  /** Cancels the pending retry timer (the run stopped or ended). */
  clearTimer(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryAt = Infinity;
  }

  /** Starts as many PutRecords calls as the concurrency allows. */
  kick(): void {
    if (this.ctx.stopped()) return;
    const now = Date.now();
    let earliest = Infinity;
    while (this.inFlight < this.ctx.concurrency && this.waiting.size > 0) {
      const batch: SealedRecord[] = [];
      let bytes = 0;
      for (const key of this.waiting) {
        const rec = this.queues.get(key)![0]!;
        if (rec.notBefore > now) {
          if (rec.notBefore < earliest) earliest = rec.notBefore;
          continue;
        }
        if (bytes + rec.bytes > PUT_RECORDS_MAX_BYTES) continue;
        batch.push(rec);
        bytes += rec.bytes;
        if (batch.length === PUT_RECORDS_MAX_RECORDS) break;
      }
      if (batch.length === 0) break;
      for (const rec of batch) this.waiting.delete(rec.route.partitionKey);
      this.inFlight++;
      // Detached on purpose (calls run concurrently); send() reports its own errors, and anything escaping it (its
      // finally block) still stops the run instead of becoming an unhandled rejection.
      this.send(batch).catch((e: unknown) => this.ctx.fail(e));
    }
    if (earliest < Infinity && earliest < this.retryAt) {
      if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
      this.retryAt = earliest;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.retryAt = Infinity;
        try {
          this.kick();
        } catch (e) {
          this.ctx.fail(e);
        }
      }, Math.max(0, earliest - now));
    }
  }

  private async send(batch: SealedRecord[]): Promise<void> {
    const { stats, streamName } = this.ctx;
    stats.calls++;
    try {
      let output: PutRecordsCommandOutput | undefined;
      let callError: unknown;
      let retryable = true;
      try {
        output = await this.ctx.putRecords({
          StreamName: streamName,
          Records: batch.map((r) =>
            r.route.explicitHashKey === undefined
              ? { PartitionKey: r.route.partitionKey, Data: r.data }
              : { PartitionKey: r.route.partitionKey, ExplicitHashKey: r.route.explicitHashKey, Data: r.data },
          ),
        });
        if (output.Records?.length !== batch.length) {
          callError = new WellwatchError(`PutRecords answered ${output.Records?.length ?? 0} entries for ${batch.length} records`);
          output = undefined;
        }
      } catch (e) {
        callError = e;
        retryable = isRetryableError(e);
      }
      if (output === undefined) {
        if (this.ctx.stopped()) return;
        const reason = describeError(callError);
        if (!retryable) {
          this.ctx.stop(new ProducerError(`PutRecords to ${streamName} failed: ${reason}`, { cause: callError }));
          return;
        }
        for (const rec of batch) {
          if (!this.retryLater(rec, reason)) {
            this.ctx.stop(new ProducerError(`PutRecords to ${streamName} failed ${rec.attempts} times in a row: ${reason}`, { cause: callError }));
            return;
          }
        }
        return;
      }
      const entries = output.Records!;
      for (let i = 0; i < batch.length; i++) {
        const rec = batch[i]!;
        const entry = entries[i]!;
        if (!entry.ErrorCode) {
          this.acknowledge(rec);
          if (rec.route.shardId !== undefined && entry.ShardId !== undefined && entry.ShardId !== rec.route.shardId) {
            stats.misroutedRecords++;
            this.ctx.onMisrouted();
          }
          continue;
        }
        // After a stop, failed entries are not retried; close() counts them as failed.
        if (this.ctx.stopped()) continue;
        const reason = `${entry.ErrorCode}${entry.ErrorMessage ? `: ${entry.ErrorMessage}` : ''}`;
        if (NON_RETRYABLE_ENTRY_CODES.has(entry.ErrorCode)) {
          rec.attempts++;
          rec.lastError = reason;
          this.giveUp(rec);
        } else if (!this.retryLater(rec, reason)) {
          this.giveUp(rec);
        }
      }
    } catch (e) {
      // An invariant broke (e.g. an acknowledgement out of order) or onFailed threw: the run cannot go on safely.
      this.ctx.fail(e);
    } finally {
      this.inFlight--;
      for (const rec of batch) {
        if (this.queues.has(rec.route.partitionKey)) this.waiting.add(rec.route.partitionKey);
      }
      this.kick();
      this.ctx.onSettled();
    }
  }

  /** Schedules a retry of a record that stays at the head of its queue; false when its attempts are used up. */
  private retryLater(rec: SealedRecord, reason: string): boolean {
    rec.attempts++;
    rec.lastError = reason;
    if (rec.attempts >= this.ctx.retry.maxAttempts) return false;
    rec.notBefore = Date.now() + backoffDelay(rec.attempts, this.ctx.retry);
    this.ctx.stats.retriedEntries++;
    return true;
  }

  private dequeue(rec: SealedRecord): void {
    const key = rec.route.partitionKey;
    const queue = this.queues.get(key)!;
    if (queue[0] !== rec) throw new InternalError(`record of ${key} acknowledged out of order`);
    queue.shift();
    if (queue.length === 0) this.queues.delete(key);
    this.queued -= rec.bytes;
  }

  private acknowledge(rec: SealedRecord): void {
    this.dequeue(rec);
    const stats = this.ctx.stats;
    stats.sent += rec.readings;
    stats.records++;
    stats.userRecords += rec.userRecords;
    stats.bytesSent += rec.bytes;
  }

  private giveUp(rec: SealedRecord): void {
    this.dequeue(rec);
    this.ctx.stats.failed += rec.readings;
    this.ctx.stats.failedRecords++;
    this.ctx.onFailed?.({
      pump: rec.route.partitionKey,
      ...(rec.route.shardId !== undefined ? { shardId: rec.route.shardId } : {}),
      readings: rec.readings,
      first: rec.first,
      last: rec.last,
      attempts: rec.attempts,
      reason: rec.lastError,
    });
  }
}

/**
 * When a shard's next batch goes out and how many records it takes: batch size, batching window, payload limit.
 *
 * [KIN] "Before invoking the function, Lambda continues to read records from the event source until it has gathered
 * a full batch, the batching window expires, or the batch reaches the payload limit of 6 MB." Pure functions of the
 * shard's buffer.
 */
import { EVENT_OVERHEAD_BYTES, MAX_INVOKE_PAYLOAD_BYTES } from './lambda-events';
import type { ShardState } from './types';

/**
 * Milliseconds until the shard's next batch is due (0 = now). A retry (pending sizes, failed attempts) and a closed
 * shard's last records do not wait for the window.
 *
 * @example
 * const wait = batchDueIn(s, settings.batchSize, settings.maxBatchingWindowSeconds * 1000, Date.now());
 */
export function batchDueIn(s: Pick<ShardState, 'buffer' | 'pending' | 'attempts' | 'ended' | 'bufferedBytes'>, batchSize: number, windowMs: number, nowMs: number): number {
  if (s.buffer.length === 0) return Infinity;
  if (s.pending.length > 0 || s.attempts > 0 || s.ended || s.buffer.length >= batchSize || s.bufferedBytes >= MAX_INVOKE_PAYLOAD_BYTES) return 0;
  return Math.max(0, windowMs - (nowMs - s.buffer[0]!.fetchedAt));
}

/**
 * Number of buffered records the next batch takes: the front pending size (a bisected half or the remainder of a
 * partially failed batch) or the batch size, at most what is buffered, cut to fit Lambda's 6 MB payload limit (at
 * least one record).
 *
 * @example
 * const size = nextBatchSize(s, settings.batchSize);
 */
export function nextBatchSize(s: Pick<ShardState, 'buffer' | 'pending'>, batchSize: number): number {
  const want = Math.min(s.pending[0] ?? batchSize, s.buffer.length);
  let bytes = EVENT_OVERHEAD_BYTES;
  let n = 0;
  while (n < want) {
    bytes += s.buffer[n]!.eventBytes;
    if (bytes > MAX_INVOKE_PAYLOAD_BYTES && n > 0) break;
    n++;
  }
  return n;
}

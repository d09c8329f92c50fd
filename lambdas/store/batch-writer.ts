/**
 * Writes many DynamoDB items with BatchWriteItem: chunks of 25, bounded concurrency, bounded retries.
 *
 * BatchWriteItem may accept only part of a request (`UnprocessedItems`, typically under throttling) and a call may
 * fail as a whole (throttling, 5xx, network). Both are retried with exponential backoff and full jitter, up to a
 * fixed number of attempts per chunk; whatever is still unwritten is reported by index so the caller can fail
 * exactly the Kinesis records that produced it. Writes are puts, so retrying an item that did land is harmless.
 */
import { BatchWriteItemCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { KEYS, LIMITS, type WellwatchConfig } from '../config';
import type { Item } from '../core/keys';
import { backoffDelay, isRetryableError, resolveRetry, runPool, type RetryOptions } from './retry';
import { describeError } from '../core/errors';

/** Options of {@link writeItems}. */
export interface WriteItemsOptions extends RetryOptions {
  /** BatchWriteItem calls in flight at once. @default 8 */
  readonly concurrency?: number;
  /** Called before each retry, e.g. to log throttling. @default - nothing */
  readonly onRetry?: (info: RetryInfo) => void;
  /**
   * Asked before every request (first attempts and retries): once it answers true no new request starts, and the
   * items not yet written are reported failed with the reason "stopped". Requests in flight finish. The consumer
   * passes "the invocation is near its timeout", so it returns progress instead of being killed mid-batch.
   *
   * @default - never stop
   */
  readonly stopWhen?: () => boolean;
}

/** What a retry is about, for logs and metrics. */
export interface RetryInfo {
  readonly table: string;
  /** Failed attempts so far for this chunk. */
  readonly attempt: number;
  /** Items still to write in this chunk. */
  readonly pending: number;
  /** Why: `unprocessed` or the error. */
  readonly reason: string;
  /** The delay before the next attempt, milliseconds. */
  readonly delayMs: number;
}

/** Outcome of {@link writeItems}. */
export interface WriteItemsResult {
  /** Indexes (into the input array, ascending) of items that were not written after all attempts. */
  readonly failed: number[];
  /** Retries made over all chunks (0 when everything landed at the first attempt). */
  readonly retries: number;
  /** The last error seen by a chunk that gave up, for the log line. */
  readonly lastError?: string;
  /** True when `stopWhen` ended the run with items unwritten (some of `failed` may still be errors: see lastError). */
  readonly stopped?: boolean;
  /** Items of `failed` that gave up on an error (attempts exhausted or not retryable), not because of the stop. */
  readonly failedByError?: number;
}

/**
 * The write settings of a configuration (`writeConcurrency`, `writeMaxAttempts`, `writeBaseDelayMs`).
 *
 * @example
 * await writeItems(ddb, cfg.statsTable, items, writeOptionsFrom(cfg));
 */
export function writeOptionsFrom(cfg: WellwatchConfig): WriteItemsOptions {
  return { concurrency: cfg.writeConcurrency, maxAttempts: cfg.writeMaxAttempts, baseDelayMs: cfg.writeBaseDelayMs };
}

/** Key of an item for de-duplication: all wellwatch tables share the `pk`/`sk` schema. */
function itemKey(item: Readonly<Record<string, AttributeValue>> | Item): string {
  const pk = (item as Record<string, { S?: string }>)[KEYS.partitionKey]?.S;
  const sk = (item as Record<string, { S?: string }>)[KEYS.sortKey]?.S;
  return `${pk ?? ''}\u0000${sk ?? ''}`;
}

/** One request's worth of distinct items and, for each, the input indexes it stands for. */
interface Chunk {
  readonly items: Item[];
  readonly indexes: number[][];
}

/**
 * Groups items into chunks of at most 25 distinct keys.
 *
 * BatchWriteItem rejects a request naming the same key twice, and a Kinesis batch may repeat a reading (a producer
 * retry). For a repeated key the last item wins, as with sequential puts; its indexes share one fate.
 */
function chunk(items: readonly Item[]): Chunk[] {
  const slot = new Map<string, number>();
  const distinct: Item[] = [];
  const indexes: number[][] = [];
  items.forEach((item, i) => {
    const key = itemKey(item);
    const at = slot.get(key);
    if (at === undefined) {
      slot.set(key, distinct.length);
      distinct.push(item);
      indexes.push([i]);
    } else {
      distinct[at] = item;
      indexes[at]!.push(i);
    }
  });
  const chunks: Chunk[] = [];
  for (let i = 0; i < distinct.length; i += LIMITS.batchWriteItems) {
    chunks.push({ items: distinct.slice(i, i + LIMITS.batchWriteItems), indexes: indexes.slice(i, i + LIMITS.batchWriteItems) });
  }
  return chunks;
}

/**
 * Puts `items` into `table` with BatchWriteItem and reports the indexes of items that could not be written.
 *
 * Chunks run with at most `concurrency` requests in flight. Each chunk gets `maxAttempts` attempts; after a
 * partial success only the `UnprocessedItems` are sent again, after a retryable error (throttling, 5xx, timeout,
 * network) the whole remainder is. A non-retryable error (validation, missing table) fails the chunk at once.
 * `stopWhen` ends the run early, reporting what is unwritten. Never throws for write failures: the caller decides
 * what a failed index means.
 *
 * @example
 * const { failed } = await writeItems(ddb, cfg.readingsTable, readings.map((r) => readingItem(r)), {
 *   concurrency: cfg.writeConcurrency, maxAttempts: cfg.writeMaxAttempts, baseDelayMs: cfg.writeBaseDelayMs,
 * });
 */
export async function writeItems(
  client: DynamoDBClient,
  table: string,
  items: readonly Item[],
  options: WriteItemsOptions = {},
): Promise<WriteItemsResult> {
  if (items.length === 0) return { failed: [], retries: 0 };
  const retry = resolveRetry(options);
  const failed: number[] = [];
  let retries = 0;
  let lastError: string | undefined;
  let stopped = false;
  const failPending = (pending: readonly WriteRequest[], indexOf: ReadonlyMap<string, number[]>): void => {
    for (const request of pending) {
      const item = request.PutRequest?.Item;
      for (const index of (item && indexOf.get(itemKey(item))) ?? []) failed.push(index);
    }
  };
  let failedByError = 0;
  const gaveUp = (reason: string, attempt: number): string => `${reason} after ${attempt} attempt${attempt === 1 ? '' : 's'}`;

  const writeChunk = async (c: Chunk): Promise<void> => {
    const indexOf = new Map<string, number[]>();
    c.items.forEach((item, i) => indexOf.set(itemKey(item), c.indexes[i]!));
    let pending: WriteRequest[] = c.items.map((item) => ({ PutRequest: { Item: item as Record<string, AttributeValue> } }));
    let attempt = 0;
    let lastReason: string | undefined;
    const stop = (): void => {
      stopped = true;
      if (lastReason !== undefined) lastError = gaveUp(lastReason, attempt);
      failPending(pending, indexOf);
    };
    if (options.stopWhen?.()) return stop();
    while (pending.length > 0) {
      attempt++;
      let reason: string;
      let fatal = false;
      try {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
        const unprocessed = out.UnprocessedItems?.[table] ?? [];
        pending = unprocessed;
        reason = 'unprocessed';
      } catch (error) {
        reason = describeError(error);
        fatal = !isRetryableError(error);
      }
      if (pending.length === 0) return;
      if (fatal || attempt >= retry.maxAttempts) {
        lastError = gaveUp(reason, attempt);
        const before = failed.length;
        failPending(pending, indexOf);
        failedByError += failed.length - before;
        return;
      }
      lastReason = reason;
      if (options.stopWhen?.()) return stop();
      const delayMs = backoffDelay(attempt, retry);
      retries++;
      options.onRetry?.({ table, attempt, pending: pending.length, reason, delayMs });
      await retry.sleep(delayMs);
      if (options.stopWhen?.()) return stop();
    }
  };

  await runPool(chunk(items), options.concurrency ?? 8, writeChunk);
  failed.sort((a, b) => a - b);
  if (!stopped) return lastError === undefined ? { failed, retries } : { failed, retries, lastError };
  lastError = lastError === undefined ? 'stopped: stopWhen answered true' : `${lastError}; then stopped: stopWhen answered true`;
  return { failed, retries, lastError, stopped, failedByError };
}

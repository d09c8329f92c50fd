/**
 * Where bad lines go: an SQS queue in AWS, a JSON Lines file in local mode, or the log when neither is configured.
 *
 * A dead letter carries the raw line (truncated), the reason and code, and the Kinesis coordinates (shard,
 * sequence number, line in record), so an operator can find, fix and replay it. Sinks report how many letters
 * they could not deliver instead of throwing; the consumer turns that into a batch-item failure, so nothing is
 * dropped silently.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { LIMITS } from '../config';
import { describeError, WellwatchError } from '../core/errors';
import type { DeadLetter } from '../core/types';
import { appendJsonLines } from './jsonl-file';
import { backoffDelay, isRetryableError, resolveRetry, type RetryOptions } from './retry';

/** Outcome of {@link DeadLetterSink.send}. */
export interface DeadLetterSendResult {
  /** Indexes (into the input, ascending) of letters that could not be delivered. */
  readonly failed: number[];
  /** Why the last undeliverable letter failed. */
  readonly lastError?: string;
  /** True when `stopWhen` ended the delivery with letters undelivered (they are among `failed`). */
  readonly stopped?: boolean;
  /** Letters of `failed` that gave up on an error rather than on the stop (present when stopped). */
  readonly failedByError?: number;
}

/** Options of {@link DeadLetterSink.send}. */
export interface DeadLetterSendOptions {
  /**
   * Asked before every delivery request: once true no new request starts and the undelivered letters are reported
   * failed, like the readings' writes near the invocation deadline (see WriteItemsOptions.stopWhen).
   *
   * @default - never stop
   */
  readonly stopWhen?: () => boolean;
}

/** Destination of dead letters. */
export interface DeadLetterSink {
  /** What the sink writes to, for logs (`sqs:<url>`, `file:<path>`, `log`). */
  readonly description: string;
  /** Delivers letters; never throws for delivery failures. */
  send(letters: readonly DeadLetter[], options?: DeadLetterSendOptions): Promise<DeadLetterSendResult>;
}

const STOPPED = 'stopped: stopWhen answered true';

/** The result of a delivery stopped before its first request. */
function stoppedBeforeStart(count: number): DeadLetterSendResult {
  return { failed: Array.from({ length: count }, (_, i) => i), lastError: STOPPED, stopped: true, failedByError: 0 };
}

/** Largest SendMessageBatch request body SQS accepts (sum of message bodies). */
export const SQS_MAX_BATCH_BYTES = 256 * 1024;

/**
 * Appends dead letters as JSON Lines to a file (local mode).
 *
 * One append per batch, under the file's lock (see jsonl-file.ts), so concurrent consumers never interleave inside a
 * line and `wellwatch redrive` removing handled letters never loses one appended meanwhile.
 *
 * @example
 * const sink = fileDeadLetterSink('/tmp/wellwatch/dead-letters.jsonl');
 */
export function fileDeadLetterSink(path: string): DeadLetterSink {
  return {
    description: `file:${path}`,
    async send(letters, options = {}) {
      if (letters.length === 0) return { failed: [] };
      if (options.stopWhen?.()) return stoppedBeforeStart(letters.length);
      try {
        await appendJsonLines(path, letters);
        return { failed: [] };
      } catch (error) {
        return { failed: letters.map((_, i) => i), lastError: describeError(error) };
      }
    },
  };
}

/**
 * Writes each dead letter as one structured warning line to the log (when no queue is configured).
 *
 * @example
 * const sink = logDeadLetterSink((line) => console.warn(line));
 */
export function logDeadLetterSink(log: (line: string) => void = (line) => console.warn(line)): DeadLetterSink {
  return {
    description: 'log',
    async send(letters) {
      for (const letter of letters) log(JSON.stringify({ level: 'WARN', message: 'dead letter', deadLetter: letter }));
      return { failed: [] };
    },
  };
}

/** Packs entries into SendMessageBatch requests of at most 10 entries and {@link SQS_MAX_BATCH_BYTES} bytes. */
function packBatches(bodies: readonly string[]): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  bodies.forEach((body, i) => {
    const size = Buffer.byteLength(body, 'utf8');
    if (current.length > 0 && (current.length === LIMITS.sqsBatchEntries || bytes + size > SQS_MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  });
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Sends dead letters to an SQS queue with SendMessageBatch, retrying failed entries with backoff.
 *
 * Entries SQS rejects as the sender's fault (`SenderFault: true`, e.g. a message too large) are not retried.
 * For a FIFO queue (`.fifo`) the message group is the shard and the deduplication id a hash of the letter's
 * coordinates, so a redelivered Kinesis batch does not enqueue the same bad line twice within SQS's window.
 *
 * @example
 * const sink = sqsDeadLetterSink(sqsClient(cfg), cfg.deadLetterUrl!);
 */
export function sqsDeadLetterSink(client: SQSClient, queueUrl: string, options: RetryOptions = {}): DeadLetterSink {
  const retry = resolveRetry({ maxAttempts: 5, ...options });
  const fifo = queueUrl.endsWith('.fifo');
  return {
    description: `sqs:${queueUrl}`,
    async send(letters, options = {}) {
      const bodies = letters.map((l) => JSON.stringify(l));
      const failed: number[] = [];
      let lastError: string | undefined;
      let stopped = false;
      let failedByError = 0;
      for (const batch of packBatches(bodies)) {
        let pending = batch;
        for (let attempt = 1; pending.length > 0; attempt++) {
          if (stopped || options.stopWhen?.()) {
            stopped = true;
            failed.push(...pending);
            break;
          }
          const entries: SendMessageBatchRequestEntry[] = pending.map((i) => {
            const letter = letters[i]!;
            const entry: SendMessageBatchRequestEntry = {
              Id: String(i),
              MessageBody: bodies[i]!,
              MessageAttributes: { code: { DataType: 'String', StringValue: letter.code || 'unknown' } },
            };
            if (fifo) {
              entry.MessageGroupId = letter.shardId ?? 'wellwatch';
              entry.MessageDeduplicationId = createHash('sha256')
                .update(`${letter.shardId}|${letter.sequenceNumber}|${letter.lineInRecord}|${letter.raw}`)
                .digest('hex')
                .slice(0, 64);
            }
            return entry;
          });
          let retryable: number[] = [];
          try {
            const out = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
            for (const f of out.Failed ?? []) {
              const i = Number(f.Id);
              if (f.SenderFault) {
                failed.push(i);
                failedByError++;
                lastError = `${f.Code ?? 'SenderFault'}: ${f.Message ?? ''}`;
              } else {
                retryable.push(i);
                lastError = `${f.Code ?? 'Failed'}: ${f.Message ?? ''}`;
              }
            }
          } catch (error) {
            lastError = describeError(error);
            if (isRetryableError(error)) retryable = pending;
            else {
              failed.push(...pending);
              failedByError += pending.length;
            }
          }
          pending = retryable;
          if (pending.length === 0) break;
          if (attempt >= retry.maxAttempts) {
            failed.push(...pending);
            failedByError += pending.length;
            break;
          }
          await retry.sleep(backoffDelay(attempt, retry));
        }
      }
      failed.sort((a, b) => a - b);
      if (stopped) return { failed, lastError: lastError === undefined ? STOPPED : `${lastError}; then ${STOPPED}`, stopped, failedByError };
      return failed.length === 0 ? { failed } : { failed, lastError };
    },
  };
}

/**
 * Picks the sink for a dead-letter URL: `file:///abs/path.jsonl` → file, `https://sqs…` → SQS, none → log.
 *
 * @throws WellwatchError for a URL that is neither a file URL nor an http(s) queue URL.
 * @example
 * const sink = createDeadLetterSink(cfg.deadLetterUrl, () => sqsClient(cfg));
 */
export function createDeadLetterSink(
  url: string | undefined,
  sqs: () => SQSClient,
  options: RetryOptions & { log?: (line: string) => void } = {},
): DeadLetterSink {
  if (url === undefined || url === '') return logDeadLetterSink(options.log);
  if (url.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (error) {
      throw new WellwatchError(`dead-letter URL must be file:///absolute/path.jsonl, got ${JSON.stringify(url)}`, { cause: error });
    }
    return fileDeadLetterSink(path);
  }
  if (/^https?:\/\//.test(url)) return sqsDeadLetterSink(sqs(), url, options);
  throw new WellwatchError(`dead-letter URL must be an SQS queue URL or file:///absolute/path.jsonl, got ${JSON.stringify(url)}`);
}

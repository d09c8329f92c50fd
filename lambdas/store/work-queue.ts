/**
 * Where the rollup planner puts its work items: the SQS work queue in AWS, the local queue in local mode.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { WellwatchError } from '../core/errors';
import { backoffDelay, describeError, isRetryableError, resolveRetry, type RetryOptions } from './retry';

/** One message to enqueue: a deterministic id (the work item's) and its body. */
export interface QueueMessage {
  readonly id: string;
  readonly body: string;
}

/** Accepts messages; resolves once every one is enqueued, rejects when some could not be. */
export interface WorkQueueSink {
  send(messages: readonly QueueMessage[]): Promise<void>;
}

/** SendMessageBatch takes at most 10 entries. */
const SQS_BATCH = 10;

/**
 * A sink on an SQS queue: SendMessageBatch of 10, entries that failed (or a retryable error) sent again with backoff,
 * a clear error naming the queue and the first failure once the attempts are spent.
 *
 * Sending twice is harmless: the worker recognises a work item that is done already (see rollup-run-store.ts).
 *
 * @example
 * await createSqsWorkQueue(sqsClient(cfg), url).send([{ id: 'b03-00000', body }]);
 */
export function createSqsWorkQueue(client: SQSClient, queueUrl: string, retryOptions: RetryOptions = {}): WorkQueueSink {
  const retry = resolveRetry(retryOptions);
  return {
    async send(messages) {
      for (let i = 0; i < messages.length; i += SQS_BATCH) {
        let pending = messages.slice(i, i + SQS_BATCH);
        for (let attempt = 1; pending.length > 0; attempt++) {
          let failure: string;
          try {
            // Entry ids only need to be unique within one request: the index keeps them valid whatever the item id.
            const out = await client.send(
              new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending.map((m, n) => ({ Id: String(n), MessageBody: m.body })) }),
            );
            const failed = new Set((out.Failed ?? []).map((f) => Number(f.Id)));
            failure = (out.Failed ?? []).map((f) => `${f.Code ?? 'error'}: ${f.Message ?? ''}`)[0] ?? '';
            pending = pending.filter((_, n) => failed.has(n));
          } catch (error) {
            if (!isRetryableError(error)) throw new WellwatchError(`rollup work items not sent to ${queueUrl}: ${describeError(error)}`, { cause: error });
            failure = describeError(error);
          }
          if (pending.length === 0) break;
          if (attempt >= retry.maxAttempts) throw new WellwatchError(`${pending.length} rollup work item(s) not sent to ${queueUrl} after ${attempt} attempts: ${failure}`);
          await retry.sleep(backoffDelay(attempt, retry));
        }
      }
    },
  };
}

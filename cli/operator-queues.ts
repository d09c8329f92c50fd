/**
 * The two queues operators work through — the failed-batch queue (on-failure records) and the dead-letter queue —
 * behind one small interface: take every message (holding it), delete the ones dealt with, release the others.
 *
 * AWS: SQS. Messages are received with a visibility timeout (REPLAY.visibilityTimeoutSeconds), so a second operator
 * or an interrupted run never works on the same message twice at once, and a message that is not deleted becomes
 * visible again: "the message remains in the queue … Amazon SQS doesn't automatically delete the message" until
 * the consumer deletes it (SQS developer guide, visibility timeout). Released messages get their visibility set
 * back to 0 at once (ChangeMessageVisibility).
 * Local: local mode's JSON Lines files, read directly; removals go through local mode's API, so the process that
 * appends to the file is the only one rewriting it (see lambdas/store/jsonl-file.ts).
 */
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { LIMITS, REPLAY } from '../lambdas/config';
import { WellwatchError } from '../lambdas/core/errors';
import { readJsonLines } from '../lambdas/store/jsonl-file';

/** A message taken from a queue. */
export interface HeldMessage<T> {
  /** The message body, parsed. */
  readonly body: T;
  /** Id of what the message is about (failedBatchId / deadLetterId). */
  readonly id: string;
  /** SQS receipt handle (AWS only). */
  readonly receiptHandle?: string;
}

/** A queue of JSON messages. */
export interface OperatorQueue<T> {
  /** `sqs:<url>` or `file:<path>`, for messages. */
  readonly description: string;
  /** Takes every message currently in the queue. */
  receiveAll(): Promise<HeldMessage<T>[]>;
  /** Deletes messages; returns how many were deleted. */
  delete(messages: readonly HeldMessage<T>[]): Promise<number>;
  /** Gives messages back untouched (AWS: visible again at once). */
  release(messages: readonly HeldMessage<T>[]): Promise<void>;
}

/** The queue does not exist, or its name/URL is malformed. */
export class UnknownQueueError extends WellwatchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'UnknownQueueError';
  }
}

/**
 * The URL of a queue given by name or URL.
 *
 * @throws UnknownQueueError naming the queue when SQS does not know it.
 */
export async function queueUrlOf(sqs: SQSClient, nameOrUrl: string): Promise<string> {
  if (/^https?:\/\//.test(nameOrUrl)) return nameOrUrl;
  if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(nameOrUrl)) throw new UnknownQueueError(`queue name must be 1–80 of A-Z a-z 0-9 _ -, got ${JSON.stringify(nameOrUrl)}`);
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: nameOrUrl }))).QueueUrl!;
  } catch (e) {
    const name = (e as { name?: string })?.name ?? '';
    if (name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue') {
      throw new UnknownQueueError(`queue ${nameOrUrl} does not exist in this account and region (check --deployment, --region or --queue)`, { cause: e });
    }
    throw e;
  }
}

/**
 * An SQS queue of JSON messages.
 *
 * @example
 * const queue = sqsQueue(sqs, await queueUrlOf(sqs, cfg.names.failedBatchQueue), failedBatchId);
 */
export function sqsQueue<T>(sqs: SQSClient, queueUrl: string, idOf: (body: T) => string): OperatorQueue<T> {
  const chunks = <X>(xs: readonly X[]): X[][] => {
    const out: X[][] = [];
    for (let i = 0; i < xs.length; i += LIMITS.sqsBatchEntries) out.push(xs.slice(i, i + LIMITS.sqsBatchEntries));
    return out;
  };
  return {
    description: `sqs:${queueUrl}`,
    async receiveAll() {
      const held: HeldMessage<T>[] = [];
      const unreadable: string[] = [];
      for (let empty = 0; empty < 2 && held.length < 100_000; ) {
        const r = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: REPLAY.visibilityTimeoutSeconds, WaitTimeSeconds: 1 }),
        );
        if (!r.Messages?.length) {
          empty++;
          continue;
        }
        empty = 0;
        for (const m of r.Messages) {
          try {
            const body = JSON.parse(m.Body ?? '') as T;
            held.push({ body, id: idOf(body), receiptHandle: m.ReceiptHandle! });
          } catch {
            unreadable.push(m.ReceiptHandle!);
          }
        }
      }
      // Not ours to judge: give messages that are not JSON back at once.
      for (const c of chunks(unreadable)) {
        await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: c.map((h, i) => ({ Id: String(i), ReceiptHandle: h, VisibilityTimeout: 0 })) }));
      }
      return held;
    },
    async delete(messages) {
      let deleted = 0;
      for (const c of chunks(messages)) {
        const out = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: c.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle! })) }));
        deleted += out.Successful?.length ?? 0;
        if (out.Failed?.length) throw new WellwatchError(`could not delete ${out.Failed.length} message(s) from ${queueUrl}: ${out.Failed[0].Code} ${out.Failed[0].Message ?? ''}`);
      }
      return deleted;
    },
    async release(messages) {
      for (const c of chunks(messages)) {
        await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: c.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle!, VisibilityTimeout: 0 })) }));
      }
    },
  };
}

/**
 * One of local mode's JSON Lines queues; removals go through its API route `deleteRoute`.
 *
 * @example
 * const queue = localQueue(info.apiUrl, path.join(info.dataDir, 'failed-batches.jsonl'), '/api/failed-batches/delete', failedBatchId);
 */
export function localQueue<T>(apiUrl: string, fileOrUrl: string, deleteRoute: string, idOf: (body: T) => string): OperatorQueue<T> {
  const file = fileOrUrl.startsWith('file:') ? fileURLToPath(fileOrUrl) : path.resolve(fileOrUrl);
  return {
    description: `file:${file}`,
    async receiveAll() {
      return (await readJsonLines<T>(file)).map((body) => ({ body, id: idOf(body) }));
    },
    async delete(messages) {
      let removed = 0;
      const ids = [...new Set(messages.map((m) => m.id))];
      for (let i = 0; i < ids.length; i += 500) {
        const res = await fetch(`${apiUrl}${deleteRoute}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ids: ids.slice(i, i + 500) }),
        });
        const body = (await res.json().catch(() => ({}))) as { removed?: number; error?: string };
        if (!res.ok) throw new WellwatchError(`local mode refused to remove messages from ${file} (HTTP ${res.status}): ${body.error ?? 'no detail'}`);
        removed += body.removed ?? 0;
      }
      return removed;
    },
    async release() {
      // Reading the file holds nothing.
    },
  };
}

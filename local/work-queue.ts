/**
 * A local SQS queue with a Lambda event source on it: what drives the rollup worker in local mode.
 *
 * It models the SQS and Lambda behaviour the rollup's correctness depends on, each from the documentation:
 * - at-least-once delivery: a message stays in the queue until a successful invocation deletes it; "Standard queues
 *   ensure at-least-once message delivery, but … more than one copy of a message might be delivered" (Amazon SQS
 *   Developer Guide, "Amazon SQS standard queues") — here a redelivery after a failure or an expired visibility
 *   timeout, and on demand with {@link LocalWorkQueueOptions.duplicateEvery};
 * - visibility timeout: a received message is invisible for the timeout, then visible again unless deleted; "After
 *   the visibility timeout, the messages become visible to Lambda again" (AWS Lambda Developer Guide, "Creating and
 *   configuring an Amazon SQS event source mapping");
 * - receive count and dead-letter queue: every receive increments ApproximateReceiveCount, and a message received
 *   more than maxReceiveCount times is moved to the dead-letter queue — "The dead-letter queue to which Amazon SQS
 *   moves messages after the value of maxReceiveCount is exceeded" (SQS RedrivePolicy);
 * - a failed invocation returns the whole batch: "By default, if Lambda encounters an error at any point while
 *   processing a batch, all messages in that batch return to the queue" (same Lambda page); with
 *   ReportBatchItemFailures only the messages named in `batchItemFailures` do, and a response naming a message
 *   that is not in the batch fails the whole batch;
 * - a function timeout: an invocation that has not returned within the worker's timeout counts as failed (Lambda
 *   would stop it; here it runs on, but its result is ignored);
 * - bounded concurrency: at most `maxConcurrency` invocations at once, as the event source's
 *   ScalingConfig.MaximumConcurrency "Limits the number of concurrent instances that the Amazon SQS event source can
 *   invoke" (Lambda API reference, ScalingConfig).
 *
 * Kept in memory: a restart of local mode loses the queue (like a purge), which the rollup's run records repair —
 * the next planner run enqueues what is not done.
 */
import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ROLLUP_FANOUT } from '../lambdas/config';
import { ConfigError } from '../lambdas/core/errors';
import type { QueueMessage, WorkQueueSink } from '../lambdas/store/work-queue';

/** Options of {@link LocalWorkQueue}. */
export interface LocalWorkQueueOptions {
  /** The worker's SQS handler (the very handler the deployed event source invokes). */
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  /** @default ROLLUP_FANOUT.workerTimeoutSeconds × visibilityTimeoutFactor, in ms */
  readonly visibilityTimeoutMs?: number;
  /** @default ROLLUP_FANOUT.maxReceiveCount */
  readonly maxReceiveCount?: number;
  /** @default ROLLUP_FANOUT.batchSize */
  readonly batchSize?: number;
  /** @default ROLLUP_FANOUT.maxConcurrency */
  readonly maxConcurrency?: number;
  /** @default ROLLUP_FANOUT.workerTimeoutSeconds, in ms */
  readonly functionTimeoutMs?: number;
  /**
   * Deliver every n-th received message a second time at once, to another invocation (a duplicate, as a standard
   * queue may deliver), to exercise the handler's idempotence. @default - never
   */
  readonly duplicateEvery?: number;
  /** Queue name in the event's ARN. @default ROLLUP_FANOUT.queueName */
  readonly queueName?: string;
  /** @default - silent */
  readonly log?: (line: string) => void;
}

/** A message in the queue. */
interface Stored {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  visibleAt: number;
  receiptHandle?: string;
}

/** A message moved to the dead-letter queue. */
export interface LocalDeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
}

/** Counters of a local queue. */
export interface LocalQueueStats {
  readonly sent: number;
  readonly deleted: number;
  readonly deadLettered: number;
  /** Messages in the queue (visible or in flight). */
  readonly queued: number;
  readonly inFlight: number;
  readonly invocations: number;
  readonly failedInvocations: number;
  /** Receives beyond the first (redeliveries and duplicates). */
  readonly redeliveries: number;
  /** Copies delivered again at once by {@link LocalWorkQueueOptions.duplicateEvery}. */
  readonly duplicates: number;
  /** Most invocations that ran at once. */
  readonly peakConcurrency: number;
}

/**
 * A local queue and its event source.
 *
 * @example
 * const queue = new LocalWorkQueue({ handler: worker.handler });
 * queue.start();
 * await queue.send([{ id: 'b03-00000', body }]);
 * await queue.drained();
 */
export class LocalWorkQueue implements WorkQueueSink {
  private readonly opts: Required<Omit<LocalWorkQueueOptions, 'duplicateEvery' | 'log'>> & Pick<LocalWorkQueueOptions, 'duplicateEvery'>;
  private readonly log: (line: string) => void;
  private readonly messages = new Map<string, Stored>();
  private readonly dead: LocalDeadLetter[] = [];
  private readonly running = new Set<Promise<void>>();
  private waiters: { kind: 'drained' | 'settled'; resolve: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private started = false;
  private counters = { sent: 0, deleted: 0, invocations: 0, failedInvocations: 0, redeliveries: 0, received: 0, peakConcurrency: 0, duplicates: 0 };

  constructor(options: LocalWorkQueueOptions) {
    const timeoutMs = options.functionTimeoutMs ?? ROLLUP_FANOUT.workerTimeoutSeconds * 1000;
    this.opts = {
      handler: options.handler,
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? ROLLUP_FANOUT.workerTimeoutSeconds * ROLLUP_FANOUT.visibilityTimeoutFactor * 1000,
      maxReceiveCount: options.maxReceiveCount ?? ROLLUP_FANOUT.maxReceiveCount,
      batchSize: options.batchSize ?? ROLLUP_FANOUT.batchSize,
      maxConcurrency: options.maxConcurrency ?? ROLLUP_FANOUT.maxConcurrency,
      functionTimeoutMs: timeoutMs,
      queueName: options.queueName ?? ROLLUP_FANOUT.queueName,
      duplicateEvery: options.duplicateEvery,
    };
    const positive = (name: string, v: number, min: number, max: number) => {
      if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${name} must be an integer ${min}–${max}, got ${String(v)}`);
    };
    positive('batchSize', this.opts.batchSize, 1, 10_000);
    positive('maxConcurrency', this.opts.maxConcurrency, 1, 1_000);
    positive('maxReceiveCount', this.opts.maxReceiveCount, 1, 1_000);
    if (this.opts.functionTimeoutMs > this.opts.visibilityTimeoutMs) {
      // "Your function's timeout must be less than or equal to the queue's visibility timeout. Lambda validates this
      // requirement when you create or update an event source mapping" (Lambda Developer Guide).
      throw new ConfigError(`functionTimeoutMs (${this.opts.functionTimeoutMs}) must not exceed visibilityTimeoutMs (${this.opts.visibilityTimeoutMs})`);
    }
    this.log = options.log ?? (() => undefined);
  }

  /** Enqueues messages (visible at once); their ids here are SQS message ids, new per send like SQS's. */
  async send(messages: readonly QueueMessage[]): Promise<void> {
    const now = Date.now();
    for (const m of messages) {
      const messageId = randomUUID();
      this.messages.set(messageId, { messageId, body: m.body, sentAt: now, receiveCount: 0, visibleAt: now });
      this.counters.sent++;
    }
    this.pump();
  }

  /** Starts delivering (the event source mapping is enabled). */
  start(): void {
    this.started = true;
    this.pump();
  }

  /** Stops delivering and waits for the invocations in flight; undelivered messages stay (and are lost with the process). */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    await Promise.allSettled([...this.running]);
  }

  /** Resolves when the queue is empty and no invocation runs (every message deleted or dead-lettered). */
  drained(): Promise<void> {
    return this.waitFor('drained');
  }

  /**
   * Resolves when no invocation runs and no message is visible: everything is deleted, dead-lettered, or waiting out
   * its visibility timeout after a failure.
   */
  settled(): Promise<void> {
    return this.waitFor('settled');
  }

  /** Messages moved to the dead-letter queue, oldest first. */
  deadLetters(): readonly LocalDeadLetter[] {
    return [...this.dead];
  }

  stats(): LocalQueueStats {
    const inFlight = [...this.messages.values()].filter((m) => m.visibleAt > Date.now()).length;
    const { sent, deleted, invocations, failedInvocations, redeliveries, peakConcurrency, duplicates } = this.counters;
    return { sent, deleted, deadLettered: this.dead.length, queued: this.messages.size, inFlight, invocations, failedInvocations, redeliveries, duplicates, peakConcurrency };
  }

  private waitFor(kind: 'drained' | 'settled'): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ kind, resolve });
      this.notify();
    });
  }

  private notify(): void {
    if (this.waiters.length === 0) return;
    const now = Date.now();
    const idle = this.running.size === 0;
    const drained = idle && this.messages.size === 0;
    const settled = idle && ![...this.messages.values()].some((m) => m.visibleAt <= now);
    this.waiters = this.waiters.filter((w) => {
      if ((w.kind === 'drained' && drained) || (w.kind === 'settled' && settled)) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  /** Starts invocations while there is capacity and visible messages, and arms a timer for the next visibility expiry. */
  private pump(): void {
    if (!this.started) return this.notify();
    const now = Date.now();
    while (this.running.size < this.opts.maxConcurrency) {
      const batch = this.receive(now);
      if (batch.length === 0) break;
      const run = this.invoke(batch).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
      this.counters.peakConcurrency = Math.max(this.counters.peakConcurrency, this.running.size);
    }
    let next = Infinity;
    for (const m of this.messages.values()) if (m.visibleAt > now && m.visibleAt < next) next = m.visibleAt;
    if (next < this.timerAt) {
      if (this.timer) clearTimeout(this.timer);
      this.timerAt = next;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      }, Math.max(0, next - now));
    }
    this.notify();
  }

  /** Receives up to batchSize visible messages (oldest first), moving those past maxReceiveCount to the dead-letter queue. */
  private receive(now: number): { message: Stored; receiptHandle: string }[] {
    const out: { message: Stored; receiptHandle: string }[] = [];
    for (const m of this.messages.values()) {
      if (out.length >= this.opts.batchSize) break;
      if (m.visibleAt > now) continue;
      if (m.receiveCount >= this.opts.maxReceiveCount) {
        this.messages.delete(m.messageId);
        this.dead.push({ messageId: m.messageId, body: m.body, receiveCount: m.receiveCount });
        this.log(`work queue: message ${m.messageId} moved to the dead-letter queue after ${m.receiveCount} receives`);
        continue;
      }
      m.receiveCount++;
      if (m.receiveCount > 1) this.counters.redeliveries++;
      m.firstReceiveAt ??= now;
      m.visibleAt = now + this.opts.visibilityTimeoutMs;
      m.receiptHandle = randomUUID();
      out.push({ message: m, receiptHandle: m.receiptHandle });
      this.counters.received++;
      const every = this.opts.duplicateEvery;
      if (every !== undefined && every > 0 && this.counters.received % every === 0) {
        // A second copy: visible again at once, so another invocation receives it while this one runs. Whichever
        // deletes last holds the outdated receipt handle, as with SQS.
        m.visibleAt = now;
        this.counters.duplicates++;
      }
    }
    return out;
  }

  private record(message: Stored, receiptHandle: string): SQSRecord {
    return {
      messageId: message.messageId,
      receiptHandle,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:local:000000000000:${this.opts.queueName}`,
      awsRegion: 'local',
    };
  }

  private async invoke(batch: { message: Stored; receiptHandle: string }[]): Promise<void> {
    this.counters.invocations++;
    const event: SQSEvent = { Records: batch.map(({ message, receiptHandle }) => this.record(message, receiptHandle)) };
    let timer: NodeJS.Timeout | undefined;
    let failed: Set<string>;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`worker timed out after ${this.opts.functionTimeoutMs} ms`)), this.opts.functionTimeoutMs);
      });
      const response = await Promise.race([this.opts.handler(event), timeout]);
      const ids = new Set(batch.map((b) => b.message.messageId));
      const reported = (response && response.batchItemFailures) || [];
      if (reported.some((f) => !f || typeof f.itemIdentifier !== 'string' || !ids.has(f.itemIdentifier))) {
        // Lambda treats a response naming an unknown or empty identifier as a failure of the whole batch.
        throw new Error('batchItemFailures names a message that is not in the batch');
      }
      failed = new Set(reported.map((f) => f.itemIdentifier));
      if (failed.size > 0) this.counters.failedInvocations++;
    } catch (error) {
      this.counters.failedInvocations++;
      this.log(`work queue: invocation failed, ${batch.length} message(s) return after the visibility timeout: ${(error as Error)?.message ?? String(error)}`);
      failed = new Set(batch.map((b) => b.message.messageId));
    } finally {
      if (timer) clearTimeout(timer);
    }
    for (const { message, receiptHandle } of batch) {
      if (failed.has(message.messageId)) continue;
      // Deleting with an outdated receipt handle (the message was received again meanwhile) leaves it in the queue.
      if (this.messages.get(message.messageId)?.receiptHandle === receiptHandle) {
        this.messages.delete(message.messageId);
        this.counters.deleted++;
      }
    }
  }
}

/**
 * A local Kinesis event-source mapping: polls the stream and invokes a Lambda handler the way AWS does.
 *
 * This file owns the mapping's lifecycle (start, stop, idle and backlog answers) and the invoke loop of each shard:
 * build a batch, invoke the handler under the function timeout, apply the failure policy, checkpoint. The parts are
 * named after their jobs in `local/event-source/`:
 * - `shard-reader.ts`: iterators and the fetch loop that fills a shard's buffer;
 * - `shard-lineage.ts`: listing shards, parents before children, where each shard starts;
 * - `batching.ts`: when a batch is due and how many records it takes;
 * - `invoke.ts`: one invocation under the function timeout;
 * - `failure-policy.ts`: the pure policy (outcome, shard state, settings → complete | retry | bisect | discard), with
 *   the AWS documentation statement behind each rule;
 * - `lambda-events.ts`: the event, context and on-failure record shapes;
 * - `on-failure-destination.ts`: the `failed-batches.jsonl` sink; `wake.ts`: the loops' wake-up calls.
 *
 * `invokeWith` hands given records to the handler once, through the same event building and invocation as a normal
 * delivery, without moving anything (`wellwatch replay` in local mode, the counterpart of the Lambda Invoke API).
 *
 * Records of a shard are delivered in order, one batch at a time (`parallelizationFactor` is treated as 1 locally:
 * the per-partition-key ordering a higher factor keeps is then trivially kept too).
 *
 * Hand-written because no library emulates Lambda's event source mapping (kinesalite serves the Kinesis API only).
 *
 * An internal error (a bug in this bookkeeping, an on-failure file that cannot be written) stops the runner: it is
 * logged, handed to `onFatal`, and rejects `waitForIdle`, rather than being lost in a detached promise.
 */
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { CONSUMER_FUNCTION, ConfigError, DEFAULT_EVENT_SOURCE, NAMES, type EventSourceSettings } from '../lambdas/config';
import { WellwatchError } from '../lambdas/core/errors';
import { describeError } from '../lambdas/core/errors';
import { CheckpointStore } from './checkpoints';
import { batchDueIn, nextBatchSize } from './event-source/batching';
import { decide, expiredCount, readBatchResponse, retryDelay, type InvocationOutcome } from './event-source/failure-policy';
import {
  type DiscardCondition,
  type LocalArns,
  MAX_INVOKE_PAYLOAD_BYTES,
  eventRecordOf,
  failedBatchRecord,
  invocationContext,
  localArns,
} from './event-source/lambda-events';
import { invokeWithTimeout } from './event-source/invoke';
import { OnFailureDestination } from './event-source/on-failure-destination';
import { eligibleShards, listShards, newShardState, shardStart } from './event-source/shard-lineage';
import { ShardReader } from './event-source/shard-reader';
import type {
  BufferedRecord,
  EventSourceRunnerOptions,
  InvocationInfo,
  InvokeResult,
  KinesisBatchHandler,
  ReplayRecord,
  RunnerCounters,
  ShardBacklog,
  ShardState,
  ShardStatus,
} from './event-source/types';
import { Wake } from './event-source/wake';

export { kinesisEventRecord, LOCAL_ACCOUNT_ID, MAX_INVOKE_PAYLOAD_BYTES, type FailedBatchRecord } from './event-source/lambda-events';
export type {
  EventSourceRunnerOptions,
  InvocationInfo,
  InvokeResult,
  KinesisBatchHandler,
  ReplayRecord,
  RunnerCounters,
  ShardBacklog,
  ShardStatus,
} from './event-source/types';

/** The runner stopped on an internal error (`cause` is the error), or was used out of order (waited on after a stop). */
export class EventSourceRunnerError extends WellwatchError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'EventSourceRunnerError';
  }
}

/**
 * Polls every shard of a stream and invokes a handler with Lambda-shaped batches.
 *
 * @example
 * const runner = new EventSourceRunner({ kinesis, streamName: cfg.streamName, handler: createConsumerHandler(cfg) });
 * await runner.start();
 * await runner.waitForIdle({ timeoutMs: 60_000 });
 * await runner.stop();
 */
export class EventSourceRunner {
  readonly settings: EventSourceSettings;
  readonly streamArn: string;
  readonly region: string;
  readonly checkpoints: CheckpointStore;
  /** The function timeout an invocation runs under, ms. */
  readonly functionTimeoutMs: number;
  readonly counters: RunnerCounters = { batches: 0, records: 0, failures: 0, retries: 0, bisections: 0, failedBatches: 0, discardedRecords: 0, timeouts: 0 };

  private readonly kinesis: KinesisClient;
  private readonly streamName: string;
  private readonly handler: KinesisBatchHandler;
  private readonly log: (line: string) => void;
  private readonly onFatal: ((error: Error) => void) | undefined;
  private readonly arns: LocalArns;
  private readonly destination: OnFailureDestination;
  private readonly reader: ShardReader;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly shardRefreshMs: number;
  private readonly now: () => number;

  private readonly shardMap = new Map<string, ShardState>();
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private fatal: EventSourceRunnerError | undefined;
  private initialListing = true;
  private mappingFirstStartedMs: number | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly sleeps = new Set<Wake>();
  private readonly listeners = new Set<(info: InvocationInfo) => void>();

  constructor(options: EventSourceRunnerOptions) {
    this.kinesis = options.kinesis;
    this.streamName = options.streamName;
    this.handler = options.handler;
    this.settings = { ...DEFAULT_EVENT_SOURCE, ...(options.settings ?? {}) };
    this.region = options.region ?? 'us-east-1';
    this.checkpoints = options.checkpoints ?? new CheckpointStore();
    this.destination = new OnFailureDestination(options.failedBatchesFile);
    this.log = options.log ?? (() => undefined);
    this.onFatal = options.onFatal;
    this.arns = localArns(this.region, options.functionName ?? NAMES.consumerFunction, this.streamName);
    this.streamArn = this.arns.streamArn;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? 5_000;
    this.shardRefreshMs = options.shardRefreshMs ?? 10_000;
    this.now = options.now ?? Date.now;
    const timeoutSeconds = options.functionTimeoutSeconds ?? CONSUMER_FUNCTION.timeoutSeconds;
    if (!(timeoutSeconds > 0 && timeoutSeconds <= 900)) throw new ConfigError(`functionTimeoutSeconds must be 1–900, got ${timeoutSeconds}`);
    this.functionTimeoutMs = timeoutSeconds * 1000;
    const s = this.settings;
    if (!Number.isInteger(s.batchSize) || s.batchSize < 1 || s.batchSize > 10_000) throw new ConfigError(`batchSize must be 1–10000, got ${s.batchSize}`);
    if (!(s.maxBatchingWindowSeconds >= 0 && s.maxBatchingWindowSeconds <= 300)) {
      throw new ConfigError(`maxBatchingWindowSeconds must be 0–300, got ${s.maxBatchingWindowSeconds}`);
    }
    if (!Number.isInteger(s.retryAttempts) || s.retryAttempts < -1 || s.retryAttempts > 10_000) {
      throw new ConfigError(`retryAttempts must be -1 (infinite) or 0–10000, got ${s.retryAttempts}`);
    }
    if (s.startingPosition === 'AT_TIMESTAMP' && !(typeof s.startingPositionTimestamp === 'number' && s.startingPositionTimestamp >= 0)) {
      throw new ConfigError(`startingPositionTimestamp (epoch seconds) is required with AT_TIMESTAMP, got ${s.startingPositionTimestamp}`);
    }
    if (s.parallelizationFactor !== 1) {
      this.log(`event source: parallelizationFactor ${s.parallelizationFactor} runs as 1 locally (one batch per shard at a time)`);
    }
    const maxBuffered = Math.max(1, Math.min(10_000, options.maxBufferedRecords ?? Math.max(2 * s.batchSize, 500)));
    this.reader = new ShardReader({
      kinesis: this.kinesis,
      streamName: this.streamName,
      checkpoints: this.checkpoints,
      arns: this.arns,
      pollIntervalMs: options.pollIntervalMs ?? 200,
      maxBuffered,
      maxBufferedBytes: 2 * MAX_INVOKE_PAYLOAD_BYTES,
      now: this.now,
      log: this.log,
      isStopping: () => this.stopping,
    });
  }

  /**
   * Lists the shards and starts polling; resolves once every eligible shard has a loop.
   *
   * @throws when the stream does not exist.
   */
  async start(): Promise<void> {
    if (this.started) throw new EventSourceRunnerError('EventSourceRunner already started');
    this.started = true;
    const { StreamDescriptionSummary: summary } = await this.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: this.streamName }));
    const createdAt = summary?.StreamCreationTimestamp?.toISOString();
    if (this.checkpoints.bindStream(this.streamName, createdAt)) {
      this.log(`event source: stream ${this.streamName} was re-created; old checkpoints discarded, starting at ${this.settings.startingPosition}`);
    }
    const firstStart = this.checkpoints.mappingStartedAt();
    this.mappingFirstStartedMs = firstStart === undefined ? undefined : Date.parse(firstStart);
    if (firstStart === undefined) await this.checkpoints.markMappingStarted(new Date().toISOString());
    await this.refreshShards();
    this.initialListing = false;
    await Promise.all([...this.shardMap.values()].map((s) => s.ready));
    this.refreshTimer = setInterval(() => this.backgroundRefresh(), this.shardRefreshMs);
    this.refreshTimer.unref();
  }

  /**
   * Stops polling, tells an in-flight invocation its time is up (its context answers 0 remaining, so the consumer cuts
   * the batch short), keeps the part it finished, and flushes the checkpoints. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.refreshTimer) clearInterval(this.refreshTimer);
      for (const w of this.sleeps) w.wake();
      for (const s of this.shardMap.values()) {
        s.wakeFetch.wake();
        s.wakeInvoke.wake();
      }
      await this.refreshing?.catch(() => undefined);
      await Promise.all([...this.shardMap.values()].map((s) => s.loops));
      await this.checkpoints.flush();
    })();
    return this.stopped;
  }

  /** The internal error the runner stopped on, if any. */
  get failure(): EventSourceRunnerError | undefined {
    return this.fatal;
  }

  /**
   * Calls `listener` after every invocation (timing, outcome, the event); returns a function that unsubscribes.
   *
   * Listeners run synchronously after the handler settled and must not throw.
   *
   * @example
   * const off = runner.onInvocation((i) => durations.push(i.endedMs - i.startedMs));
   */
  onInvocation(listener: (info: InvocationInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Invokes the handler once with the given records of one shard, exactly as a normal delivery would (same event
   * building, same context and function timeout, same reading of the response, same invocation listeners), and says
   * how it went. Nothing else happens: no checkpoint moves, nothing is retried, bisected or sent to the on-failure
   * destination, and the mapping's counters stay as they are. It is how `wellwatch replay` hands records read back
   * from the stream to local mode's consumer (the local counterpart of the Lambda Invoke API, where the caller, not
   * the mapping, decides what a failure means).
   *
   * @returns `failedAt` = index of the first record to retry (absent when the batch succeeded), and the handler's
   *   `batchItemFailures`.
   * @throws EventSourceRunnerError once the runner is stopping.
   * @example
   * const { failedAt } = await runner.invokeWith([{ sequenceNumber, partitionKey, data64, arrivalMs }], 'shardId-000000000000');
   */
  async invokeWith(records: readonly ReplayRecord[], shardId: string): Promise<InvokeResult> {
    if (this.stopping) throw new EventSourceRunnerError('event source runner is stopping; nothing was invoked');
    if (records.length === 0) throw new EventSourceRunnerError('invokeWith needs at least one record');
    const batch = records.map((r) => ({ sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey, data64: r.data64, arrival: r.arrivalMs }));
    const { outcome, response } = await this.invokeOnce(shardId, batch);
    const failures = (response as Partial<KinesisStreamBatchResponse> | null | undefined)?.batchItemFailures;
    const batchItemFailures = Array.isArray(failures) ? failures : [];
    switch (outcome.kind) {
      case 'success':
        return { outcome: 'success', batchItemFailures };
      case 'partial':
        return { outcome: 'partial', failedAt: outcome.failedAt, error: outcome.error, batchItemFailures };
      case 'error':
        return { outcome: 'error', failedAt: 0, error: outcome.error, batchItemFailures };
    }
  }

  /** Current state of every known shard. */
  shards(): ShardStatus[] {
    return [...this.shardMap.values()].map((s) => ({
      shardId: s.shardId,
      state: s.state,
      parentShardIds: s.parents,
      checkpoint: this.checkpoints.get(s.shardId)?.sequenceNumber,
      buffered: s.buffer.length,
      inFlight: s.inFlight,
    }));
  }

  /**
   * Counts, per shard, the records after its checkpoint: buffered ones plus those not fetched yet.
   *
   * Reads ahead with separate `GetRecords` calls (iterators are positions, so the poll loops are not disturbed),
   * stopping at `limit` records per shard.
   *
   * @example
   * const total = (await runner.backlog()).reduce((n, s) => n + s.backlog, 0);
   */
  async backlog(options: { limit?: number } = {}): Promise<ShardBacklog[]> {
    const limit = options.limit ?? 100_000;
    return Promise.all(
      [...this.shardMap.values()].map(async (s) => {
        const checkpoint = this.checkpoints.get(s.shardId)?.sequenceNumber;
        if (s.state === 'finished') return { shardId: s.shardId, checkpoint, backlog: 0, truncated: false };
        const buffered = s.buffer.length;
        const ahead = s.ended ? 0 : (await this.reader.readAhead(s, Math.max(0, limit - buffered))).count;
        const backlog = buffered + ahead;
        return { shardId: s.shardId, checkpoint, backlog: Math.min(backlog, limit), truncated: backlog >= limit };
      }),
    );
  }

  /**
   * Tells whether everything written to the stream so far is done: no buffered record, no invocation in flight,
   * and nothing after any shard's position.
   */
  async isIdle(): Promise<boolean> {
    if (!this.started || this.initialListing) return false;
    const busy = (): boolean =>
      [...this.shardMap.values()].some((s) => s.state !== 'finished' && (s.inFlight || s.buffer.length > 0 || s.ended));
    // `ended` = a closed shard about to be marked finished (its children start then).
    if (busy()) return false;
    const open = [...this.shardMap.values()].filter((s) => s.state !== 'finished');
    const [listed, ahead] = await Promise.all([listShards(this.kinesis, this.streamName), Promise.all(open.map((s) => this.reader.readAhead(s, 1)))]);
    // A shard we do not know yet (a split or merge just happened) will be picked up by the next refresh.
    if (listed.some((shard) => !this.shardMap.has(shard.ShardId!))) {
      this.backgroundRefresh();
      return false;
    }
    // Records ahead, or a closed shard whose end the poll loop has not seen yet.
    if (ahead.some((p) => p.count > 0 || p.closed)) return false;
    // A batch may have started while we were reading ahead.
    return !busy();
  }

  /**
   * Resolves when every shard's backlog is 0 and no batch is in flight.
   *
   * @throws when `timeoutMs` (default 60 s) passes first (the message names the backlog left), when the runner is
   *   stopped, or with the internal error it stopped on.
   * @example
   * await runner.waitForIdle({ timeoutMs: 30_000 });
   */
  async waitForIdle(options: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const pollMs = options.pollMs ?? 50;
    const deadline = Date.now() + timeoutMs;
    // Idle twice in a row, pollMs apart: one answer can fall into a transition (a closed shard handing over to its
    // children, a poll between two pages), as `wellwatch push --wait` does on the status API.
    let idleSeen = 0;
    for (;;) {
      if (this.fatal) throw this.fatal;
      if (this.stopping) throw new EventSourceRunnerError('event source runner stopped before it became idle');
      if (await this.isIdle()) {
        if (++idleSeen >= 2) return;
      } else {
        idleSeen = 0;
      }
      if (Date.now() > deadline) {
        const left = await this.backlog({ limit: 10_000 }).catch(() => []);
        const detail = left.map((b) => `${b.shardId}: ${b.backlog}${b.truncated ? '+' : ''}`).join(', ');
        throw new EventSourceRunnerError(`event source not idle after ${timeoutMs} ms (backlog ${detail || 'unknown'})`);
      }
      await this.sleep(pollMs);
    }
  }

  // ---------------------------------------------------------------------------------------------- failures

  /** Stops the runner on an internal error: logged, kept for `waitForIdle`, handed to `onFatal` once. */
  private die(what: string, error: unknown): void {
    if (this.fatal) return;
    this.fatal = new EventSourceRunnerError(`event source runner stopped: ${what}: ${describeError(error)}`, error);
    this.log(this.fatal.message);
    this.onFatal?.(this.fatal);
    this.stop().catch((e) => this.log(`event source: stopping after the error failed too: ${describeError(e)}`));
  }

  /** A shard refresh in the background (timer, idle check): a failure is logged and the next one tries again. */
  private backgroundRefresh(): void {
    this.refreshShards().catch((e) => this.log(`event source: listing shards failed (will retry): ${describeError(e)}`));
  }

  // ---------------------------------------------------------------------------------------------- shards

  private refreshShards(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.refreshing ??= this.doRefreshShards().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefreshShards(): Promise<void> {
    const listed = await listShards(this.kinesis, this.streamName);
    const listedIds = new Set(listed.map((s) => s.ShardId!));
    for (const shard of listed) {
      const id = shard.ShardId!;
      if (this.shardMap.has(id)) continue;
      const start = shardStart(this.settings, { atStart: this.initialListing, mappingFirstStartedMs: this.mappingFirstStartedMs });
      const checkpoint = this.checkpoints.get(id);
      // A closed shard has nothing after LATEST: it is finished at once, so its children start (at LATEST) with the
      // rest of the stream instead of after a round trip through the parent, which would skip what arrives meanwhile.
      const closedAtLatest = start.type === 'LATEST' && !checkpoint?.sequenceNumber && !!shard.SequenceNumberRange?.EndingSequenceNumber;
      const state = newShardState(shard, listedIds, start, checkpoint?.finished === true || closedAtLatest);
      if (checkpoint?.sequenceNumber) state.skipBeforeMs = undefined; // resumes after its checkpoint
      this.shardMap.set(id, state);
    }
    this.startEligible();
  }

  private startEligible(): void {
    if (this.stopping) return;
    for (const s of eligibleShards(this.shardMap)) {
      s.state = 'running';
      // Take the first iterator before anything else, so that with LATEST "started" means "from here".
      s.ready = this.reader.freshIterator(s).then(
        (it) => {
          s.iterator = it;
        },
        (e) => this.log(`event source: positioning in ${s.shardId} failed (will retry): ${describeError(e)}`),
      );
      s.loops = s.ready
        .then(() => Promise.all([this.reader.fetchLoop(s), this.invokeLoop(s)]))
        .then(
          () => undefined,
          (e) => this.die(`shard ${s.shardId}`, e),
        );
    }
  }

  private async finishShard(s: ShardState): Promise<void> {
    s.state = 'finished';
    await this.checkpoints.commit(s.shardId, { finished: true });
    this.log(`event source: ${s.shardId} is closed and fully processed`);
    this.startEligible();
    await this.refreshShards().catch((e) => this.log(`event source: listing shards failed (will retry): ${describeError(e)}`));
  }

  // ---------------------------------------------------------------------------------------------- invoking

  private async invokeLoop(s: ShardState): Promise<void> {
    const windowMs = this.settings.maxBatchingWindowSeconds * 1000;
    while (!this.stopping) {
      if (s.buffer.length === 0) {
        if (s.ended) {
          await this.finishShard(s);
          return;
        }
        await s.wakeInvoke.sleep();
        continue;
      }
      const wait = batchDueIn(s, this.settings.batchSize, windowMs, this.now());
      if (wait > 0) {
        await s.wakeInvoke.sleep(wait);
        continue;
      }
      await this.processBatch(s);
    }
  }

  private async processBatch(s: ShardState): Promise<void> {
    await this.dropExpired(s);
    if (s.buffer.length === 0 || this.stopping) return;
    const size = nextBatchSize(s, this.settings.batchSize);
    const fromPending = s.pending.length > 0;
    const batch = s.buffer.slice(0, size);
    const isRetry = batch.some((r) => r.invokes > 0);
    for (const r of batch) r.invokes++;
    this.counters.batches++;
    if (isRetry) this.counters.retries++;

    s.inFlight = true;
    try {
      const { outcome, timedOut } = await this.invokeOnce(s.shardId, batch);
      if (timedOut) this.counters.timeouts++;

      if (this.stopping && outcome.kind !== 'success') {
        // Stopping (the consumer cut the batch short, or it failed): keep what is done, leave the rest for the next
        // start, which reads from the checkpoint. Not a failure: nothing is retried, bisected or discarded.
        const done = outcome.kind === 'partial' ? outcome.failedAt : 0;
        if (done > 0) await this.complete(s, done);
        const why = outcome.kind === 'error' ? ` (the handler failed: ${outcome.error})` : '';
        this.log(`event source: ${s.shardId}: stopping with ${size - done} of ${size} records of the batch left for the next start${why}`);
        return;
      }

      const decision = decide(outcome, { batchSize: size, attempts: s.attempts }, this.settings);
      if (decision.action === 'complete') {
        await this.complete(s, size);
        this.settleFront(s, fromPending, size, []);
        s.attempts = 0;
        s.lastError = undefined;
        return;
      }
      const error = outcome.kind === 'success' ? '' : outcome.error;
      this.counters.failures++;
      s.lastError = error;
      switch (decision.action) {
        case 'bisect':
          this.settleFront(s, fromPending, size, [...decision.halves]);
          s.attempts = 0;
          this.counters.bisections++;
          this.log(`event source: ${s.shardId}: batch of ${size} failed (${error}); bisecting into ${decision.halves.join(' + ')}`);
          return;
        case 'discard':
          await this.discard(s, batch, decision.condition, error);
          this.settleFront(s, fromPending, size, []);
          s.attempts = 0;
          s.lastError = undefined;
          return;
        case 'retry': {
          if (decision.complete > 0) await this.complete(s, decision.complete);
          this.settleFront(s, fromPending, size, [decision.retry]);
          s.attempts = decision.attempts;
          const from = s.buffer[0]!.sequenceNumber;
          const quota = this.settings.retryAttempts >= 0 ? ` of ${this.settings.retryAttempts}` : '';
          this.log(`event source: ${s.shardId}: ${decision.retry} record(s) from ${from} failed (${error}); retry ${s.attempts}${quota}`);
          await this.sleep(retryDelay(s.attempts, this.retryBaseDelayMs, this.retryMaxDelayMs));
          return;
        }
      }
    } finally {
      s.inFlight = false;
    }
  }

  /**
   * Replaces the `size` records of the front batch in the pending list with `next` (the sizes of what follows from
   * them: bisected halves, a retry, nothing). Records of a pending entry the payload limit left out stay in front.
   */
  private settleFront(s: ShardState, fromPending: boolean, size: number, next: number[]): void {
    const rest = fromPending ? s.pending[0]! - size : 0;
    s.pending.splice(0, fromPending ? 1 : 0, ...next, ...(rest > 0 ? [rest] : []));
  }

  /**
   * One invocation of the handler with records of one shard: builds the event, runs it under the function timeout,
   * reads the response with the mapping's rules and tells the listeners. Shared by normal delivery and `invokeWith`,
   * so a replayed batch reaches the handler exactly as a delivered one would.
   */
  private async invokeOnce(
    shardId: string,
    batch: readonly Pick<BufferedRecord, 'sequenceNumber' | 'partitionKey' | 'data64' | 'arrival'>[],
  ): Promise<{ outcome: InvocationOutcome; response?: unknown; timedOut: boolean }> {
    const event: KinesisStreamEvent = { Records: batch.map((r) => eventRecordOf(shardId, r, this.arns)) };
    const startedMs = performance.now();
    const context = invocationContext(this.arns, this.functionTimeoutMs, () => this.stopping);
    const invoked = await invokeWithTimeout(this.handler, event, context, this.functionTimeoutMs, this.log);
    if (!('response' in invoked)) {
      const outcome: InvocationOutcome = { kind: 'error', error: invoked.error };
      this.notify(shardId, event, startedMs, outcome);
      return { outcome, timedOut: invoked.timedOut };
    }
    const outcome = readBatchResponse(invoked.response, batch.map((r) => r.sequenceNumber), this.settings.reportBatchItemFailures);
    this.notify(shardId, event, startedMs, outcome);
    return { outcome, response: invoked.response, timedOut: false };
  }

  private notify(shardId: string, event: KinesisStreamEvent, startedMs: number, outcome: InvocationOutcome): void {
    if (this.listeners.size === 0) return;
    const info: InvocationInfo = {
      shardId,
      event,
      startedMs,
      endedMs: performance.now(),
      outcome: outcome.kind,
      ...(outcome.kind !== 'success' ? { error: outcome.error } : {}),
    };
    for (const listener of this.listeners) listener(info);
  }

  /** Marks the first `n` buffered records done: checkpoint (persisted) and drop from the buffer. */
  private async complete(s: ShardState, n: number): Promise<void> {
    if (n <= 0) return;
    const last = s.buffer[n - 1]!;
    this.removeHead(s, n);
    this.counters.records += n;
    await this.checkpoints.commit(s.shardId, { sequenceNumber: last.sequenceNumber });
  }

  private removeHead(s: ShardState, n: number): void {
    for (let i = 0; i < n; i++) s.bufferedBytes -= s.buffer[i]!.eventBytes;
    s.buffer.splice(0, n);
    s.wakeFetch.wake();
  }

  /** Hands leading records older than `maxRecordAgeSeconds` to the on-failure destination, in batch-size chunks. */
  private async dropExpired(s: ShardState): Promise<void> {
    const n = expiredCount(
      s.buffer.map((r) => r.arrival),
      this.now(),
      this.settings.maxRecordAgeSeconds,
    );
    if (n === 0) return;
    const reason = `records older than maxRecordAgeSeconds (${this.settings.maxRecordAgeSeconds} s)`;
    for (let start = 0; start < n; start += this.settings.batchSize) {
      await this.writeFailure(s, s.buffer.slice(start, Math.min(n, start + this.settings.batchSize)), 'RecordAgeExceeded', reason);
    }
    const last = s.buffer[n - 1]!.sequenceNumber;
    this.removeHead(s, n);
    s.pending = [];
    s.attempts = 0;
    await this.checkpoints.commit(s.shardId, { sequenceNumber: last });
  }

  private async discard(s: ShardState, batch: readonly BufferedRecord[], condition: DiscardCondition, reason: string): Promise<void> {
    await this.writeFailure(s, batch, condition, reason);
    this.removeHead(s, batch.length);
    await this.checkpoints.commit(s.shardId, { sequenceNumber: batch[batch.length - 1]!.sequenceNumber });
  }

  private async writeFailure(s: ShardState, batch: readonly BufferedRecord[], condition: DiscardCondition, reason: string): Promise<void> {
    const record = failedBatchRecord(s.shardId, batch, condition, reason, this.now(), this.arns);
    this.counters.failedBatches++;
    this.counters.discardedRecords += batch.length;
    const { startSequenceNumber: first, endSequenceNumber: last } = record.KinesisBatchInfo;
    this.log(`event source: ${s.shardId}: gave up on ${batch.length} record(s) ${first}…${last} (${condition}: ${reason})`);
    await this.destination.send(record);
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopping || ms <= 0) return;
    const w = new Wake();
    this.sleeps.add(w);
    try {
      await w.sleep(ms);
    } finally {
      this.sleeps.delete(w);
    }
  }
}

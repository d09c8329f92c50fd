/**
 * A local Kinesis event-source mapping: polls the stream and invokes a Lambda handler the way AWS does.
 *
 * Per shard, one fetch loop keeps a small buffer of records (`GetRecords`, ~200 ms back-off when the shard is
 * empty, iterator expiry handled) and one invoke loop turns the buffer into invocations: a batch goes out when
 * `batchSize` records are buffered, the batching window has elapsed since the oldest one arrived, the 6 MB
 * invocation payload limit is reached, or the shard is closed. Events are built exactly like Lambda's.
 *
 * Error handling follows the AWS semantics of {@link EventSourceSettings}:
 * - success → checkpoint the batch's last record (persisted before the next batch, so restarts resume there);
 * - `batchItemFailures` (when `reportBatchItemFailures`) → checkpoint the record before the lowest reported
 *   sequence number and retry from it; an unknown or empty identifier fails the whole batch;
 * - a thrown error (or a failure reported on the batch's first record) → with `bisectBatchOnError` the batch is
 *   split in halves that are retried separately (splitting does not count as a retry, as in Lambda), otherwise
 *   retried whole;
 * - after `retryAttempts` retries, or when records are older than `maxRecordAgeSeconds`, the batch's metadata is
 *   appended to the on-failure file (`failed-batches.jsonl`, Lambda's on-failure record format), the checkpoint
 *   moves past it, and processing goes on.
 *
 * Records of a shard are delivered in order, one batch at a time (`parallelizationFactor` is treated as 1 locally:
 * the per-partition-key ordering a higher factor keeps is then trivially kept too). Closed shards are read to
 * their end before their children start, like Lambda after a split or merge.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { DEFAULT_EVENT_SOURCE, type EventSourceSettings } from '../lambdas/config';
import { appendJsonLines } from '../lambdas/store/jsonl-file';
import { CheckpointStore } from './checkpoints';

/** A Lambda handler for Kinesis events, e.g. the one `createConsumerHandler(cfg)` returns. */
export type KinesisBatchHandler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse | void | undefined>;

/** Lambda's synchronous invocation payload limit; the mapping cuts batches to fit. */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Lambda's longest function timeout: what an invocation's context starts with locally. */
export const LAMBDA_MAX_TIMEOUT_MS = 900_000;

/** Account id used in the ARNs of local events. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** Options of {@link EventSourceRunner}. */
export interface EventSourceRunnerOptions {
  /** Client of the stream (kinesalite, or anything speaking the Kinesis API). */
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  /** The function to invoke; it is called with one batch of one shard at a time. */
  readonly handler: KinesisBatchHandler;
  /**
   * Mapping settings.
   *
   * @default DEFAULT_EVENT_SOURCE
   */
  readonly settings?: Partial<EventSourceSettings>;
  /** @default 'us-east-1' */
  readonly region?: string;
  /**
   * Where checkpoints live.
   *
   * @default - an in-memory store (a new runner starts from `startingPosition`)
   */
  readonly checkpoints?: CheckpointStore;
  /**
   * JSONL file receiving the on-failure records of discarded batches.
   *
   * @default - none: discarded batches are only logged
   */
  readonly failedBatchesFile?: string;
  /** @default - silent */
  readonly log?: (line: string) => void;
  /** @default 'wellwatch-consumer' */
  readonly functionName?: string;
  /** Sleep when a shard returned no records, ms. @default 200 */
  readonly pollIntervalMs?: number;
  /** First retry delay after a failed invocation, ms; doubles per attempt. @default 100 */
  readonly retryBaseDelayMs?: number;
  /** Longest retry delay, ms. @default 5000 */
  readonly retryMaxDelayMs?: number;
  /** How often to look for new shards (resharding), ms. @default 10000 */
  readonly shardRefreshMs?: number;
  /** Records a shard may buffer ahead of the invocations. @default max(2 × batchSize, 500), at most 10000 */
  readonly maxBufferedRecords?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Counters since the runner started. */
export interface RunnerCounters {
  /** Handler invocations. */
  batches: number;
  /** Records checkpointed as processed successfully. */
  records: number;
  /** Invocations that threw or reported item failures. */
  failures: number;
  /** Invocations that re-delivered records of a failed invocation. */
  retries: number;
  /** Failing batches split in two. */
  bisections: number;
  /** Batches handed to the on-failure destination. */
  failedBatches: number;
  /** Records handed to the on-failure destination. */
  discardedRecords: number;
}

/** One finished invocation, as reported to {@link EventSourceRunner.onInvocation} listeners. */
export interface InvocationInfo {
  readonly shardId: string;
  readonly event: KinesisStreamEvent;
  /** `performance.now()` at the call and when the handler settled. */
  readonly startedMs: number;
  readonly endedMs: number;
  /** `partial` = batch item failures reported; `error` = the handler threw (or named an unknown item). */
  readonly outcome: 'success' | 'partial' | 'error';
  readonly error?: string;
}

/** State of one shard as reported by {@link EventSourceRunner.shards}. */
export interface ShardStatus {
  readonly shardId: string;
  /** `waiting` = a parent shard is not finished yet. */
  readonly state: 'waiting' | 'running' | 'finished';
  readonly parentShardIds: readonly string[];
  /** Last sequence number done, if any. */
  readonly checkpoint: string | undefined;
  /** Records fetched but not yet done. */
  readonly buffered: number;
  readonly inFlight: boolean;
}

/** Backlog of one shard. */
export interface ShardBacklog {
  readonly shardId: string;
  readonly checkpoint: string | undefined;
  /** Records after the checkpoint (counted up to the limit). */
  readonly backlog: number;
  /** True when counting stopped at the limit: the real backlog is at least {@link backlog}. */
  readonly truncated: boolean;
}

/** The on-failure record of a discarded batch, in the shape Lambda sends to an on-failure destination. */
export interface FailedBatchRecord {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: { readonly statusCode: number; readonly executedVersion: string; readonly functionError?: string };
  readonly KinesisBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
  /** Why the batch was given up (the last error, or the age limit). Local addition. */
  readonly reason: string;
}

/** A stream record handed to {@link EventSourceRunner.invokeWith}. */
export interface ReplayRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  /** The record's data, base64. */
  readonly data64: string;
  /** Approximate arrival time, epoch ms. */
  readonly arrivalMs: number;
}

/** Outcome of {@link EventSourceRunner.invokeWith}. */
export interface InvokeResult {
  /** Index of the first record to retry; absent when the batch succeeded. */
  readonly failedAt?: number;
  readonly error?: string;
  readonly outcome: InvocationInfo['outcome'];
  /** The handler's partial batch response, as it returned it. */
  readonly batchItemFailures: readonly { readonly itemIdentifier: string }[];
}

interface BufferedRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data64: string;
  /** Epoch ms. */
  readonly arrival: number;
  /** Epoch ms the runner fetched it (start of the batching window). */
  readonly fetchedAt: number;
  /** Serialised size inside an event (bytes, the record plus a separating comma). */
  readonly eventBytes: number;
  /** Invocations that already carried this record. */
  invokes: number;
}

interface ShardState {
  readonly shardId: string;
  readonly parents: string[];
  /** Started after the mapping was created or a child shard: reads from TRIM_HORIZON. */
  readonly fromTrimHorizon: boolean;
  state: 'waiting' | 'running' | 'finished';
  iterator: string | undefined;
  buffer: BufferedRecord[];
  bufferedBytes: number;
  /** Moving average of a record's event size, to size GetRecords requests. */
  avgRecordBytes: number;
  lastFetchedSeq: string | undefined;
  /** NextShardIterator was null: the shard is closed and fully fetched. */
  ended: boolean;
  inFlight: boolean;
  /** Failed invocations of the current head batch. */
  attempts: number;
  lastError: string | undefined;
  /** Sizes of bisected sub-batches still to run (front = next). */
  pending: number[];
  readonly wakeInvoke: Wake;
  readonly wakeFetch: Wake;
  ready: Promise<void> | undefined;
  loops: Promise<void> | undefined;
}

/** A wake-up call for a loop that sleeps: `sleep(ms)` resolves early on `wake()`. */
class Wake {
  private waiter: (() => void) | undefined;
  private woken = false;

  sleep(ms?: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.waiter = () => {
        if (timer) clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(() => this.waiter?.(), Math.max(0, ms));
    });
  }

  wake(): void {
    if (this.waiter) this.waiter();
    else this.woken = true;
  }
}

function errorName(e: unknown): string {
  return (e as { name?: string })?.name ?? '';
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * Builds one record of a Lambda Kinesis event.
 *
 * Field names, order and formats are Lambda's: `approximateArrivalTimestamp` is epoch seconds with a fraction,
 * `eventID` is `<shardId>:<sequenceNumber>`.
 *
 * @example
 * const rec = kinesisEventRecord({ shardId, sequenceNumber, partitionKey: 'P1', data64, arrivalMs, region, streamArn, invokeIdentityArn });
 */
export function kinesisEventRecord(r: {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data64: string;
  arrivalMs: number;
  region: string;
  streamArn: string;
  invokeIdentityArn: string;
}): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.partitionKey,
      sequenceNumber: r.sequenceNumber,
      data: r.data64,
      approximateArrivalTimestamp: r.arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${r.shardId}:${r.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: r.invokeIdentityArn,
    awsRegion: r.region,
    eventSourceARN: r.streamArn,
  };
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
  readonly counters: RunnerCounters = { batches: 0, records: 0, failures: 0, retries: 0, bisections: 0, failedBatches: 0, discardedRecords: 0 };

  private readonly kinesis: KinesisClient;
  private readonly streamName: string;
  private readonly handler: KinesisBatchHandler;
  private readonly log: (line: string) => void;
  private readonly functionName: string;
  private readonly functionArn: string;
  private readonly invokeIdentityArn: string;
  private readonly failedBatchesFile: string | undefined;
  private readonly pollIntervalMs: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly shardRefreshMs: number;
  private readonly maxBuffered: number;
  private readonly maxBufferedBytes: number;
  private readonly now: () => number;
  private readonly eventOverhead: number;

  private readonly shardMap = new Map<string, ShardState>();
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private initialListing = true;
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
    this.failedBatchesFile = options.failedBatchesFile ? path.resolve(options.failedBatchesFile) : undefined;
    this.log = options.log ?? (() => undefined);
    this.functionName = options.functionName ?? 'wellwatch-consumer';
    this.functionArn = `arn:aws:lambda:${this.region}:${LOCAL_ACCOUNT_ID}:function:${this.functionName}`;
    this.invokeIdentityArn = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${this.functionName}-role`;
    this.streamArn = `arn:aws:kinesis:${this.region}:${LOCAL_ACCOUNT_ID}:stream/${this.streamName}`;
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? 5_000;
    this.shardRefreshMs = options.shardRefreshMs ?? 10_000;
    this.maxBuffered = Math.max(1, Math.min(10_000, options.maxBufferedRecords ?? Math.max(2 * this.settings.batchSize, 500)));
    this.maxBufferedBytes = 2 * MAX_INVOKE_PAYLOAD_BYTES;
    this.now = options.now ?? Date.now;
    this.eventOverhead = Buffer.byteLength(JSON.stringify({ Records: [] }));
    const s = this.settings;
    if (!Number.isInteger(s.batchSize) || s.batchSize < 1 || s.batchSize > 10_000) throw new RangeError(`batchSize must be 1–10000, got ${s.batchSize}`);
    if (!(s.maxBatchingWindowSeconds >= 0 && s.maxBatchingWindowSeconds <= 300)) {
      throw new RangeError(`maxBatchingWindowSeconds must be 0–300, got ${s.maxBatchingWindowSeconds}`);
    }
    if (!Number.isInteger(s.retryAttempts) || s.retryAttempts < -1 || s.retryAttempts > 10_000) {
      throw new RangeError(`retryAttempts must be -1 (infinite) or 0–10000, got ${s.retryAttempts}`);
    }
    if (s.parallelizationFactor !== 1) {
      this.log(`event source: parallelizationFactor ${s.parallelizationFactor} runs as 1 locally (one batch per shard at a time)`);
    }
  }

  /**
   * Lists the shards and starts polling; resolves once every eligible shard has a loop.
   *
   * @throws when the stream does not exist.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('EventSourceRunner already started');
    this.started = true;
    const { StreamDescriptionSummary: summary } = await this.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: this.streamName }));
    const createdAt = summary?.StreamCreationTimestamp?.toISOString();
    if (this.checkpoints.bindStream(this.streamName, createdAt)) {
      this.log(`event source: stream ${this.streamName} was re-created; old checkpoints discarded, starting at ${this.settings.startingPosition}`);
    }
    await this.refreshShards();
    this.initialListing = false;
    await Promise.all([...this.shardMap.values()].map((s) => s.ready));
    this.refreshTimer = setInterval(() => {
      void this.refreshShards().catch((e) => this.log(`event source: listing shards failed: ${describe(e)}`));
    }, this.shardRefreshMs);
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
   * shape, same context, same reading of the response, same invocation listeners), and says how it went. Nothing
   * else happens: no checkpoint moves, nothing is retried, bisected or sent to the on-failure file. It is how
   * `wellwatch replay` hands records read back from the stream to local mode's consumer (the local counterpart of
   * the Lambda Invoke API).
   *
   * @returns `failedAt` = index of the first record to retry (absent when the batch succeeded), and the handler's
   *   `batchItemFailures`.
   * @example
   * const { failedAt } = await runner.invokeWith([{ sequenceNumber, partitionKey, data64, arrivalMs }], 'shardId-000000000000');
   */
  async invokeWith(records: readonly ReplayRecord[], shardId: string): Promise<InvokeResult> {
    if (this.stopping) throw new Error('event source runner is stopping');
    const batch: BufferedRecord[] = records.map((r) => ({
      sequenceNumber: r.sequenceNumber,
      partitionKey: r.partitionKey,
      data64: r.data64,
      arrival: r.arrivalMs,
      fetchedAt: this.now(),
      eventBytes: 0,
      invokes: 1,
    }));
    const event: KinesisStreamEvent = { Records: batch.map((r) => this.eventRecord(shardId, r)) };
    const startedMs = performance.now();
    let result: { failedAt?: number; error?: string; outcome: InvocationInfo['outcome'] };
    let batchItemFailures: { itemIdentifier: string }[] = [];
    try {
      const response = await this.handler(event, this.context());
      result = this.interpret(response, batch);
      batchItemFailures = (response as Partial<KinesisStreamBatchResponse> | undefined)?.batchItemFailures ?? [];
    } catch (e) {
      result = { failedAt: 0, error: describe(e), outcome: 'error' };
    }
    const info: InvocationInfo = { shardId, event, startedMs, endedMs: performance.now(), outcome: result.outcome, ...(result.error !== undefined ? { error: result.error } : {}) };
    for (const listener of this.listeners) listener(info);
    return { ...result, batchItemFailures };
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
        const ahead = s.ended ? 0 : await this.countAhead(s, Math.max(0, limit - buffered));
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
    const [listed, ahead] = await Promise.all([this.listShards(), Promise.all(open.map((s) => this.peek(s)))]);
    // A shard we do not know yet (a split or merge just happened) will be picked up by the next refresh.
    if (listed.some((shard) => !this.shardMap.has(shard.ShardId!))) {
      void this.refreshShards().catch(() => undefined);
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
   * @throws when `timeoutMs` (default 60 s) passes first; the message names the backlog left.
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
      if (this.stopping) throw new Error('event source runner stopped before it became idle');
      if (await this.isIdle()) {
        if (++idleSeen >= 2) return;
      } else {
        idleSeen = 0;
      }
      if (Date.now() > deadline) {
        const left = await this.backlog({ limit: 10_000 }).catch(() => []);
        const detail = left.map((b) => `${b.shardId}: ${b.backlog}${b.truncated ? '+' : ''}`).join(', ');
        throw new Error(`event source not idle after ${timeoutMs} ms (backlog ${detail || 'unknown'})`);
      }
      await this.sleep(pollMs);
    }
  }

  // ---------------------------------------------------------------------------------------------- shards

  private refreshShards(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.refreshing ??= this.doRefreshShards().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async listShards(): Promise<Shard[]> {
    const listed: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.kinesis.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: this.streamName }));
      listed.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return listed;
  }

  private async doRefreshShards(): Promise<void> {
    const listed = await this.listShards();
    const listedIds = new Set(listed.map((s) => s.ShardId!));
    for (const shard of listed) {
      const id = shard.ShardId!;
      if (this.shardMap.has(id)) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p && listedIds.has(p));
      const finished = this.checkpoints.get(id)?.finished === true;
      this.shardMap.set(id, {
        shardId: id,
        parents,
        fromTrimHorizon: !this.initialListing || parents.length > 0,
        state: finished ? 'finished' : 'waiting',
        iterator: undefined,
        buffer: [],
        bufferedBytes: 0,
        avgRecordBytes: 64 * 1024, // the producer's default record size, until records are seen
        lastFetchedSeq: undefined,
        ended: false,
        inFlight: false,
        attempts: 0,
        lastError: undefined,
        pending: [],
        wakeInvoke: new Wake(),
        wakeFetch: new Wake(),
        ready: undefined,
        loops: undefined,
      });
    }
    this.startEligible();
  }

  private startEligible(): void {
    if (this.stopping) return;
    for (const s of this.shardMap.values()) {
      if (s.state !== 'waiting') continue;
      if (!s.parents.every((p) => this.shardMap.get(p)?.state === 'finished')) continue;
      s.state = 'running';
      // Take the first iterator before anything else, so that with LATEST "started" means "from here".
      s.ready = this.freshIterator(s).then(
        (it) => {
          s.iterator = it;
        },
        (e) => this.log(`event source: positioning in ${s.shardId} failed (will retry): ${describe(e)}`),
      );
      s.loops = s.ready.then(() => Promise.all([this.fetchLoop(s), this.invokeLoop(s)])).then(() => undefined);
    }
  }

  private async finishShard(s: ShardState): Promise<void> {
    s.state = 'finished';
    await this.checkpoints.commit(s.shardId, { finished: true });
    this.log(`event source: ${s.shardId} is closed and fully processed`);
    this.startEligible();
    await this.refreshShards().catch((e) => this.log(`event source: listing shards failed: ${describe(e)}`));
  }

  // ---------------------------------------------------------------------------------------------- fetching

  private startPosition(s: ShardState): GetShardIteratorCommandInput {
    const base = { StreamName: this.streamName, ShardId: s.shardId };
    if (s.lastFetchedSeq) return { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: s.lastFetchedSeq };
    const cp = this.checkpoints.get(s.shardId)?.sequenceNumber;
    if (cp) return { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: cp };
    const type = s.fromTrimHorizon || this.settings.startingPosition === 'TRIM_HORIZON' ? 'TRIM_HORIZON' : 'LATEST';
    return { ...base, ShardIteratorType: type };
  }

  private async freshIterator(s: ShardState): Promise<string | undefined> {
    const input = this.startPosition(s);
    try {
      return (await this.kinesis.send(new GetShardIteratorCommand(input))).ShardIterator;
    } catch (e) {
      if (errorName(e) === 'InvalidArgumentException' && input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' && !s.lastFetchedSeq) {
        // The checkpoint does not belong to this shard any more (data dir from another stream incarnation).
        this.log(`event source: checkpoint of ${s.shardId} is not valid for this stream (${describe(e)}); starting at ${this.settings.startingPosition}`);
        await this.checkpoints.clear(s.shardId);
        const type = s.fromTrimHorizon || this.settings.startingPosition === 'TRIM_HORIZON' ? 'TRIM_HORIZON' : 'LATEST';
        return (await this.kinesis.send(new GetShardIteratorCommand({ StreamName: this.streamName, ShardId: s.shardId, ShardIteratorType: type })))
          .ShardIterator;
      }
      throw e;
    }
  }

  private async fetchLoop(s: ShardState): Promise<void> {
    let failures = 0;
    while (!this.stopping && !s.ended) {
      if (s.buffer.length >= this.maxBuffered || s.bufferedBytes >= this.maxBufferedBytes) {
        await s.wakeFetch.sleep(1_000);
        continue;
      }
      try {
        if (!s.iterator) s.iterator = await this.freshIterator(s);
        if (!s.iterator) {
          s.ended = true;
          break;
        }
        // Kinesis caps a GetRecords response at 10 MB, kinesalite does not: size the request by the records seen.
        const byBytes = Math.floor((this.maxBufferedBytes - s.bufferedBytes) / Math.max(1, s.avgRecordBytes));
        const limit = Math.max(1, Math.min(10_000, this.maxBuffered - s.buffer.length, byBytes));
        const page = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: s.iterator, Limit: limit }));
        failures = 0;
        const records = page.Records ?? [];
        const fetchedAt = this.now();
        for (const r of records) {
          const rec = this.buffered(s.shardId, r.SequenceNumber!, r.PartitionKey!, r.Data, r.ApproximateArrivalTimestamp, fetchedAt);
          s.buffer.push(rec);
          s.bufferedBytes += rec.eventBytes;
          s.avgRecordBytes = s.avgRecordBytes * 0.9 + rec.eventBytes * 0.1;
        }
        if (records.length) s.lastFetchedSeq = records[records.length - 1].SequenceNumber;
        s.iterator = page.NextShardIterator;
        if (!s.iterator) s.ended = true;
        if (records.length || s.ended) s.wakeInvoke.wake();
        else await s.wakeFetch.sleep(this.pollIntervalMs);
      } catch (e) {
        if (this.stopping) break;
        const name = errorName(e);
        if (name === 'ExpiredIteratorException') {
          s.iterator = undefined; // re-derived from the last fetched record
          continue;
        }
        if (name === 'ResourceNotFoundException' || name === 'InvalidArgumentException') s.iterator = undefined;
        failures++;
        if (failures === 1 || failures % 50 === 0) this.log(`event source: reading ${s.shardId} failed (${failures}×): ${describe(e)}`);
        await s.wakeFetch.sleep(Math.min(5_000, this.pollIntervalMs * 2 ** Math.min(failures, 5)));
      }
    }
  }

  private buffered(
    shardId: string,
    sequenceNumber: string,
    partitionKey: string,
    data: Uint8Array | undefined,
    arrival: Date | undefined,
    fetchedAt: number,
  ): BufferedRecord {
    const bytes = data ?? new Uint8Array(0);
    const data64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    const arrivalMs = arrival ? arrival.getTime() : fetchedAt;
    const shell = this.eventRecord(shardId, { sequenceNumber, partitionKey, data64: '', arrival: arrivalMs });
    const eventBytes = Buffer.byteLength(JSON.stringify(shell)) + data64.length + 1;
    return { sequenceNumber, partitionKey, data64, arrival: arrivalMs, fetchedAt, eventBytes, invokes: 0 };
  }

  private async countAhead(s: ShardState, limit: number): Promise<number> {
    return (await this.readAhead(s, limit)).count;
  }

  /** Whether anything is after the shard's position, and whether the shard is closed and exhausted. */
  private peek(s: ShardState): Promise<{ count: number; closed: boolean }> {
    return this.readAhead(s, 1);
  }

  private async readAhead(s: ShardState, limit: number): Promise<{ count: number; closed: boolean }> {
    if (limit <= 0) return { count: 0, closed: false };
    let iterator: string | undefined = s.state === 'running' ? s.iterator : undefined;
    let count = 0;
    for (let fresh = false; ; ) {
      if (!iterator) {
        iterator = await this.freshIteratorForCount(s);
        fresh = true;
        if (!iterator) return { count, closed: false };
      }
      let page;
      try {
        page = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(10_000, limit - count) }));
      } catch (e) {
        if (!fresh && (errorName(e) === 'ExpiredIteratorException' || errorName(e) === 'InvalidArgumentException')) {
          iterator = undefined;
          continue;
        }
        throw e;
      }
      const n = page.Records?.length ?? 0;
      count += n;
      if (!page.NextShardIterator) return { count, closed: true };
      if (n === 0 || count >= limit) return { count, closed: false };
      iterator = page.NextShardIterator;
    }
  }

  private async freshIteratorForCount(s: ShardState): Promise<string | undefined> {
    const input = this.startPosition(s);
    // A waiting child shard will be read from TRIM_HORIZON; LATEST has nothing behind it by definition.
    if (input.ShardIteratorType === 'LATEST') return undefined;
    try {
      return (await this.kinesis.send(new GetShardIteratorCommand(input))).ShardIterator;
    } catch (e) {
      if (errorName(e) === 'InvalidArgumentException') return undefined;
      throw e;
    }
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
      const due = s.pending.length > 0 || s.attempts > 0 || s.ended || s.buffer.length >= this.settings.batchSize || s.bufferedBytes >= MAX_INVOKE_PAYLOAD_BYTES;
      if (!due) {
        const waited = this.now() - s.buffer[0].fetchedAt;
        if (waited < windowMs) {
          await s.wakeInvoke.sleep(windowMs - waited);
          continue;
        }
      }
      try {
        await this.processBatch(s);
      } catch (e) {
        // Only bookkeeping (failure file, checkpoint) can throw here; keep the shard alive and try again.
        this.log(`event source: ${s.shardId}: ${describe(e)}`);
        await this.sleep(1_000);
      }
    }
  }

  private eventRecord(shardId: string, r: Pick<BufferedRecord, 'sequenceNumber' | 'partitionKey' | 'data64' | 'arrival'>): KinesisStreamRecord {
    return kinesisEventRecord({
      shardId,
      sequenceNumber: r.sequenceNumber,
      partitionKey: r.partitionKey,
      data64: r.data64,
      arrivalMs: r.arrival,
      region: this.region,
      streamArn: this.streamArn,
      invokeIdentityArn: this.invokeIdentityArn,
    });
  }

  private context(): Context {
    const requestId = randomUUID();
    const deadline = Date.now() + LAMBDA_MAX_TIMEOUT_MS;
    const fail = (): void => undefined;
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: this.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.functionArn,
      memoryLimitInMB: '1024',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${this.functionName}`,
      logStreamName: `local/${requestId}`,
      // Lambda's longest timeout; a stop makes it 0 so the consumer cuts its batch short (CONSUMER_DEADLINE) and the
      // stop does not wait for a large batch to finish.
      getRemainingTimeInMillis: () => (this.stopping ? 0 : Math.max(0, deadline - Date.now())),
      done: fail,
      fail,
      succeed: fail,
    };
  }

  /** Number of buffered records the next batch takes (batch size, bisected size and the payload limit). */
  private nextBatchSize(s: ShardState): number {
    const want = Math.min(s.pending[0] ?? this.settings.batchSize, s.buffer.length);
    let bytes = this.eventOverhead;
    let n = 0;
    while (n < want) {
      bytes += s.buffer[n].eventBytes;
      if (bytes > MAX_INVOKE_PAYLOAD_BYTES && n > 0) break;
      n++;
    }
    return n;
  }

  private async processBatch(s: ShardState): Promise<void> {
    await this.dropExpired(s);
    if (s.buffer.length === 0 || this.stopping) return;
    const size = this.nextBatchSize(s);
    const fromPending = s.pending.length > 0;
    const batch = s.buffer.slice(0, size);
    const event: KinesisStreamEvent = { Records: batch.map((r) => this.eventRecord(s.shardId, r)) };
    const isRetry = batch.some((r) => r.invokes > 0);
    for (const r of batch) r.invokes++;
    this.counters.batches++;
    if (isRetry) this.counters.retries++;

    s.inFlight = true;
    try {
      let failedAt: number | undefined;
      let error: string | undefined;
      let outcome: InvocationInfo['outcome'] = 'success';
      const startedMs = performance.now();
      try {
        const response = await this.handler(event, this.context());
        const result = this.interpret(response, batch);
        failedAt = result.failedAt;
        error = result.error;
        outcome = result.outcome;
      } catch (e) {
        failedAt = 0;
        error = describe(e);
        outcome = 'error';
      }
      if (this.listeners.size > 0) {
        const info: InvocationInfo = {
          shardId: s.shardId,
          event,
          startedMs,
          endedMs: performance.now(),
          outcome,
          ...(error !== undefined ? { error } : {}),
        };
        for (const listener of this.listeners) listener(info);
      }

      if (failedAt === undefined) {
        await this.complete(s, size);
        s.attempts = 0;
        s.lastError = undefined;
        if (fromPending) s.pending.shift();
        return;
      }

      if (this.stopping) {
        // Stopping (the consumer cut the batch short, or it failed): keep what is done, leave the rest for the next
        // start, which reads from the checkpoint. Not a failure: nothing is retried, bisected or discarded.
        if (failedAt > 0) await this.complete(s, failedAt);
        const why = outcome === 'error' ? ` (the handler failed: ${error})` : '';
        this.log(`event source: ${s.shardId}: stopping with ${size - failedAt} of ${size} records of the batch left for the next start${why}`);
        return;
      }
      this.counters.failures++;
      s.lastError = error;
      if (failedAt > 0) {
        // Partial success: everything before the failed record is done; retry from it.
        await this.complete(s, failedAt);
        if (fromPending) s.pending[0] = size - failedAt;
        s.attempts = 1;
        this.log(`event source: ${s.shardId}: record ${batch[failedAt].sequenceNumber} failed (${error}); retrying from it`);
        await this.sleep(this.retryDelay(s.attempts));
        return;
      }

      if (this.settings.bisectBatchOnError && size > 1) {
        const first = Math.ceil(size / 2);
        s.pending.splice(0, fromPending ? 1 : 0, first, size - first);
        s.attempts = 0;
        this.counters.bisections++;
        this.log(`event source: ${s.shardId}: batch of ${size} failed (${error}); bisecting into ${first} + ${size - first}`);
        return;
      }

      s.attempts++;
      const retries = this.settings.retryAttempts;
      if (retries >= 0 && s.attempts > retries) {
        await this.discard(s, batch, 'RetryAttemptsExhausted', error ?? 'unknown error');
        if (fromPending) s.pending.shift();
        s.attempts = 0;
        s.lastError = undefined;
        return;
      }
      this.log(`event source: ${s.shardId}: batch of ${size} failed (${error}); retry ${s.attempts}${retries >= 0 ? ` of ${retries}` : ''}`);
      await this.sleep(this.retryDelay(s.attempts));
    } finally {
      s.inFlight = false;
    }
  }

  /** Reads a handler response: index of the first failed record, or undefined when the batch succeeded. */
  private interpret(
    response: KinesisStreamBatchResponse | void | undefined,
    batch: readonly BufferedRecord[],
  ): { failedAt?: number; error?: string; outcome: InvocationInfo['outcome'] } {
    const ok = { outcome: 'success' as const };
    if (!this.settings.reportBatchItemFailures || !response || typeof response !== 'object') return ok;
    const failures = (response as Partial<KinesisStreamBatchResponse>).batchItemFailures;
    if (!Array.isArray(failures) || failures.length === 0) return ok;
    let lowest = Number.POSITIVE_INFINITY;
    for (const f of failures) {
      const id = (f as { itemIdentifier?: unknown })?.itemIdentifier;
      const index = typeof id === 'string' && id !== '' ? batch.findIndex((r) => r.sequenceNumber === id) : -1;
      // Lambda treats an empty, malformed or unknown identifier as a failure of the whole batch.
      if (index < 0) return { failedAt: 0, error: `batchItemFailures names ${JSON.stringify(id)}, which is not in the batch`, outcome: 'error' };
      lowest = Math.min(lowest, index);
    }
    return { failedAt: lowest, error: `handler reported ${failures.length} failed item(s)`, outcome: 'partial' };
  }

  private retryDelay(attempt: number): number {
    return Math.min(this.retryMaxDelayMs, this.retryBaseDelayMs * 2 ** Math.max(0, attempt - 1));
  }

  /** Marks the first `n` buffered records done: checkpoint (persisted) and drop from the buffer. */
  private async complete(s: ShardState, n: number): Promise<void> {
    if (n <= 0) return;
    const last = s.buffer[n - 1];
    this.removeHead(s, n);
    this.counters.records += n;
    await this.checkpoints.commit(s.shardId, { sequenceNumber: last.sequenceNumber });
  }

  private removeHead(s: ShardState, n: number): void {
    for (let i = 0; i < n; i++) s.bufferedBytes -= s.buffer[i].eventBytes;
    s.buffer.splice(0, n);
    s.wakeFetch.wake();
  }

  /** Hands leading records older than `maxRecordAgeSeconds` to the on-failure destination. */
  private async dropExpired(s: ShardState): Promise<void> {
    const maxAge = this.settings.maxRecordAgeSeconds;
    if (!(maxAge > 0)) return;
    const cutoff = this.now() - maxAge * 1000;
    let n = 0;
    while (n < s.buffer.length && s.buffer[n].arrival < cutoff) n++;
    if (n === 0) return;
    for (let start = 0; start < n; start += this.settings.batchSize) {
      const chunk = s.buffer.slice(start, Math.min(n, start + this.settings.batchSize));
      await this.writeFailure(s, chunk, 'RecordAgeExceeded', `records older than maxRecordAgeSeconds (${maxAge} s)`);
    }
    const last = s.buffer[n - 1].sequenceNumber;
    this.removeHead(s, n);
    s.pending = [];
    s.attempts = 0;
    await this.checkpoints.commit(s.shardId, { sequenceNumber: last });
  }

  private async discard(s: ShardState, batch: readonly BufferedRecord[], condition: FailedBatchRecord['requestContext']['condition'], reason: string): Promise<void> {
    await this.writeFailure(s, batch, condition, reason);
    const last = batch[batch.length - 1];
    this.removeHead(s, batch.length);
    await this.checkpoints.commit(s.shardId, { sequenceNumber: last.sequenceNumber });
  }

  private async writeFailure(s: ShardState, batch: readonly BufferedRecord[], condition: FailedBatchRecord['requestContext']['condition'], reason: string): Promise<void> {
    const first = batch[0];
    const last = batch[batch.length - 1];
    const record: FailedBatchRecord = {
      version: '1.0',
      timestamp: new Date(this.now()).toISOString(),
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.functionArn,
        condition,
        approximateInvokeCount: Math.max(...batch.map((r) => r.invokes)),
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(condition === 'RetryAttemptsExhausted' ? { functionError: 'Unhandled' } : {}) },
      KinesisBatchInfo: {
        shardId: s.shardId,
        startSequenceNumber: first.sequenceNumber,
        endSequenceNumber: last.sequenceNumber,
        approximateArrivalOfFirstRecord: new Date(first.arrival).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.arrival).toISOString(),
        batchSize: batch.length,
        streamArn: this.streamArn,
      },
      reason,
    };
    this.counters.failedBatches++;
    this.counters.discardedRecords += batch.length;
    this.log(`event source: ${s.shardId}: gave up on ${batch.length} record(s) ${first.sequenceNumber}…${last.sequenceNumber} (${condition}: ${reason})`);
    if (this.failedBatchesFile) {
      // Under the file's lock: `wellwatch replay failed-batches` removes replayed records from this file.
      await appendJsonLines(this.failedBatchesFile, [record]);
    }
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

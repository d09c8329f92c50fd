/**
 * Types shared by the modules of the local event-source mapping: the public options, counters and status shapes,
 * and the per-shard state the reader and the invoker share.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { EventSourceSettings } from '../../lambdas/config';
import type { CheckpointStore } from '../checkpoints';
import type { Wake } from './wake';

/** A Lambda handler for Kinesis events, e.g. the one `createConsumerHandler(cfg)` returns. */
export type KinesisBatchHandler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse | void | undefined>;

/** Options of the `EventSourceRunner`. */
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
  /**
   * The function's timeout, seconds (1–900): an invocation still running then is a function error, as in Lambda.
   *
   * @default CONSUMER_FUNCTION.timeoutSeconds
   */
  readonly functionTimeoutSeconds?: number;
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
  /**
   * Called once when the runner stops on an internal error (a bug in the runner's own bookkeeping, a checkpoint or
   * failure file that cannot be written); the error also rejects `waitForIdle`.
   *
   * @default - the error is logged
   */
  readonly onFatal?: (error: Error) => void;
  /**
   * The consumer's function name, in ARNs and the invocation context (local mode passes its deployment's
   * `names.consumerFunction`).
   *
   * @default NAMES.consumerFunction (`wellwatch-consumer`)
   */
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
  /** The mapping's clock (record age, batching window, failure timestamps). @default Date.now */
  readonly now?: () => number;
}

/** Counters since the runner started. */
export interface RunnerCounters {
  /** Handler invocations. */
  batches: number;
  /** Records checkpointed as processed successfully. */
  records: number;
  /** Invocations that threw, timed out or reported item failures. */
  failures: number;
  /** Invocations that re-delivered records of a failed invocation. */
  retries: number;
  /** Failing batches split in two. */
  bisections: number;
  /** Batches handed to the on-failure destination. */
  failedBatches: number;
  /** Records handed to the on-failure destination. */
  discardedRecords: number;
  /** Invocations still running at the function timeout. */
  timeouts: number;
}

/** One finished invocation, as reported to `onInvocation` listeners. */
export interface InvocationInfo {
  readonly shardId: string;
  readonly event: import('aws-lambda').KinesisStreamEvent;
  /** `performance.now()` at the call and when the handler settled (or timed out). */
  readonly startedMs: number;
  readonly endedMs: number;
  /** `partial` = batch item failures reported; `error` = the handler threw, timed out, or named an unknown item. */
  readonly outcome: 'success' | 'partial' | 'error';
  readonly error?: string;
}

/** A stream record handed to `EventSourceRunner.invokeWith` (`wellwatch replay`, `POST /api/invoke`). */
export interface ReplayRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  /** The record's data, base64. */
  readonly data64: string;
  /** Approximate arrival time, epoch ms. */
  readonly arrivalMs: number;
}

/** Outcome of `EventSourceRunner.invokeWith`. */
export interface InvokeResult {
  readonly outcome: InvocationInfo['outcome'];
  /** Index of the first record to retry; absent when the batch succeeded. */
  readonly failedAt?: number;
  readonly error?: string;
  /** The handler's partial batch response, as it returned it (empty after a function error). */
  readonly batchItemFailures: readonly { readonly itemIdentifier: string }[];
}

/** State of one shard as reported by `EventSourceRunner.shards()`. */
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

/** A fetched record waiting to be delivered. */
export interface BufferedRecord {
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

/** Where a shard without a checkpoint starts. */
export type ShardStart = { readonly type: 'TRIM_HORIZON' | 'LATEST' } | { readonly type: 'AT_TIMESTAMP'; readonly timestampMs: number };

/** Everything the runner knows about one shard. */
export interface ShardState {
  readonly shardId: string;
  readonly parents: string[];
  /** Where to start when there is no checkpoint (the mapping's starting position, or TRIM_HORIZON for a new shard). */
  readonly start: ShardStart;
  state: 'waiting' | 'running' | 'finished';
  iterator: string | undefined;
  /** AT_TIMESTAMP: records that arrived before this (epoch ms) are skipped; cleared at the first later one. */
  skipBeforeMs: number | undefined;
  buffer: BufferedRecord[];
  bufferedBytes: number;
  /** Moving average of a record's event size, to size GetRecords requests. */
  avgRecordBytes: number;
  lastFetchedSeq: string | undefined;
  /** NextShardIterator was null: the shard is closed and fully fetched. */
  ended: boolean;
  inFlight: boolean;
  /** Retries of the records at the head of the buffer (failed invocations since they were last split or shrunk). */
  attempts: number;
  lastError: string | undefined;
  /**
   * Sizes of the next batches, front first, while a failed batch is being worked off: bisected halves, or the
   * remainder of a partially failed batch. A retry never takes more than its entry: records fetched meanwhile wait.
   */
  pending: number[];
  readonly wakeInvoke: Wake;
  readonly wakeFetch: Wake;
  ready: Promise<void> | undefined;
  loops: Promise<void> | undefined;
}

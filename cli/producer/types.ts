/**
 * The producer's public contract: its options, the counters of a run, what it reports (refused lines, records given
 * up on), the payload formats, the PutRecords seam and the error that stops a run.
 *
 * No behaviour lives here; the modules beside this one implement it (see index.ts for the map).
 */
import type { PutRecordsCommandInput, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { WellwatchError } from '../../lambdas/core/errors';
import type { ParseOptions } from '../../lambdas/core/parse-reading';
import type { ShardRange } from '../shard-map';

/** How lines are packed into a Kinesis record. */
export const PAYLOAD_FORMATS = {
  /** KPL aggregated record (magic + protobuf + MD5) of user records, each holding a small group of lines. */
  kpl: 'kpl',
  /** Plain newline-joined CSV lines. */
  lines: 'lines',
} as const;
/** One payload format. */
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[keyof typeof PAYLOAD_FORMATS];

/** Sends one PutRecords request (a thin seam so tests and benchmarks can wrap or fake the client). */
export type PutRecordsFn = (input: PutRecordsCommandInput) => Promise<PutRecordsCommandOutput>;

/**
 * Adapts a Kinesis client to {@link PutRecordsFn}.
 *
 * @example
 * const producer = new Producer({ streamName: cfg.streamName, putRecords: putRecordsWith(kinesisClient(cfg)) });
 */
export function putRecordsWith(client: KinesisClient): PutRecordsFn {
  return (input) => client.send(new PutRecordsCommand(input));
}

/** Where a line came from: the input's name and its 1-based line number. */
export interface LineOrigin {
  readonly source: string;
  readonly line: number;
}

/** A line refused before sending. */
export interface RefusedLine extends LineOrigin {
  readonly code: string;
  readonly reason: string;
}

/** A record given up on after its attempts (its readings were not sent). */
export interface FailedRecord {
  /** The record's partition key: its pump, or with a shard map the shard id. */
  readonly pump: string;
  /** With a shard map: the shard the record was for (its readings are of several pumps). */
  readonly shardId?: string;
  readonly readings: number;
  readonly first: LineOrigin;
  readonly last: LineOrigin;
  readonly attempts: number;
  /** Error code or message of the last attempt. */
  readonly reason: string;
}

/** Options of the Producer (producer.ts). */
export interface ProducerOptions {
  readonly streamName: string;
  readonly putRecords: PutRecordsFn;
  /** @default 'kpl' */
  readonly format?: PayloadFormat;
  /**
   * Budget of one Kinesis record in bytes, data plus partition key (the unit Kinesis limits to 1 MiB).
   *
   * @default 65536 - `cfg.producerRecordBytes`' default
   */
  readonly recordBytes?: number;
  /**
   * KPL only: lines are grouped into user records of at most this many bytes; 0 puts every line in its own user
   * record. Each user record costs about 6 bytes of protobuf framing, so ~1 KiB groups cost < 1 % while per-line
   * user records cost ~13 % on 45-byte lines.
   *
   * @default 1024
   */
  readonly userRecordBytes?: number;
  /** A pump's open record is sealed this many milliseconds after its first line. @default 200 */
  readonly lingerMs?: number;
  /** PutRecords calls in flight at most. @default 4 */
  readonly concurrency?: number;
  /** Pacing in readings (lines) per second, token bucket with a 100 ms burst. @default - unlimited */
  readonly ratePerSecond?: number;
  /** Attempts per record, the first included. @default 8 */
  readonly maxAttempts?: number;
  /** Base of the exponential backoff in milliseconds. @default 100 */
  readonly baseDelayMs?: number;
  /** Cap of one backoff delay in milliseconds. @default 5000 */
  readonly maxDelayMs?: number;
  /** Source of randomness for the jitter. @default - `Math.random` */
  readonly random?: () => number;
  /** Validate each line with `parseLine` and refuse bad ones. @default true */
  readonly validate?: boolean;
  /** Parse options for validation (sensor clock offset). */
  readonly parse?: ParseOptions;
  /** Called for every refused line. */
  readonly onRefused?: (line: RefusedLine) => void;
  /** Called for every record given up on. */
  readonly onFailed?: (record: FailedRecord) => void;
  /**
   * Sealed-but-unacknowledged bytes above which reading pauses (memory stays flat whatever the input size).
   *
   * @default - concurrency × 5 MiB, at least 8 MiB
   */
  readonly maxQueuedBytes?: number;
  /** Bytes of open (unsealed) records above which the oldest are sealed early. @default 16 MiB */
  readonly maxOpenBytes?: number;
  /**
   * The stream's open shards (see `listOpenShards` in shard-map.ts). Given them, the producer packs the readings of
   * all pumps that hash to the same shard into shared records, the way the Kinesis Producer Library does: a live
   * feed of many pumps sending one reading a second then fills records as well as a file sorted by pump, instead
   * of sending one reading per record. Each record goes to its shard by `ExplicitHashKey` (the shard's starting
   * hash key) with the shard id as partition key; in `kpl` format every user record inside keeps its pump as
   * partition key and hashes into that shard, so KCL consumers (which drop user records outside their shard) see
   * every reading. A pump's readings stay in order: one shard, one queue.
   *
   * @default - one pump per record (partition key = pump)
   */
  readonly shards?: readonly ShardRange[];
  /**
   * Reloads the shards when Kinesis put a record on another shard than the map said (the stream was resharded);
   * later lines use the new map. Readings of a pump sent around the change may then be processed out of order
   * across the old and new shard (each is still stored once: writes are idempotent puts).
   *
   * @default - keep the map
   */
  readonly refreshShards?: () => Promise<readonly ShardRange[]>;
}

/** Counters of a run; a live object, read it for progress. */
export interface ProducerStats {
  /** Lines read from the input, including skipped and refused ones. */
  linesRead: number;
  /** Blank and header lines. */
  skipped: number;
  /** Lines refused before sending. */
  refused: number;
  /** Refused lines per reason code. */
  refusedByCode: Record<string, number>;
  /** Lines accepted for sending (readings, or any non-skipped line when not validating). */
  accepted: number;
  /** Readings acknowledged by Kinesis. */
  sent: number;
  /** Kinesis records acknowledged. */
  records: number;
  /** KPL user records inside the acknowledged records (equals `records` in `lines` format). */
  userRecords: number;
  /** Bytes acknowledged (data + partition keys). */
  bytesSent: number;
  /** PutRecords calls made. */
  calls: number;
  /** Record entries sent again after a failed entry or a failed call. */
  retriedEntries: number;
  /** Readings given up on (records that exhausted their attempts, or never sent because the run stopped). */
  failed: number;
  /** Records given up on. */
  failedRecords: number;
  /** Records Kinesis put on another shard than the shard map said (a reshard since the map was read). */
  misroutedRecords: number;
  /** Times the shard map was reloaded. */
  shardMapRefreshes: number;
}

/**
 * Thrown when a run stops: a non-retryable Kinesis error, a call that kept failing, or an abort.
 *
 * @example
 * try { await produce(inputs, options); } catch (e) { if (e instanceof ProducerError) console.error(e.message); }
 */
export class ProducerError extends WellwatchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ProducerError';
  }
}

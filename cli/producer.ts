/**
 * The producer engine: streams sensor CSV lines into Kinesis, packed per pump, in order, with bounded retries.
 *
 * Used by `wellwatch push` and by the benchmarks. The shape of the pipeline:
 *
 * 1. Input is any async iterable of lines (or arrays of lines); {@link openInput} streams files, `.gz` files and
 *    stdin with constant memory.
 * 2. Every line is pre-validated with the consumer's own `parseLine`; refused lines are reported with
 *    `source:line` and a reason and never sent (unless `validate: false`). Blank and header lines are skipped.
 * 3. Lines are packed into one open record per pump (partition key = pump id) or, given the stream's shard map,
 *    per shard (the pumps whose partition keys hash to that shard; see {@link ProducerOptions.shards}), either as a
 *    KPL aggregate of small line groups (`kpl`, each user record keeps its pump as partition key) or as
 *    newline-joined text (`lines`). A record is sealed when the next line would overflow the byte budget, when it
 *    has lingered `lingerMs`, or at the end of the input.
 * 4. Sealed records queue per pump (or shard). A dispatcher sends PutRecords calls (≤ 500 records, ≤ 5 MiB) with at
 *    most `concurrency` calls in flight, putting at most one record of a queue in a call and never a queue in two
 *    calls at once. AWS documents that PutRecords does not guarantee the order of records inside one call, and a partial
 *    failure would let a later record overtake a failed one, so this is what keeps each pump's readings in order.
 * 5. Failed entries and retryable call errors (throttling, 5xx, network) are retried with exponential backoff and
 *    full jitter, bounded attempts; the failed record stays at the head of its pump's queue, so the pump's later
 *    records wait for it. A record that exhausts its attempts is reported as failed (never silently dropped); a
 *    non-retryable error (missing stream, access denied) or a call that keeps failing stops the run.
 */
import * as fs from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import * as zlib from 'node:zlib';
import type { PutRecordsCommandInput, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { LIMITS } from '../lambdas/config';
import { ConfigError, describeError, InternalError, WellwatchError } from '../lambdas/core/errors';
import { AggregateBuilder, KPL_OVERHEAD_BYTES } from '../lambdas/core/kpl';
import { parseLine, type ParseOptions } from '../lambdas/core/parse-reading';
import { backoffDelay, isRetryableError, resolveRetry, type ResolvedRetry } from '../lambdas/store/retry';
import { hashKeyOf, shardOf, type ShardRange } from './shard-map';

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

/** Options of the {@link Producer}. */
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

/** Where the readings of a pump go: the record's partition key and, with a shard map, its routing. */
interface Route {
  /** The record's partition key — the pump, or the shard id — and the key of its open record and send queue. */
  readonly partitionKey: string;
  readonly pkBytes: number;
  readonly explicitHashKey?: string;
  /** The shard the map expects the record on. */
  readonly shardId?: string;
}

interface SealedRecord {
  readonly route: Route;
  readonly data: Buffer;
  /** data + partition key bytes */
  readonly bytes: number;
  readonly readings: number;
  readonly userRecords: number;
  readonly first: LineOrigin;
  readonly last: LineOrigin;
  attempts: number;
  notBefore: number;
  lastError: string;
}

const PUT_RECORDS_MAX_RECORDS = LIMITS.putRecordsMaxRecords;
const PUT_RECORDS_MAX_BYTES = LIMITS.putRecordsMaxBytes;
const NON_RETRYABLE_ENTRY_CODES = new Set(['KMSDisabledException', 'KMSInvalidStateException', 'KMSAccessDeniedException', 'KMSNotFoundException', 'KMSOptInRequired']);

/** One queue's record being filled. */
class OpenRecord {
  readonly firstAt: number;
  readings = 0;
  userRecords = 0;
  readonly first: LineOrigin;
  private lastSource: string;
  private lastLine: number;
  /** `lines`: the lines; `kpl`: the current (uncommitted) line group, all of one pump. */
  private parts: string[] = [];
  private partsBytes = 0;
  private partsPump = '';
  private readonly builder: AggregateBuilder | undefined;
  /** Bytes of data so far (an estimate of memory use and, exactly, of the encoded size). */
  size: number;

  constructor(
    readonly route: Route,
    private readonly budget: number,
    private readonly groupBytes: number,
    kpl: boolean,
    now: number,
    source: string,
    line: number,
  ) {
    this.firstAt = now;
    this.first = { source, line };
    this.lastSource = source;
    this.lastLine = line;
    this.builder = kpl ? new AggregateBuilder(budget - route.pkBytes) : undefined;
    this.size = kpl ? KPL_OVERHEAD_BYTES : 0;
  }

  /** Adds a line of `pump` if the record stays within budget; returns false (the encoding unchanged) otherwise. */
  tryAdd(pump: string, line: string, lineBytes: number, source: string, lineNumber: number): boolean {
    const dataBudget = this.budget - this.route.pkBytes;
    const builder = this.builder;
    if (builder === undefined) {
      const next = this.size + (this.readings > 0 ? 1 : 0) + lineBytes;
      if (next > dataBudget) return false;
      this.size = next;
      this.parts.push(line);
    } else {
      // size = committed aggregate + the open group as it would be encoded (partition key table entry included).
      let added = false;
      if (this.parts.length > 0 && pump === this.partsPump) {
        const joined = this.partsBytes + 1 + lineBytes;
        const size = builder.size + builder.growthOf(pump, joined);
        if (joined <= this.groupBytes && size <= dataBudget) {
          this.parts.push(line);
          this.partsBytes = joined;
          this.size = size;
          added = true;
        }
      }
      if (!added) {
        // A new group: commit the open one (already counted in size, so the encoding does not change), then see
        // whether the line fits as a user record of its own.
        this.commitGroup();
        const size = builder.size + builder.growthOf(pump, lineBytes);
        if (size > dataBudget) return false;
        this.parts.push(line);
        this.partsBytes = lineBytes;
        this.partsPump = pump;
        this.size = size;
      }
    }
    this.readings++;
    this.lastSource = source;
    this.lastLine = lineNumber;
    return true;
  }

  private commitGroup(): void {
    if (this.parts.length === 0 || this.builder === undefined) return;
    const data = Buffer.from(this.parts.length === 1 ? this.parts[0]! : this.parts.join('\n'), 'utf8');
    if (!this.builder.tryAdd(this.partsPump, data)) {
      throw new InternalError(`KPL packing overflow for ${this.route.partitionKey} (${this.builder.size}+${data.length} > ${this.builder.maxBytes})`);
    }
    this.userRecords++;
    this.parts = [];
    this.partsBytes = 0;
  }

  seal(): SealedRecord {
    let data: Buffer;
    if (this.builder === undefined) {
      data = Buffer.from(this.parts.join('\n'), 'utf8');
      this.userRecords = 1;
    } else {
      this.commitGroup();
      data = this.builder.build();
      if (data.length !== this.size) throw new InternalError(`KPL size estimate ${this.size} != encoded ${data.length}`);
    }
    const bytes = data.length + this.route.pkBytes;
    if (bytes > this.budget) throw new InternalError(`record of ${bytes} bytes exceeds the ${this.budget}-byte budget`);
    return {
      route: this.route,
      data,
      bytes,
      readings: this.readings,
      userRecords: this.userRecords,
      first: this.first,
      last: { source: this.lastSource, line: this.lastLine },
      attempts: 0,
      notBefore: 0,
      lastError: '',
    };
  }
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

/**
 * Packs lines into per-pump Kinesis records and sends them in order with bounded concurrency and retries.
 *
 * Feed lines with {@link Producer.add} (await it when it returns a promise: that is backpressure or pacing), then
 * {@link Producer.close} to flush and wait for every record. {@link produce} does this over input sources.
 *
 * @example
 * const producer = new Producer({ streamName: 'wellwatch-readings', putRecords: putRecordsWith(client) });
 * for (const [i, line] of lines.entries()) await producer.add(line, 'inline', i + 1);
 * const stats = await producer.close();
 */
export class Producer {
  readonly stats: ProducerStats = {
    linesRead: 0,
    skipped: 0,
    refused: 0,
    refusedByCode: {},
    accepted: 0,
    sent: 0,
    records: 0,
    userRecords: 0,
    bytesSent: 0,
    calls: 0,
    retriedEntries: 0,
    failed: 0,
    failedRecords: 0,
    misroutedRecords: 0,
    shardMapRefreshes: 0,
  };

  private readonly format: PayloadFormat;
  private readonly recordBytes: number;
  private readonly groupBytes: number;
  private readonly lingerMs: number;
  private readonly concurrency: number;
  private readonly retry: ResolvedRetry;
  private readonly validate: boolean;
  private readonly maxQueuedBytes: number;
  private readonly maxOpenBytes: number;
  private readonly rate: number | undefined;

  /** Open records by pump, in creation order (so the first is the oldest). */
  private readonly open = new Map<string, OpenRecord>();
  private openBytes = 0;
  /** Sealed records per pump, FIFO; a pump is present only while it has records. */
  private readonly queues = new Map<string, SealedRecord[]>();
  /** Pumps with queued records and no call in flight, in the order they became ready. */
  private readonly waiting = new Set<string>();
  private queuedBytes = 0;
  private callsInFlight = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = Infinity;
  private waiters: { check: () => boolean; resolve: () => void; reject: (e: unknown) => void; evenIfStopped: boolean }[] = [];
  private fatal: ProducerError | undefined;
  private closed = false;
  private tokens = 0;
  private tokensAt = 0;
  /** Route of each pump seen (bounded: unvalidated input may have endless distinct first fields). */
  private readonly routes = new Map<string, Route>();
  /** With a shard map: the route of each shard. */
  private shardRoutes = new Map<string, Route>();
  private shards: readonly ShardRange[] | undefined;
  private refreshing = false;

  constructor(private readonly options: ProducerOptions) {
    this.format = options.format ?? 'kpl';
    this.recordBytes = options.recordBytes ?? 64 * 1024;
    if (!(Number.isInteger(this.recordBytes) && this.recordBytes >= 256 && this.recordBytes <= LIMITS.kinesisMaxRecordBytes)) {
      throw new ConfigError(`recordBytes must be an integer 256–${LIMITS.kinesisMaxRecordBytes}, got ${this.recordBytes}`);
    }
    this.groupBytes = options.userRecordBytes ?? 1024;
    this.lingerMs = options.lingerMs ?? 200;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.retry = resolveRetry({
      maxAttempts: options.maxAttempts ?? 8,
      baseDelayMs: options.baseDelayMs ?? 100,
      maxDelayMs: options.maxDelayMs ?? 5_000,
      ...(options.random ? { random: options.random } : {}),
    });
    this.validate = options.validate ?? true;
    this.maxQueuedBytes = options.maxQueuedBytes ?? Math.max(8 * 1024 * 1024, this.concurrency * PUT_RECORDS_MAX_BYTES);
    this.maxOpenBytes = options.maxOpenBytes ?? 16 * 1024 * 1024;
    this.rate = options.ratePerSecond;
    if (this.rate !== undefined && !(this.rate > 0)) throw new ConfigError(`ratePerSecond must be > 0, got ${this.rate}`);
    if (options.shards !== undefined) this.useShards(options.shards);
  }

  private useShards(shards: readonly ShardRange[]): void {
    if (shards.length === 0) throw new ConfigError('shards must list at least one open shard');
    this.shards = shards;
    this.shardRoutes = new Map(
      shards.map((shard) => [
        shard.shardId,
        {
          partitionKey: shard.shardId,
          pkBytes: Buffer.byteLength(shard.shardId, 'utf8'),
          explicitHashKey: shard.startingHashKey.toString(10),
          shardId: shard.shardId,
        },
      ]),
    );
    this.routes.clear();
  }

  private routeOf(pump: string): Route {
    let route = this.routes.get(pump);
    if (route === undefined) {
      if (this.routes.size >= 100_000) this.routes.clear();
      route =
        this.shards === undefined
          ? { partitionKey: pump, pkBytes: Buffer.byteLength(pump, 'utf8') }
          : this.shardRoutes.get(shardOf(this.shards, hashKeyOf(pump)).shardId)!;
      this.routes.set(pump, route);
    }
    return route;
  }

  /** Reloads the shard map after a misrouted record; lines already in records keep their route. */
  private refreshShardMap(): void {
    const refresh = this.options.refreshShards;
    if (refresh === undefined || this.refreshing || this.fatal) return;
    this.refreshing = true;
    refresh()
      .then(
        (shards) => {
          // Seal what is open so each queue's records go out before the new routes' records are made.
          for (const key of [...this.open.keys()]) this.seal(key);
          this.useShards(shards);
          this.stats.shardMapRefreshes++;
        },
        () => undefined, // keep the old map: records still arrive, on the shard that owns their hash key
      )
      .finally(() => {
        this.refreshing = false;
      });
  }

  /**
   * Takes one line. Returns a promise only when the caller must wait (queue full or rate pacing).
   *
   * @throws ProducerError once the run has stopped.
   */
  add(line: string, source: string, lineNumber: number): void | Promise<void> {
    if (this.fatal) throw this.fatal;
    if (this.closed) throw new InternalError('Producer.add after close');
    const stats = this.stats;
    stats.linesRead++;
    let pump: string;
    const outcome = parseLine(line, this.options.parse);
    if (outcome.kind === 'skip') {
      stats.skipped++;
      return undefined;
    }
    if (outcome.kind === 'error') {
      if (this.validate) {
        this.refuse(source, lineNumber, outcome.code, outcome.reason);
        return undefined;
      }
      pump = invalidLinePartitionKey(line);
    } else {
      pump = outcome.reading.pump;
    }
    const route = this.routeOf(pump);
    const key = route.partitionKey;
    const lineBytes = Buffer.byteLength(line, 'utf8');
    let rec = this.open.get(key);
    if (rec === undefined || !this.tryAppend(rec, pump, line, lineBytes, source, lineNumber)) {
      if (rec !== undefined) this.seal(key);
      rec = this.newOpen(route, source, lineNumber);
      if (!this.tryAppend(rec, pump, line, lineBytes, source, lineNumber)) {
        this.open.delete(key);
        this.openBytes -= rec.size;
        this.refuse(source, lineNumber, 'record-size', `line of ${lineBytes} bytes does not fit a ${this.recordBytes}-byte record (--record-bytes)`);
        return undefined;
      }
    }
    stats.accepted++;
    if (rec.size >= this.recordBytes - route.pkBytes - 1) this.seal(key);
    if (this.openBytes > this.maxOpenBytes) this.sealOldest();
    if (this.queuedBytes > this.maxQueuedBytes) {
      this.kick();
      return this.until(() => this.queuedBytes <= this.maxQueuedBytes);
    }
    if (this.rate !== undefined) return this.pace();
    return undefined;
  }

  /**
   * Seals every open record, sends everything and waits for the last acknowledgement.
   *
   * @throws ProducerError when the run stopped; `stats` still tells what was sent.
   */
  async close(): Promise<ProducerStats> {
    this.closed = true;
    if (!this.fatal) {
      for (const pump of [...this.open.keys()]) this.seal(pump);
      this.kick();
      try {
        await this.until(() => this.queues.size === 0 && this.callsInFlight === 0);
      } catch {
        // fatal: handled below
      }
    }
    if (this.fatal) {
      await this.until(() => this.callsInFlight === 0, true);
    }
    this.clearTimers();
    if (this.fatal) {
      this.stats.failed = this.stats.accepted - this.stats.sent;
      throw this.fatal;
    }
    return this.stats;
  }

  /** Stops the run (e.g. on Ctrl-C): nothing more is sent; `close()` then throws `reason`. */
  abort(reason: string): void {
    this.stop(new ProducerError(reason));
  }

  private refuse(source: string, line: number, code: string, reason: string): void {
    this.stats.refused++;
    this.stats.refusedByCode[code] = (this.stats.refusedByCode[code] ?? 0) + 1;
    this.options.onRefused?.({ source, line, code, reason });
  }

  private tryAppend(rec: OpenRecord, pump: string, line: string, lineBytes: number, source: string, lineNumber: number): boolean {
    const before = rec.size;
    if (!rec.tryAdd(pump, line, lineBytes, source, lineNumber)) return false;
    this.openBytes += rec.size - before;
    return true;
  }

  private newOpen(route: Route, source: string, line: number): OpenRecord {
    const rec = new OpenRecord(route, this.recordBytes, this.groupBytes, this.format === 'kpl', Date.now(), source, line);
    this.open.set(route.partitionKey, rec);
    this.openBytes += rec.size;
    this.scheduleLinger();
    return rec;
  }

  private seal(key: string): void {
    const rec = this.open.get(key);
    if (rec === undefined) return;
    this.open.delete(key);
    this.openBytes -= rec.size;
    const sealed = rec.seal();
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
      this.waiting.add(key);
    }
    queue.push(sealed);
    this.queuedBytes += sealed.bytes;
    if (this.callsInFlight < this.concurrency) this.kick();
  }

  private sealOldest(): void {
    for (const key of this.open.keys()) {
      this.seal(key);
      if (this.openBytes <= this.maxOpenBytes / 2) break;
    }
  }

  private scheduleLinger(): void {
    if (this.lingerTimer !== undefined) return;
    const oldest = this.open.values().next();
    if (oldest.done) return;
    const delay = Math.max(0, oldest.value.firstAt + this.lingerMs - Date.now());
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      const now = Date.now();
      if (this.queuedBytes > this.maxQueuedBytes) {
        // Input is paused until the queue drains: sealing now would not send anything sooner, only make records
        // smaller. Look again later.
        this.lingerTimer = setTimeout(() => {
          this.lingerTimer = undefined;
          this.scheduleLinger();
        }, this.lingerMs);
        return;
      }
      for (const [key, rec] of this.open) {
        if (rec.firstAt + this.lingerMs > now) break;
        this.seal(key);
      }
      this.kick();
      this.scheduleLinger();
    }, delay);
  }

  /** Token bucket: takes one token, synchronously when one is there, else after sleeping until one is. */
  private pace(): void | Promise<void> {
    if (this.takeToken()) return undefined;
    return (async () => {
      do {
        await sleep(Math.max(1, ((1 - this.tokens) * 1000) / this.rate!));
        if (this.fatal) throw this.fatal;
      } while (!this.takeToken());
    })();
  }

  private takeToken(): boolean {
    const rate = this.rate!;
    const now = performance.now();
    if (this.tokensAt === 0) {
      this.tokensAt = now;
      this.tokens = 1;
    }
    this.tokens = Math.min(Math.max(1, rate / 10), this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Starts as many PutRecords calls as the concurrency allows. */
  private kick(): void {
    if (this.fatal) return;
    const now = Date.now();
    let earliest = Infinity;
    while (this.callsInFlight < this.concurrency && this.waiting.size > 0) {
      const batch: SealedRecord[] = [];
      let bytes = 0;
      for (const key of this.waiting) {
        const rec = this.queues.get(key)![0]!;
        if (rec.notBefore > now) {
          if (rec.notBefore < earliest) earliest = rec.notBefore;
          continue;
        }
        if (bytes + rec.bytes > PUT_RECORDS_MAX_BYTES) continue;
        batch.push(rec);
        bytes += rec.bytes;
        if (batch.length === PUT_RECORDS_MAX_RECORDS) break;
      }
      if (batch.length === 0) break;
      for (const rec of batch) this.waiting.delete(rec.route.partitionKey);
      this.callsInFlight++;
      void this.send(batch);
    }
    if (earliest < Infinity && earliest < this.retryAt) {
      if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
      this.retryAt = earliest;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.retryAt = Infinity;
        this.kick();
      }, Math.max(0, earliest - now));
    }
  }

  private async send(batch: SealedRecord[]): Promise<void> {
    this.stats.calls++;
    try {
      let output: PutRecordsCommandOutput | undefined;
      let callError: unknown;
      let retryable = true;
      try {
        output = await this.options.putRecords({
          StreamName: this.options.streamName,
          Records: batch.map((r) =>
            r.route.explicitHashKey === undefined
              ? { PartitionKey: r.route.partitionKey, Data: r.data }
              : { PartitionKey: r.route.partitionKey, ExplicitHashKey: r.route.explicitHashKey, Data: r.data },
          ),
        });
        if (output.Records?.length !== batch.length) {
          callError = new Error(`PutRecords answered ${output.Records?.length ?? 0} entries for ${batch.length} records`);
          output = undefined;
        }
      } catch (e) {
        callError = e;
        retryable = isRetryableError(e);
      }
      if (output === undefined) {
        if (this.fatal) return;
        const reason = describeError(callError);
        if (!retryable) {
          this.stop(new ProducerError(`PutRecords to ${this.options.streamName} failed: ${reason}`, { cause: callError }));
          return;
        }
        for (const rec of batch) {
          if (!this.retryLater(rec, reason)) {
            this.stop(new ProducerError(`PutRecords to ${this.options.streamName} failed ${rec.attempts} times in a row: ${reason}`, { cause: callError }));
            return;
          }
        }
        return;
      }
      const entries = output.Records!;
      for (let i = 0; i < batch.length; i++) {
        const rec = batch[i]!;
        const entry = entries[i]!;
        if (!entry.ErrorCode) {
          this.acknowledge(rec);
          if (rec.route.shardId !== undefined && entry.ShardId !== undefined && entry.ShardId !== rec.route.shardId) {
            this.stats.misroutedRecords++;
            this.refreshShardMap();
          }
          continue;
        }
        // After a stop, failed entries are not retried; close() counts them as failed.
        if (this.fatal) continue;
        const reason = `${entry.ErrorCode}${entry.ErrorMessage ? `: ${entry.ErrorMessage}` : ''}`;
        if (NON_RETRYABLE_ENTRY_CODES.has(entry.ErrorCode)) {
          rec.attempts++;
          rec.lastError = reason;
          this.giveUp(rec);
        } else if (!this.retryLater(rec, reason)) {
          this.giveUp(rec);
        }
      }
    } finally {
      this.callsInFlight--;
      for (const rec of batch) {
        if (this.queues.has(rec.route.partitionKey)) this.waiting.add(rec.route.partitionKey);
      }
      this.kick();
      this.notify();
    }
  }

  /** Schedules a retry of a record that stays at the head of its queue; false when its attempts are used up. */
  private retryLater(rec: SealedRecord, reason: string): boolean {
    rec.attempts++;
    rec.lastError = reason;
    if (rec.attempts >= this.retry.maxAttempts) return false;
    rec.notBefore = Date.now() + backoffDelay(rec.attempts, this.retry);
    this.stats.retriedEntries++;
    return true;
  }

  private dequeue(rec: SealedRecord): void {
    const key = rec.route.partitionKey;
    const queue = this.queues.get(key)!;
    if (queue[0] !== rec) throw new InternalError(`record of ${key} acknowledged out of order`);
    queue.shift();
    if (queue.length === 0) this.queues.delete(key);
    this.queuedBytes -= rec.bytes;
  }

  private acknowledge(rec: SealedRecord): void {
    this.dequeue(rec);
    const stats = this.stats;
    stats.sent += rec.readings;
    stats.records++;
    stats.userRecords += rec.userRecords;
    stats.bytesSent += rec.bytes;
  }

  private giveUp(rec: SealedRecord): void {
    this.dequeue(rec);
    this.stats.failed += rec.readings;
    this.stats.failedRecords++;
    this.options.onFailed?.({
      pump: rec.route.partitionKey,
      ...(rec.route.shardId !== undefined ? { shardId: rec.route.shardId } : {}),
      readings: rec.readings, first: rec.first, last: rec.last, attempts: rec.attempts, reason: rec.lastError });
  }

  private stop(error: ProducerError): void {
    if (this.fatal) return;
    this.fatal = error;
    this.clearTimers();
    this.notify();
  }

  private clearTimers(): void {
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.lingerTimer = undefined;
    this.retryTimer = undefined;
    this.retryAt = Infinity;
  }

  /** Resolves when `check()` holds; rejects on a fatal error unless `evenIfStopped`. */
  private until(check: () => boolean, evenIfStopped = false): Promise<void> {
    if (check()) return Promise.resolve();
    if (this.fatal && !evenIfStopped) return Promise.reject(this.fatal);
    return new Promise((resolve, reject) => {
      this.waiters.push({ check, resolve, reject, evenIfStopped });
    });
  }

  private notify(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.check()) w.resolve();
      else if (this.fatal && !w.evenIfStopped) w.reject(this.fatal);
      else still.push(w);
    }
    this.waiters = still;
  }
}

/** Partition key of a line sent without validation: its first field when usable, else `_invalid`. */
function invalidLinePartitionKey(line: string): string {
  const comma = line.indexOf(',');
  const first = (comma < 0 ? line : line.slice(0, comma)).trim();
  return first.length > 0 && first.length <= 64 ? first : '_invalid';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A named stream of lines: `lines` yields single lines or arrays of lines (cheaper per line). */
export interface LineSource {
  /** Name used in `name:line` reports, e.g. the file path or `stdin`. */
  readonly name: string;
  readonly lines: AsyncIterable<string | readonly string[]> | Iterable<string | readonly string[]>;
}

/** An input opened by {@link openInput}, with progress information. */
export interface InputSource extends LineSource {
  /** Size in bytes on disk (compressed size for gzip); undefined for stdin. */
  readonly size: number | undefined;
  /** Bytes consumed so far (compressed bytes for gzip). */
  bytesRead(): number;
}

/** Longest partial line kept in memory; a longer line is cut here (the parser refuses it as too long anyway). */
const MAX_PENDING_LINE = 64 * 1024;

/**
 * Splits a byte stream into lines, yielding arrays (one per chunk) with `\r\n` and `\n` handled.
 *
 * Memory stays flat: one chunk plus at most {@link MAX_PENDING_LINE} characters of a partial line.
 *
 * @example
 * for await (const lines of linesOf(fs.createReadStream('a.csv'))) for (const l of lines) handle(l);
 */
export async function* linesOf(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let overlong = false;
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let from = 0;
    const out: string[] = [];
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      let line = rest.length > 0 ? rest + text.slice(from, nl) : text.slice(from, nl);
      rest = '';
      if (overlong) {
        line = line.slice(0, MAX_PENDING_LINE);
        overlong = false;
      }
      out.push(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
      from = nl + 1;
    }
    if (from < text.length && !overlong) {
      rest += text.slice(from);
      if (rest.length > MAX_PENDING_LINE) {
        rest = rest.slice(0, MAX_PENDING_LINE);
        overlong = true;
      }
    }
    if (out.length > 0) yield out;
  }
  rest += decoder.end();
  if (rest.length > 0) yield [rest.charCodeAt(rest.length - 1) === 13 ? rest.slice(0, -1) : rest];
}

/** Passes chunks through, gunzipping when the stream starts with the gzip magic (1f 8b). */
async function* gunzipIfNeeded(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head: Buffer = first.value;
  const all = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  };
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    yield* all();
    return;
  }
  const gunzip = pipeline(Readable.from(all()), zlib.createGunzip(), () => undefined);
  for await (const chunk of gunzip) yield chunk as Buffer;
}

/**
 * Opens a file (plain or gzip, detected by its magic bytes) or stdin (`-`) as a streamed {@link InputSource}.
 *
 * @throws WellwatchError naming the file when it cannot be read (missing, a directory, no permission).
 * @example
 * const input = openInput('readings.csv.gz', process.stdin);
 * const stats = await produce([input], { streamName, putRecords });
 */
export function openInput(file: string, stdin: NodeJS.ReadableStream): InputSource {
  let read = 0;
  const counted = async function* (stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      read += buf.length;
      yield buf;
    }
  };
  if (file === '-') {
    return { name: 'stdin', size: undefined, bytesRead: () => read, lines: linesOf(gunzipIfNeeded(counted(stdin as AsyncIterable<Buffer>))) };
  }
  let size: number;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new WellwatchError(`cannot read ${file}: it is a directory`);
    size = st.size;
    fs.accessSync(file, fs.constants.R_OK);
  } catch (e) {
    if (e instanceof WellwatchError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : describeError(e);
    throw new WellwatchError(`cannot read ${file}: ${why}`);
  }
  const lines = (async function* () {
    try {
      yield* linesOf(gunzipIfNeeded(counted(fs.createReadStream(file, { highWaterMark: 256 * 1024 }))));
    } catch (e) {
      throw new WellwatchError(`cannot read ${file}: ${describeError(e)}`, { cause: e });
    }
  })();
  return { name: file, size, bytesRead: () => read, lines };
}

/**
 * Runs a {@link Producer} over input sources in order and returns its statistics.
 *
 * @throws ProducerError when the run stopped (see `producer.stats` through `onStart` for partial counts).
 * @example
 * const stats = await produce([openInput('a.csv', process.stdin)], { streamName: cfg.streamName, putRecords: putRecordsWith(kinesisClient(cfg)) });
 */
export async function produce(
  sources: readonly LineSource[],
  options: ProducerOptions,
  onStart?: (producer: Producer) => void,
): Promise<ProducerStats> {
  const producer = new Producer(options);
  onStart?.(producer);
  try {
    for (const source of sources) {
      let n = 0;
      for await (const item of source.lines as AsyncIterable<string | readonly string[]>) {
        if (typeof item === 'string') {
          const wait = producer.add(item, source.name, ++n);
          if (wait) await wait;
          continue;
        }
        for (let i = 0; i < item.length; i++) {
          const wait = producer.add(item[i]!, source.name, ++n);
          if (wait) await wait;
        }
      }
    }
  } catch (e) {
    if (!(e instanceof ProducerError)) producer.abort(describeError(e));
    await producer.close().catch(() => undefined);
    throw e;
  }
  return producer.close();
}

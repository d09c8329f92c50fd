/**
 * The producer: streams sensor CSV lines into Kinesis, packed per pump (or shard), in order, with bounded retries.
 *
 * Used by `wellwatch push` and by the benchmarks. This file owns the run — taking lines, validating them, keeping
 * the open records, sealing them (full, lingered, or at the end), backpressure and pacing, stopping and closing —
 * and delegates each job to the module named after it:
 *
 * 1. input.ts — files, `.gz` files and stdin as streams of lines with constant memory.
 * 2. Validation here, with the consumer's own `parseLine`: refused lines are reported with `source:line` and a reason
 *    and never sent (unless `validate: false`). Blank and header lines are skipped.
 * 3. routing.ts — one record per pump (partition key = pump), or per shard given the stream's shard map.
 * 4. record-packing.ts — lines into a KPL aggregate (`kpl`) or newline-joined text (`lines`) within the byte budget.
 *    A record is sealed when the next line would overflow the budget, when it has lingered `lingerMs`, or at the end.
 * 5. dispatch.ts — sealed records per queue into PutRecords calls, in order per queue, with retries.
 * 6. rate-limiter.ts — optional pacing to N readings per second.
 */
import { LIMITS } from '../../lambdas/config';
import { ConfigError, describeError, InternalError, isWellwatchError, type WellwatchError } from '../../lambdas/core/errors';
import { parseLine } from '../../lambdas/core/parse-reading';
import { resolveRetry } from '../../lambdas/store/retry';
import { Dispatcher } from './dispatch';
import type { LineSource } from './input';
import { TokenBucket } from './rate-limiter';
import { OpenRecord } from './record-packing';
import { invalidLinePartitionKey, Router, type Route } from './routing';
import { ProducerError, type PayloadFormat, type ProducerOptions, type ProducerStats } from './types';

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
  private readonly validate: boolean;
  private readonly maxQueuedBytes: number;
  private readonly maxOpenBytes: number;
  private readonly bucket: TokenBucket | undefined;
  private readonly router: Router;
  private readonly dispatcher: Dispatcher;

  /** Open records by queue key, in creation order (so the first is the oldest). */
  private readonly open = new Map<string, OpenRecord>();
  private openBytes = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private waiters: { check: () => boolean; resolve: () => void; reject: (e: unknown) => void; evenIfStopped: boolean }[] = [];
  private fatal: WellwatchError | undefined;
  private closed = false;
  private refreshing = false;

  constructor(private readonly options: ProducerOptions) {
    this.format = options.format ?? 'kpl';
    this.recordBytes = options.recordBytes ?? 64 * 1024;
    if (!(Number.isInteger(this.recordBytes) && this.recordBytes >= 256 && this.recordBytes <= LIMITS.kinesisMaxRecordBytes)) {
      throw new ConfigError(`recordBytes must be an integer 256–${LIMITS.kinesisMaxRecordBytes}, got ${this.recordBytes}`);
    }
    this.groupBytes = options.userRecordBytes ?? 1024;
    this.lingerMs = options.lingerMs ?? 200;
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.validate = options.validate ?? true;
    this.maxQueuedBytes = options.maxQueuedBytes ?? Math.max(8 * 1024 * 1024, concurrency * LIMITS.putRecordsMaxBytes);
    this.maxOpenBytes = options.maxOpenBytes ?? 16 * 1024 * 1024;
    this.bucket = options.ratePerSecond === undefined ? undefined : new TokenBucket(options.ratePerSecond);
    this.router = new Router(options.shards);
    this.dispatcher = new Dispatcher({
      streamName: options.streamName,
      putRecords: options.putRecords,
      concurrency,
      retry: resolveRetry({
        maxAttempts: options.maxAttempts ?? 8,
        baseDelayMs: options.baseDelayMs ?? 100,
        maxDelayMs: options.maxDelayMs ?? 5_000,
        ...(options.random ? { random: options.random } : {}),
      }),
      stats: this.stats,
      ...(options.onFailed ? { onFailed: options.onFailed } : {}),
      onMisrouted: () => this.refreshShardMap(),
      stopped: () => this.fatal,
      stop: (error) => this.stop(error),
      fail: (error) => this.fail(error),
      onSettled: () => this.notify(),
    });
  }

  /** Reloads the shard map after a misrouted record; lines already in records keep their route. */
  private refreshShardMap(): void {
    const refresh = this.options.refreshShards;
    if (refresh === undefined || this.refreshing || this.fatal) return;
    this.refreshing = true;
    refresh()
      .then(
        (shards) => {
          // An empty map (a stream being deleted) routes nothing: keep the old one, like a failed refresh.
          if (shards.length === 0 || this.fatal) return;
          // Seal what is open so each queue's records go out before the new routes' records are made.
          for (const key of [...this.open.keys()]) this.seal(key);
          this.router.useShards(shards);
          this.stats.shardMapRefreshes++;
        },
        () => undefined, // keep the old map: records still arrive, on the shard that owns their hash key
      )
      .catch((e: unknown) => this.fail(e))
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
    const route = this.router.routeOf(pump);
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
    if (this.dispatcher.queuedBytes > this.maxQueuedBytes) {
      this.dispatcher.kick();
      return this.until(() => this.dispatcher.queuedBytes <= this.maxQueuedBytes);
    }
    if (this.bucket !== undefined) return this.pace(this.bucket);
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
      this.dispatcher.kick();
      try {
        await this.until(() => this.dispatcher.idle);
      } catch {
        // fatal: handled below
      }
    }
    if (this.fatal) {
      await this.until(() => this.dispatcher.callsInFlight === 0, true);
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
    this.dispatcher.enqueue(rec.seal());
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
      try {
        this.lingerElapsed();
      } catch (e) {
        this.fail(e);
      }
    }, delay);
  }

  /** Seals the records that have lingered long enough and sends them. */
  private lingerElapsed(): void {
    const now = Date.now();
    if (this.dispatcher.queuedBytes > this.maxQueuedBytes) {
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
    this.dispatcher.kick();
    this.scheduleLinger();
  }

  /** Takes one token of the rate limiter, synchronously when one is there, else after sleeping until one is. */
  private pace(bucket: TokenBucket): void | Promise<void> {
    if (bucket.take()) return undefined;
    return (async () => {
      do {
        await sleep(bucket.msUntilToken());
        if (this.fatal) throw this.fatal;
      } while (!bucket.take());
    })();
  }

  /** Stops the run on an unexpected error from a timer, a callback or the send loop; close() then throws it. */
  private fail(error: unknown): void {
    this.stop(isWellwatchError(error) ? error : new InternalError(`the producer failed unexpectedly: ${describeError(error)}`, { cause: error }));
  }

  private stop(error: WellwatchError): void {
    if (this.fatal) return;
    this.fatal = error;
    this.clearTimers();
    this.notify();
  }

  private clearTimers(): void {
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.dispatcher.clearTimer();
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
